//! The example sh backend runs the whole conformance suite: one named test
//! per check, in strict mode (a skip fails), so no check is left out.

use std::time::Duration;

use proc_manager_core::{BulkTerminate, ProcManager};
use proc_manager_examples::sh_backend::{ShConfig, ShProcManager};
use proc_manager_testkit::conformance::{Behavior, Capabilities, ConformanceTarget};

/// How each behaviour is written as a script. `PROC_SERVE_ADDR` is the
/// address the manager suggests; printing `READY <addr>` reports ready.
struct ShTarget;

/// Serve until stopped: `wait` returns on a trapped signal, so the trap runs
/// at once.
const SERVE_LOOP: &str = "while :; do sleep 3600 & wait $!; done";
const READY: &str = r#"echo "READY $PROC_SERVE_ADDR""#;

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

impl ConformanceTarget for ShTarget {
    type Manager = ShProcManager;

    fn manager(&self) -> ShProcManager {
        ShProcManager::new()
    }

    fn config(&self, behavior: &Behavior) -> Option<<ShProcManager as ProcManager>::Config> {
        let script = match *behavior {
            Behavior::ReadyThenServe => format!("trap 'exit 0' TERM; {READY}; {SERVE_LOOP}"),
            Behavior::ReadyThenSlowStop { delay_ms } => format!(
                "trap 'sleep {}; exit 0' TERM; {READY}; {SERVE_LOOP}",
                seconds(delay_ms)
            ),
            // An ignored signal stays ignored in the children (the sleeps).
            Behavior::ReadyThenIgnoreStop => {
                format!("trap '' TERM; {READY}; while :; do sleep 3600; done")
            }
            Behavior::NeverReady => format!("trap 'exit 0' TERM; {SERVE_LOOP}"),
            Behavior::ExitBeforeReady { code, after_ms } => {
                format!("sleep {}; exit {code}", seconds(after_ms))
            }
            Behavior::ExitAfterReady { code, after_ms } => {
                format!("{READY}; sleep {}; exit {code}", seconds(after_ms))
            }
            Behavior::WriteStderrThenExit { code, lines } => {
                format!(
                    "i=1; while [ $i -le {lines} ]; do echo \"stderr line $i\" >&2; i=$((i+1)); done; exit {code}"
                )
            }
            _ => return None,
        };
        Some(ShConfig::script(script))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::os_processes(Duration::from_millis(750))
    }

    fn bulk<'a>(&self, manager: &'a ShProcManager) -> Option<&'a dyn BulkTerminate> {
        Some(manager)
    }
}

// Strict: a skipped check fails, so every check really runs on this backend.
proc_manager_testkit::conformance_tests!(ShTarget, strict);

#[test]
fn every_behavior_has_a_script() {
    for behavior in Behavior::USED {
        assert!(ShTarget.config(&behavior).is_some(), "{behavior:?}");
    }
}
