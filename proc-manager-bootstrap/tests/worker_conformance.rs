//! The worker checks on `BootstrapProcManager`, with real child processes
//! that run the suite's reference worker
//! (`proc_manager_testkit::conformance::worker`, the same function the local
//! backend runs as tasks in its `tests/worker_conformance.rs`) through
//! `child::bootstrap`: an error or a panic in the child reaches the
//! manager's status as `Failed { reason }`, as it does in-process. The whole
//! suite runs through the same worker too.
//!
//! The child is this test binary itself: the target starts it with
//! `--exact worker_child --ignored`, so libtest runs only [`worker_child`],
//! which hands the process to `child::bootstrap`. Under a plain `cargo test`
//! that entry point is ignored, never run as a test.

use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcManager, BulkTerminate,
};
use proc_manager_testkit::conformance::{self, Behavior, Capabilities, ConformanceTarget};

/// Each behaviour, as its serde form, in the payload's config of a child
/// running the reference worker.
struct WorkerChildTarget;

impl ConformanceTarget for WorkerChildTarget {
    type Manager = BootstrapProcManager;

    fn manager(&self) -> BootstrapProcManager {
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
        let command = BootstrapCommand::new(exe).args([
            "--exact",
            "worker_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
        BootstrapProcManager::new(command)
    }

    fn config(&self, behavior: &Behavior) -> Option<BootstrapProcConfig> {
        serde_json::to_value(behavior)
            .ok()
            .map(BootstrapProcConfig::with_config)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::os_processes(Duration::from_millis(750))
    }

    fn bulk<'a>(&self, manager: &'a BootstrapProcManager) -> Option<&'a dyn BulkTerminate> {
        Some(manager)
    }
}

/// The child side: not a test. Started by [`WorkerChildTarget`] with the
/// payload in its environment, it becomes the bootstrap child running the
/// reference worker and exits with its code.
#[test]
#[ignore = "the child process of WorkerChildTarget, started by the worker checks"]
fn worker_child() {
    proc_manager_bootstrap::child::bootstrap(conformance::worker)
}

proc_manager_testkit::worker_conformance_tests!(WorkerChildTarget);

/// The main suite, with the same worker as the child.
mod suite {
    use super::WorkerChildTarget;
    proc_manager_testkit::conformance_tests!(WorkerChildTarget, strict);
}
