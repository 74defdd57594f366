//! [`ChildContext`]: what user code of a bootstrap child sees — the payload,
//! `ready(addr)`, the shutdown future and the log writer — and the two
//! background tasks that feed the shutdown latch (SIGTERM listener, control
//! channel reader).
//!
//! Process-level concerns (reading the environment, the death guard, exit
//! codes) live in the parent module.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use proc_manager_core::{ChannelAddr, ProcId};
use tokio::io::BufReader;
use tokio::signal::unix::{SignalKind, signal};

use super::connect::{ManagerStream, connect};
use super::log::LogWriter;
use super::shutdown::{ShutdownLatch, ShutdownReason};
use crate::protocol::{Bootstrap, ChildFrame, FrameError, ManagerFrame, read_frame, write_frame};

struct Inner {
    payload: Bootstrap,
    shutdown: ShutdownLatch,
    log: LogWriter,
    said_hello: AtomicBool,
}

/// The child's view of its bootstrap: who it is, where to report ready, and
/// when to stop. Cheap to clone; all clones share one state.
///
/// Created by [`bootstrap`](super::bootstrap) or [`run`](super::run).
///
/// ```no_run
/// use proc_manager_bootstrap::ChannelAddr;
/// use proc_manager_bootstrap::child::ChildContext;
///
/// async fn serve(ctx: ChildContext) -> Result<i32, Box<dyn std::error::Error + Send + Sync>> {
///     let path = ctx.socket_dir().join("svc.sock");
///     let listener = tokio::net::UnixListener::bind(&path)?;
///     ctx.ready(ChannelAddr::unix(&path)?).await?;
///     let reason = ctx.shutdown_requested().await;
///     ctx.log().info(format!("{} stopping: {reason}", ctx.proc_id()));
///     drop(listener);
///     Ok(0)
/// }
/// ```
#[derive(Clone)]
pub struct ChildContext {
    inner: Arc<Inner>,
}

impl fmt::Debug for ChildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildContext")
            .field("proc_id", self.proc_id())
            .field("backend_addr", self.backend_addr())
            .field("socket_dir", &self.socket_dir())
            .field("ready", &self.inner.said_hello.load(Ordering::Relaxed))
            .field("shutdown", &self.inner.shutdown.current())
            .finish_non_exhaustive()
    }
}

impl ChildContext {
    /// A context for `payload`, sending log records to `log_channel`.
    ///
    /// Starts listening for SIGTERM, so it must be called inside a tokio
    /// runtime with signals enabled; from then on SIGTERM no longer kills the
    /// process but resolves [`Self::shutdown_requested`].
    pub fn new(payload: Bootstrap, log_channel: Option<ChannelAddr>) -> io::Result<Self> {
        let Bootstrap::Proc { token, .. } = &payload;
        let log = LogWriter::new(log_channel, token.clone());
        let shutdown = ShutdownLatch::new();
        let mut sigterm = signal(SignalKind::terminate())?;
        let latch = shutdown.clone();
        tokio::spawn(async move {
            while sigterm.recv().await.is_some() {
                tracing::debug!("SIGTERM received");
                latch.request(ShutdownReason::Sigterm);
            }
        });
        Ok(Self {
            inner: Arc::new(Inner {
                payload,
                shutdown,
                log,
                said_hello: AtomicBool::new(false),
            }),
        })
    }

    /// The raw payload (for tests that misbehave on purpose).
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.inner.payload
    }

    /// This proc's id.
    pub fn proc_id(&self) -> &ProcId {
        let Bootstrap::Proc { proc_id, .. } = &self.inner.payload;
        proc_id
    }

    /// Where this proc sends its outbound traffic.
    pub fn backend_addr(&self) -> &ChannelAddr {
        let Bootstrap::Proc { backend_addr, .. } = &self.inner.payload;
        backend_addr
    }

    /// A private directory where this proc may bind its sockets.
    pub fn socket_dir(&self) -> &Path {
        let Bootstrap::Proc { socket_dir, .. } = &self.inner.payload;
        socket_dir
    }

    /// The user configuration the manager passed, if any.
    pub fn config(&self) -> Option<&serde_json::Value> {
        let Bootstrap::Proc { config, .. } = &self.inner.payload;
        config.as_ref()
    }

    /// A writer for structured log records to the manager.
    pub fn log(&self) -> LogWriter {
        self.inner.log.clone()
    }

    /// Tells the manager this proc is ready at `addr`: connects to the
    /// callback address, sends the hello and keeps the connection as the
    /// control channel (a stop message on it, or its end, resolves
    /// [`Self::shutdown_requested`]).
    ///
    /// Fails if the manager cannot be reached, or if `ready` already
    /// succeeded (the hello is sent once).
    pub async fn ready(&self, addr: ChannelAddr) -> io::Result<()> {
        let Bootstrap::Proc {
            token,
            callback_addr,
            ..
        } = &self.inner.payload;
        self.hello(callback_addr, token.clone(), addr).await
    }

    async fn hello(
        &self,
        callback: &ChannelAddr,
        token: String,
        addr: ChannelAddr,
    ) -> io::Result<()> {
        if self.inner.said_hello.swap(true, Ordering::AcqRel) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: ready() was already called", self.proc_id()),
            ));
        }
        let result = async {
            let mut stream = connect(callback).await?;
            let hello = ChildFrame::Hello {
                token,
                pid: std::process::id(),
                addr,
            };
            write_frame(&mut stream, &hello).await?;
            Ok::<_, io::Error>(stream)
        }
        .await;
        match result {
            Ok(stream) => {
                tokio::spawn(read_control(stream, self.inner.shutdown.clone()));
                Ok(())
            }
            Err(e) => {
                self.inner.said_hello.store(false, Ordering::Release);
                Err(io::Error::new(
                    e.kind(),
                    format!(
                        "{}: cannot report ready to the manager at {callback}: {e}",
                        self.proc_id()
                    ),
                ))
            }
        }
    }

    /// Resolves when shutdown is requested: a stop message from the manager,
    /// SIGTERM, or the end of the control connection (the manager is gone),
    /// whichever comes first. Any number of callers, before or after the
    /// request, all see the same [`ShutdownReason`].
    pub fn shutdown_requested(&self) -> impl Future<Output = ShutdownReason> + Send + 'static {
        self.inner.shutdown.requested()
    }

    /// The shutdown request, if one has arrived (never waits).
    pub fn shutdown_reason(&self) -> Option<ShutdownReason> {
        self.inner.shutdown.current()
    }

    pub(crate) fn manager_gone(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.shutdown.manager_gone()
    }
}

/// Reads manager frames until the connection ends. The write half stays
/// open (owned here) so the manager sees the connection as long as we live.
async fn read_control(stream: Box<dyn ManagerStream>, latch: ShutdownLatch) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        match read_frame::<_, ManagerFrame>(&mut reader, &mut buf).await {
            Ok(Some(ManagerFrame::Stop { reason })) => {
                tracing::debug!(%reason, "stop requested by the manager");
                latch.request(ShutdownReason::Stop { reason });
            }
            Err(FrameError::Malformed(e)) => {
                tracing::warn!(error = %e, "ignoring a malformed frame from the manager");
            }
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(error = %e, "control channel failed");
                break;
            }
        }
    }
    latch.request(ShutdownReason::ManagerGone);
}
