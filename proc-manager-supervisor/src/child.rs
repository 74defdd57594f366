//! [`Child`]: the supervision loop's record of one child — its spec, its
//! current incarnation, its back-off position and restart count.
//!
//! What happens to it is decided in `runner.rs`.

use std::time::Duration;

use proc_manager_core::ProcManager;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::backoff::BackoffState;
use crate::spec::ChildSpec;

pub(crate) struct Child<M: ProcManager> {
    pub(crate) spec: ChildSpec<M>,
    /// The current (or last) incarnation.
    pub(crate) handle: Option<M::Handle>,
    /// How many incarnations were spawned; tags monitor reports.
    pub(crate) generation: u64,
    /// The current incarnation is not known to have ended.
    pub(crate) live: bool,
    /// When the current incarnation became Ready.
    pub(crate) ready_at: Option<Instant>,
    pub(crate) backoff: BackoffState,
    pub(crate) restarts: u64,
    /// A `Temporary` child that ended: no longer supervised.
    pub(crate) removed: bool,
    /// One span per child, across its incarnations.
    pub(crate) span: tracing::Span,
    monitor: Option<AbortHandle>,
}

impl<M: ProcManager> Child<M> {
    pub(crate) fn new(spec: ChildSpec<M>) -> Self {
        let span = tracing::info_span!("supervised", proc_id = %spec.proc_id);
        Self {
            span,
            spec,
            handle: None,
            generation: 0,
            live: false,
            ready_at: None,
            backoff: BackoffState::default(),
            restarts: 0,
            removed: false,
            monitor: None,
        }
    }

    /// Records a new incarnation (not Ready yet).
    pub(crate) fn incarnate(&mut self, handle: M::Handle) {
        self.generation = self.generation.saturating_add(1);
        self.handle = Some(handle);
        self.live = true;
        self.ready_at = None;
    }

    pub(crate) fn set_monitor(&mut self, monitor: AbortHandle) {
        if let Some(old) = self.monitor.replace(monitor) {
            old.abort();
        }
    }

    /// The current incarnation is over for the loop (ended, or being
    /// stopped by it): later reports about it are stale. Returns how long
    /// it was Ready.
    pub(crate) fn ended(&mut self, now: Instant) -> Duration {
        self.live = false;
        if let Some(monitor) = self.monitor.take() {
            monitor.abort();
        }
        self.ready_at
            .take()
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at))
    }
}

impl<M: ProcManager> Drop for Child<M> {
    fn drop(&mut self) {
        if let Some(monitor) = self.monitor.take() {
            monitor.abort();
        }
    }
}
