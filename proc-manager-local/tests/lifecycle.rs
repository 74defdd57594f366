//! Spawn, ready and the ways a local proc ends on its own: exit code, error,
//! panic; plus the proc table (duplicates, reuse, lookups).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{bounded, count, counting_calls, exits_with, id, start, stopped};
use proc_manager_local::{
    ChannelAddr, ChannelTransport, ContextError, LocalContext, LocalProcConfig, LocalProcManager,
    ProcHandle, ProcManager, ProcStatus, ReadyError, SpawnError,
};
use tokio::sync::{Notify, oneshot};

const STOP: Duration = Duration::from_secs(10);

/// A proc that waits for `gate`, reports ready at `local:42` and runs until
/// asked to stop.
fn gated(gate: Arc<Notify>) -> LocalProcManager {
    LocalProcManager::new(move |ctx: LocalContext| {
        let gate = gate.clone();
        async move {
            gate.notified().await;
            ctx.ready(ChannelAddr::Local(42))
                .await
                .map_err(|e| e.to_string())?;
            ctx.shutdown_requested().await;
            Ok::<i32, String>(0)
        }
    })
}

/// A proc that reports ready and runs until asked to stop.
fn serving() -> LocalProcManager {
    LocalProcManager::new(|ctx: LocalContext| async move {
        ctx.ready(ChannelAddr::Local(1))
            .await
            .map_err(|e| e.to_string())?;
        ctx.shutdown_requested().await;
        Ok::<i32, String>(0)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_is_running_then_ready() {
    let gate = Arc::new(Notify::new());
    let manager = gated(gate.clone());
    assert_eq!(manager.transport(), ChannelTransport::Local);

    let handle = start(&manager, "p").await;
    match handle.status() {
        ProcStatus::Running { pid, .. } => assert_eq!(pid, std::process::id()),
        other => panic!("expected running, got {other}"),
    }
    assert_eq!(handle.addr(), None);

    gate.notify_one();
    assert_eq!(
        bounded(handle.ready()).await.unwrap(),
        ChannelAddr::Local(42)
    );
    assert!(handle.status().is_ready());
    assert_eq!(handle.addr(), Some(ChannelAddr::Local(42)));
    assert_eq!(handle.pid(), Some(std::process::id()));
    assert!(manager.status(&id("p")).unwrap().is_ready());

    let status = bounded(handle.terminate(STOP, "test over")).await.unwrap();
    assert_eq!(status, stopped(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_carries_id_backend_addr_and_config() {
    let (tx, rx) = oneshot::channel();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let manager = LocalProcManager::new(move |ctx: LocalContext| {
        let tx = tx.clone();
        async move {
            let seen = (
                ctx.proc_id().clone(),
                ctx.backend_addr().clone(),
                ctx.config().cloned(),
                format!("{ctx:?}"),
            );
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(seen);
            }
            Ok::<i32, String>(0)
        }
    });
    let config = LocalProcConfig::with_config(serde_json::json!({ "port": 4000 }));
    let backend: ChannelAddr = "tcp:127.0.0.1:9000".parse().unwrap();
    let handle = manager
        .spawn_with(id("ctx"), backend.clone(), config)
        .await
        .unwrap();
    let (proc_id, addr, config, debug) = bounded(rx).await.unwrap();
    assert_eq!(proc_id, id("ctx"));
    assert_eq!(addr, backend);
    assert_eq!(config, Some(serde_json::json!({ "port": 4000 })));
    assert!(debug.contains("ctx"), "{debug}");
    assert_eq!(bounded(handle.wait()).await.unwrap(), stopped(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_code_error_and_panic_map_to_terminal_statuses() {
    let manager = LocalProcManager::new(|ctx: LocalContext| {
        let mode = ctx
            .config()
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string();
        if mode == "panic-early" {
            panic!("before the future");
        }
        async move {
            match mode.as_str() {
                "code" => Ok(3),
                "error" => Err(format!("{} could not bind", ctx.proc_id())),
                "panic" => panic!("kaboom {}", 7),
                _ => Ok(0),
            }
        }
    });
    let spawn = |name: &'static str, mode: &'static str| {
        let config = LocalProcConfig::with_config(serde_json::json!(mode));
        manager.spawn_with(id(name), ChannelAddr::Local(1), config)
    };
    let code = spawn("code", "code").await.unwrap();
    let error = spawn("error", "error").await.unwrap();
    let panic = spawn("panic", "panic").await.unwrap();
    let early = spawn("early", "panic-early").await.unwrap();

    assert_eq!(bounded(code.wait()).await.unwrap(), stopped(3));
    assert_eq!(
        bounded(error.wait()).await.unwrap(),
        ProcStatus::Failed {
            reason: "error could not bind".into(),
            stderr_tail: vec![]
        }
    );
    assert_eq!(
        bounded(panic.wait()).await.unwrap(),
        ProcStatus::Failed {
            reason: "panicked: kaboom 7".into(),
            stderr_tail: vec![]
        }
    );
    assert_eq!(
        bounded(early.wait()).await.unwrap(),
        ProcStatus::Failed {
            reason: "panicked: before the future".into(),
            stderr_tail: vec![]
        }
    );

    // The panics stayed in their procs: the manager still works.
    let after = spawn("after", "code").await.unwrap();
    assert_eq!(bounded(after.wait()).await.unwrap(), stopped(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_on_proc_that_ends_unready_is_terminal() {
    let manager = exits_with(4);
    let handle = start(&manager, "quits").await;
    match bounded(handle.ready()).await {
        Err(ReadyError::Terminal { proc_id, status }) => {
            assert_eq!(proc_id, id("quits"));
            assert_eq!(status, stopped(4));
        }
        other => panic!("expected a terminal ready error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_counts_once_and_never_after_stop_requested() {
    let manager = LocalProcManager::new(|ctx: LocalContext| async move {
        ctx.ready(ChannelAddr::Local(1))
            .await
            .map_err(|e| e.to_string())?;
        let again = ctx.ready(ChannelAddr::Local(2)).await;
        assert!(
            matches!(again, Err(ContextError::AlreadyReady { .. })),
            "{again:?}"
        );
        ctx.shutdown_requested().await;
        assert!(ctx.is_shutdown_requested());
        Ok::<i32, String>(0)
    });
    let first = manager
        .spawn(id("twice"), ChannelAddr::Local(9))
        .await
        .unwrap();
    assert_eq!(bounded(first.ready()).await.unwrap(), ChannelAddr::Local(1));
    assert_eq!(
        bounded(first.terminate(STOP, "stop")).await.unwrap(),
        stopped(0)
    );

    // A proc that reports ready only after it was asked to stop.
    let (readied_tx, readied_rx) = oneshot::channel::<()>();
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let channels = Arc::new(std::sync::Mutex::new(Some((readied_tx, go_rx))));
    let late = LocalProcManager::new(move |ctx: LocalContext| {
        let channels = channels.lock().unwrap().take();
        async move {
            let (readied, go) = channels.ok_or("spawned twice")?;
            ctx.shutdown_requested().await;
            ctx.ready(ChannelAddr::Local(3))
                .await
                .map_err(|_| "ready failed")?;
            let _ = readied.send(());
            let _ = go.await;
            Ok::<i32, &str>(0)
        }
    });
    let handle = late.spawn(id("late"), ChannelAddr::Local(9)).await.unwrap();
    let terminate = tokio::spawn({
        let handle = handle.clone();
        async move { handle.terminate(STOP, "stop").await }
    });
    bounded(readied_rx).await.unwrap();
    assert!(handle.status().is_stopping(), "{}", handle.status());
    go_tx.send(()).unwrap();
    assert_eq!(bounded(terminate).await.unwrap().unwrap(), stopped(0));
    assert!(matches!(
        bounded(handle.ready()).await,
        Err(ReadyError::Terminal { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_live_id_is_refused_and_ended_id_reused() {
    let manager = serving();
    let first = start(&manager, "dup").await;
    bounded(first.ready()).await.unwrap();

    match manager.spawn(id("dup"), ChannelAddr::Local(1)).await {
        Err(SpawnError::Duplicate { proc_id }) => assert_eq!(proc_id, id("dup")),
        other => panic!("expected duplicate, got {other:?}"),
    }
    // The first proc is untouched.
    assert!(first.status().is_ready());
    assert!(manager.status(&id("dup")).unwrap().is_ready());

    assert_eq!(
        bounded(first.terminate(STOP, "reuse")).await.unwrap(),
        stopped(0)
    );
    let second = start(&manager, "dup").await;
    bounded(second.ready()).await.unwrap();
    assert!(first.status().is_exit());
    assert!(manager.status(&id("dup")).unwrap().is_ready());
    assert_eq!(manager.proc_ids(), vec![id("dup")]);
    assert_eq!(bounded(second.kill()).await.unwrap(), common::killed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_know_spawned_procs_only() {
    let (manager, calls) = counting_calls();
    assert!(manager.status(&id("nobody")).is_none());
    assert!(manager.handle(&id("nobody")).is_none());
    assert!(manager.proc_ids().is_empty());

    let a = start(&manager, "a").await;
    let b = start(&manager, "b").await;
    bounded(a.wait()).await.unwrap();
    bounded(b.wait()).await.unwrap();

    let mut ids = manager.proc_ids();
    ids.sort();
    assert_eq!(ids, vec![id("a"), id("b")]);
    // Ended procs stay visible with their terminal status.
    assert_eq!(manager.status(&id("a")), Some(stopped(0)));
    assert_eq!(manager.handle(&id("b")).unwrap().proc_id(), &id("b"));
    assert!(manager.status(&id("c")).is_none());
    assert_eq!(count(&calls), 2);
}

#[test]
fn spawn_outside_a_runtime_is_an_error_not_a_panic() {
    let manager = serving();
    let spawned = futures::executor::block_on(manager.spawn(id("nowhere"), ChannelAddr::Local(1)));
    match spawned {
        Err(SpawnError::Io { proc_id, source }) => {
            assert_eq!(proc_id, id("nowhere"));
            assert!(source.to_string().contains("runtime"), "{source}");
        }
        other => panic!("expected an i/o spawn error, got {other:?}"),
    }
    // Nothing was recorded.
    assert!(manager.handle(&id("nowhere")).is_none());
}
