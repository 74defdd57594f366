//! Our side's shared pieces: building a `BootstrapProcManager` the way the
//! scenarios use it, spawning procs to Ready (one by one or many at once),
//! and tearing them down untimed.
//!
//! What each scenario times is in the scenario's own file.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcHandle, BootstrapProcManager, ChannelAddr,
    Containment, LogBatch, LogLine, LogSink, ProcHandle, ProcId, ProcManager, ProcStatus,
    StdioMode,
};

use crate::harness::{Result, all_at_once};
use crate::mode::Mode;

/// A manager starting `program`, stdio captured, default tail.
pub(crate) fn manager(program: &Path) -> BootstrapProcManager {
    manager_with(program, Containment::Auto)
}

/// [`manager`], its procs contained as `containment` says.
pub(crate) fn manager_with(program: &Path, containment: Containment) -> BootstrapProcManager {
    BootstrapProcManager::builder(BootstrapCommand::new(program))
        .stdio(StdioMode::Captured)
        .containment(containment)
        .build()
}

/// The backend address every proc is given (nothing listens there: the
/// children never use it).
pub(crate) fn backend() -> Result<ChannelAddr> {
    Ok(ChannelAddr::unix(
        std::env::temp_dir().join("pm-bench-backend.sock"),
    )?)
}

/// The id of the `i`th proc of a scenario.
pub(crate) fn id(name: &str, i: usize) -> Result<ProcId> {
    Ok(ProcId::ranked(name, i)?)
}

/// Spawns one proc in `mode`.
pub(crate) async fn spawn(
    manager: &BootstrapProcManager,
    id: ProcId,
    mode: Mode,
) -> Result<BootstrapProcHandle> {
    let config = BootstrapProcConfig::with_config(mode.config());
    Ok(manager.spawn_with(id, backend()?, config).await?)
}

/// Spawns one proc in `mode` and waits until it is Ready.
pub(crate) async fn spawn_ready(
    manager: &BootstrapProcManager,
    id: ProcId,
    mode: Mode,
) -> Result<BootstrapProcHandle> {
    let handle = spawn(manager, id, mode).await?;
    handle.ready().await?;
    Ok(handle)
}

/// Spawns `n` procs in `mode` at once, one tokio task each, and waits until
/// every one is Ready.
pub(crate) async fn spawn_many_ready(
    manager: &Arc<BootstrapProcManager>,
    name: &str,
    n: usize,
    mode: Mode,
) -> Result<Vec<BootstrapProcHandle>> {
    let (handles, first_error) = all_at_once(n, |i| {
        let manager = manager.clone();
        let id = id(name, i)?;
        Ok(async move { spawn_ready(&manager, id, mode).await })
    })
    .await;
    if let Some(e) = first_error {
        kill_all(handles).await;
        return Err(e);
    }
    Ok(handles)
}

/// Kills every proc and waits until each has ended (untimed teardown).
pub(crate) async fn kill_all(handles: Vec<BootstrapProcHandle>) {
    let kills = handles.iter().map(|h| async move {
        let _ = h.kill().await;
        let _ = h.wait().await;
    });
    futures::future::join_all(kills).await;
}

/// Fails unless `status` is a clean exit.
pub(crate) fn expect_clean_exit(status: &ProcStatus) -> Result<()> {
    match status {
        ProcStatus::Stopped { exit_code: 0, .. } => Ok(()),
        other => Err(format!("proc did not exit cleanly: {other}").into()),
    }
}

/// A sink counting the lines and bytes it is given. With `batches`, it
/// takes each read's lines at once ([`LogSink::log_batch`]: two atomic
/// adds per read); without, line by line (two per line).
#[derive(Debug, Default)]
pub(crate) struct CountingSink {
    pub(crate) batches: bool,
    pub(crate) lines: AtomicU64,
    pub(crate) bytes: AtomicU64,
}

impl LogSink for CountingSink {
    fn log(&self, line: &LogLine) {
        self.lines.fetch_add(1, Ordering::Relaxed);
        self.bytes
            .fetch_add(line.bytes.len() as u64, Ordering::Relaxed);
    }

    fn log_batch(&self, batch: &LogBatch<'_>) -> bool {
        if !self.batches {
            return false;
        }
        let (lines, bytes) = batch
            .lines()
            .fold((0u64, 0u64), |(n, b), line| (n + 1, b + line.len() as u64));
        self.lines.fetch_add(lines, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        true
    }
}
