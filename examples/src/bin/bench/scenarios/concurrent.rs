//! `concurrent_ready`: many children spawned at once, timed until all are
//! Ready; and the helpers that spawn and stop many hand-made or process-wrap
//! children at once (also used by the terminate, scale and memory
//! scenarios).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use proc_manager_bootstrap::BootstrapProcManager;

use crate::baseline::HandProc;
use crate::harness::{Better, Result, Rounds, Row, Spec, Target, all_at_once, alternate, bounded};
use crate::mode::Mode;
use crate::peer::PeerProc;
use crate::scenarios::{Ctx, ours};

/// Baseline: `n` hand-made children in `mode` spawned at once, one tokio
/// task each (spawn, accept, read hello); returns them all ready.
pub(crate) async fn hand_spawn_many(ctx: &Ctx, n: usize, mode: Mode) -> Result<Vec<HandProc>> {
    let (procs, error) = all_at_once(n, |_| {
        let hand = ctx.hand.clone();
        Ok(async move { hand.spawn_ready(mode).await })
    })
    .await;
    if let Some(e) = error {
        kill_all(procs).await?;
        return Err(e);
    }
    Ok(procs)
}

/// Peer: `n` children in `mode` spawned through process-wrap at once, one
/// tokio task each; returns them all ready.
pub(crate) async fn peer_spawn_many(ctx: &Ctx, n: usize, mode: Mode) -> Result<Vec<PeerProc>> {
    let (procs, error) = all_at_once(n, |_| {
        let hand = ctx.hand.clone();
        Ok(async move { PeerProc::spawn_ready(&hand, mode).await })
    })
    .await;
    if let Some(e) = error {
        for p in &procs {
            p.signal(Signal::SIGKILL)?;
        }
        for p in procs {
            p.wait().await?;
        }
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

/// Baseline stop: SIGTERM to every child, then wait them all; each must
/// exit cleanly.
pub(crate) async fn term_all(procs: Vec<HandProc>) -> Result<()> {
    for p in &procs {
        p.signal(Signal::SIGTERM)?;
    }
    for p in procs {
        let status = p.wait().await?;
        if !status.success() {
            return Err(format!("baseline child did not stop cleanly: {status}").into());
        }
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
