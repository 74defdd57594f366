//! `scale_2000`: how the cost per child grows with the number of live
//! children on one manager. At N = 100, 500, 1,000 and 2,000 (per round,
//! ours then the hand-written baseline at each N): N children spawned at
//! once and timed until all are Ready, the fds the manager holds for them
//! (counted in `/proc/self/fd`), and one bulk stop of all N, timed. And,
//! once, what the manager does when it runs out of fds (`fd_limit.rs`).
//!
//! The curve is also what `--plot` draws (`plot.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use proc_manager_bootstrap::{BootstrapProcManager, BulkTerminate as _};
use serde::{Deserialize, Serialize};

use crate::harness::{
    Better, Result, Row, Sample, Spec, Spread, Target, bounded, median, summarise,
};
use crate::mode::Mode;
use crate::scenarios::concurrent::{hand_spawn_many, term_all};
use crate::scenarios::fd_limit::{self, open_fds};
use crate::scenarios::{Ctx, ours};

/// The soft open-files limit the fd-limit probe runs under (the common
/// default).
const PROBE_NOFILE: u64 = 1024;

/// One side at one N, per child.
#[derive(Debug, Clone, Copy)]
struct Cost {
    /// Spawn of all N at once until all are Ready, µs per child.
    ready_us: f64,
    /// The bulk stop of all N, µs per child.
    stop_us: f64,
    /// Fds held for the N live children, per child.
    fds: f64,
}

/// One point of the curve: medians over the rounds at one N.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Point {
    pub(crate) n: usize,
    pub(crate) ours_ready_us: f64,
    pub(crate) baseline_ready_us: f64,
    pub(crate) ours_stop_us: f64,
    pub(crate) baseline_stop_us: f64,
    pub(crate) ours_fds: f64,
    pub(crate) baseline_fds: f64,
}

fn per_child(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn fds_per_child(before: usize, after: usize, n: usize) -> f64 {
    after.saturating_sub(before) as f64 / n as f64
}

/// Ours at `n`: spawn all at once to Ready, count fds, one terminate_all.
async fn ours_at(manager: &Arc<BootstrapProcManager>, n: usize) -> Result<Cost> {
    let before = open_fds()?;
    let started = Instant::now();
    let handles = ours::spawn_many_ready(manager, "scale", n, Mode::ReadyWait).await?;
    let ready = started.elapsed();
    let fds = fds_per_child(before, open_fds()?, n);
    let started = Instant::now();
    let summary = manager.terminate_all(Duration::from_secs(30), n).await;
    let stop = started.elapsed();
    drop(handles);
    if summary.ok != n || summary.polite != n {
        return Err(format!("terminate_all of {n}: {summary}").into());
    }
    Ok(Cost {
        ready_us: per_child(ready, n),
        stop_us: per_child(stop, n),
        fds,
    })
}

/// The hand-written baseline at `n`: the same steps (SIGTERM to all, then
/// wait all, for the stop).
async fn hand_at(ctx: &Ctx, n: usize) -> Result<Cost> {
    let before = open_fds()?;
    let started = Instant::now();
    let procs = hand_spawn_many(ctx, n, Mode::ReadyWait).await?;
    let ready = started.elapsed();
    let fds = fds_per_child(before, open_fds()?, n);
    let started = Instant::now();
    term_all(procs).await?;
    Ok(Cost {
        ready_us: per_child(ready, n),
        stop_us: per_child(started.elapsed(), n),
        fds,
    })
}

/// The curve's medians at each N.
fn curve(ns: &[usize], rounds: &[Vec<(Cost, Cost)>]) -> Vec<Point> {
    let med = |i: usize, f: &dyn Fn(&(Cost, Cost)) -> f64| {
        median(rounds.iter().map(|r| f(&r[i])).collect())
    };
    ns.iter()
        .enumerate()
        .map(|(i, &n)| Point {
            n,
            ours_ready_us: med(i, &|c| c.0.ready_us),
            baseline_ready_us: med(i, &|c| c.1.ready_us),
            ours_stop_us: med(i, &|c| c.0.stop_us),
            baseline_stop_us: med(i, &|c| c.1.stop_us),
            ours_fds: med(i, &|c| c.0.fds),
            baseline_fds: med(i, &|c| c.1.fds),
        })
        .collect()
}

/// The curve as a Markdown table.
fn curve_table(points: &[Point]) -> String {
    let mut out = String::from(
        "`scale_2000` curve (per child, medians over the rounds):\n\n\
         | N | spawn→Ready ours µs | baseline µs | terminate_all ours µs | baseline µs | fds ours | fds baseline |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for p in points {
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} |\n",
            p.n,
            p.ours_ready_us,
            p.baseline_ready_us,
            p.ours_stop_us,
            p.baseline_stop_us,
            p.ours_fds,
            p.baseline_fds
        ));
    }
    out
}

