//! [`BulkTerminate`] for [`BootstrapProcManager`]: stop every live proc with
//! bounded concurrency and one deadline for the whole call.
//!
//! Polite requests go out with at most `max_in_flight` stop operations in
//! flight; at the deadline everything still alive (asked or not yet asked)
//! is SIGKILLed at once, so the call returns in about `timeout` whatever the
//! number of procs. Per-proc stopping is in [`crate::proc_state`].

use std::time::Duration;

use futures::StreamExt;
use proc_manager_core::{BulkTerminate, ProcHandle, TerminateSummary, async_trait};
use tokio::time::Instant;

use crate::manager::BootstrapProcManager;

/// How long procs SIGKILLed at the deadline may take to be reported ended
/// before they count as failed.
const AFTER_KILL_BOUND: Duration = Duration::from_secs(5);

#[async_trait]
impl BulkTerminate for BootstrapProcManager {
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
        let started = Instant::now();
        let deadline = started + timeout;
        let live = self.live_handles();
        tracing::info!(procs = live.len(), ?timeout, max_in_flight, "terminate_all");

        let polite_phase = futures::stream::iter(live.iter()).for_each_concurrent(
            max_in_flight.max(1),
            |handle| async move {
                let shared = &handle.shared;
                if shared.cell.mark_stopping().is_exit() {
                    return;
                }
                if let Err(err) = shared.request_stop("terminate_all").await {
                    tracing::warn!(parent: &shared.span, %err, "polite stop request failed");
                }
                shared.cell.wait_terminal().await;
            },
        );
        let _ = tokio::time::timeout_at(deadline, polite_phase).await;

        let mut forced = vec![false; live.len()];
        let mut failures = Vec::new();
        for (i, handle) in live.iter().enumerate() {
            let shared = &handle.shared;
            if shared.cell.mark_stopping().is_exit() {
                continue;
            }
            match shared.force_kill() {
                Ok(()) => forced[i] = true,
                Err(err) => {
                    failures.push((shared.proc_id.clone(), format!("SIGKILL failed: {err}")))
                }
            }
        }
        let waits = live.iter().map(|handle| {
            tokio::time::timeout(AFTER_KILL_BOUND, handle.shared.cell.wait_terminal())
        });
        let ended = futures::future::join_all(waits).await;

        let (mut polite, mut killed) = (0, 0);
        for (i, result) in ended.into_iter().enumerate() {
            match result {
                Ok(_) if forced[i] => killed += 1,
                Ok(_) => polite += 1,
                Err(_) => {
                    let id = live[i].proc_id().clone();
                    if !failures.iter().any(|(f, _)| f == &id) {
                        failures.push((
                            id,
                            format!("still alive {AFTER_KILL_BOUND:?} after SIGKILL"),
                        ));
                    }
                }
            }
        }
        let mut summary = TerminateSummary::new(live.len(), polite, killed, failures.len());
        summary.failures = failures;
        summary.elapsed = started.elapsed();
        tracing::info!(%summary, "terminate_all done");
        summary
    }
}
