//! `LocalProcManager` passes the whole conformance suite: one named test per
//! check, plus a run of them all that must report no failure. The checks
//! that need OS processes and signals run in their in-process form. The
//! target (one proc function acting out each behaviour) is
//! `proc_manager_testkit::local_target`.

use proc_manager_testkit::conformance;
use proc_manager_testkit::local_target::LocalTarget;

proc_manager_testkit::conformance_tests!(LocalTarget);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_reports_no_failure() {
    let report = conformance::run_all(&LocalTarget).await;
    eprintln!("{report}");
    report.assert_no_failures();
    assert_eq!(report.skipped().count(), 0, "{report}");
}
