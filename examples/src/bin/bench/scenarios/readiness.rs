//! `readiness_modes`: spawn → Ready of a child that knows nothing of the
//! bootstrap protocol, by `Readiness::Notify` (it sends `READY=1`) and by
//! `Readiness::Connect` (the manager probes its socket), against the
//! bootstrap call-back (`Readiness::Callback`, the `ready_wait` child).
//!
//! All three children are the bench binary in a current-thread tokio
//! runtime binding one Unix socket; only the way of saying "ready" differs.
//! The three modes run one after another in every round, in a rotating
//! order, so a noisy moment hits each alike.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcHandle, BootstrapProcManager, ChannelAddr,
    ProcHandle as _, ProcManager as _, Readiness,
};

use crate::child::{LISTEN_CHILD_ARG, NOTIFY_CHILD_ARG};
use crate::harness::{Better, Result, Row, Sample, Spec, Target, bounded, median, ms, summarise};
use crate::mode::Mode;
use crate::scenarios::{Ctx, ours, socket_base};

/// The three ways of being ready, measured.
#[derive(Debug, Clone, Copy)]
enum Way {
    Callback,
    Notify,
    Connect,
}

/// A socket path for the `i`th Connect child of this bench run.
fn listen_path(i: usize) -> PathBuf {
    socket_base()
        .join(format!("pm-bench-{}", std::process::id()))
        .join(format!("c{i}.sock"))
}

fn config(ctx: &Ctx, way: Way, i: usize) -> Result<BootstrapProcConfig> {
    let addr = ChannelAddr::unix(listen_path(i))?;
    Ok(match way {
        Way::Callback => BootstrapProcConfig::with_config(Mode::ReadyWait.config()),
        Way::Notify => BootstrapProcConfig::default()
            .command(BootstrapCommand::new(&ctx.exe).arg(NOTIFY_CHILD_ARG))
            .readiness(Readiness::Notify(addr)),
        Way::Connect => BootstrapProcConfig::default()
            .command(
                BootstrapCommand::new(&ctx.exe)
                    .arg(LISTEN_CHILD_ARG)
                    .arg(listen_path(i)),
            )
            .readiness(Readiness::Connect(addr)),
    })
}

/// Spawns `n` procs the `way` way, one after another, each to Ready;
/// returns ms per proc (spawn to Ready), then kills them untimed.
async fn spawn_to_ready(
    ctx: &Ctx,
    manager: &BootstrapProcManager,
    way: Way,
    n: usize,
) -> Result<f64> {
    let backend = ours::backend()?;
    let mut handles: Vec<BootstrapProcHandle> = Vec::with_capacity(n);
    let mut timed = Duration::ZERO;
    for i in 0..n {
        let id = ours::id("readiness", i)?;
        let config = config(ctx, way, i)?;
        let started = Instant::now();
        let handle = manager.spawn_with(id, backend.clone(), config).await?;
        handle.ready().await?;
        timed += started.elapsed();
        handles.push(handle);
    }
    ours::kill_all(handles).await;
    Ok(ms(timed) / n as f64)
}

pub(crate) async fn readiness_modes(ctx: &Ctx) -> Result<Row> {
    let n = 10;
    let (warmup, measured) = (2, ctx.pick(6, 20));
    let manager = ours::manager(&ctx.exe);
    let limit = Duration::from_secs(60);
    let mut samples = Vec::with_capacity(measured);
    let mut connect = Vec::with_capacity(measured);
    let mut connect_ratios = Vec::with_capacity(measured);
    for round in 0..warmup + measured {
        let mut order = [Way::Callback, Way::Notify, Way::Connect];
        order.rotate_left(round % 3);
        let mut figures = [0.0; 3];
        for way in order {
            let what = format!("{way:?}");
            figures[way as usize] =
                bounded(limit, &what, spawn_to_ready(ctx, &manager, way, n)).await?;
        }
        let [callback, notify, by_connect] = figures;
        if round >= warmup {
            samples.push(Sample {
                ours: notify,
                baseline: callback,
                peer: None,
            });
            connect.push(by_connect);
            connect_ratios.push(by_connect / callback);
        }
    }
    let spec = Spec {
        name: "readiness_modes",
        unit: "ms/proc",
        n,
        better: Better::Lower,
        targets: vec![
            Target::RatioAtMost(1.25),
            Target::ExtraAtMost("connect_ratio", 1.25),
        ],
        note: format!(
            "{n} sequential children to Ready per mode per round, modes in rotating order: ours \
             = Readiness::Notify (a plain child binds its socket, sends READY=1 to \
             $NOTIFY_SOCKET); baseline = Readiness::Callback (the ready_wait bootstrap child); \
             connect_ms/connect_ratio = Readiness::Connect (a plain child listens, the manager \
             probes every 250 µs for 5 ms, every 1 ms for 10 ms, then with a back-off to 50 ms)."
        ),
    };
    let mut row = summarise(spec, samples);
    row.extra.insert("connect_ms", median(connect));
    row.extra.insert("connect_ratio", median(connect_ratios));
    row.judge();
    Ok(row)
}
