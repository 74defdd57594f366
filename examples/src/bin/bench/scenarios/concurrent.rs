//! `concurrent_ready`: many children spawned at once, timed until all are
//! Ready; and the baseline helpers that spawn and stop many hand-made
//! children at once (also used by the terminate and memory scenarios).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use proc_manager_bootstrap::BootstrapProcManager;
use tokio::task::JoinSet;

use crate::baseline::HandProc;
use crate::harness::{Better, Result, Rounds, Row, Spec, Target, alternate, bounded};
use crate::mode::Mode;
use crate::scenarios::{Ctx, ours};

/// Baseline: `n` hand-made children in `mode` spawned at once, one tokio
/// task each (spawn, accept, read hello); returns them all ready.
pub(crate) async fn hand_spawn_many(ctx: &Ctx, n: usize, mode: Mode) -> Result<Vec<HandProc>> {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let hand = ctx.hand.clone();
        set.spawn(async move { hand.spawn_ready(mode).await });
    }
    let mut procs = Vec::with_capacity(n);
    let mut first_error = None;
    while let Some(joined) = set.join_next().await {
        match joined? {
            Ok(p) => procs.push(p),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    if let Some(e) = first_error {
        kill_all(procs).await?;
        return Err(e);
    }
    Ok(procs)
}

/// Baseline teardown: SIGKILL every child, then wait them all.
pub(crate) async fn kill_all(procs: Vec<HandProc>) -> Result<()> {
    for p in &procs {
        p.signal(Signal::SIGKILL)?;
    }
    for p in procs {
        p.wait().await?;
    }
    Ok(())
}

async fn hand_concurrent_ready(ctx: &Ctx, n: usize) -> Result<f64> {
    let started = Instant::now();
    let procs = hand_spawn_many(ctx, n, Mode::ReadyWait).await?;
    let elapsed = started.elapsed();
    kill_all(procs).await?;
    Ok(n as f64 / elapsed.as_secs_f64())
}

async fn ours_concurrent_ready(manager: &Arc<BootstrapProcManager>, n: usize) -> Result<f64> {
    let started = Instant::now();
    let handles = ours::spawn_many_ready(manager, "conc", n, Mode::ReadyWait).await?;
    let elapsed = started.elapsed();
    ours::kill_all(handles).await;
    Ok(n as f64 / elapsed.as_secs_f64())
}

pub(crate) async fn concurrent_ready(ctx: &Ctx) -> Result<Row> {
    let n = ctx.pick(200, 500);
    let rounds = Rounds {
        warmup: 1,
        measured: ctx.pick(2, 5),
    };
    let spec = Spec {
        name: "concurrent_ready",
        unit: "procs/s",
        n,
        better: Better::Higher,
        targets: vec![Target::RatioAtLeast(0.90)],
        note: format!(
            "{n} children (mode ready_wait) spawned at once, one tokio task each, timed until \
             all are Ready; ours = spawn + ready() per task; baseline = the spawn_to_ready \
             baseline per task. Children are killed after the round, untimed."
        ),
    };
    let manager = Arc::new(ours::manager(&ctx.exe));
    let limit = Duration::from_secs(120);
    alternate(
        spec,
        rounds,
        async || bounded(limit, "ours", ours_concurrent_ready(&manager, n)).await,
        async || bounded(limit, "baseline", hand_concurrent_ready(ctx, n)).await,
    )
    .await
}
