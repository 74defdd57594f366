//! The suite's reference worker: [`worker`], one function written against
//! [`ProcContext`] that acts out every [`Behavior`] (read from the proc's
//! config), so the same code runs the checks on any backend that runs a
//! worker — as a child process or as an in-process task — and the messages
//! its failures carry ([`WORKER_ERROR`], [`WORKER_PANIC`]).
//!
//! The checks that need a worker are in [`super::checks`]
//! (`check_worker_*`); which checks exist is in [`super::runner`].

use std::time::Duration;

use proc_manager_core::{ChannelAddr, ProcContext};

use super::target::Behavior;

/// The error [`Behavior::FailWithError`] returns; its proc must end
/// `Failed { reason: WORKER_ERROR }`.
pub const WORKER_ERROR: &str = "conformance worker: the error it was told to return";

/// The message [`Behavior::Panic`] panics with; its proc must end
/// `Failed { reason: "panicked: " + WORKER_PANIC }`.
pub const WORKER_PANIC: &str = "conformance worker: the panic it was told to raise";

/// Acts out the [`Behavior`] carried as JSON (its serde form) in the proc's
/// config; a proc without one fails. It reports ready with an address of
/// the transport of its backend address (the suite spawns every proc with
/// one of the manager's transport).
///
/// A target runs it on its backend and passes each behaviour through as
/// the proc's config, in its serde form:
///
/// ```
/// use proc_manager_testkit::conformance::Behavior;
///
/// // `LocalProcManager::new(conformance::worker)` with
/// // `LocalProcConfig::with_config(config)`, or a bootstrap child whose `main` is
/// // `child::bootstrap(conformance::worker)` with `BootstrapProcConfig::with_config(config)`.
/// let config = serde_json::to_value(Behavior::Panic { after_ready: true })?;
/// assert_eq!(config["behavior"], "panic");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub async fn worker(ctx: impl ProcContext) -> Result<i32, String> {
    let behavior: Behavior = match ctx.config() {
        Some(config) => serde_json::from_value(config.clone())
            .map_err(|e| format!("the proc config is not a conformance behaviour: {e}"))?,
        None => return Err("no conformance behaviour in the proc config".into()),
    };
    let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
    let ready = || async {
        let addr = ChannelAddr::any(ctx.backend_addr().transport());
        ctx.ready(addr).await.map_err(|e| e.to_string())
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
        Behavior::FailWithError { after_ready } => {
            if after_ready {
                ready().await?;
            }
            Err(WORKER_ERROR.to_owned())
        }
        Behavior::Panic { after_ready } => {
            if after_ready {
                ready().await?;
            }
            panic!("{WORKER_PANIC}")
        }
    }
}
