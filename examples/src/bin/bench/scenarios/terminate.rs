//! Bulk stop scenarios: `terminate_all` (ready children that stop on the
//! polite request) and `terminate_all_stubborn` (children that ignore it and
//! must be killed at the one deadline).

use std::time::{Duration, Instant};

use std::sync::Arc;

use nix::sys::signal::Signal;
use proc_manager_bootstrap::{BootstrapProcManager, BulkTerminate as _, ProcHandle as _};

use crate::harness::{
    Better, Result, Rounds, Row, Spec, Target, alternate, alternate_with_peer, bounded, median, ms,
};
use crate::mode::Mode;
use crate::peer;
use crate::scenarios::concurrent::{hand_spawn_many, peer_spawn_many, term_all};
use crate::scenarios::{Ctx, ours};

/// Baseline: `n` ready children (set up untimed), then SIGTERM to every one
/// and wait them all (each child's drain-and-wait task reaps it). Returns ms.
async fn hand_terminate_all(ctx: &Ctx, n: usize) -> Result<f64> {
    let procs = hand_spawn_many(ctx, n, Mode::ReadyWait).await?;
    let started = Instant::now();
    term_all(procs).await?;
    Ok(ms(started.elapsed()))
}

/// Peer: `n` ready children spawned through process-wrap (set up untimed),
/// then process-wrap's `signal(SIGTERM)` (its process group) to every one
/// and its `wait` on every one. Returns ms.
async fn peer_terminate_all(ctx: &Ctx, n: usize) -> Result<f64> {
    let procs = peer_spawn_many(ctx, n, Mode::ReadyWait).await?;
    let started = Instant::now();
    for p in &procs {
        p.signal(Signal::SIGTERM)?;
    }
    for p in procs {
        let status = p.wait().await?;
        if !status.success() {
            return Err(format!("peer child did not stop cleanly: {status}").into());
        }
    }
    Ok(ms(started.elapsed()))
}

/// The hand-written equivalent for children that ignore SIGTERM: SIGTERM
/// to all, at the deadline SIGKILL to all, wait all. Returns ms.
async fn hand_terminate_stubborn(ctx: &Ctx, n: usize, timeout: Duration) -> Result<f64> {
    let procs = hand_spawn_many(ctx, n, Mode::ReadyIgnore).await?;
    let started = Instant::now();
    for p in &procs {
        p.signal(Signal::SIGTERM)?;
    }
    // The deadline is the point of this baseline, not a synchronisation.
    tokio::time::sleep_until((started + timeout).into()).await;
    for p in &procs {
        p.signal(Signal::SIGKILL)?;
    }
    for p in procs {
        p.wait().await?;
    }
    Ok(ms(started.elapsed()))
}

/// Ours: `n` ready procs (set up untimed), then one `terminate_all`.
/// Returns ms, after checking how each proc ended.
async fn ours_terminate_all(
    manager: &Arc<BootstrapProcManager>,
    mode: Mode,
    n: usize,
    timeout: Duration,
    max_in_flight: usize,
) -> Result<f64> {
    let handles = ours::spawn_many_ready(manager, "term", n, mode).await?;
    let started = Instant::now();
    let summary = manager.terminate_all(timeout, max_in_flight).await;
    let elapsed = started.elapsed();
    let expected_polite = if matches!(mode, Mode::ReadyWait) {
        n
    } else {
        0
    };
    if summary.attempted != n || summary.ok != n || summary.polite != expected_polite {
        return Err(format!("terminate_all of {n}: {summary}").into());
    }
    if matches!(mode, Mode::ReadyWait) {
        for h in &handles {
            ours::expect_clean_exit(&h.status())?;
        }
    }
    Ok(ms(elapsed))
}

pub(crate) async fn terminate_all(ctx: &Ctx) -> Result<Row> {
    let n = ctx.pick(200, 500);
    let rounds = Rounds {
        warmup: 1,
        measured: ctx.pick(2, 9),
    };
    let spec = Spec {
        name: "terminate_all",
        unit: "ms",
        n,
        better: Better::Lower,
        targets: vec![Target::RatioAtMost(1.15)],
        note: format!(
            "{n} ready children (mode ready_wait) that exit on the polite request; ours = \
             terminate_all(10 s, max_in_flight {n}) timed to its summary; baseline = SIGTERM \
             to every child, then wait all; peer = the same children spawned through \
             process-wrap (ProcessGroup::leader + KillOnDrop), its signal(SIGTERM) to each, \
             then its wait on each. Set-up is untimed."
        ),
    };
    let manager = Arc::new(ours::manager(&ctx.exe));
    let limit = Duration::from_secs(120);
    let timeout = Duration::from_secs(10);
    alternate_with_peer(
        spec,
        rounds,
        async || {
            let fut = ours_terminate_all(&manager, Mode::ReadyWait, n, timeout, n);
            bounded(limit, "ours", fut).await
        },
        async || bounded(limit, "baseline", hand_terminate_all(ctx, n)).await,
        Some((peer::NAME, async || {
            bounded(limit, "peer", peer_terminate_all(ctx, n)).await
        })),
    )
    .await
}

pub(crate) async fn terminate_all_stubborn(ctx: &Ctx) -> Result<Row> {
    let n = 200;
    let timeout = Duration::from_millis(500);
    let max_in_flight = 16;
    let rounds = Rounds {
        warmup: 1,
        measured: ctx.pick(2, 5),
    };
    let spec = Spec {
        name: "terminate_all_stubborn",
        unit: "ms",
        n,
        better: Better::Lower,
        targets: vec![Target::RatioAtMost(1.06)],
        note: format!(
            "{n} ready children (mode ready_ignore) that ignore the polite request; ours = wall \
             time of terminate_all({} ms, max_in_flight {max_in_flight}); the baseline column \
             is the timeout itself, so ratio = wall / timeout (a per-proc-timeout design would \
             need {n}/{max_in_flight} x timeout = {:.1}x). For context, the hand-written \
             equivalent (SIGTERM to all, SIGKILL to all at the deadline, wait all) is timed \
             in the same rounds.",
            timeout.as_millis(),
            n as f64 / max_in_flight as f64,
        ),
    };
    let manager = Arc::new(ours::manager(&ctx.exe));
    let limit = Duration::from_secs(120);
    let mut hand = Vec::new();
    let mut row = alternate(
        spec,
        rounds,
        async || {
            let fut = ours_terminate_all(&manager, Mode::ReadyIgnore, n, timeout, max_in_flight);
            bounded(limit, "ours", fut).await
        },
        async || {
            let fut = hand_terminate_stubborn(ctx, n, timeout);
            hand.push(bounded(limit, "hand-written", fut).await?);
            Ok(ms(timeout))
        },
    )
    .await?;
    let measured = hand.split_off(hand.len() - row.rounds);
    row.extra
        .insert("hand_written_wall_ms", median(measured.clone()));
    row.extra.insert(
        "hand_written_wall_over_timeout",
        median(measured.iter().map(|w| w / ms(timeout)).collect()),
    );
    Ok(row)
}
