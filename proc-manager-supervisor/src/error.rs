//! The errors of this crate: [`SupervisorError`] (what `start()` can fail
//! with) and [`BackoffError`] (why a [`crate::Backoff`] is refused).
//!
//! Runtime ends of a running supervisor are not errors: they are
//! [`crate::SupervisorExit`] values.

use std::time::Duration;

use proc_manager_core::{ProcId, ProcStatus, SpawnError};

/// Why a [`crate::Backoff`] cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BackoffError {
    /// The first delay is longer than the cap.
    #[error("initial delay {initial:?} exceeds the cap {cap:?}")]
    InitialExceedsCap {
        /// The initial delay given.
        initial: Duration,
        /// The cap given.
        cap: Duration,
    },
    /// The jitter fraction is not within `0..=1` (or is NaN).
    #[error("jitter {fraction} is not within 0..=1")]
    Jitter {
        /// The fraction given.
        fraction: f64,
    },
}

/// Starting a supervisor failed. Nothing it started is left running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// Two child specs have the same id.
    #[error("child {proc_id}: two child specs have this id")]
    DuplicateChild {
        /// The id given twice.
        proc_id: ProcId,
    },
    /// A child's back-off cannot be used.
    #[error("child {proc_id}: bad back-off: {source}")]
    Backoff {
        /// The child.
        proc_id: ProcId,
        /// What is wrong with it.
        #[source]
        source: BackoffError,
    },
    /// The intensity period is zero: no restart could ever be counted.
    #[error("the restart intensity period is zero")]
    ZeroPeriod,
    /// A child could not be spawned during `start()`.
    #[error("child {proc_id}: spawn failed during start: {source}")]
    Spawn {
        /// The child.
        proc_id: ProcId,
        /// The backend's error.
        #[source]
        source: SpawnError,
    },
    /// Children kept ending before every child was ready: more restarts than
    /// the intensity allows. Every child was stopped.
    #[error("gave up during start: child {proc_id} ended ({last_status}) one restart too many")]
    GaveUp {
        /// The child whose end was one restart too many.
        proc_id: ProcId,
        /// How it ended that last time.
        last_status: ProcStatus,
    },
    /// `start()` was not called within a tokio runtime (the supervision loop
    /// is a task on the caller's runtime).
    #[error("start() needs a tokio runtime")]
    NoRuntime,
    /// The supervision task ended before reporting (its runtime is shutting
    /// down).
    #[error("the supervision task ended before start completed")]
    Ended,
}
