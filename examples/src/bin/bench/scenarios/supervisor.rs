//! `supervisor_restart`: a supervised child crashing (SIGKILL from outside)
//! until its next incarnation is Ready again, with zero back-off, vs a plain
//! spawn to Ready on the same kind of manager.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use proc_manager_bootstrap::{BootstrapProcConfig, BootstrapProcManager, ProcHandle as _};
use proc_manager_supervisor::{Backoff, ChildSpec, Supervisor, SupervisorEvent, SupervisorHandle};
use tokio::sync::broadcast;

use crate::harness::{Better, Result, Rounds, Row, Spec, Target, alternate, bounded, ms};
use crate::mode::Mode;
use crate::scenarios::{Ctx, ours};

/// A supervisor of one `ready_wait` child, restarted at once whatever
/// happens (no back-off, an intensity that never runs out).
async fn supervisor(ctx: &Ctx) -> Result<SupervisorHandle<BootstrapProcManager>> {
    let config = BootstrapProcConfig::with_config(Mode::ReadyWait.config());
    let spec = ChildSpec::new(ours::id("supervised", 0)?, ours::backend()?)
        .config(config)
        .backoff(Backoff::none());
    Ok(Supervisor::builder(ours::manager(&ctx.exe))
        .intensity(u32::MAX, Duration::from_secs(1))
        .child(spec)
        .start()
        .await?)
}

/// Ours: `n` times, SIGKILL the supervised child and wait for the Ready
/// event of its next incarnation; returns ms per crash.
async fn crash_to_ready(
    sup: &SupervisorHandle<BootstrapProcManager>,
    events: &mut broadcast::Receiver<SupervisorEvent>,
    n: usize,
) -> Result<f64> {
    let id = ours::id("supervised", 0)?;
    let mut timed = Duration::ZERO;
    for _ in 0..n {
        let pid = sup
            .handle(&id)
            .and_then(|h| h.pid())
            .ok_or("the supervised child has no pid")?;
        while events.try_recv().is_ok() {}
        let started = Instant::now();
        kill(Pid::from_raw(i32::try_from(pid)?), Signal::SIGKILL)?;
        loop {
            if let SupervisorEvent::Ready { .. } = events.recv().await? {
                break;
            }
        }
        timed += started.elapsed();
    }
    Ok(ms(timed) / n as f64)
}

/// Baseline: plain spawn + ready() `n` times in a row; returns ms per proc
/// (spawn to Ready), then kills them untimed.
async fn spawn_to_ready(manager: &BootstrapProcManager, n: usize) -> Result<f64> {
    let mut handles = Vec::with_capacity(n);
    let mut timed = Duration::ZERO;
    for i in 0..n {
        let id = ours::id("plain", i)?;
        let started = Instant::now();
        handles.push(ours::spawn_ready(manager, id, Mode::ReadyWait).await?);
        timed += started.elapsed();
    }
    ours::kill_all(handles).await;
    Ok(ms(timed) / n as f64)
}

pub(crate) async fn supervisor_restart(ctx: &Ctx) -> Result<Row> {
    let n = 10;
    let rounds = Rounds {
        warmup: 2,
        measured: ctx.pick(6, 20),
    };
    let spec = Spec {
        name: "supervisor_restart",
        unit: "ms/proc",
        n,
        better: Better::Lower,
        targets: vec![Target::RatioAtMost(1.25)],
        note: format!(
            "{n} crashes per round: ours = SIGKILL (kill(2) from outside) of a supervised \
             `ready_wait` child (zero back-off) until the Ready event of its next incarnation: \
             exit observed, restart decided, spawned, called back; baseline = plain spawn + \
             ready() of the same child on the same kind of manager."
        ),
    };
    let sup = supervisor(ctx).await?;
    let mut events = sup.events();
    let plain = ours::manager(&ctx.exe);
    let limit = Duration::from_secs(120);
    let row = alternate(
        spec,
        rounds,
        async || bounded(limit, "ours", crash_to_ready(&sup, &mut events, n)).await,
        async || bounded(limit, "baseline", spawn_to_ready(&plain, n)).await,
    )
    .await;
    sup.stop(Duration::from_secs(10)).await;
    row
}
