//! The child side of the bootstrap protocol: the [`bootstrap`] entry point a
//! child program's `main` calls, and the [`ChildContext`] its code gets,
//! core's [`ProcContext`](proc_manager_core::ProcContext).
//!
//! Write the worker once, against the trait, and the same function runs as
//! a child process here and as an in-process proc
//! (`proc_manager_local::LocalProcManager::new(worker)`):
//!
//! ```no_run
//! use proc_manager_bootstrap::{BoxError, ChannelAddr, ChannelTransport, ProcContext};
//!
//! async fn worker(ctx: impl ProcContext) -> Result<i32, BoxError> {
//!     // Bind what the proc serves on, then say so.
//!     ctx.ready(ChannelAddr::any(ChannelTransport::Unix)).await?;
//!     ctx.log().info("serving");
//!     let reason = ctx.shutdown_requested().await;
//!     ctx.log().info(format!("stopping: {reason}"));
//!     Ok(0)
//! }
//!
//! // The child program's `main`:
//! proc_manager_bootstrap::child::bootstrap(worker)
//! ```
//!
//! What happens, in order: the payload is read from
//! [`BOOTSTRAP_MODE_ENV`](crate::protocol::BOOTSTRAP_MODE_ENV) and validated
//! (a bad one: one line on stderr, exit code [`EXIT_BAD_PAYLOAD`]); the
//! parent-death guard is armed and the parent pid checked (the manager
//! already gone: exit code [`EXIT_MANAGER_GONE`]); a current-thread tokio
//! runtime starts; SIGTERM is turned into a shutdown request; user code
//! runs. Its `Ok(code)` becomes the exit code, so the manager's status is
//! `Stopped { exit_code: code }`. An `Err(e)` or a panic is reported to the
//! manager before the process exits (a [`ChildFrame::Failure`] on the
//! control connection, or on a fresh callback connection if the proc never
//! became ready), so the manager's status is `Failed { reason }` with
//! `e.to_string()` or `panicked: <message>`, as on the in-process backend.
//!
//! If the manager cannot be told (its connection is gone, or it does not
//! note the report within [`FAILURE_REPORT_TIMEOUT`]), the exit code is all
//! it sees: [`EXIT_MAIN_ERROR`] for an error (its text is printed to stderr,
//! so it is in the status's stderr tail) and [`EXIT_PANIC`] for a panic
//! (the panic hook printed the message to stderr).
//!
//! The manager keeps the control connection open for the child's whole
//! life: its end means the manager is gone. User code is told at once
//! ([`ShutdownReason::ManagerGone`]) and must return within
//! [`MANAGER_GONE_GRACE`], or the process exits with [`EXIT_MANAGER_GONE`].
//!
//! The manager side (spawning, serving the callback socket) lives elsewhere
//! in this crate; the wire format lives in [`crate::protocol`].

mod connect;
mod context;
pub mod death_guard;
mod log;
mod report;
mod shutdown;

use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

pub use self::context::ChildContext;
pub use self::log::LogWriter;
pub use self::report::FAILURE_REPORT_TIMEOUT;
#[cfg(doc)]
use crate::protocol::ChildFrame;
use crate::protocol::LOG_CHANNEL_ENV;
pub use crate::protocol::{Bootstrap, PayloadError};
pub use proc_manager_core::{BoxError, ShutdownReason};
use proc_manager_core::{ChannelAddr, WorkerOutcome};
use tracing::Instrument as _;

// The context is handed to user code and moved across tasks.
const _: () = {
    const fn assert_context<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    assert_context::<ChildContext>();
    assert_context::<LogWriter>();
};

/// Exit code when user code returns an error (what the manager sees when
/// the error could not be reported).
pub const EXIT_MAIN_ERROR: i32 = 1;
/// Exit code when user code panics (Rust's own for a panicking `main`;
/// what the manager sees when the panic could not be reported).
pub const EXIT_PANIC: i32 = 101;
/// Exit code for a missing or malformed payload.
pub const EXIT_BAD_PAYLOAD: i32 = 2;
/// Exit code when the manager is gone: at start (the parent is not the
/// manager) or after the control connection ended and user code did not
/// return within [`MANAGER_GONE_GRACE`].
pub const EXIT_MANAGER_GONE: i32 = 69;

/// How long user code may keep running after the manager is gone.
pub const MANAGER_GONE_GRACE: Duration = Duration::from_secs(2);

/// How long pending log records may take to reach the manager at exit.
const LOG_FLUSH_AT_EXIT: Duration = Duration::from_secs(1);

