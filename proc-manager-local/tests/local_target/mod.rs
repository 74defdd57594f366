//! [`LocalTarget`]: the conformance target of `proc-manager-local`, and
//! [`act`], the one proc function that acts out every [`Behavior`]. Shared
//! by this package's `conformance.rs` (the suite, strict) and
//! `broken_backend.rs` (the suite failing wrapped, broken versions of it).
//!
//! It lives here, not in the testkit, so that the testkit needs only core:
//! the suite is `proc_manager_testkit::conformance`.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use proc_manager_core::BulkTerminate;
use proc_manager_local::{LocalProcConfig, LocalProcManager, ProcContext};

use proc_manager_testkit::conformance::{Behavior, Capabilities, ConformanceTarget};

/// Runs the [`Behavior`] carried as JSON in the proc's config: the suite's
/// reference worker, `proc_manager_testkit::conformance::worker`. A proc
/// without one fails.
pub async fn act(ctx: impl ProcContext) -> Result<i32, String> {
    proc_manager_testkit::conformance::worker(ctx).await
}

/// The config that makes [`act`] play `behavior`.
pub fn config(behavior: &Behavior) -> Option<LocalProcConfig> {
    serde_json::to_value(behavior)
        .ok()
        .map(LocalProcConfig::with_config)
}

/// `LocalProcManager` as a conformance target: every behaviour is supported,
/// a forced stop is reported as SIGKILL, stops are bounded by 250 ms.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalTarget;

impl ConformanceTarget for LocalTarget {
    type Manager = LocalProcManager;

    fn manager(&self) -> LocalProcManager {
        LocalProcManager::new(act)
    }

    fn config(&self, behavior: &Behavior) -> Option<LocalProcConfig> {
        config(behavior)
    }

    fn capabilities(&self) -> Capabilities {
        // No pids of its own, but a forced stop is reported as SIGKILL.
        let mut caps = Capabilities::in_process(Duration::from_millis(250));
        caps.signals = true;
        caps
    }

    fn bulk<'a>(&self, manager: &'a LocalProcManager) -> Option<&'a dyn BulkTerminate> {
        Some(manager)
    }
}
