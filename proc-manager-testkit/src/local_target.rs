//! [`LocalTarget`]: the conformance target of `proc-manager-local`, and
//! [`act`], the one proc function that acts out every [`Behavior`].
//!
//! The suite itself is in [`crate::conformance`]; the bootstrap backend acts
//! behaviours out through [`crate::fake_child`] instead.

use std::time::Duration;

use proc_manager_core::{BulkTerminate, ChannelAddr, ChannelTransport};
use proc_manager_local::{LocalProcConfig, LocalProcManager, ProcContext};

use crate::conformance::{Behavior, Capabilities, ConformanceTarget};

/// Runs the [`Behavior`] carried as JSON in the proc's config. A proc
/// without one fails.
///
/// ```
/// use proc_manager_local::LocalProcManager;
///
/// let manager = LocalProcManager::new(proc_manager_testkit::local_target::act);
/// # drop(manager);
/// ```
pub async fn act(ctx: impl ProcContext) -> Result<i32, String> {
    let behavior: Behavior = ctx
        .config()
        .cloned()
        .ok_or("no behaviour in the config")
        .and_then(|v| serde_json::from_value(v).map_err(|_| "not a behaviour"))?;
    let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
    let ready = || async {
        ctx.ready(ChannelAddr::any(ChannelTransport::Local))
            .await
            .map_err(|e| e.to_string())
    };
    match behavior {
        Behavior::ReadyThenServe => {
            ready().await?;
            ctx.shutdown_requested().await;
            Ok(0)
        }
        Behavior::ReadyThenSlowStop { delay_ms } => {
            ready().await?;
            ctx.shutdown_requested().await;
            sleep(delay_ms).await;
            Ok(0)
        }
        Behavior::ReadyThenIgnoreStop => {
            ready().await?;
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
            ready().await?;
            sleep(after_ms).await;
            Ok(code)
        }
        Behavior::WriteStderrThenExit { code, lines } => {
            for i in 1..=lines {
                ctx.log().stderr(format!("stderr line {i}"));
            }
            Ok(code)
        }
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
///
/// ```no_run
/// proc_manager_testkit::conformance_tests!(proc_manager_testkit::local_target::LocalTarget);
/// ```
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
