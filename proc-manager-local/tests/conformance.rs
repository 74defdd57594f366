//! `LocalProcManager` passes the whole conformance suite: one named test per
//! check, in strict mode (a skip fails), so no check is left out. The checks
//! that need OS processes run in their in-process form. The target (one
//! proc function acting out each behaviour) is in `local_target/`, shared
//! with `broken_backend.rs`.

mod local_target;

use local_target::LocalTarget;
use proc_manager_testkit::conformance::{Behavior, ConformanceTarget};

// Strict: a skipped check fails, so every check really runs on this backend.
proc_manager_testkit::conformance_tests!(LocalTarget, strict);

#[test]
fn every_behavior_has_a_config() {
    for behavior in Behavior::USED {
        assert!(LocalTarget.config(&behavior).is_some(), "{behavior:?}");
    }
}
