//! [`ChildContext`]: what user code of a bootstrap child sees — the payload,
//! `ready(addr)`, the shutdown future and the log writer, core's
//! [`ProcContext`] for a child process — and the two background tasks that
//! feed the shutdown latch (SIGTERM listener, control channel reader), which
//! also hears the manager note a failure report.
//!
//! Process-level concerns (reading the environment, the death guard, exit
//! codes) live in the parent module.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use proc_manager_core::{ChannelAddr, ContextError, ProcContext, ProcId, ProcLog, ShutdownReason};
use tokio::io::{BufReader, ReadHalf, WriteHalf};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Mutex, Notify};

use super::connect::{ManagerStream, connect};
use super::log::LogWriter;
use super::report::{self, FAILURE_REPORT_TIMEOUT};
use super::shutdown::ShutdownLatch;
use crate::protocol::{Bootstrap, ChildFrame, FrameError, ManagerFrame, read_frame, write_frame};

type ControlWriter = WriteHalf<Box<dyn ManagerStream>>;

struct Inner {
    payload: Bootstrap,
    shutdown: ShutdownLatch,
    records: LogWriter,
    /// `records` behind core's writer, made once.
    log: ProcLog,
    said_hello: AtomicBool,
    /// The write half of the control connection, once `ready` succeeded.
    control: Mutex<Option<ControlWriter>>,
    /// Notified when the manager notes a failure report on the control
    /// connection.
    noted: Arc<Notify>,
}

/// The child's view of its bootstrap: who it is, where to report ready, and
/// when to stop. Cheap to clone; all clones share one state.
///
/// It implements [`ProcContext`], so a worker written against the trait runs
/// here and in-process unchanged; its inherent methods of the same names
/// have the trait's signatures. Beyond the trait it offers the payload's
/// [`socket_dir`](Self::socket_dir), the [`shutdown_reason`](Self::shutdown_reason)
/// so far, and the raw [`log_channel`](Self::log_channel) writer.
///
/// Created by [`bootstrap`](super::bootstrap) or [`run`](super::run).
///
/// ```no_run
/// use proc_manager_bootstrap::{BoxError, ChannelAddr};
/// use proc_manager_bootstrap::child::ChildContext;
///
/// async fn serve(ctx: ChildContext) -> Result<i32, BoxError> {
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
        let records = LogWriter::new(log_channel, token.clone());
        let log = ProcLog::new(Arc::new(records.clone()));
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
                records,
                log,
                said_hello: AtomicBool::new(false),
                control: Mutex::new(None),
                noted: Arc::new(Notify::new()),
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

    /// The proc's log writer: stdout/stderr lines go to this process's
    /// stdout/stderr (which the manager forwards and keeps tails of),
    /// records go over the log channel ([`Self::log_channel`]).
    pub fn log(&self) -> ProcLog {
        self.inner.log.clone()
    }

    /// The raw writer for structured records to the manager's log channel
    /// (with its drop count), the one behind [`Self::log`]'s records.
    pub fn log_channel(&self) -> LogWriter {
        self.inner.records.clone()
    }

    /// Tells the manager this proc is ready at `addr`: connects to the
    /// callback address, sends the hello and keeps the connection as the
    /// control channel (a stop message on it, or its end, resolves
    /// [`Self::shutdown_requested`]).
    ///
    /// Fails with [`ContextError::Unreachable`] if the manager cannot be
    /// reached, or [`ContextError::AlreadyReady`] if `ready` already
    /// succeeded (the hello is sent once).
    pub async fn ready(&self, addr: ChannelAddr) -> Result<(), ContextError> {
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
    ) -> Result<(), ContextError> {
        if self.inner.said_hello.swap(true, Ordering::AcqRel) {
            return Err(ContextError::AlreadyReady {
                proc_id: self.proc_id().clone(),
            });
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
                let (read, write) = tokio::io::split(stream);
                *self.inner.control.lock().await = Some(write);
                tokio::spawn(read_control(
                    read,
                    self.inner.shutdown.clone(),
                    Arc::clone(&self.inner.noted),
                ));
                Ok(())
            }
            Err(source) => {
                self.inner.said_hello.store(false, Ordering::Release);
                Err(ContextError::Unreachable {
                    proc_id: self.proc_id().clone(),
                    manager: callback.clone(),
                    source,
                })
            }
        }
    }

    /// Tells the manager the worker failed with `reason` and waits (at most
    /// [`FAILURE_REPORT_TIMEOUT`]) for it to note that: on the control
    /// connection after a hello, else on a fresh callback connection.
    /// Returns whether the manager noted it; when it did not (it is gone,
    /// unreachable, or too slow), the exit code is all it will see.
    pub(crate) async fn report_failure(&self, reason: &str) -> bool {
        let Bootstrap::Proc {
            token,
            callback_addr,
            ..
        } = &self.inner.payload;
        let frame = report::failure_frame(token, reason);
        let attempt = async {
            let mut control = self.inner.control.lock().await;
            if let Some(writer) = control.as_mut() {
                let noted = self.inner.noted.notified();
                write_frame(writer, &frame).await?;
                drop(control);
                tokio::select! {
                    () = noted => Ok(()),
                    () = self.manager_gone() => Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the control connection closed before the manager noted the failure",
                    )),
                }
            } else if self.inner.said_hello.load(Ordering::Acquire) {
                Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "ready() is still reporting; no control connection to use",
                ))
            } else {
                drop(control);
                report::on_fresh_connection(callback_addr, &frame).await
            }
        };
        match tokio::time::timeout(FAILURE_REPORT_TIMEOUT, attempt).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "could not report the failure to the manager");
                false
            }
            Err(_) => {
                tracing::debug!(
                    "the manager did not note the failure within {FAILURE_REPORT_TIMEOUT:?}"
                );
                false
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

    /// Whether shutdown has been requested (never waits).
    pub fn is_shutdown_requested(&self) -> bool {
        self.inner.shutdown.current().is_some()
    }

    /// The shutdown request, if one has arrived (never waits).
    pub fn shutdown_reason(&self) -> Option<ShutdownReason> {
        self.inner.shutdown.current()
    }

    pub(crate) fn manager_gone(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.shutdown.manager_gone()
    }
}

