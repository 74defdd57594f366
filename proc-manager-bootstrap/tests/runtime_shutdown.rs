//! A proc whose tokio runtime shuts down is not left unsupervised: it is
//! killed and reaped as the runtime drops its tasks, and becomes
//! `Killed{SIGKILL}`, so `wait()` from another runtime returns at once and
//! no zombie is left. Under both containments.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapProcManager, Containment, ProcHandle, ProcManager, ProcStatus,
};
use support::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn gone_and_reaped(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_proc_of_a_dead_runtime_is_killed_and_wait_returns_elsewhere() {
    for containment in [Containment::Auto, Containment::ProcessGroup] {
        let manager = BootstrapProcManager::builder(sh("sleep 300 & wait"))
            .containment(containment)
            .build();
        let a = runtime();
        let handle = a
            .block_on(manager.spawn(id("orphaned"), backend()))
            .unwrap();
        let pid = handle.pid().unwrap();
        drop(a);
        let b = runtime();
        let status = b.block_on(async {
            within(
                Duration::from_secs(5),
                "wait on another runtime",
                handle.wait(),
            )
            .await
        });
        let status = status.unwrap();
        assert!(
            matches!(status, ProcStatus::Killed { signal: 9, .. }),
            "{containment:?}: {status}"
        );
        assert!(gone_and_reaped(pid), "{containment:?}: {pid} left behind");
        assert_eq!(manager.live_groups(), 0);
        // The manager still works from the new runtime.
        let again = b.block_on(manager.spawn(id("next"), backend())).unwrap();
        b.block_on(async { within(SHOULD, "kill", again.kill()).await.unwrap() });
    }
}

#[test]
fn a_proc_that_ended_before_the_shutdown_reports_how() {
    let manager = BootstrapProcManager::new(sh("exit 7"));
    let a = runtime();
    let handle = a.block_on(manager.spawn(id("quick"), backend())).unwrap();
    // `None` when the monitor has already published the exit (it reaps
    // before it publishes): the runtime then goes after the monitor saw it.
    let pid = handle.pid();
    // The exit happens; the runtime goes before or after the monitor saw it.
    let zombie_or_gone = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
    };
    let started = std::time::Instant::now();
    while pid.is_some_and(|pid| !zombie_or_gone(pid)) && started.elapsed() < SHOULD {
        std::thread::yield_now();
    }
    drop(a);
    let b = runtime();
    let status = b
        .block_on(async { within(Duration::from_secs(5), "wait", handle.wait()).await })
        .unwrap();
    assert!(
        matches!(status, ProcStatus::Stopped { exit_code: 7, .. }),
        "{status}"
    );
    if let Some(pid) = pid {
        assert!(gone_and_reaped(pid));
    }
}
