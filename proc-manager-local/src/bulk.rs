//! [`BulkTerminate`] for [`LocalProcManager`]: stopping every live proc with
//! one deadline and a cap on stop operations in flight.
//!
//! Stopping one proc is [`crate::shared::ProcShared::stop_by`]; this module
//! only schedules those and counts the outcomes.

use std::pin::pin;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use proc_manager_core::{BulkTerminate, ProcHandle, ProcStatus, TerminateSummary};
use tokio::time::Instant;

use crate::manager::LocalProcManager;
use crate::shared::deadline_after;

/// # Contract
///
/// As [`BulkTerminate`]. A stop operation is the polite request (the proc's
/// shutdown future resolves) plus the wait for its end, so at most
/// `max_in_flight` procs are asked at a time. When `timeout` runs out, every
/// proc of the call still alive — asked yet or not — is aborted at once.
/// `polite` counts procs that ended any way but aborted (including those
/// that had ended before their turn came), `killed` those that ended
/// `Killed`; nothing can fail, so `failed` is 0.
#[async_trait]
impl BulkTerminate for LocalProcManager {
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
        let started = Instant::now();
        let deadline = deadline_after(timeout);
        let live: Vec<_> = self
            .procs()
            .values()
            .filter(|h| h.status().is_alive())
            .cloned()
            .collect();
        tracing::debug!(procs = live.len(), ?timeout, max_in_flight, "terminate_all");

        let mut stops = pin!(
            futures::stream::iter(live.clone())
                .map(|handle| async move {
                    match handle.shared().stop_by(deadline).await {
                        Ok(status) | Err(status) => status,
                    }
                })
                .buffer_unordered(max_in_flight.max(1))
        );
        let mut sweep = pin!(tokio::time::sleep_until(deadline));
        let mut swept = false;
        let (mut polite, mut killed) = (0, 0);
        loop {
            tokio::select! {
                next = stops.next() => match next {
                    Some(ProcStatus::Killed { .. }) => killed += 1,
                    Some(_) => polite += 1,
                    None => break,
                },
                () = &mut sweep, if !swept => {
                    // One deadline for the whole call: procs still queued
                    // behind the cap are not given a polite turn of their own.
                    swept = true;
                    for handle in &live {
                        handle.shared().abort();
                    }
                }
            }
        }

        let mut summary = TerminateSummary::new(live.len(), polite, killed, 0);
        summary.elapsed = started.elapsed();
        tracing::debug!(%summary, "terminate_all done");
        summary
    }
}