/// Why [`run`] ended without an exit code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChildError {
    /// The SIGTERM handler could not be installed.
    #[error("cannot listen for SIGTERM: {0}")]
    Signal(#[source] std::io::Error),
    /// The manager went away and user code did not return in time.
    #[error("the manager is gone and the child did not stop within {grace:?}")]
    ManagerGone {
        /// The grace period that ran out.
        grace: Duration,
    },
    /// User code returned an error (this carries its text).
    #[error("{0}")]
    Main(#[source] BoxError),
    /// User code panicked.
    #[error("panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
}

/// The entry point of a bootstrap child: reads and validates the payload,
/// arms the parent-death guard, runs `main` on a current-thread tokio
/// runtime and exits the process with the code it returns (see the module
/// docs for every exit path). Never returns and never panics on bad input.
///
/// `main` is typically a worker written against
/// [`ProcContext`](proc_manager_core::ProcContext); any error type
/// `E: Into<BoxError>` will do.
pub fn bootstrap<F, Fut, E>(main: F) -> !
where
    F: FnOnce(ChildContext) -> Fut,
    Fut: Future<Output = Result<i32, E>>,
    E: Into<BoxError>,
{
    let payload = match Bootstrap::get_from_env() {
        Ok(payload) => payload,
        Err(e) => exit_with_message(EXIT_BAD_PAYLOAD, &e),
    };
    let Bootstrap::Proc { parent_pid, .. } = &payload;
    if let Err(e) = death_guard::arm(*parent_pid) {
        exit_with_message(EXIT_MANAGER_GONE, &e);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => exit_with_message(
            EXIT_MAIN_ERROR,
            &format!("cannot start a tokio runtime: {e}"),
        ),
    };
    let code = match runtime.block_on(run_with(payload, log_channel_from_env(), main)) {
        Ok(code) => code,
        Err(ChildError::ManagerGone { grace }) => exit_with_message(
            EXIT_MANAGER_GONE,
            &format!("the manager is gone and the child did not stop within {grace:?}"),
        ),
        // The panic hook has printed the message already.
        Err(ChildError::Panicked { .. }) => EXIT_PANIC,
        Err(e) => exit_with_message(EXIT_MAIN_ERROR, &e),
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// Runs `main` with a context for `payload`, inside the caller's runtime,
/// without touching the process: no payload from the environment (the log
/// channel still comes from [`LOG_CHANNEL_ENV`]), no death guard, no exit.
/// For tests and for programs that own their runtime.
///
/// An error or a panic of `main` is reported to the manager (as by
/// [`bootstrap`]) and returned as [`ChildError::Main`] (with the error's
/// text) or [`ChildError::Panicked`].
///
/// Must run inside a tokio runtime with signals enabled.
#[allow(clippy::future_not_send)] // user code may hold !Send state; it runs on the caller's task
pub async fn run<F, Fut, E>(payload: Bootstrap, main: F) -> Result<i32, ChildError>
where
    F: FnOnce(ChildContext) -> Fut,
    Fut: Future<Output = Result<i32, E>>,
    E: Into<BoxError>,
{
    run_with(payload, log_channel_from_env(), main).await
}

#[allow(clippy::future_not_send)] // see `run`
async fn run_with<F, Fut, E>(
    payload: Bootstrap,
    log_channel: Option<ChannelAddr>,
    main: F,
) -> Result<i32, ChildError>
where
    F: FnOnce(ChildContext) -> Fut,
    Fut: Future<Output = Result<i32, E>>,
    E: Into<BoxError>,
{
    let span = tracing::info_span!("child", proc_id = tracing::field::Empty);
    let ctx = {
        let _entered = span.enter();
        ChildContext::new(payload, log_channel).map_err(ChildError::Signal)?
    };
    span.record("proc_id", tracing::field::display(ctx.proc_id()));
    let manager_gone = ctx.manager_gone();
    let outcome = async {
        tokio::select! {
            outcome = WorkerOutcome::catch(|| main(ctx.clone())) => Ok(outcome),
            () = async {
                manager_gone.await;
                tracing::debug!("the manager is gone; waiting {MANAGER_GONE_GRACE:?} for user code");
                tokio::time::sleep(MANAGER_GONE_GRACE).await;
            } => Err(ChildError::ManagerGone { grace: MANAGER_GONE_GRACE }),
        }
    }
    .instrument(span.clone())
    .await;
    ctx.log_channel().flush_within(LOG_FLUSH_AT_EXIT).await;
    let outcome = outcome?;
    if let Some(reason) = outcome.reason() {
        let noted = ctx.report_failure(&reason).instrument(span).await;
        tracing::debug!(noted, %reason, "user code failed");
    }
    match outcome {
        WorkerOutcome::Returned(code) => Ok(code),
        WorkerOutcome::Panicked(message) => Err(ChildError::Panicked { message }),
        WorkerOutcome::Errored(message) => Err(ChildError::Main(message.into())),
        other => Err(ChildError::Main(other.reason().unwrap_or_default().into())),
    }
}

/// The log channel from [`LOG_CHANNEL_ENV`]; an unparsable one is ignored.
fn log_channel_from_env() -> Option<ChannelAddr> {
    let text = std::env::var(LOG_CHANNEL_ENV).ok()?;
    match text.parse() {
        Ok(addr) => Some(addr),
        Err(e) => {
            tracing::warn!(%e, "ignoring {LOG_CHANNEL_ENV}");
            None
        }
    }
}

/// Prints one line (`<program>: <message>`) to stderr and exits.
fn exit_with_message(code: i32, message: &dyn std::fmt::Display) -> ! {
    let program = std::env::args_os()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "bootstrap child".to_owned());
    let line = message.to_string().replace(['\n', '\r'], " ");
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr().lock(), "{program}: {line}");
    std::process::exit(code)
}
