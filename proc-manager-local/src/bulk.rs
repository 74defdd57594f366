//! [`BulkTerminate`] for [`LocalProcManager`]: stopping every live proc with
//! one deadline and a cap on stop operations in flight.
//!
//! Stopping one proc is the same as in [`crate::shared::ProcShared::stop_by`]; this module
//! only schedules those and counts the outcomes.

use std::pin::pin;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use proc_manager_core::{BulkTerminate, ProcHandle, ProcStatus, TerminateSummary};
use tokio::time::Instant;

use crate::manager::LocalProcManager;
use crate::shared::deadline_after;

/// How long procs aborted at the deadline may take to be dropped before
/// they count as failed. Only a proc that blocks its thread instead of
/// yielding can take that long.
const AFTER_ABORT_BOUND: Duration = Duration::from_secs(5);

/// # Contract
///
/// As [`BulkTerminate`]. A stop operation is the polite request (the proc's
/// shutdown future resolves) plus the wait for the proc's end, so at most
/// `max_in_flight` procs are asked at a time, and procs that ignore the
/// request hold their slot until the deadline. When `timeout` runs out,
/// every proc of the call still alive, asked yet or not, is aborted at once.
///
/// `killed` counts the procs that ended `Killed`, `polite` those that ended
/// any other way (including those that had ended before their turn came).
/// A proc still not dropped [`AFTER_ABORT_BOUND`] after its abort counts as
/// failed, so the call returns within `timeout` plus that bound at worst.
#[async_trait]
impl BulkTerminate for LocalProcManager {
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
        let started = Instant::now();
        let deadline = deadline_after(timeout);
        let give_up = deadline_after(timeout.saturating_add(AFTER_ABORT_BOUND));
        let live: Vec<_> = self
            .procs()
            .procs()
            .iter()
            .filter(|h| h.status().is_alive())
            .cloned()
            .collect();
        tracing::debug!(procs = live.len(), ?timeout, max_in_flight, "terminate_all");

        // In spawn order, which is also the order of the procs' memory.
        let mut stops = pin!(
            futures::stream::iter(0..live.len())
                .map(|i| {
                    let shared = live[i].shared();
                    async move {
                        // No timer of its own: the sweep below is the deadline.
                        let status = match shared.cell.mark_stopping() {
                            status if status.is_exit() => status,
                            _ => shared.cell.wait_terminal().await,
                        };
                        matches!(status, ProcStatus::Killed { .. })
                    }
                })
                .buffer_unordered(max_in_flight.max(1))
        );
        let mut sweep = pin!(tokio::time::sleep_until(deadline));
        let mut swept = false;
        let mut too_late = pin!(tokio::time::sleep_until(give_up));
        let (mut ended, mut killed) = (0, 0);
        loop {
            tokio::select! {
                next = stops.next() => match next {
                    Some(was_killed) => {
                        ended += 1;
                        killed += usize::from(was_killed);
                    }
                    None => break,
                },
                () = &mut sweep, if !swept => {
                    // One deadline for the whole call: procs still queued
                    // behind the cap get no polite turn of their own.
                    swept = true;
                    for handle in &live {
                        handle.shared().abort();
                    }
                }
                () = &mut too_late => break,
            }
        }

        let mut failures = Vec::new();
        if ended < live.len() {
            // Gave up on some: count from the statuses so the counts add up.
            (ended, killed) = (0, 0);
            for handle in &live {
                match handle.status() {
                    ProcStatus::Killed { .. } => (ended, killed) = (ended + 1, killed + 1),
                    status if status.is_exit() => ended += 1,
                    _ => {
                        let reason = format!("not dropped {AFTER_ABORT_BOUND:?} after its abort");
                        tracing::warn!(parent: &handle.shared().span, "{reason}");
                        failures.push((handle.proc_id().clone(), reason));
                    }
                }
            }
        }
        let polite = ended - killed;
        let mut summary = TerminateSummary::new(live.len(), polite, killed, failures.len());
        summary.failures = failures;
        summary.elapsed = started.elapsed();
        tracing::debug!(%summary, "terminate_all done");
        summary
    }
}
