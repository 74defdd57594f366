//! Many spawn/stop cycles leave nothing behind: no fd (an ended proc keeps
//! its status and tails but closes its pidfd, pipes and sockets), no zombie,
//! no recorded group, no proc dir. (Own test binary, so fd counts are not
//! disturbed by other tests.)

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use proc_manager_bootstrap::{BootstrapProcManager, ProcHandle, ProcId, ProcManager};
use support::*;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Children of this process that still exist (zombies included), but the
/// manager's one guardian (a child by design, for as long as the manager
/// lives).
fn our_children() -> Vec<String> {
    let mut all = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path().join("children");
        if let Ok(text) = std::fs::read_to_string(path) {
            all.extend(text.split_whitespace().map(str::to_owned));
        }
    }
    all.retain(|pid| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        !String::from_utf8_lossy(&cmdline).contains("proc-manager-guardian")
    });
    all
}

async fn cycle(manager: &BootstrapProcManager, rank: usize) {
    let handle = manager
        .spawn(ProcId::ranked("cycle", rank).unwrap(), backend())
        .await
        .unwrap();
    if rank % 2 == 0 {
        handle
            .terminate(Duration::from_secs(10), "cycle")
            .await
            .unwrap();
    } else {
        handle.kill().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_stop_cycles_leak_no_fd_zombie_or_dir() {
    let manager = BootstrapProcManager::builder(sh("echo hi; exec sleep 1000"))
        .ready_timeout(Duration::from_secs(60))
        .build();
    // Warm up: the spawner and janitor threads, the runtime's own fds.
    cycle(&manager, 0).await;
    let fds_before = open_fds();
    within(Duration::from_secs(120), "cycles", async {
        for rank in 1..=200 {
            cycle(&manager, rank).await;
        }
    })
    .await;
    assert_eq!(manager.proc_ids().len(), 201, "ended procs stay visible");
    assert_eq!(manager.live_groups(), 0);
    assert!(
        our_children().is_empty(),
        "children left: {:?}",
        our_children()
    );
    let fds_after = open_fds();
    assert!(
        fds_after <= fds_before + 2,
        "fds grew from {fds_before} to {fds_after}"
    );
    // Proc dirs are removed in the background; all of them eventually.
    eventually("proc dirs removed", || {
        let entries = std::fs::read_dir(manager.socket_dir()).unwrap();
        !entries
            .into_iter()
            .any(|e| e.as_ref().unwrap().path().is_dir())
    })
    .await;
}
