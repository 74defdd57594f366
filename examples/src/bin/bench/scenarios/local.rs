//! `local_spawn_to_ready`: many in-process procs of the local backend
//! started, all Ready, then all stopped, vs plain `tokio::spawn` tasks that
//! report ready and stop through oneshot channels.

use std::time::{Duration, Instant};

use proc_manager_local::{
    BulkTerminate as _, ChannelAddr, LocalContext, LocalProcManager, ProcHandle as _, ProcId,
    ProcManager as _, ProcStatus,
};
use tokio::sync::oneshot;

use crate::harness::{Better, Result, Rounds, Row, Spec, Target, alternate, bounded, ms};
use crate::scenarios::Ctx;

/// Baseline: `n` tasks, each sending "ready" (its index) on one oneshot and
/// ending when another fires; all spawned, all ready awaited, all told to
/// stop, all joined. Returns ms for the whole.
async fn tokio_tasks(n: usize) -> Result<f64> {
    let started = Instant::now();
    let mut procs = Vec::with_capacity(n);
    for i in 0..n {
        let (ready_tx, ready_rx) = oneshot::channel::<usize>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = ready_tx.send(i);
            let _ = stop_rx.await;
            0i32
        });
        procs.push((ready_rx, stop_tx, task));
    }
    let mut running = Vec::with_capacity(n);
    for (ready_rx, stop_tx, task) in procs {
        ready_rx.await?;
        running.push((stop_tx, task));
    }
    let mut tasks = Vec::with_capacity(n);
    for (stop_tx, task) in running {
        let _ = stop_tx.send(());
        tasks.push(task);
    }
    for task in tasks {
        if task.await? != 0 {
            return Err("task failed".into());
        }
    }
    Ok(ms(started.elapsed()))
}

/// The local proc: ready at once, stop on the shutdown request, exit 0.
fn local_manager() -> LocalProcManager {
    LocalProcManager::new(|ctx: LocalContext| async move {
        ctx.ready(ChannelAddr::any(
            proc_manager_local::ChannelTransport::Local,
        ))
        .await?;
        ctx.shutdown_requested().await;
        Ok::<i32, proc_manager_local::ContextError>(0)
    })
}

/// Ours: `n` local procs spawned, all Ready awaited, then one
/// `terminate_all`. Returns ms for the whole.
async fn ours_local(ids: &[ProcId]) -> Result<f64> {
    let manager = local_manager();
    let backend = ChannelAddr::any(proc_manager_local::ChannelTransport::Local);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(ids.len());
    for id in ids {
        handles.push(manager.spawn(id.clone(), backend.clone()).await?);
    }
    for h in &handles {
        h.ready().await?;
    }
    let summary = manager
        .terminate_all(Duration::from_secs(10), ids.len())
        .await;
    let elapsed = started.elapsed();
    if summary.polite != ids.len() {
        return Err(format!("local terminate_all: {summary}").into());
    }
    for h in &handles {
        if !matches!(h.status(), ProcStatus::Stopped { exit_code: 0, .. }) {
            return Err(format!("local proc ended as {}", h.status()).into());
        }
    }
    Ok(ms(elapsed))
}

pub(crate) async fn local_spawn_to_ready(ctx: &Ctx) -> Result<Row> {
    let n = 10_000;
    let rounds = Rounds {
        warmup: 1,
        measured: ctx.pick(3, 9),
    };
    let spec = Spec {
        name: "local_spawn_to_ready",
        unit: "ms",
        n,
        better: Better::Lower,
        targets: vec![Target::RatioAtMost(3.0)],
        note: format!(
            "{n} in-process procs per round, timed from the first spawn until all are Ready and \
             then all stopped; ours = LocalProcManager (proc fn: ready(addr), await the shutdown \
             request, return 0), spawn + ready() each, then terminate_all; baseline = \
             tokio::spawn of a task that sends on a oneshot and awaits a second oneshot, all \
             ready awaited, all told to stop, all joined."
        ),
    };
    let limit = Duration::from_secs(60);
    let ids = (0..n)
        .map(|i| ProcId::ranked("local", i))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    alternate(
        spec,
        rounds,
        async || bounded(limit, "ours", ours_local(&ids)).await,
        async || bounded(limit, "baseline", tokio_tasks(n)).await,
    )
    .await
}