pub(crate) async fn scale_2000(ctx: &Ctx) -> Result<Row> {
    let ns: &[usize] = ctx.pick(&[100, 250, 500], &[100, 500, 1000, 2000]);
    let measured = ctx.pick(1, 3);
    let (first, last) = (ns[0], ns[ns.len() - 1]);
    let spec = Spec {
        name: "scale_2000",
        unit: "µs/proc",
        n: last,
        better: Better::Lower,
        targets: vec![
            Target::RatioAtMost(1.25),
            Target::ExtraAtMost("stop_ratio", 1.25),
            Target::ExtraAtMost("fds_per_child", 4.0),
            Target::ExtraAtMost("fd_limit_hangs", 0.0),
        ],
        note: format!(
            "per round, at each N of {ns:?}: N children (mode ready_wait) spawned at once and \
             timed until all are Ready, fds held for them counted in /proc/self/fd, then one \
             bulk stop of all N timed (ours: terminate_all(30 s, max_in_flight N); baseline: \
             SIGTERM to all, wait all); ours then the hand-written baseline at each N. The row \
             compares ours with ours: ours = spawn→Ready per child at N = {last}, baseline \
             column = the same at N = {first}, ratio = their per-round ratio; stop_ratio is the \
             same for terminate_all. fd_limit_*: a fresh manager under RLIMIT_NOFILE \
             {PROBE_NOFILE} starting ready children one after another until refused, then \
             25 % more than fitted all at once; every spawn must get an answer (a SpawnError \
             or Ready) within 10 s."
        ),
    };
    let manager = Arc::new(ours::manager(&ctx.exe));
    let limit = Duration::from_secs(300);
    // Warm-up at the smallest N, thrown away.
    bounded(limit, "ours (warm-up)", ours_at(&manager, first)).await?;
    bounded(limit, "baseline (warm-up)", hand_at(ctx, first)).await?;
    let mut rounds = Vec::with_capacity(measured);
    for _ in 0..measured {
        let mut round = Vec::with_capacity(ns.len());
        for &n in ns {
            let ours = bounded(limit, "ours", ours_at(&manager, n)).await?;
            let hand = bounded(limit, "baseline", hand_at(ctx, n)).await?;
            round.push((ours, hand));
        }
        rounds.push(round);
    }
    let samples = rounds
        .iter()
        .map(|r| Sample {
            ours: r[ns.len() - 1].0.ready_us,
            baseline: r[0].0.ready_us,
            peer: None,
        })
        .collect();
    let mut row = summarise(spec, samples);
    let ratio_of = |f: &dyn Fn(&Cost) -> f64, side: usize| {
        let pick = |c: &(Cost, Cost)| if side == 0 { f(&c.0) } else { f(&c.1) };
        let ratios: Vec<f64> = rounds
            .iter()
            .map(|r| pick(&r[ns.len() - 1]) / pick(&r[0]))
            .collect();
        Spread::of(&ratios)
    };
    let stop = ratio_of(&|c| c.stop_us, 0);
    row.extra.insert("stop_ratio", stop.ratio);
    row.extra.insert("stop_ratio_min", stop.ratio_min);
    row.extra.insert("stop_ratio_max", stop.ratio_max);
    row.extra
        .insert("baseline_ready_ratio", ratio_of(&|c| c.ready_us, 1).ratio);
    row.extra
        .insert("baseline_stop_ratio", ratio_of(&|c| c.stop_us, 1).ratio);
    let points = curve(ns, &rounds);
    let at_last = points[points.len() - 1];
    row.extra.insert("fds_per_child", at_last.ours_fds);
    row.extra
        .insert("baseline_fds_per_child", at_last.baseline_fds);

    let probe = bounded(
        limit,
        "fd-limit probe",
        fd_limit::run_probe(&ctx.exe, PROBE_NOFILE),
    )
    .await?;
    let hangs =
        usize::from(probe.outcome == "hang") + probe.at_once.get("hang").copied().unwrap_or(0);
    row.extra.insert("fd_limit_hangs", hangs as f64);
    row.extra
        .insert("fd_limit_children_at_1024", probe.children as f64);
    row.detail = Some(serde_json::json!({ "curve": points, "fd_limit": probe }));
    row.appendix = Some(format!(
        "{}\nUnder RLIMIT_NOFILE {}: {} ready children one after another ({} fds open before \
         the first), then {} ({}); all at once: {:?}.\n",
        curve_table(&points),
        probe.limit,
        probe.children,
        probe.fds_at_start,
        probe.outcome,
        probe.error,
        probe.at_once,
    ));
    row.judge();
    Ok(row)
}
