//! `builder.subreaper(true)`: orphans of a proc are reparented to the
//! manager's process and reaped by it (no zombie), while the manager's own
//! children keep their exits for their exit monitors. (Own test binary: a
//! subreaper is process-wide.)

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapProcManager, Containment, ProcHandle, ProcManager, ProcStatus,
};
use support::*;

/// Zombie children of this process.
fn zombie_children() -> Vec<u32> {
    let mut zombies = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path().join("children");
        for pid in std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
        {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat
                .rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            {
                zombies.push(pid.parse().unwrap());
            }
        }
    }
    zombies
}

/// The parent of `pid`.
fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_are_reaped_and_our_own_exits_are_not_stolen() {
    for containment in [Containment::Auto, Containment::ProcessGroup] {
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        let pid_file = dir.path().join("orphan");
        // A subshell leaves an orphan that exits when told to; the leader
        // stays.
        let script = format!(
            "(sh -c 'echo $$ > {p}.tmp && mv {p}.tmp {p}; until [ -f {go} ]; do sleep 0.01; done' &); exec sleep 300",
            p = pid_file.display(),
            go = go.display()
        );
        let manager = BootstrapProcManager::builder(sh(&script))
            .containment(containment)
            .subreaper(true)
            .build();
        let handle = manager.spawn(id("parent"), backend()).await.unwrap();
        let orphan: u32 = within(SHOULD, "the orphan's pid", async {
            loop {
                if let Ok(text) = std::fs::read_to_string(&pid_file) {
                    if let Ok(pid) = text.trim().parse() {
                        return pid;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        within(SHOULD, "the orphan to be reparented to us", async {
            while ppid(orphan) != Some(std::process::id()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        std::fs::write(&go, "").unwrap();
        within(SHOULD, "the orphan to be reaped", async {
            while std::path::Path::new(&format!("/proc/{orphan}")).exists() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            handle.status().is_alive(),
            "{containment:?}: {}",
            handle.status()
        );
        let status = within(SHOULD, "kill", handle.kill()).await.unwrap();
        assert!(
            matches!(status, ProcStatus::Killed { signal: 9, .. }),
            "{containment:?}: the leader's exit was stolen: {status}"
        );
        assert!(zombie_children().is_empty(), "{:?}", zombie_children());
    }
}
