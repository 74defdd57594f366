//! The manager's process SIGKILLed: every proc and every descendant of it
//! (plain `bash` children, each forking a `sleep`; under cgroups also one
//! that `setsid`s away) is gone within 1 s, and so are its runtime dir and
//! its cgroup. The manager is the `contained` example.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

/// The bound the contract gives.
const WITHIN: Duration = Duration::from_secs(1);

/// Whether `pid` names a live (non-zombie) process.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rsplit_once(')')
            .map(|(_, r)| r.trim_start().chars().next());
        !matches!(state, Some(Some('Z' | 'X')) | None)
    })
}

/// Every live descendant of `root`.
fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            if alive(child) {
                found.push(child);
                todo.push(child);
            }
        }
    }
    found
}

/// Polls `done` until it holds or `limit` passes; whether it held.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if done() {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs the `contained` manager with `count` procs in `mode`, waits until
/// each has forked its children, SIGKILLs it, and checks what is left.
async fn kill_the_manager(mode: &str, count: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let runtime_dir = tmp.path().join("rt");
    let mut manager = tokio::process::Command::new(env!("CARGO_BIN_EXE_contained"))
        .arg(&runtime_dir)
        .arg(count.to_string())
        .arg(mode)
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let manager_pid = manager.id().unwrap();
    let mut lines = BufReader::new(manager.stdout.take().unwrap()).lines();
    let (mut containment, mut leaders) = (String::new(), Vec::<u32>::new());
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("CONTAINMENT ") {
                containment = rest.to_owned();
            }
            if let Some(rest) = line.strip_prefix("PIDS ") {
                leaders = rest
                    .split_whitespace()
                    .map(|p| p.parse().unwrap())
                    .collect();
                return;
            }
        }
        panic!("the manager exited early");
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .unwrap();
    assert_eq!(leaders.len(), count);
    if mode == "auto" && containment != "cgroup" {
        eprintln!(
            "!!! NO WRITABLE CGROUP V2 ON THIS MACHINE: manager death checked with {containment}"
        );
    }
    // Each bash forks one sleep, or two under cgroups (one in a session of
    // its own): wait until they all exist.
    let per_leader = if containment == "cgroup" { 2 } else { 1 };
    let forked = eventually(Duration::from_secs(20), || {
        leaders.iter().all(|&l| descendants(l).len() >= per_leader)
    })
    .await;
    assert!(forked, "the children did not fork their sleeps");
    let everything = descendants(manager_pid);
    assert!(
        everything.len() >= count * (1 + per_leader),
        "{everything:?}"
    );
    assert!(runtime_dir.is_dir());
    let manager_cgroup = own_cgroup_dir().and_then(|dir| {
        std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("proc-manager-{manager_pid}.")))
            })
    });
    assert_eq!(manager_cgroup.is_some(), containment == "cgroup");

    manager.start_kill().unwrap();
    manager.wait().await.unwrap();
    let killed_at = Instant::now();
    let all_gone = eventually(WITHIN, || {
        everything.iter().all(|&p| !alive(p)) && !runtime_dir.exists()
    })
    .await;
    let left: Vec<u32> = everything.iter().copied().filter(|&p| alive(p)).collect();
    for &pid in &left {
        // Leave nothing behind even when failing.
        let _ = nix_kill(pid);
    }
    assert!(
        all_gone,
        "{mode}: after {:?}, left: {left:?}, runtime dir there: {}",
        killed_at.elapsed(),
        runtime_dir.exists()
    );
    if let Some(dir) = manager_cgroup {
        let removed = eventually(Duration::from_secs(5), || !dir.exists()).await;
        assert!(removed, "{} survived its manager", dir.display());
    }
}

fn nix_kill(pid: u32) -> nix::Result<()> {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
}

/// Our own cgroup v2 directory (where the manager's cgroup is made).
fn own_cgroup_dir() -> Option<std::path::PathBuf> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo
        .lines()
        .find(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|r| r.starts_with("cgroup2 "))
        })?
        .split_whitespace()
        .nth(4)?
        .to_owned();
    Some(Path::new(&mount).join(path.trim_start_matches('/')))
}

#[tokio::test]
async fn a_sigkilled_manager_takes_plain_children_and_grandchildren_along() {
    kill_the_manager("auto", 3).await;
}

#[tokio::test]
async fn without_cgroups_every_process_group_still_goes() {
    kill_the_manager("process-group", 3).await;
}
