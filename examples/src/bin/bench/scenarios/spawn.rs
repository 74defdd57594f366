//! Sequential spawn scenarios: `spawn_to_exit` (a tiny child spawned and its
//! exit observed), `spawn_to_ready` (the bench's own child to Ready), and
//! `spawn_flat_in_rss` (spawn-to-exit cost while the manager holds a large
//! touched heap vs a small one).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use proc_manager_bootstrap::{
    BootstrapProcManager, Containment, ProcHandle as _, ProcManager as _,
};
use tokio::process::Command;

use crate::baseline::supervise;
use crate::harness::{
    Better, Result, Rounds, Row, Spec, Target, alternate, alternate_with_peer_same_job, bounded, ms,
};
use crate::mode::Mode;
use crate::peer;
use crate::scenarios::{Ctx, ours};

/// The tiny child of `spawn_to_exit` and `spawn_flat_in_rss`, on both sides.
pub(crate) const TINY: &str = "/bin/true";

/// Baseline: `tokio::process` spawn with piped stdout/stderr, both drained
/// to EOF, then `wait`; `n` times in a row. Returns ms per child.
async fn tokio_spawn_to_exit(n: usize) -> Result<f64> {
    let started = Instant::now();
    for _ in 0..n {
        let child = Command::new(TINY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let status = supervise(child).await?;
        if !status.success() {
            return Err(format!("{TINY} failed: {status}").into());
        }
    }
    Ok(ms(started.elapsed()) / n as f64)
}

/// Peer: process-wrap (own process group, kill on drop) spawning the same
/// child with the same pipes, both drained, then its wait; `n` times in a
/// row. Returns ms per child.
async fn peer_spawn_to_exit(n: usize) -> Result<f64> {
    let started = Instant::now();
    for _ in 0..n {
        let status = peer::spawn_to_exit(TINY).await?;
        if !status.success() {
            return Err(format!("{TINY} failed: {status}").into());
        }
    }
    Ok(ms(started.elapsed()) / n as f64)
}

/// Ours: spawn through the manager (stdio captured, status tracked) and
/// wait for the exit status, `n` times in a row. Returns ms per proc.
pub(crate) async fn ours_spawn_to_exit(manager: &BootstrapProcManager, n: usize) -> Result<f64> {
    let backend = ours::backend()?;
    let started = Instant::now();
    for i in 0..n {
        let handle = manager.spawn(ours::id("exit", i)?, backend.clone()).await?;
        ours::expect_clean_exit(&handle.wait().await?)?;
    }
    Ok(ms(started.elapsed()) / n as f64)
}

pub(crate) async fn spawn_to_exit(ctx: &Ctx) -> Result<Row> {
    // Short rounds, many of them: each ratio compares two nearly
    // simultaneous runs, which is what holds on a busy machine.
    let n = ctx.pick(20, 25);
    let rounds = Rounds {
        warmup: 2,
        measured: ctx.pick(8, 30),
    };
    let manager = ours::manager(Path::new(TINY));
    let same_job = ours::manager_with(Path::new(TINY), Containment::ProcessGroup);
    let in_effect = manager.containment();
    let spec = Spec {
        name: "spawn_to_exit",
        unit: "ms/proc",
        n,
        better: Better::Lower,
        targets: vec![Target::RatioAtMost(1.10), Target::PeerRatioAtMost(1.00)],
        note: format!(
            "{n} sequential `{TINY}` children per round: ours = spawn (stdio captured, status \
             tracked; containment in effect: {in_effect}) then wait for the exit status; \
             baseline = tokio::process spawn, both pipes drained, wait; peer = process-wrap \
             (tokio, ProcessGroup::leader + KillOnDrop), both pipes drained, its wait, compared \
             with ours doing the same job (Containment::ProcessGroup, so also one process group \
             per child, with the manager-death guard), in the same rounds (same_job_ms); \
             default_over_peer is ours in its default containment (above) against the peer."
        ),
    };
    let limit = Duration::from_secs(60);
    alternate_with_peer_same_job(
        spec,
        rounds,
        async || bounded(limit, "ours", ours_spawn_to_exit(&manager, n)).await,
        async || bounded(limit, "baseline", tokio_spawn_to_exit(n)).await,
        (peer::NAME, async || {
            bounded(limit, "peer", peer_spawn_to_exit(n)).await
        }),
        async || bounded(limit, "ours (same job)", ours_spawn_to_exit(&same_job, n)).await,
    )
    .await
}

/// Baseline: the bench's own child to its hello by hand, `n` times in a
/// row; returns ms per child (spawn to hello), then kills them untimed.
async fn hand_spawn_to_ready(ctx: &Ctx, n: usize) -> Result<f64> {
    let mut procs = Vec::with_capacity(n);
    let mut timed = Duration::ZERO;
    for _ in 0..n {
        let started = Instant::now();
        procs.push(ctx.hand.spawn_ready(Mode::ReadyWait).await?);
        timed += started.elapsed();
    }
    for p in &procs {
        p.signal(nix::sys::signal::Signal::SIGKILL)?;
    }
    for p in procs {
        p.wait().await?;
    }
    Ok(ms(timed) / n as f64)
}

/// Ours: spawn + ready() `n` times in a row; returns ms per proc (spawn to
/// Ready), then kills them untimed.
async fn ours_spawn_to_ready(manager: &BootstrapProcManager, n: usize) -> Result<f64> {
    let mut handles = Vec::with_capacity(n);
    let mut timed = Duration::ZERO;
    for i in 0..n {
        let id = ours::id("ready", i)?;
        let started = Instant::now();
        handles.push(ours::spawn_ready(manager, id, Mode::ReadyWait).await?);
        timed += started.elapsed();
    }
    ours::kill_all(handles).await;
    Ok(ms(timed) / n as f64)
}

pub(crate) async fn spawn_to_ready(ctx: &Ctx) -> Result<Row> {
    let n = 10;
    let rounds = Rounds {
        warmup: 2,
        measured: ctx.pick(6, 20),
    };
    let spec = Spec {
        name: "spawn_to_ready",
        unit: "ms/proc",
        n,
        better: Better::Lower,
        targets: vec![Target::RatioAtMost(1.08)],
        note: format!(
            "{n} sequential children (the bench itself, mode ready_wait: binds a Unix socket, \
             calls back) per round, timed from spawn to Ready; ours = spawn + ready(); baseline = \
             hand-built payload, a fresh Unix listener, spawn with piped stdio drained by a task, \
             accept, read and check the hello. Children are killed after the round, untimed."
        ),
    };
    let manager = ours::manager(&ctx.exe);
    let limit = Duration::from_secs(120);
    alternate(
        spec,
        rounds,
        async || bounded(limit, "ours", ours_spawn_to_ready(&manager, n)).await,
        async || bounded(limit, "baseline", hand_spawn_to_ready(ctx, n)).await,
    )
    .await
}

/// Holds `bytes` of heap with every page touched (4 KiB pages: transparent
/// huge pages are madvise-only here and not requested).
fn touched_heap(bytes: usize) -> Vec<u8> {
    let mut heap = vec![0u8; bytes];
    for i in (0..bytes).step_by(4096) {
        heap[i] = 1;
    }
    std::hint::black_box(heap)
}

pub(crate) async fn spawn_flat_in_rss(ctx: &Ctx) -> Result<Row> {
    let n = ctx.pick(100, 200);
    let gib = ctx.pick(1, 4);
    let rounds = Rounds {
        warmup: 1,
        measured: ctx.pick(2, 5),
    };
    let spec = Spec {
        name: "spawn_flat_in_rss",
        unit: "ms/proc",
        n,
        better: Better::Lower,
        targets: vec![Target::RatioAtMost(1.20)],
        note: format!(
            "ours = our spawn_to_exit cost ({n} `{TINY}` children) while the manager holds \
             {gib} GiB of touched heap; baseline column = the same with no extra heap.{}",
            if ctx.quick {
                " (--quick: 1 GiB instead of 4 GiB.)"
            } else {
                ""
            }
        ),
    };
    let big = gib << 30;
    let manager = ours::manager(Path::new(TINY));
    let limit = Duration::from_secs(60);
    alternate(
        spec,
        rounds,
        async || {
            let heap = touched_heap(big);
            let result = bounded(limit, "ours (big)", ours_spawn_to_exit(&manager, n)).await;
            drop(heap);
            result
        },
        async || bounded(limit, "ours (small)", ours_spawn_to_exit(&manager, n)).await,
    )
    .await
}
