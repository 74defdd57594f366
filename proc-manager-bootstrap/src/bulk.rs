//! [`BulkTerminate`] for [`BootstrapProcManager`]: core's one bulk-stop
//! algorithm ([`bulk_terminate::terminate_all_cells`]) over the live procs.
//!
//! Polite requests go out with at most `max_in_flight` stop operations in
//! flight, each a handle's `terminate`; at the deadline everything still
//! alive (asked or not yet asked) is SIGKILLed at once, so the call returns
//! in about `timeout` whatever the number of procs.

use std::time::Duration;

use proc_manager_core::{BulkTerminate, TerminateSummary, async_trait, bulk_terminate};

use crate::manager::BootstrapProcManager;

#[async_trait]
impl BulkTerminate for BootstrapProcManager {
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
        bulk_terminate::terminate_all_cells(self.live_handles(), timeout, max_in_flight).await
    }
}
