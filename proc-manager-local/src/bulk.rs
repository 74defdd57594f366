//! [`BulkTerminate`] for [`LocalProcManager`]: stopping every live proc with
//! one deadline and a cap on stop operations in flight.
//!
//! Stopping one proc is [`crate::shared::ProcShared::ask_and_wait`]; this
//! module only schedules those, enforces the deadline and counts.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
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
/// A proc still not dropped five seconds after its abort counts as
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

        let cap = max_in_flight.max(1);
        let (ended, killed) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let note = |status: ProcStatus| {
            ended.fetch_add(1, Ordering::Relaxed);
            if matches!(status, ProcStatus::Killed { .. }) {
                killed.fetch_add(1, Ordering::Relaxed);
            }
        };
        // In spawn order, which is also the order of the procs' memory. No
        // stop has a timer of its own: the sweep below is the deadline.
        let drive = async {
            if live.len() <= cap {
                // Everything fits in the cap: ask all at once, then collect in
                // order (a proc that ended by its turn costs no waiter).
                for handle in &live {
                    handle.shared().cell.mark_stopping();
                }
                for handle in &live {
                    note(handle.shared().cell.wait_terminal().await);
                }
            } else {
                // `cap` workers, each asking the next proc in line once its
                // previous one has ended: a slow proc holds one slot, not
                // the queue.
                let next = AtomicUsize::new(0);
                let worker = || async {
                    while let Some(handle) = live.get(next.fetch_add(1, Ordering::Relaxed)) {
                        note(handle.shared().ask_and_wait().await);
                    }
                };
                let workers: FuturesUnordered<_> = (0..cap).map(|_| worker()).collect();
                workers.collect::<()>().await;
            }
        };
        let mut drive = pin!(drive);
        let mut sweep = pin!(tokio::time::sleep_until(deadline));
        let mut swept = false;
        let mut too_late = pin!(tokio::time::sleep_until(give_up));
        loop {
            tokio::select! {
                () = &mut drive => break,
                () = &mut sweep, if !swept => {
                    // One deadline for the whole call: procs still queued
                    // behind the cap get no polite turn of their own.
                    swept = true;
                    for handle in &live {
                        handle.abort();
                    }
                }
                () = &mut too_late => break,
            }
        }
        let (mut ended, mut killed) = (
            ended.load(Ordering::Relaxed),
            killed.load(Ordering::Relaxed),
        );

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
