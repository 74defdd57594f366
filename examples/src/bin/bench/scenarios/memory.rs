//! `memory_per_proc`: the manager's RSS growth per supervised idle child.
//!
//! Each side runs in a fresh copy of the bench (`--memory-probe SIDE N`):
//! in one process, the heap one side freed would be reused by the other and
//! hide its cost. The probe warms up (two children started and stopped),
//! reads VmRSS, starts N ready children one after another, reads VmRSS
//! again, prints the growth per child and stops them.

use std::time::Duration;

use proc_manager_bootstrap::{BootstrapCommand, BootstrapProcManager, StdioMode};

use crate::baseline::HandSpawner;
use crate::harness::{Better, Result, Rounds, Row, Side, Spec, Target, alternate, bounded};
use crate::mode::Mode;
use crate::scenarios::concurrent::kill_all;
use crate::scenarios::{Ctx, ours, run_self};

/// This process's resident set size, in KiB.
fn vm_rss_kib() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS in /proc/self/status")?;
    let kib: f64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib)
}

/// Runs one side in a fresh copy of the bench; returns KiB per child.
async fn run_probe(ctx: &Ctx, side: Side, n: usize) -> Result<f64> {
    let n = n.to_string();
    let value: serde_json::Value =
        run_self(&ctx.exe, &["--memory-probe", side.as_str(), &n]).await?;
    value["kib_per_proc"]
        .as_f64()
        .ok_or_else(|| format!("memory probe printed {value}").into())
}

pub(crate) async fn memory_per_proc(ctx: &Ctx) -> Result<Row> {
    let n = ctx.pick(300, 1000);
    let rounds = Rounds {
        warmup: 0,
        measured: ctx.pick(1, 2),
    };
    let spec = Spec {
        name: "memory_per_proc",
        unit: "KiB/proc",
        n,
        better: Better::Lower,
        targets: vec![Target::OursAtMost(6.0)],
        note: format!(
            "VmRSS growth of a fresh manager process per idle child, {n} children (mode \
             ready_wait) started one after another and all Ready; ours = BootstrapProcManager \
             (stdio captured, default tail); baseline = the spawn_to_ready baseline: per child a \
             held control connection and one tokio task draining both pipes through 1 KiB \
             buffers and waiting the child."
        ),
    };
    let limit = Duration::from_secs(180);
    alternate(
        spec,
        rounds,
        async || bounded(limit, "ours", run_probe(ctx, Side::Ours, n)).await,
        async || bounded(limit, "baseline", run_probe(ctx, Side::Baseline, n)).await,
    )
    .await
}

/// The probe's body (in its own process): prints `{"kib_per_proc": x}`.
pub(crate) async fn probe(side: Side, n: usize) -> Result<()> {
    let dir = super::socket_base().join(format!("pm-bench-probe-{}", std::process::id()));
    std::fs::create_dir(&dir)?;
    let result = match side {
        Side::Ours => probe_ours(n).await,
        Side::Baseline => probe_baseline(&dir, n).await,
        Side::Peer => Err("the memory probe has no peer side".into()),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let kib = result?;
    println!("{}", serde_json::json!({ "kib_per_proc": kib }));
    Ok(())
}

async fn probe_ours(n: usize) -> Result<f64> {
    let manager = BootstrapProcManager::builder(BootstrapCommand::current_exe()?)
        .stdio(StdioMode::Captured)
        .build();
    let mut warm = Vec::new();
    for i in 0..2 {
        warm.push(ours::spawn_ready(&manager, ours::id("warm", i)?, Mode::ReadyWait).await?);
    }
    ours::kill_all(warm).await;
    let before = vm_rss_kib()?;
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        handles.push(ours::spawn_ready(&manager, ours::id("idle", i)?, Mode::ReadyWait).await?);
    }
    let after = vm_rss_kib()?;
    ours::kill_all(handles).await;
    Ok((after - before) / n as f64)
}

async fn probe_baseline(dir: &std::path::Path, n: usize) -> Result<f64> {
    let hand = HandSpawner::new(std::env::current_exe()?, dir.to_owned());
    let mut warm = Vec::new();
    for _ in 0..2 {
        warm.push(hand.spawn_ready(Mode::ReadyWait).await?);
    }
    kill_all(warm).await?;
    let before = vm_rss_kib()?;
    let mut procs = Vec::with_capacity(n);
    for _ in 0..n {
        procs.push(hand.spawn_ready(Mode::ReadyWait).await?);
    }
    let after = vm_rss_kib()?;
    kill_all(procs).await?;
    Ok((after - before) / n as f64)
}
