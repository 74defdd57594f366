//! Retention: ended procs stay known up to `retain_ended(n)` (the most
//! recent ones), `forget(&id)` drops one at once, live procs are never
//! dropped, and a handle already held keeps working.

#![allow(clippy::unwrap_used)]

mod support;

use proc_manager_bootstrap::{BootstrapProcManager, ProcHandle, ProcId, ProcManager, ProcStatus};
use support::*;

#[tokio::test]
async fn only_the_most_recent_ended_procs_are_kept() {
    let manager = BootstrapProcManager::builder(sh("exit 0"))
        .retain_ended(3)
        .build();
    let live = BootstrapProcManager::builder(sh("exec sleep 300")).build();
    let sleeper = live.spawn(id("sleeper"), backend()).await.unwrap();
    let mut first = None;
    for i in 0..10 {
        let handle = manager
            .spawn(ProcId::ranked("short", i).unwrap(), backend())
            .await
            .unwrap();
        wait_end(&handle).await;
        first.get_or_insert(handle);
    }
    let mut ids: Vec<String> = manager.proc_ids().iter().map(ToString::to_string).collect();
    ids.sort();
    assert_eq!(ids, ["short[7]", "short[8]", "short[9]"]);
    assert!(
        manager
            .status(&ProcId::ranked("short", 0).unwrap())
            .is_none()
    );
    // A handle held by the caller outlives its entry.
    assert!(matches!(
        first.unwrap().status(),
        ProcStatus::Stopped { exit_code: 0, .. }
    ));
    assert!(sleeper.status().is_alive());
    within(SHOULD, "kill", sleeper.kill()).await.unwrap();
}

#[tokio::test]
async fn forget_drops_an_ended_proc_and_keeps_a_live_one() {
    let manager = manager("read x");
    let handle = manager.spawn(id("alive"), backend()).await.unwrap();
    assert!(
        !manager.forget(&id("alive")),
        "a live proc is not forgotten"
    );
    assert!(manager.status(&id("alive")).is_some());
    within(SHOULD, "kill", handle.kill()).await.unwrap();
    assert!(manager.forget(&id("alive")));
    assert!(manager.status(&id("alive")).is_none());
    assert!(manager.proc_ids().is_empty());
    assert!(!manager.forget(&id("alive")), "already gone");
}

#[tokio::test]
async fn retain_zero_keeps_no_ended_proc() {
    let manager = BootstrapProcManager::builder(sh("exit 1"))
        .retain_ended(0)
        .build();
    let handle = manager.spawn(id("gone"), backend()).await.unwrap();
    wait_end(&handle).await;
    within(SHOULD, "entry dropped", async {
        while !manager.proc_ids().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}
