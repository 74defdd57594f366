//! `BootstrapProcManager`, running the `fake-child` binary, passes the whole
//! conformance suite: one named test per check, in strict mode (a skip
//! fails), so no check is left out.

use std::time::Duration;

use proc_manager_bootstrap::{BootstrapProcConfig, BootstrapProcManager, BulkTerminate};
use proc_manager_fake_child::{self as fake_child, FakeChildScript};
use proc_manager_testkit::conformance::{Behavior, Capabilities, ConformanceTarget};

/// Each behaviour as a `FakeChildScript` in the payload's config.
struct BootstrapTarget;

impl ConformanceTarget for BootstrapTarget {
    type Manager = BootstrapProcManager;

    fn manager(&self) -> BootstrapProcManager {
        BootstrapProcManager::new(fake_child::command())
    }

    fn config(&self, behavior: &Behavior) -> Option<BootstrapProcConfig> {
        let ms = Duration::from_millis;
        let script = match *behavior {
            Behavior::ReadyThenServe => FakeChildScript::serving(),
            Behavior::ReadyThenSlowStop { delay_ms } => {
                FakeChildScript::serving().exit_on_shutdown(0, ms(delay_ms))
            }
            Behavior::ReadyThenIgnoreStop => FakeChildScript::serving().ignore_shutdown(),
            Behavior::NeverReady => FakeChildScript::new(),
            Behavior::ExitBeforeReady { code, after_ms } => {
                FakeChildScript::new().exit_after(code, ms(after_ms))
            }
            Behavior::ExitAfterReady { code, after_ms } => {
                FakeChildScript::serving().exit_after(code, ms(after_ms))
            }
            Behavior::WriteStderrThenExit { code, lines } => FakeChildScript::new()
                .stderr_lines(u64::from(lines))
                .exit(code),
            _ => return None,
        };
        Some(script.into_config())
    }

    fn capabilities(&self) -> Capabilities {
        // The handle documents "a few ms, at most about 500 ms" after the deadline.
        Capabilities::os_processes(Duration::from_millis(750))
    }

    fn bulk<'a>(&self, manager: &'a BootstrapProcManager) -> Option<&'a dyn BulkTerminate> {
        Some(manager)
    }
}

// Strict: a skipped check fails, so every check really runs on this backend.
proc_manager_testkit::conformance_tests!(BootstrapTarget, strict);

#[test]
fn every_behavior_has_a_script() {
    for behavior in Behavior::USED {
        assert!(BootstrapTarget.config(&behavior).is_some(), "{behavior:?}");
    }
}
