//! Stopping a proc for a reason of the manager's own (not ready in time, a
//! silent watchdog): the reason is recorded so the end is
//! `Failed{reason}`, the proc is asked politely (its stop signal), and it is
//! SIGKILLed if it has not exited after its stop timeout.
//!
//! The polite request and the kill themselves are in
//! [`crate::proc_state`].

use std::sync::Arc;

use proc_manager_core::ProcStatus;

use crate::os::ChildOs;
use crate::proc_state::ProcShared;

/// Stops the proc because of `reason` (logged at warn) if its status, when
/// it is moved to `Stopping`, passes `applies` (say, "still `Running`" for a
/// ready timeout). Returns `false`, doing nothing, otherwise: in particular
/// a proc already stopping or ended keeps its own course and reason.
pub(crate) fn stop_for<O: ChildOs>(
    shared: &Arc<ProcShared<O>>,
    reason: String,
    applies: impl FnOnce(&ProcStatus) -> bool,
) -> bool {
    let moved = shared.cell.transition_with(|s| {
        (s.is_alive() && !s.is_stopping() && applies(s)).then(|| s.to_stopping())
    });
    if !matches!(moved, Ok((ref before, ProcStatus::Stopping { .. })) if !before.is_stopping()) {
        return false;
    }
    let timeout = shared.stop.timeout;
    tracing::warn!(parent: &shared.span, %reason, ?timeout, "stopping the proc");
    shared.set_fail_reason(reason.clone());
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Err(err) = shared.request_stop(&reason).await {
            tracing::warn!(parent: &shared.span, %err, "polite stop request failed");
        }
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shared.exited.cancelled() => {}
            _ = expired => {
                tracing::debug!(parent: &shared.span, ?timeout, "not stopped in time");
                if let Err(err) = shared.force_kill() {
                    tracing::warn!(parent: &shared.span, %err, "SIGKILL failed");
                }
            }
        }
    });
    true
}
