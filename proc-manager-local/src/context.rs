//! [`ProcContext`]: what a local proc's function is given — who it is,
//! where to send traffic, its config, how to report ready, how to learn
//! that a polite stop was asked for, and where to write its output.
//!
//! The writer itself is [`crate::LogWriter`]; the status rules are core's.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use proc_manager_core::{ChannelAddr, ProcId, ProcStatus};

use crate::shared::ProcShared;
use crate::writer::LogWriter;

/// The context a local proc runs with, passed by value to the proc function.
///
/// ```
/// use proc_manager_local::{ChannelAddr, ChannelTransport, ProcContext};
///
/// async fn echo(ctx: ProcContext) -> Result<i32, String> {
///     // Bind what the proc serves on, then say so.
///     ctx.ready(ChannelAddr::any(ChannelTransport::Local));
///     ctx.log().stdout(format!("{} serving, reporting to {}", ctx.proc_id(), ctx.backend_addr()));
///     ctx.shutdown_requested().await;
///     Ok(0)
/// }
/// ```
pub struct ProcContext {
    shared: Arc<ProcShared>,
    backend_addr: ChannelAddr,
    // Boxed: the context is part of every proc's future, which stays smaller.
    config: Option<Box<serde_json::Value>>,
}

impl ProcContext {
    pub(crate) fn new(
        shared: Arc<ProcShared>,
        backend_addr: ChannelAddr,
        config: Option<Box<serde_json::Value>>,
    ) -> Self {
        Self {
            shared,
            backend_addr,
            config,
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
    /// Only the first call counts; a call once a stop was requested is
    /// ignored (a stopping proc never becomes ready).
    pub fn ready(&self, addr: ChannelAddr) {
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
    }

    /// Resolves once a polite stop has been asked for (by `terminate` or
    /// `terminate_all`), at once if one already was. The future does not
    /// borrow the context, so it can be moved into another task.
    ///
    /// A proc that ignores it is aborted at the stop's deadline.
    pub fn shutdown_requested(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.shared.cell.watch();
        async move {
            // An error means the status is gone with the proc: stop too.
            let _ = rx.wait_for(|s| s.is_stopping() || s.is_exit()).await;
        }
    }

    /// Whether a polite stop has been asked for.
    pub fn is_shutdown_requested(&self) -> bool {
        let status = self.shared.cell.status();
        status.is_stopping() || status.is_exit()
    }

    /// A writer for the proc's stdout and stderr lines.
    pub fn log(&self) -> LogWriter {
        LogWriter::new(self.shared.clone())
    }
}

impl fmt::Debug for ProcContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcContext")
            .field("proc_id", self.proc_id())
            .field("backend_addr", &self.backend_addr)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
