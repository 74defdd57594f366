//! Retention on the local backend, the same rule as the bootstrap one:
//! the most recent `retain_ended` ended procs stay known, `forget` drops
//! one at once, live procs are never dropped, and memory is flat over many
//! spawn/stop cycles.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use proc_manager_local::{
    ChannelAddr, ChannelTransport, LocalContext, LocalProcManager, ProcHandle, ProcId, ProcManager,
};

fn addr() -> ChannelAddr {
    ChannelAddr::any(ChannelTransport::Local)
}

fn quick() -> LocalProcManager {
    LocalProcManager::builder(|_ctx: LocalContext| async { Ok::<i32, std::io::Error>(0) })
        .retain_ended(3)
        .build()
}

#[tokio::test]
async fn only_the_most_recent_ended_procs_are_kept() {
    let manager = quick();
    for i in 0..10 {
        let handle = manager
            .spawn(ProcId::ranked("short", i).unwrap(), addr())
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), handle.wait())
            .await
            .unwrap()
            .unwrap();
    }
    let mut ids: Vec<String> = manager.proc_ids().iter().map(ToString::to_string).collect();
    ids.sort();
    assert_eq!(ids, ["short[7]", "short[8]", "short[9]"]);
    assert!(
        manager
            .handle(&ProcId::ranked("short", 0).unwrap())
            .is_none()
    );
    assert!(
        manager
            .handle(&ProcId::ranked("short", 9).unwrap())
            .is_some()
    );
}

#[tokio::test]
async fn forget_drops_an_ended_proc_and_keeps_a_live_one() {
    let manager = LocalProcManager::new(|ctx: LocalContext| async move {
        ctx.shutdown_requested().await;
        Ok::<i32, std::io::Error>(0)
    });
    let id = ProcId::new("alive").unwrap();
    let handle = manager.spawn(id.clone(), addr()).await.unwrap();
    assert!(!manager.forget(&id), "a live proc is not forgotten");
    handle.kill().await.unwrap();
    assert!(manager.forget(&id));
    assert!(manager.handle(&id).is_none());
    assert!(manager.proc_ids().is_empty());
    assert!(!manager.forget(&id));
}

#[tokio::test]
async fn many_cycles_keep_the_table_bounded() {
    let manager = quick();
    for i in 0..5_000 {
        let handle = manager
            .spawn(ProcId::ranked("cycle", i).unwrap(), addr())
            .await
            .unwrap();
        handle.wait().await.unwrap();
    }
    assert!(
        manager.proc_ids().len() <= 3,
        "{}",
        manager.proc_ids().len()
    );
}
