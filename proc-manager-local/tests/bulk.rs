//! `terminate_all`: summary counts, the cap on stop operations in flight,
//! and one deadline for the whole call.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Live, bounded, count, counter, id, killed, stopped};
use proc_manager_local::{
    BulkTerminate, ChannelAddr, LocalContext, LocalProcConfig, LocalProcManager, ProcHandle,
    ProcManager,
};
use tokio::time::Instant;

/// Procs whose behaviour on a stop request comes from their config:
/// `"polite"` returns 0, `"stubborn"` never returns, `"exit"` returns 7 at
/// once without waiting.
fn scripted() -> LocalProcManager {
    LocalProcManager::new(|ctx: LocalContext| async move {
        let mode = ctx.config().and_then(|c| c.as_str()).unwrap_or("polite");
        if mode == "exit" {
            return Ok(7);
        }
        ctx.ready(ChannelAddr::Local(1))
            .await
            .map_err(|e| e.to_string())?;
        ctx.shutdown_requested().await;
        if mode == "stubborn" {
            std::future::pending::<()>().await;
        }
        Ok::<i32, String>(0)
    })
}

async fn spawn_mode(manager: &LocalProcManager, name: String, mode: &str) -> impl ProcHandle {
    let config = LocalProcConfig::with_config(serde_json::json!(mode));
    manager
        .spawn_with(id(&name), ChannelAddr::Local(1), config)
        .await
        .unwrap()
}

