//! Nothing is left behind: dropping the manager aborts every proc task, and
//! 10,000 procs spawned, made ready and stopped leave no proc future alive.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use common::{Live, bounded, count, counter, id, killed, stopped};
use proc_manager_local::{
    BulkTerminate, ChannelAddr, LocalContext, LocalProcManager, ProcHandle, ProcManager,
};

/// Procs that report ready and run until asked to stop; `live` counts their
/// futures (the context included: it is moved into the future).
fn counted(live: Arc<AtomicUsize>) -> LocalProcManager {
    LocalProcManager::new(move |ctx: LocalContext| {
        let live = Live::new(&live);
        async move {
            let _live = live;
            let rank = ctx.proc_id().rank().unwrap_or(0) as u64;
            ctx.ready(ChannelAddr::Local(rank))
                .await
                .map_err(|e| e.to_string())?;
            ctx.shutdown_requested().await;
            Ok::<i32, String>(0)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_manager_aborts_every_proc() {
    let live = counter();
    let manager = counted(live.clone());
    let mut handles = Vec::new();
    for rank in 0..20 {
        handles.push(
            manager
                .spawn(
                    proc_manager_local::ProcId::ranked("held", rank).unwrap(),
                    ChannelAddr::Local(1),
                )
                .await
                .unwrap(),
        );
    }
    for handle in &handles {
        bounded(handle.ready()).await.unwrap();
    }
    assert_eq!(count(&live), 20);

    drop(manager);
    // Handles outlive the manager and see every proc killed; Killed is
    // published only after the proc's future is dropped.
    for handle in &handles {
        assert_eq!(bounded(handle.wait()).await.unwrap(), killed());
    }
    assert_eq!(count(&live), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_procs_start_ready_and_stop_without_leftovers() {
    const PROCS: usize = 10_000;
    let live = counter();
    let manager = counted(live.clone());
    let mut handles = Vec::with_capacity(PROCS);
    for rank in 0..PROCS {
        let proc_id = proc_manager_local::ProcId::ranked("world", rank).unwrap();
        handles.push(manager.spawn(proc_id, ChannelAddr::Local(0)).await.unwrap());
    }
    for (rank, handle) in handles.iter().enumerate() {
        assert_eq!(
            bounded(handle.ready()).await.unwrap(),
            ChannelAddr::Local(rank as u64)
        );
    }
    assert_eq!(count(&live), PROCS);
    assert_eq!(manager.proc_ids().len(), PROCS);

    let summary = bounded(manager.terminate_all(Duration::from_secs(30), 256)).await;
    assert_eq!(
        (
            summary.attempted,
            summary.polite,
            summary.killed,
            summary.failed
        ),
        (PROCS, PROCS, 0, 0),
        "{summary}"
    );
    assert_eq!(count(&live), 0);
    assert!(handles.iter().all(|h| h.status() == stopped(0)));
    assert!(manager.status(&id("world")).is_none());
}

#[test]
fn procs_of_a_runtime_that_shuts_down_end_killed() {
    let live = counter();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let manager = counted(live.clone());
    let handles: Vec<_> = runtime.block_on(async {
        let mut handles = Vec::new();
        for rank in 0..5 {
            let proc_id = proc_manager_local::ProcId::ranked("rt", rank).unwrap();
            let handle = manager.spawn(proc_id, ChannelAddr::Local(1)).await.unwrap();
            bounded(handle.ready()).await.unwrap();
            handles.push(handle);
        }
        handles
    });
    assert_eq!(count(&live), 5);
    // Shutting the runtime down drops every task: each proc ends Killed,
    // with the manager still alive.
    runtime.shutdown_timeout(common::PATIENCE);
    for handle in &handles {
        assert_eq!(handle.status(), killed());
    }
    assert_eq!(count(&live), 0);
    drop(manager);
}
