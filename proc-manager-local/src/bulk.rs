//! [`BulkTerminate`] for [`LocalProcManager`]: core's one bulk-stop
//! algorithm over the manager's procs.
//!
//! How one proc is stopped is [`crate::handle`]'s; scheduling, the deadline
//! and the counting are [`proc_manager_core::bulk_terminate`]'s.

use std::time::Duration;

use async_trait::async_trait;
use proc_manager_core::{BulkTerminate, TerminateSummary, bulk_terminate};

use crate::manager::LocalProcManager;

/// # Contract
///
/// As [`BulkTerminate`], through [`bulk_terminate::terminate_all_cells`]: a stop
/// operation is [`LocalProcHandle::terminate`](crate::LocalProcHandle) (the
/// shutdown future resolves, then the wait for the proc's end), so procs
/// that ignore the request hold their slot until the deadline; then every
/// proc still alive, asked yet or not, is aborted at once. A proc whose
/// future is not dropped [`bulk_terminate::AFTER_KILL_BOUND`] after its abort
/// (it blocks its thread instead of yielding) counts as failed.
#[async_trait]
impl BulkTerminate for LocalProcManager {
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
        // In spawn order, which is also the order of the procs' memory.
        let handles = self.procs().procs().to_vec();
        bulk_terminate::terminate_all_cells(handles, timeout, max_in_flight).await
    }
}
