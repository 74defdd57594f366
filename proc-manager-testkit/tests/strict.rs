//! The two modes of the generated conformance tests: a skip passes (with a
//! line on stderr) in the default mode and fails, naming the check and the
//! reason, in strict mode; a check name that does not exist always fails.
//! (The macro's strict form itself runs in the bootstrap, local and example
//! backends' `tests/conformance.rs`, where every check passes.)

use std::panic::{AssertUnwindSafe, catch_unwind};

use proc_manager_core::ChannelTransport;
use proc_manager_testkit::conformance::{self, Behavior, ConformanceTarget};
use proc_manager_testkit::mock::ScriptedProcManager;

/// Expresses no behaviour, so every check that spawns is skipped before it
/// spawns anything.
struct Nothing;

impl ConformanceTarget for Nothing {
    type Manager = ScriptedProcManager;

    fn manager(&self) -> ScriptedProcManager {
        ScriptedProcManager::new(ChannelTransport::Local).0
    }

    fn config(&self, _: &Behavior) -> Option<()> {
        None
    }
}

fn panic_message(run: impl FnOnce()) -> Option<String> {
    let payload = catch_unwind(AssertUnwindSafe(run)).err()?;
    Some(
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a non-string panic".into()),
    )
}

#[test]
fn a_skip_passes_by_default() {
    assert_eq!(
        panic_message(|| conformance::run_test("kill", || Nothing)),
        None
    );
}

#[test]
fn a_skip_fails_in_strict_mode_naming_check_and_reason() {
    let message = panic_message(|| conformance::run_test_strict("kill", || Nothing))
        .expect("strict mode panics on a skip");
    assert_eq!(
        message,
        "conformance check kill was SKIPPED, and strict mode fails a skip: \
         the target has no config for behaviour ReadyThenServe"
    );
}

#[test]
fn an_unknown_check_fails_in_both_modes() {
    for strict in [false, true] {
        let message = panic_message(|| {
            if strict {
                conformance::run_test_strict("no_such_check", || Nothing)
            } else {
                conformance::run_test("no_such_check", || Nothing)
            }
        });
        assert_eq!(
            message.as_deref(),
            Some("no conformance check is called \"no_such_check\""),
            "strict = {strict}"
        );
    }
}