impl ProcContext for ChildContext {
    fn proc_id(&self) -> &ProcId {
        ChildContext::proc_id(self)
    }

    fn backend_addr(&self) -> &ChannelAddr {
        ChildContext::backend_addr(self)
    }

    fn config(&self) -> Option<&serde_json::Value> {
        ChildContext::config(self)
    }

    fn ready(&self, addr: ChannelAddr) -> impl Future<Output = Result<(), ContextError>> + Send {
        ChildContext::ready(self, addr)
    }

    fn shutdown_requested(&self) -> impl Future<Output = ShutdownReason> + Send + 'static {
        ChildContext::shutdown_requested(self)
    }

    fn is_shutdown_requested(&self) -> bool {
        ChildContext::is_shutdown_requested(self)
    }

    fn log(&self) -> ProcLog {
        ChildContext::log(self)
    }
}

/// Reads manager frames until the connection ends. The write half stays
/// open (in the context) so the manager sees the connection as long as we
/// live.
async fn read_control(
    stream: ReadHalf<Box<dyn ManagerStream>>,
    latch: ShutdownLatch,
    noted: Arc<Notify>,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        match read_frame::<_, ManagerFrame>(&mut reader, &mut buf).await {
            Ok(Some(ManagerFrame::Stop { reason })) => {
                tracing::debug!(%reason, "stop requested by the manager");
                latch.request(ShutdownReason::Stop { reason });
            }
            Ok(Some(ManagerFrame::FailureNoted)) => noted.notify_one(),
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
