//! [`LocalContext`]: what a local proc's function is given, core's
//! [`ProcContext`] for a proc that is a task of this process — who it is,
//! where to send traffic, its config, how to report ready, how to learn
//! that a polite stop was asked for, and where to write its output.
//!
//! The writer behind [`ProcContext::log`] is [`crate::LogWriter`]; the
//! status rules are core's; how the function's end becomes a status is in
//! [`crate::task`].

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use proc_manager_core::{
    ChannelAddr, ContextError, LogStream, ProcContext, ProcId, ProcLog, ProcLogTarget, ProcStatus,
    ShutdownReason,
};

use crate::shared::ProcShared;
use crate::writer::LogWriter;

/// The context a local proc runs with, passed by value to the proc function.
/// It implements [`ProcContext`], so a worker written against the trait runs
/// here and as a real child process unchanged; its inherent methods are the
/// trait's, with the same signatures, for callers that name the type.
///
/// ```
/// use proc_manager_local::{ChannelAddr, ChannelTransport, LocalProcManager, ProcContext};
///
/// async fn echo(ctx: impl ProcContext) -> Result<i32, String> {
///     // Bind what the proc serves on, then say so.
///     ctx.ready(ChannelAddr::any(ChannelTransport::Local)).await.map_err(|e| e.to_string())?;
///     ctx.log().stdout(format!("{} serving, reporting to {}", ctx.proc_id(), ctx.backend_addr()));
///     ctx.shutdown_requested().await;
///     Ok(0)
/// }
///
/// let manager = LocalProcManager::new(echo);
/// # drop(manager);
/// ```
pub struct LocalContext {
    shared: Arc<ProcShared>,
    backend_addr: ChannelAddr,
    // Boxed: the context is part of every proc's future, which stays smaller.
    config: Option<Box<serde_json::Value>>,
    /// Made on the first `log()`: a proc that never logs allocates nothing.
    log: OnceLock<ProcLog>,
    readied: AtomicBool,
}

impl LocalContext {
    pub(crate) fn new(
        shared: Arc<ProcShared>,
        backend_addr: ChannelAddr,
        config: Option<Box<serde_json::Value>>,
    ) -> Self {
        Self {
            shared,
            backend_addr,
            config,
            log: OnceLock::new(),
            readied: AtomicBool::new(false),
        }
    }

    /// The proc's id.
    pub fn proc_id(&self) -> &ProcId {
        self.shared.cell.proc_id()
    }

    /// The address the proc should send its outbound traffic to.
    pub fn backend_addr(&self) -> &ChannelAddr {
        &self.backend_addr
    }

    /// The config given at spawn ([`crate::LocalProcConfig::config`]).
    pub fn config(&self) -> Option<&serde_json::Value> {
        self.config.as_deref()
    }

    /// Reports that the proc serves on `addr`: the status becomes `Ready`.
    ///
    /// A second call fails with [`ContextError::AlreadyReady`]; a call once
    /// a stop was requested succeeds but changes nothing (a stopping proc
    /// never becomes ready). Never waits.
    pub async fn ready(&self, addr: ChannelAddr) -> Result<(), ContextError> {
        if self.readied.swap(true, Ordering::AcqRel) {
            return Err(ContextError::AlreadyReady {
                proc_id: self.proc_id().clone(),
            });
        }
        let applied = self.shared.cell.transition_with(|current| match current {
            ProcStatus::Running { pid, started_at } => Some(ProcStatus::Ready {
                pid: *pid,
                started_at: *started_at,
                addr,
            }),
            _ => None,
        });
        if let Ok((previous, current)) = applied {
            if previous != current {
                tracing::debug!(parent: &self.shared.span, %current, "proc ready");
            }
        }
        Ok(())
    }

    /// Resolves once a polite stop has been asked for (by `terminate` or
    /// `terminate_all`), at once if one already was, with
    /// [`ShutdownReason::Stop`]. The future does not borrow the context, so
    /// it can be moved into another task.
    ///
    /// A proc that ignores it is aborted at the stop's deadline.
    pub fn shutdown_requested(&self) -> impl Future<Output = ShutdownReason> + Send + 'static {
        let mut rx = self.shared.cell.watch();
        async move {
            match rx.wait_for(|s| s.is_stopping() || s.is_exit()).await {
                // The local handle does not pass its stop reason on.
                Ok(_) => ShutdownReason::Stop {
                    reason: String::new(),
                },
                // The status is gone with the proc: stop too.
                Err(_) => ShutdownReason::ManagerGone,
            }
        }
    }

    /// Whether a polite stop has been asked for.
    pub fn is_shutdown_requested(&self) -> bool {
        self.shared
            .cell
            .inspect(|status| status.is_stopping() || status.is_exit())
    }

    /// The proc's log writer: its stdout and stderr lines reach the
    /// manager's sinks and the proc's bounded tails (the stderr tail ends up
    /// in the terminal status), as a child's would; records reach the sinks
    /// as [`LogStream::Channel`] lines.
    pub fn log(&self) -> ProcLog {
        self.log
            .get_or_init(|| ProcLog::new(Arc::new(LogWriter::new(self.shared.clone()))))
            .clone()
    }
}

impl ProcContext for LocalContext {
    fn proc_id(&self) -> &ProcId {
        LocalContext::proc_id(self)
    }

    fn backend_addr(&self) -> &ChannelAddr {
        LocalContext::backend_addr(self)
    }

    fn config(&self) -> Option<&serde_json::Value> {
        LocalContext::config(self)
    }

    fn ready(&self, addr: ChannelAddr) -> impl Future<Output = Result<(), ContextError>> + Send {
        LocalContext::ready(self, addr)
    }

    fn shutdown_requested(&self) -> impl Future<Output = ShutdownReason> + Send + 'static {
        LocalContext::shutdown_requested(self)
    }

    fn is_shutdown_requested(&self) -> bool {
        LocalContext::is_shutdown_requested(self)
    }

    fn log(&self) -> ProcLog {
        LocalContext::log(self)
    }
}

/// A local proc's lines go through its [`LogWriter`]; records become
/// [`LogStream::Channel`] lines, formatted as the bootstrap manager formats
/// a child's records.
impl ProcLogTarget for LogWriter {
    fn write(&self, stream: LogStream, text: &[u8]) {
        LogWriter::write(self, stream, text);
    }

    fn record(&self, level: &str, message: &str) {
        let text = ProcLog::record_text(level, message);
        LogWriter::write(self, LogStream::Channel, text.as_bytes());
    }
}

impl fmt::Debug for LocalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalContext")
            .field("proc_id", self.proc_id())
            .field("backend_addr", &self.backend_addr)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
