//! The worker checks on `LocalProcManager`: the suite's reference worker
//! (`proc_manager_testkit::conformance::worker`, the same function the
//! bootstrap backend runs as a child process in its
//! `tests/worker_conformance.rs`) runs as local procs, and its `Ok(code)`,
//! `Err(e)` and panic end as the contract says. (`LocalTarget` runs
//! `local_target::act`, which is that worker.)

use proc_manager_testkit::conformance::{self, Behavior, ConformanceTarget};
use proc_manager_testkit::local_target::LocalTarget;

proc_manager_testkit::worker_conformance_tests!(LocalTarget);

#[test]
fn every_worker_behavior_has_a_config() {
    for behavior in Behavior::USED.iter().chain(&Behavior::WORKER) {
        assert!(LocalTarget.config(behavior).is_some(), "{behavior:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_worker_checks_reports_no_failure_and_no_skip() {
    let report = conformance::run_worker_checks(&LocalTarget).await;
    eprintln!("{report}");
    report.assert_no_failures();
    assert_eq!(report.skipped().count(), 0, "{report}");
    assert_eq!(report.results.len(), conformance::WORKER_CHECKS.len());
}
