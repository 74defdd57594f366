//! The worker checks on `LocalProcManager`: the suite's reference worker
//! (`proc_manager_testkit::conformance::worker`, the same function the
//! bootstrap backend runs as a child process in its
//! `tests/worker_conformance.rs`) runs as local procs, and its `Ok(code)`,
//! `Err(e)` and panic end as the contract says. (`LocalTarget` runs
//! `local_target::act`, which is that worker.)

mod local_target;

use local_target::LocalTarget;
use proc_manager_testkit::conformance::{Behavior, ConformanceTarget};

// Strict: a skipped worker check fails.

proc_manager_testkit::worker_conformance_tests!(LocalTarget);

#[test]
fn every_worker_behavior_has_a_config() {
    for behavior in Behavior::USED.iter().chain(&Behavior::WORKER) {
        assert!(LocalTarget.config(behavior).is_some(), "{behavior:?}");
    }
}
