//! Stopping children: one child politely with a timeout (forced if the
//! backend cannot terminate it), and the tally of several into a
//! [`TerminateSummary`].
//!
//! The order (reverse start order) and the one deadline are the loop's
//! (`runner.rs`); the per-incarnation monitor uses [`stop_one`] for a
//! liveness failure.

use std::time::Duration;

use proc_manager_core::{ProcHandle, ProcId, ProcStatus, TerminateError, TerminateSummary};
use tokio::time::Instant;

/// How one stop went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Ended after the polite request, before the deadline.
    Polite,
    /// Forced at the deadline (or killed because terminate failed).
    Killed,
    /// Had already ended.
    AlreadyEnded,
    /// Could not be stopped.
    Failed(String),
}

/// Stops `handle`: `terminate(timeout, reason)`, and `kill()` if the
/// backend could not terminate it. Returns the terminal status (a
/// `Failed` one describing the error when even `kill` failed).
pub(crate) async fn stop_one<H: ProcHandle>(
    handle: &H,
    timeout: Duration,
    reason: &str,
) -> (ProcStatus, Outcome) {
    let started = Instant::now();
    let err = match handle.terminate(timeout, reason).await {
        Ok(status) => {
            let outcome = if started.elapsed() < timeout {
                Outcome::Polite
            } else {
                Outcome::Killed
            };
            return (status, outcome);
        }
        Err(TerminateError::AlreadyTerminated { status, .. }) => {
            return (status, Outcome::AlreadyEnded);
        }
        Err(err) => err,
    };
    tracing::warn!(proc_id = %handle.proc_id(), %err, "terminate failed; killing");
    match handle.kill().await {
        Ok(status) => (status, Outcome::Killed),
        Err(TerminateError::AlreadyTerminated { status, .. }) => (status, Outcome::AlreadyEnded),
        Err(kill_err) => {
            let reason = format!("could not be stopped: {err}; kill: {kill_err}");
            let status = ProcStatus::Failed {
                reason: reason.clone(),
                stderr_tail: Vec::new(),
            };
            (status, Outcome::Failed(reason))
        }
    }
}

/// Counts stop outcomes into a summary.
#[derive(Debug)]
pub(crate) struct Tally {
    started: Instant,
    summary: TerminateSummary,
}

impl Tally {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            summary: TerminateSummary::default(),
        }
    }

    pub(crate) fn add(&mut self, proc_id: &ProcId, outcome: Outcome) {
        let s = &mut self.summary;
        s.attempted = s.attempted.saturating_add(1);
        match outcome {
            Outcome::Polite | Outcome::AlreadyEnded => {
                s.ok = s.ok.saturating_add(1);
                s.polite = s.polite.saturating_add(1);
            }
            Outcome::Killed => {
                s.ok = s.ok.saturating_add(1);
                s.killed = s.killed.saturating_add(1);
            }
            Outcome::Failed(reason) => {
                s.failed = s.failed.saturating_add(1);
                s.failures.push((proc_id.clone(), reason));
            }
        }
    }

    pub(crate) fn finish(mut self) -> TerminateSummary {
        self.summary.elapsed = self.started.elapsed();
        self.summary
    }
}