/// Ten polite procs, five stubborn ones and three that already ended,
/// stopped with `cap` in flight (above the number of stubborn procs, so
/// every polite proc gets its turn before the deadline).
async fn counts_with_cap(cap: usize) {
    let manager = scripted();
    let mut polite = Vec::new();
    let mut stubborn = Vec::new();
    let mut ended = Vec::new();
    for i in 0..10 {
        polite.push(spawn_mode(&manager, format!("polite{i}"), "polite").await);
    }
    for i in 0..5 {
        stubborn.push(spawn_mode(&manager, format!("stubborn{i}"), "stubborn").await);
    }
    for i in 0..3 {
        ended.push(spawn_mode(&manager, format!("exit{i}"), "exit").await);
    }
    for handle in polite.iter().chain(&stubborn) {
        bounded(handle.ready()).await.unwrap();
    }
    for handle in &ended {
        assert_eq!(bounded(handle.wait()).await.unwrap(), stopped(7));
    }

    let summary = bounded(manager.terminate_all(Duration::from_millis(500), cap)).await;
    assert_eq!(summary.attempted, 15, "{summary}");
    assert_eq!(summary.polite, 10, "{summary}");
    assert_eq!(summary.killed, 5, "{summary}");
    assert_eq!(summary.failed, 0, "{summary}");
    assert_eq!(summary.ok, summary.polite + summary.killed);
    assert_eq!(summary.attempted, summary.ok + summary.failed);
    assert!(summary.elapsed >= Duration::from_millis(500), "{summary}");

    assert!(polite.iter().all(|h| h.status() == stopped(0)));
    assert!(stubborn.iter().all(|h| h.status() == killed()));
    assert!(ended.iter().all(|h| h.status() == stopped(7)));

    // Nothing left alive: a second call has nothing to do.
    let again = bounded(manager.terminate_all(Duration::from_secs(5), 4)).await;
    assert_eq!((again.attempted, again.ok, again.failed), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_counts_with_procs_queued_behind_the_cap() {
    counts_with_cap(8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_counts_with_every_proc_in_flight() {
    counts_with_cap(64).await;
}

#[tokio::test(start_paused = true)]
async fn stop_operations_in_flight_are_capped() {
    const PROCS: usize = 40;
    const CAP: usize = 4;
    const WORK: Duration = Duration::from_millis(50);
    let in_flight = counter();
    let most = Arc::new(AtomicUsize::new(0));
    let manager = LocalProcManager::new({
        let (in_flight, most) = (in_flight.clone(), most.clone());
        move |ctx: LocalContext| {
            let (in_flight, most) = (in_flight.clone(), most.clone());
            async move {
                ctx.ready(ChannelAddr::Local(1))
                    .await
                    .map_err(|e| e.to_string())?;
                ctx.shutdown_requested().await;
                let _stopping = Live::new(&in_flight);
                most.fetch_max(count(&in_flight), Ordering::SeqCst);
                // Simulated shutdown work (virtual time).
                tokio::time::sleep(WORK).await;
                Ok::<i32, String>(0)
            }
        }
    });
    for i in 0..PROCS {
        let handle = manager
            .spawn(id(&format!("w{i}")), ChannelAddr::Local(1))
            .await
            .unwrap();
        bounded(handle.ready()).await.unwrap();
    }

    let summary = bounded(manager.terminate_all(Duration::from_secs(60), CAP)).await;
    assert_eq!(
        (summary.attempted, summary.polite),
        (PROCS, PROCS),
        "{summary}"
    );
    assert_eq!(most.load(Ordering::SeqCst), CAP);
    // Forty stops of 50 ms, four at a time.
    assert!(summary.elapsed >= WORK * (PROCS / CAP) as u32, "{summary}");
    assert_eq!(count(&in_flight), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_deadline_for_the_whole_call() {
    const PROCS: usize = 200;
    const CAP: usize = 16;
    let timeout = Duration::from_millis(300);
    let asked = counter();
    let live = counter();
    let manager = LocalProcManager::new({
        let (asked, live) = (asked.clone(), live.clone());
        move |ctx: LocalContext| {
            let asked = asked.clone();
            let live = Live::new(&live);
            async move {
                let _live = live;
                ctx.ready(ChannelAddr::Local(1))
                    .await
                    .map_err(|e| e.to_string())?;
                ctx.shutdown_requested().await;
                asked.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
                Ok::<i32, String>(0)
            }
        }
    });
    let mut handles = Vec::new();
    for i in 0..PROCS {
        handles.push(
            manager
                .spawn(id(&format!("stubborn{i}")), ChannelAddr::Local(1))
                .await
                .unwrap(),
        );
    }
    for handle in &handles {
        bounded(handle.ready()).await.unwrap();
    }

    let started = Instant::now();
    let summary = bounded(manager.terminate_all(timeout, CAP)).await;
    let elapsed = started.elapsed();
    assert_eq!(
        (summary.attempted, summary.killed),
        (PROCS, PROCS),
        "{summary}"
    );
    assert!(elapsed >= timeout, "{elapsed:?}");
    // A per-proc deadline would take 200 / 16 rounds of 300 ms (3.75 s).
    assert!(
        elapsed < timeout + Duration::from_millis(1500),
        "{elapsed:?}"
    );
    // Only the stops in flight asked politely; the rest were aborted at the
    // deadline without a turn.
    assert!(count(&asked) <= CAP, "{} asked", count(&asked));
    assert_eq!(count(&live), 0);
    assert!(handles.iter().all(|h| h.status() == killed()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_manager_has_nothing_to_stop() {
    let manager = scripted();
    let summary = bounded(manager.terminate_all(Duration::from_secs(10), 0)).await;
    assert_eq!((summary.attempted, summary.ok, summary.failed), (0, 0, 0));
    assert!(summary.elapsed < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_in_flight_is_taken_as_one() {
    let manager = scripted();
    let mut handles = Vec::new();
    for i in 0..3 {
        handles.push(spawn_mode(&manager, format!("p{i}"), "polite").await);
    }
    for handle in &handles {
        bounded(handle.ready()).await.unwrap();
    }
    let summary = bounded(manager.terminate_all(Duration::from_secs(20), 0)).await;
    assert_eq!((summary.attempted, summary.polite), (3, 3), "{summary}");
}
