//! 10,000 spawn/stop cycles leave the manager flat: no fd, zombie or thread
//! growth, RSS growth under 4 MiB, at most `retain_ended` ended procs kept,
//! no recorded group and no proc dir. (Own test binary, so counts are not
//! disturbed by other tests.)
//!
//! The child is a plain `sleep` (no callback) stopped with `kill()`, in four
//! lanes at once, so the run stays well under a minute in a debug build.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcManager, ProcHandle, ProcId, ProcManager,
};
use support::*;

const CYCLES: usize = 10_000;
const LANES: usize = 4;
const WARM_UP: usize = 1_200;

fn status_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Children of this process (zombies included), but the manager's
/// guardian, a child by design while the manager lives.
fn children() -> usize {
    let mut n = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path().join("children");
        for pid in std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if !String::from_utf8_lossy(&cmdline).contains("proc-manager-guardian") {
                n += 1;
            }
        }
    }
    n
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kib: u64,
    threads: u64,
    fds: usize,
}

fn sample() -> Sample {
    Sample {
        rss_kib: status_field("VmRSS:"),
        threads: status_field("Threads:"),
        fds: open_fds(),
    }
}

async fn cycles(manager: &BootstrapProcManager, from: usize, to: usize) {
    let lanes = (0..LANES).map(|lane| async move {
        for i in (from + lane..to).step_by(LANES) {
            let handle = manager
                .spawn(ProcId::ranked("soak", i).unwrap(), backend())
                .await
                .unwrap();
            let status = handle.kill().await.unwrap();
            assert!(status.is_exit(), "{status}");
        }
    });
    futures::future::join_all(lanes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_spawn_stop_cycles_stay_flat() {
    let manager = BootstrapProcManager::builder(BootstrapCommand::new("/bin/sleep").arg("1000"))
        .ready_timeout(Duration::from_secs(600))
        .build();
    let started = Instant::now();
    // Warm up past the retention limit, so the kept ended procs are at
    // their steady count before the first sample.
    within(
        Duration::from_secs(300),
        "warm-up",
        cycles(&manager, 0, WARM_UP),
    )
    .await;
    let before = sample();
    within(
        Duration::from_secs(600),
        "cycles",
        cycles(&manager, WARM_UP, CYCLES),
    )
    .await;
    let after = sample();
    eprintln!(
        "soak: {CYCLES} cycles in {:.1?}; before {before:?}, after {after:?}",
        started.elapsed()
    );
    assert_eq!(manager.live_groups(), 0);
    assert_eq!(children(), 0, "zombies or live children left");
    // Trimmed right after each end is published (by the exit monitor).
    within(
        SHOULD,
        "retention trims to retain_ended (default 1000)",
        async {
            while manager.proc_ids().len() != 1000 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        },
    )
    .await;
    assert!(
        after.fds <= before.fds + 2,
        "fds grew: {before:?} -> {after:?}"
    );
    assert!(
        after.threads <= before.threads + 2,
        "threads grew: {before:?} -> {after:?}"
    );
    assert!(
        after.rss_kib < before.rss_kib + 4 * 1024,
        "RSS grew by {} KiB",
        after.rss_kib.saturating_sub(before.rss_kib)
    );
    within(SHOULD, "proc dirs removed", async {
        // Proc dirs only: the manager's one log socket lives beside them.
        let proc_dirs = || {
            std::fs::read_dir(manager.socket_dir())
                .unwrap()
                .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
                .count()
        };
        while proc_dirs() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
