//! The scenarios, by name, and what they share: the [`Ctx`] (sizes for
//! `--quick` or the full run, the bench's own path, a private socket dir,
//! the hand-written spawner) and [`run_all`], which runs them in order and
//! prints each row as it completes.
//!
//! Each scenario file holds one or two scenarios: our side, the baseline
//! side, and the sizes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures::future::LocalBoxFuture;

use crate::baseline::HandSpawner;
use crate::harness::{Result, Row};
use crate::machine::Load;

pub(crate) mod concurrent;
pub(crate) mod containment;
pub(crate) mod fd_limit;
pub(crate) mod local;
pub(crate) mod logs;
pub(crate) mod memory;
pub(crate) mod ours;
pub(crate) mod readiness;
pub(crate) mod scale;
pub(crate) mod spawn;
pub(crate) mod supervisor;
pub(crate) mod terminate;

/// A scenario: its name (as in DESIGN.md and the issue; its row must carry
/// the same) and the function that measures it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) run: for<'a> fn(&'a Ctx) -> LocalBoxFuture<'a, Result<Row>>,
}

/// `scenario!("name" => module::function)`: registers `async fn
/// function(ctx: &Ctx) -> Result<Row>` under `name`.
macro_rules! scenario {
    ($name:literal => $run:path) => {{
        fn run(ctx: &Ctx) -> LocalBoxFuture<'_, Result<Row>> {
            Box::pin($run(ctx))
        }
        Scenario { name: $name, run }
    }};
}

/// Every scenario, in the order they run. To add one: a file in this
/// directory with `pub(crate) async fn NAME(ctx: &Ctx) -> Result<Row>`, its
/// `mod` line above, and one `scenario!` line here (in your slot).
pub(crate) const SCENARIOS: &[Scenario] = &[
    scenario!("spawn_to_exit" => spawn::spawn_to_exit),
    scenario!("spawn_to_ready" => spawn::spawn_to_ready),
    scenario!("concurrent_ready" => concurrent::concurrent_ready),
    scenario!("terminate_all" => terminate::terminate_all),
    scenario!("terminate_all_stubborn" => terminate::terminate_all_stubborn),
    scenario!("log_throughput" => logs::log_throughput),
    scenario!("memory_per_proc" => memory::memory_per_proc),
    scenario!("spawn_flat_in_rss" => spawn::spawn_flat_in_rss),
    scenario!("local_spawn_to_ready" => local::local_spawn_to_ready),
    scenario!("scale_2000" => scale::scale_2000),
    scenario!("containment_overhead" => containment::containment_overhead),
    scenario!("supervisor_restart" => supervisor::supervisor_restart),
    scenario!("readiness_modes" => readiness::readiness_modes),
];

/// The rows DESIGN.md's table asks for. One without a registered scenario
/// still gets a row ("not measured"), so a table or JSON file never hides
/// a missing measurement.
pub(crate) const REQUIRED: &[&str] = &[
    "spawn_to_exit",
    "spawn_to_ready",
    "concurrent_ready",
    "terminate_all",
    "terminate_all_stubborn",
    "log_throughput",
    "memory_per_proc",
    "spawn_flat_in_rss",
    "local_spawn_to_ready",
    "scale_2000",
    "containment_overhead",
    "supervisor_restart",
    "readiness_modes",
];

/// The registered scenario called `name`.
pub(crate) fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
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

/// Runs a fresh copy of the bench (`exe`) with `args` (a probe mode) and
/// parses the last line it prints as JSON.
pub(crate) async fn run_self<T: serde::de::DeserializeOwned>(
    exe: &std::path::Path,
    args: &[&str],
) -> Result<T> {
    let out = tokio::process::Command::new(exe)
        .args(args)
        .env_remove(proc_manager_bootstrap::protocol::BOOTSTRAP_MODE_ENV)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("bench {args:?} failed: {}: {text}", out.status).into());
    }
    let last = text
        .lines()
        .last()
        .ok_or_else(|| format!("bench {args:?} printed nothing"))?;
    Ok(serde_json::from_str(last)?)
}

/// Runs the scenarios (all, or those in `only`) and returns their rows;
/// with no `only`, required scenarios that are not registered get a "not
/// measured" row.
// Run by `block_on` on the main thread: the scenario futures (async
// closures borrowing the context) need not be `Send`.
#[allow(clippy::future_not_send)]
pub(crate) async fn run_all(quick: bool, only: Option<&[String]>) -> Result<Vec<Row>> {
    let run_dir = RunDir::create()?;
    let exe = std::env::current_exe()?;
    let ctx = Ctx {
        quick,
        hand: Arc::new(HandSpawner::new(exe.clone(), run_dir.0.clone())),
        exe,
    };
    let mut rows = Vec::new();
    for scenario in SCENARIOS {
        let name = scenario.name;
        if only.is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        let load = Load::now();
        let started = Instant::now();
        let mut row = (scenario.run)(&ctx)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        if row.scenario != name {
            return Err(format!("scenario {name} returned a row named {}", row.scenario).into());
        }
        row.load_at_start = load.load1;
        println!("{}", crate::report::progress(&row, started.elapsed()));
        rows.push(row);
    }
    if only.is_none() {
        for &name in REQUIRED {
            if find(name).is_none() {
                let why = "not measured: no scenario of this name in this build";
                println!("{name:<24} {why}");
                rows.push(Row::not_measured(name, why));
            }
        }
    }
    Ok(rows)
}
