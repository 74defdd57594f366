//! The scenarios, by name, and what they share: the [`Ctx`] (sizes for
//! `--quick` or the full run, the bench's own path, a private socket dir,
//! the hand-written spawner) and [`run_all`], which runs them in order and
//! prints each row as it completes.
//!
//! Each scenario file holds one or two scenarios: our side, the baseline
//! side, and the sizes.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use crate::baseline::HandSpawner;
use crate::harness::{Result, Row};

pub(crate) mod concurrent;
pub(crate) mod containment;
pub(crate) mod local;
pub(crate) mod logs;
pub(crate) mod memory;
pub(crate) mod ours;
pub(crate) mod readiness;
pub(crate) mod spawn;
pub(crate) mod supervisor;
pub(crate) mod terminate;

/// Every scenario, in the order they run.
pub(crate) const NAMES: &[&str] = &[
    "spawn_to_exit",
    "spawn_to_ready",
    "concurrent_ready",
    "terminate_all",
    "terminate_all_stubborn",
    "log_throughput",
    "memory_per_proc",
    "spawn_flat_in_rss",
    "local_spawn_to_ready",
    "supervisor_restart",
    "readiness_modes",
    "containment_overhead",
];

/// Which side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Ours,
    Baseline,
}

impl FromStr for Side {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "ours" => Ok(Side::Ours),
            "baseline" => Ok(Side::Baseline),
            other => Err(format!("unknown side {other:?}")),
        }
    }
}

impl Side {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Baseline => "baseline",
        }
    }
}

/// What every scenario needs.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// `--quick`: smaller sizes, fewer rounds.
    pub(crate) quick: bool,
    /// The bench binary (children are the bench itself).
    pub(crate) exe: PathBuf,
    /// The hand-written baseline spawner.
    pub(crate) hand: Arc<HandSpawner>,
}

impl Ctx {
    /// Picks the quick or the full value.
    pub(crate) fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// A private directory for this run, removed on drop.
#[derive(Debug)]
struct RunDir(PathBuf);

impl RunDir {
    fn create() -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt as _;
        let path = socket_base().join(format!("pm-bench-{}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(Self(path))
    }
}

/// Where sockets go, by the rule the bootstrap manager uses for its default
/// runtime dir (`$XDG_RUNTIME_DIR`, `$TMPDIR`, `/dev/shm`, the temp dir), so
/// the baselines' sockets are on the same kind of file system as ours.
pub(crate) fn socket_base() -> PathBuf {
    use nix::unistd::{AccessFlags, access};
    ["XDG_RUNTIME_DIR", "TMPDIR"]
        .into_iter()
        .filter_map(|var| std::env::var_os(var).map(PathBuf::from))
        .chain([PathBuf::from("/dev/shm")])
        .find(|dir| {
            dir.is_absolute()
                && dir.is_dir()
                && access(dir.as_path(), AccessFlags::W_OK | AccessFlags::X_OK).is_ok()
        })
        .unwrap_or_else(std::env::temp_dir)
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the scenarios (all, or those in `only`) and returns their rows.
pub(crate) async fn run_all(quick: bool, only: Option<&[String]>) -> Result<Vec<Row>> {
    let run_dir = RunDir::create()?;
    let exe = std::env::current_exe()?;
    let ctx = Ctx {
        quick,
        hand: Arc::new(HandSpawner::new(exe.clone(), run_dir.0.clone())),
        exe,
    };
    let mut rows = Vec::new();
    for &name in NAMES {
        if only.is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        let started = Instant::now();
        let row = run_one(&ctx, name)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        println!(
            "{name:<24} n={:<6} ours {:>10.4} {:<9} baseline {:>10.4}  ratio {:.3} [{:.3}-{:.3}]  ({:.1}s)",
            row.n,
            row.ours,
            row.unit,
            row.baseline,
            row.ratio,
            row.ratio_min,
            row.ratio_max,
            started.elapsed().as_secs_f64()
        );
        rows.push(row);
    }
    Ok(rows)
}

async fn run_one(ctx: &Ctx, name: &str) -> Result<Row> {
    match name {
        "spawn_to_exit" => spawn::spawn_to_exit(ctx).await,
        "spawn_to_ready" => spawn::spawn_to_ready(ctx).await,
        "concurrent_ready" => concurrent::concurrent_ready(ctx).await,
        "terminate_all" => terminate::terminate_all(ctx).await,
        "terminate_all_stubborn" => terminate::terminate_all_stubborn(ctx).await,
        "log_throughput" => logs::log_throughput(ctx).await,
        "memory_per_proc" => memory::memory_per_proc(ctx).await,
        "spawn_flat_in_rss" => spawn::spawn_flat_in_rss(ctx).await,
        "local_spawn_to_ready" => local::local_spawn_to_ready(ctx).await,
        "supervisor_restart" => supervisor::supervisor_restart(ctx).await,
        "readiness_modes" => readiness::readiness_modes(ctx).await,
        "containment_overhead" => containment::containment_overhead(ctx).await,
        other => Err(format!("unknown scenario {other:?}").into()),
    }
}
