//! [`LocalTarget`]: the conformance target of `proc-manager-local`, and
//! [`act`], the one proc function that acts out every [`Behavior`]. Shared
//! by this package's `conformance.rs` (the suite, strict) and
//! `broken_backend.rs` (the suite failing wrapped, broken versions of it).
//!
//! It lives here, not in the testkit, so that the testkit needs only core:
//! the suite is `proc_manager_testkit::conformance`.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use proc_manager_core::{BulkTerminate, ChannelAddr, ChannelTransport};
use proc_manager_local::{LocalProcConfig, LocalProcManager, ProcContext};

use proc_manager_testkit::conformance::{Behavior, Capabilities, ConformanceTarget};

/// Runs the [`Behavior`] carried as JSON in the proc's config. A proc
/// without one fails.
pub async fn act(ctx: ProcContext) -> Result<i32, String> {
    let behavior: Behavior = ctx
        .config()
        .cloned()
        .ok_or("no behaviour in the config")
        .and_then(|v| serde_json::from_value(v).map_err(|_| "not a behaviour"))?;
    let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
    let ready = || ctx.ready(ChannelAddr::any(ChannelTransport::Local));
    match behavior {
        Behavior::ReadyThenServe => {
            ready();
            ctx.shutdown_requested().await;
            Ok(0)
        }
        Behavior::ReadyThenSlowStop { delay_ms } => {
            ready();
            ctx.shutdown_requested().await;
            sleep(delay_ms).await;
            Ok(0)
        }
        Behavior::ReadyThenIgnoreStop => {
            ready();
            std::future::pending().await
        }
        Behavior::NeverReady => {
            ctx.shutdown_requested().await;
            Ok(0)
        }
        Behavior::ExitBeforeReady { code, after_ms } => {
            sleep(after_ms).await;
            Ok(code)
        }
        Behavior::ExitAfterReady { code, after_ms } => {
            ready();
            sleep(after_ms).await;
            Ok(code)
        }
        Behavior::WriteStderrThenExit { code, lines } => {
            for i in 1..=lines {
                ctx.log().stderr(format!("stderr line {i}"));
            }
            Ok(code)
        }
        // A behaviour added to the suite after this target was written.
        other => Err(format!("the local target does not act out {other:?}")),
    }
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
