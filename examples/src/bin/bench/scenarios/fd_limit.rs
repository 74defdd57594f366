//! The open-files probe: in a fresh copy of the bench
//! (`--fd-limit-probe LIMIT`), lower the soft `RLIMIT_NOFILE` to `LIMIT`,
//! start ready children one after another until the manager refuses one,
//! and report how many it held and how the refusal looked: a `SpawnError`
//! (wanted), a failure after the spawn, or no answer in time (a hang).
//!
//! [`run_probe`] starts the probe and reads its one JSON line; the scale
//! scenario reports it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcHandle, BootstrapProcManager, ProcHandle as _, StdioMode,
};
use serde::{Deserialize, Serialize};

use crate::harness::{Result, all_at_once};
use crate::mode::Mode;
use crate::scenarios::{ours, run_self};

/// How long one proc may take from spawn to Ready in the probe before the
/// probe calls it a hang (the manager's ready timeout is set above this).
const PER_PROC: Duration = Duration::from_secs(10);
/// The most children the probe starts, whatever the limit.
const MAX_CHILDREN: usize = 5_000;

/// What the probe found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FdLimitReport {
    /// The soft limit the probe ran under.
    pub(crate) limit: u64,
    /// Open fds before the first child (runtime, stdio, ...).
    pub(crate) fds_at_start: usize,
    /// One after another: children that reached Ready before the refusal.
    pub(crate) children: usize,
    /// How the refusal looked: `spawn_error`, `ready_error`, `hang`, or
    /// `none` (never refused).
    pub(crate) outcome: String,
    /// The error's text.
    pub(crate) error: String,
    /// Milliseconds from the refused spawn to its answer.
    pub(crate) answer_ms: f64,
    /// All at once, `children + 25%` spawned together: how many ended each
    /// way (`ready`, `spawn_error`, `ready_error`, `hang`).
    pub(crate) at_once: std::collections::BTreeMap<String, usize>,
}

/// How one spawn-to-Ready attempt ended.
enum Attempt {
    Ready(BootstrapProcHandle),
    SpawnError(String),
    ReadyError(BootstrapProcHandle, String),
    Hang(Option<BootstrapProcHandle>, String),
}

impl Attempt {
    fn kind(&self) -> &'static str {
        match self {
            Attempt::Ready(_) => "ready",
            Attempt::SpawnError(_) => "spawn_error",
            Attempt::ReadyError(..) => "ready_error",
            Attempt::Hang(..) => "hang",
        }
    }

    fn into_handle(self) -> Option<BootstrapProcHandle> {
        match self {
            Attempt::Ready(h) | Attempt::ReadyError(h, _) | Attempt::Hang(Some(h), _) => Some(h),
            Attempt::SpawnError(_) | Attempt::Hang(None, _) => None,
        }
    }
}

/// Spawns one proc and waits for Ready, each step bounded by [`PER_PROC`].
async fn attempt(manager: &BootstrapProcManager, i: usize) -> Result<Attempt> {
    let id = ours::id("fd", i)?;
    let spawned = tokio::time::timeout(PER_PROC, ours::spawn(manager, id, Mode::ReadyWait)).await;
    let handle = match spawned {
        Err(_) => {
            let why = format!("spawn gave no answer within {PER_PROC:?}");
            return Ok(Attempt::Hang(None, why));
        }
        Ok(Err(e)) => return Ok(Attempt::SpawnError(e.to_string())),
        Ok(Ok(handle)) => handle,
    };
    Ok(match tokio::time::timeout(PER_PROC, handle.ready()).await {
        Ok(Ok(_)) => Attempt::Ready(handle),
        Ok(Err(e)) => Attempt::ReadyError(handle, e.to_string()),
        Err(_) => {
            let why = format!("spawned, but neither Ready nor failed within {PER_PROC:?}");
            Attempt::Hang(Some(handle), why)
        }
    })
}

/// Open fds of this process.
pub(crate) fn open_fds() -> Result<usize> {
    // The directory handle itself is one of them, in every count alike.
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}

/// Runs the probe under `limit` in a fresh copy of the bench.
pub(crate) async fn run_probe(exe: &std::path::Path, limit: u64) -> Result<FdLimitReport> {
    run_self(exe, &["--fd-limit-probe", &limit.to_string()]).await
}

/// The probe's body (in its own process): prints one JSON line.
pub(crate) async fn probe(limit: u64) -> Result<()> {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    setrlimit(Resource::RLIMIT_NOFILE, limit.min(hard), hard)?;
    let manager = Arc::new(
        BootstrapProcManager::builder(BootstrapCommand::current_exe()?)
            .stdio(StdioMode::Captured)
            .ready_timeout(PER_PROC * 3)
            .build(),
    );
    // Warm-up: the runtime's own lazily opened fds come first.
    let warm = ours::spawn_ready(&manager, ours::id("warm", 0)?, Mode::ReadyWait).await?;
    ours::kill_all(vec![warm]).await;
    let mut report = FdLimitReport {
        limit,
        fds_at_start: open_fds()?,
        children: 0,
        outcome: "none".into(),
        error: String::new(),
        answer_ms: 0.0,
        at_once: Default::default(),
    };
    let mut handles = Vec::new();
    while handles.len() < MAX_CHILDREN {
        let started = Instant::now();
        let outcome = attempt(&manager, handles.len()).await?;
        let error = match &outcome {
            Attempt::Ready(_) => None,
            Attempt::SpawnError(e) | Attempt::ReadyError(_, e) | Attempt::Hang(_, e) => {
                Some(e.clone())
            }
        };
        let kind = outcome.kind();
        handles.extend(outcome.into_handle());
        if let Some(error) = error {
            report.outcome = kind.into();
            report.error = error;
            report.answer_ms = started.elapsed().as_secs_f64() * 1e3;
            break;
        }
        report.children += 1;
    }
    ours::kill_all(std::mem::take(&mut handles)).await;

    // All at once, past the limit: every attempt must still get an answer.
    let n = report.children + report.children / 4 + 1;
    let (attempts, error) = all_at_once(n, |i| {
        let manager = manager.clone();
        Ok(async move { attempt(&manager, MAX_CHILDREN + i).await })
    })
    .await;
    for a in attempts {
        *report.at_once.entry(a.kind().into()).or_default() += 1;
        handles.extend(a.into_handle());
    }
    ours::kill_all(handles).await;
    if let Some(e) = error {
        return Err(e);
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
