//! The conformance suite: the `# Contract` sections of
//! [`proc_manager_core::ProcHandle`], [`proc_manager_core::ProcManager`] and
//! [`proc_manager_core::BulkTerminate`], as executable checks that every
//! backend runs on itself.
//!
//! - [`ConformanceTarget`] is what a backend provides: a fresh manager, a
//!   config for each [`Behavior`] the checks need, and its [`Capabilities`].
//! - One `pub async fn check_*` per behaviour of the contract (see
//!   [`CHECKS`]); each spawns what it needs on a fresh manager, is bounded by
//!   [`CHECK_TIMEOUT`], forces whatever it spawned when it ends, and returns
//!   a [`CheckResult`] whose failure message says what was expected and what
//!   was seen.
//! - [`run_all`] runs them all into a [`ConformanceReport`];
//!   [`crate::conformance_tests!`] expands to one named `#[test]` per check.
//! - The worker checks ([`WORKER_CHECKS`]: a worker's `Ok(code)`, `Err(e)`
//!   and panic end in the same status on every backend) need procs that run
//!   the suite's reference [`worker`], written once against
//!   [`proc_manager_core::ProcContext`]. A target whose `config` passes each
//!   [`Behavior`] (its serde form) to such a proc runs them with
//!   [`run_worker_checks`] or [`crate::worker_conformance_tests!`]; it must
//!   map [`Behavior::USED`] and [`Behavior::WORKER`].
//!
//! A check that needs a behaviour the target cannot express, a capability it
//! lacks or [`proc_manager_core::BulkTerminate`] is *skipped* with the
//! reason, never reported as passed.
//!
//! The fake procs themselves (how a backend makes a proc ignore SIGTERM, …)
//! are the target's business: the bootstrap backend's are the scripted
//! `fake-child` of the `proc-manager-fake-child` crate, the local backend's
//! one proc function in `proc-manager-local/tests/local_target`.

mod checks;
mod path;
mod report;
pub(crate) mod runner;
mod target;
mod worker;

pub use checks::*;
pub use path::{check_observed_path, is_reachable};
pub use report::{CheckResult, ConformanceReport, Outcome};
pub use runner::{
    CHECK_TIMEOUT, CHECKS, SHOULD, WORKER_CHECKS, run_all, run_check, run_test, run_test_strict,
    run_worker_checks,
};
pub use target::{Behavior, Capabilities, ConformanceTarget};
pub use worker::{WORKER_ERROR, WORKER_PANIC, worker};

/// The list of checks, handed to `$callback` as `name => check_fn` pairs.
/// One list, used by [`CHECKS`], [`run_check`] and
/// [`crate::conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ([$($callback:tt)*] { $($args:tt)* }) => {
        $($callback)*! { { $($args)* }
            spawn_running_ready => check_spawn_running_ready,
            ready_on_early_exit => check_ready_on_early_exit,
            ready_waiter_sees_stop => check_ready_waiter_sees_stop,
            wait_many => check_wait_many,
            exit_carries_stderr_tail => check_exit_carries_stderr_tail,
            watch_ordering => check_watch_ordering,
            terminate_polite => check_terminate_polite,
            terminate_escalates_at_deadline => check_terminate_escalates_at_deadline,
            kill => check_kill,
            concurrent_stop => check_concurrent_stop,
            idempotent_stop => check_idempotent_stop,
            already_terminated => check_already_terminated,
            duplicate_id => check_duplicate_id,
            id_reusable_after_end => check_id_reusable_after_end,
            unknown_id => check_unknown_id,
            lookups => check_lookups,
            terminate_all_counts => check_terminate_all_counts,
            terminate_all_single_deadline => check_terminate_all_single_deadline,
            terminate_all_concurrency_cap => check_terminate_all_concurrency_cap,
        }
    };
}

/// The worker checks, handed to `$callback` as `name => check_fn` pairs:
/// one list, used by [`WORKER_CHECKS`], [`run_check`] and
/// [`crate::worker_conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __worker_conformance_checks {
    ([$($callback:tt)*] { $($args:tt)* }) => {
        $($callback)*! { { $($args)* }
            worker_ok_code => check_worker_ok_code,
            worker_error_reason => check_worker_error_reason,
            worker_panic_reason => check_worker_panic_reason,
        }
    };
}

/// Expands to one `#[test]` per worker check ([`WORKER_CHECKS`]), like
/// [`crate::conformance_tests!`], for a `$target` whose procs run the
/// reference [`worker`](crate::conformance::worker).
///
/// Put `proc_manager_testkit::worker_conformance_tests!(MyWorkerTarget);`
/// in a test file of your backend; `proc-manager-local` and
/// `proc-manager-bootstrap` each have a `tests/worker_conformance.rs`.
#[macro_export]
macro_rules! worker_conformance_tests {
    ($target:expr $(,)?) => {
        $crate::__worker_conformance_checks!([$crate::__conformance_test_fns] { run_test_strict $target });
    };
}

/// Expands to one `#[test]` per conformance check, named after the check,
/// each running it against a fresh `$target` on its own two-worker tokio
/// runtime. A failure panics with the check's expected-versus-seen message;
/// a skip prints `SKIPPED: <reason>` to stderr and passes.
///
/// `conformance_tests!(MyTarget, strict)` is the strict mode: a skip fails
/// the test too, naming the reason. Use it once your target expresses every
/// [`conformance::Behavior`](crate::conformance::Behavior) and has
/// `BulkTerminate`: every check then really runs, and a later change that
/// makes one skip (a behaviour the target stops mapping) is caught.
///
/// Put `proc_manager_testkit::conformance_tests!(MyTarget);` in a test file
/// of your backend (`tests/conformance.rs`); the [crate docs](crate) show a
/// complete one.
#[macro_export]
macro_rules! conformance_tests {
    ($target:expr, strict $(,)?) => {
        $crate::__conformance_checks!([$crate::__conformance_test_fns] { run_test_strict $target });
    };
    ($target:expr $(,)?) => {
        $crate::__conformance_checks!([$crate::__conformance_test_fns] { run_test $target });
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    ({ $run:ident $target:expr } $($name:ident => $check:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::conformance::$run(stringify!($name), || $target);
            }
        )*
    };
}
