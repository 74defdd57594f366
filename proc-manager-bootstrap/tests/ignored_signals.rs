//! A manager whose own process ignores signals (a script's background job
//! ignores SIGINT and SIGQUIT; `nohup` ignores SIGHUP) still starts its
//! children with every signal at its default, under either containment: a
//! shell child can trap them, and a `stop_signal` of SIGINT stops it.
//!
//! This file holds one test because it changes its process's signal
//! dispositions.

#![allow(clippy::unwrap_used)]

mod support;

use proc_manager_bootstrap::{
    BootstrapProcConfig, BootstrapProcManager, ChannelAddr, Containment, ProcHandle, ProcManager,
    ProcStatus, Readiness, Signal,
};
use support::*;

/// The signals ignored by a process, from `/proc/PID/status` (`SigIgn`).
fn ignored_mask(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("SigIgn:")).unwrap();
    u64::from_str_radix(line.trim_start_matches("SigIgn:").trim(), 16).unwrap()
}

fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

#[tokio::test]
async fn signals_the_manager_ignores_start_at_their_default_in_the_child() {
    // SAFETY: signal(2) on this test binary's own process, before any
    // child is started; no handler is installed.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
    let both = bit(libc::SIGINT) | bit(libc::SIGHUP);
    assert_eq!(ignored_mask(std::process::id()) & both, both);
    let mut containments = vec![Containment::ProcessGroup];
    if cgroups_here() {
        containments.push(Containment::Cgroup);
    }
    for containment in containments {
        traps_ignored_signals(containment).await;
    }
}

async fn traps_ignored_signals(containment: Containment) {
    let script = "trap 'echo hup' HUP; trap 'echo bye; exit 7' INT; trap '' TERM; \
                  echo armed; while :; do sleep 5 & wait $!; done";
    let ready: ChannelAddr = "tcp:127.0.0.1:1".parse().unwrap();
    let (manager, sink) = watched_with(
        BootstrapProcManager::builder(sh(script))
            .containment(containment)
            .readiness(Readiness::log_line("^armed$", ready)),
    );
    assert_eq!(manager.containment(), containment);
    let mut lines = sink.subscribe();
    let config = BootstrapProcConfig::default().stop_signal(Signal::SIGINT);
    let handle = manager
        .spawn_with(id("background-job"), backend(), config)
        .await
        .unwrap();
    within(SHOULD, "ready", handle.ready()).await.unwrap();
    // The shell was started with HUP and INT at their defaults (it ignores
    // TERM itself, by its own trap).
    let pid = handle.pid().unwrap();
    let both = bit(libc::SIGINT) | bit(libc::SIGHUP);
    assert_eq!(
        ignored_mask(pid) & both,
        0,
        "{containment}: the child inherited an ignored signal"
    );
    handle.signal(Signal::SIGHUP).unwrap();
    wait_line(&mut lines, "background-job", "hup").await;
    // The stop signal reaches the shell's group: its `sleep` dies of it
    // (the shell may report that on stderr), the shell exits by its trap.
    let end = handle.terminate(SHOULD, "test").await.unwrap();
    assert!(
        matches!(end, ProcStatus::Stopped { exit_code: 7, .. }),
        "{containment}: {end}"
    );
    wait_line(&mut lines, "background-job", "bye").await;
}
