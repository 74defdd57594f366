//! [`ChildHarness`]: a hand-written stand-in for the manager side of the
//! bootstrap protocol, for testing a bootstrap child program (the fake
//! child, `proc-bootstrap`, or your own) without a manager: a private dir,
//! callback and log listeners, payloads, and the manager's end of the
//! connections.
//!
//! It checks nothing by itself; tests assert on what it returns.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use std::{fmt, io};

use proc_manager_bootstrap::protocol::{
    BOOTSTRAP_MODE_ENV, Bootstrap, ChildFrame, LOG_CHANNEL_ENV, ManagerFrame, PROTOCOL_VERSION,
    generate_token, read_frame, write_frame,
};
use proc_manager_bootstrap::{ChannelAddr, ProcId};
use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};

/// The manager side of one bootstrap child, by hand.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use proc_manager_fake_child::{self as fake_child, ChildHarness, FakeChildScript};
///
/// let harness = ChildHarness::new()?;
/// let payload = harness.payload(Some(FakeChildScript::serving().to_config()));
/// let mut child = harness.command(fake_child::path()?, &payload)?.spawn()?;
/// let (mut control, hello) = harness.accept(Duration::from_secs(10)).await?;
/// control.stop("test over").await?;
/// child.wait().await?;
/// # let _ = hello;
/// # Ok(())
/// # }
/// ```
pub struct ChildHarness {
    dir: PathBuf,
    socket_dir: PathBuf,
    callback: UnixListener,
    callback_addr: ChannelAddr,
    log: UnixListener,
    log_addr: ChannelAddr,
    token: String,
    proc_id: ProcId,
}

impl fmt::Debug for ChildHarness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildHarness")
            .field("dir", &self.dir)
            .field("callback_addr", &self.callback_addr)
            .field("log_addr", &self.log_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for ChildHarness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn addr_error(e: proc_manager_bootstrap::AddrError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

impl ChildHarness {
    /// A fresh private dir under `/tmp` (short, so socket paths fit) with
    /// both listeners bound. Must be called inside a tokio runtime.
    pub fn new() -> io::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(format!("/tmp/pm-harness-{}-{n}", std::process::id()));
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let socket_dir = dir.join("proc");
        std::fs::create_dir_all(&socket_dir)?;
        let callback_path = dir.join("cb.sock");
        let log_path = dir.join("log.sock");
        Ok(Self {
            callback: UnixListener::bind(&callback_path)?,
            callback_addr: ChannelAddr::unix(&callback_path).map_err(addr_error)?,
            log: UnixListener::bind(&log_path)?,
            log_addr: ChannelAddr::unix(&log_path).map_err(addr_error)?,
            token: generate_token()?,
            proc_id: ProcId::ranked("child", 0)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
            socket_dir,
            dir,
        })
    }

    /// The token payloads carry.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The proc id payloads carry (`child[0]`).
    pub fn proc_id(&self) -> &ProcId {
        &self.proc_id
    }

    /// The socket dir payloads carry.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The private dir (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A payload naming this process as the parent.
    pub fn payload(&self, config: Option<serde_json::Value>) -> Bootstrap {
        self.payload_for_parent(std::process::id(), config)
    }

    /// A payload naming `parent_pid` as the parent (the manager).
    pub fn payload_for_parent(
        &self,
        parent_pid: u32,
        config: Option<serde_json::Value>,
    ) -> Bootstrap {
        Bootstrap::Proc {
            version: PROTOCOL_VERSION,
            proc_id: self.proc_id.clone(),
            backend_addr: ChannelAddr::any(proc_manager_bootstrap::ChannelTransport::Tcp),
            callback_addr: self.callback_addr.clone(),
            socket_dir: self.socket_dir.clone(),
            parent_pid,
            token: self.token.clone(),
            config,
        }
    }

    /// `program` with `payload` in its environment (none: the variable is
    /// removed), the log channel set, stdin closed, stdout/stderr piped, and
    /// killed on drop.
    pub fn command(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        payload: &Bootstrap,
    ) -> io::Result<tokio::process::Command> {
        let encoded = payload
            .encode()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(self.command_raw(program, Some(&encoded)))
    }

    /// [`Self::command`] with the raw (possibly malformed) variable text.
    pub fn command_raw(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        encoded: Option<&str>,
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(program);
        command
            .env_remove(BOOTSTRAP_MODE_ENV)
            .env(LOG_CHANNEL_ENV, self.log_addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(encoded) = encoded {
            command.env(BOOTSTRAP_MODE_ENV, encoded);
        }
        command
    }

    /// Accepts one callback connection within `timeout` and reads its first
    /// frame (normally the hello).
    pub async fn accept(&self, timeout: Duration) -> io::Result<(HarnessConn, ChildFrame)> {
        let mut conn = accept_within(&self.callback, timeout).await?;
        match conn.read(timeout).await? {
            Some(frame) => Ok((conn, frame)),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "callback connection closed before its first frame",
            )),
        }
    }

    /// Accepts the log-channel connection within `timeout`.
    pub async fn accept_log(&self, timeout: Duration) -> io::Result<HarnessConn> {
        accept_within(&self.log, timeout).await
    }

    /// Whether a call-back connection is waiting to be accepted (never
    /// waits; meaningful once the child has exited).
    pub fn call_back_pending(&self) -> io::Result<bool> {
        use std::os::fd::AsFd;
        let listener =
            std::os::unix::net::UnixListener::from(self.callback.as_fd().try_clone_to_owned()?);
        listener.set_nonblocking(true)?;
        match listener.accept() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }
}

async fn accept_within(listener: &UnixListener, timeout: Duration) -> io::Result<HarnessConn> {
    let (stream, _) = tokio::time::timeout(timeout, listener.accept())
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no connection in time"))??;
    Ok(HarnessConn {
        stream: BufReader::new(stream),
        buf: Vec::new(),
    })
}

/// The manager's end of a callback (control) or log connection.
#[derive(Debug)]
pub struct HarnessConn {
    stream: BufReader<UnixStream>,
    buf: Vec<u8>,
}

impl HarnessConn {
    /// The next frame within `timeout`; `None` at end of stream.
    pub async fn read(&mut self, timeout: Duration) -> io::Result<Option<ChildFrame>> {
        tokio::time::timeout(timeout, read_frame(&mut self.stream, &mut self.buf))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no frame in time"))?
            .map_err(io::Error::other)
    }

    /// Sends a stop message.
    pub async fn stop(&mut self, reason: &str) -> io::Result<()> {
        let frame = ManagerFrame::Stop {
            reason: reason.into(),
        };
        write_frame(self.stream.get_mut(), &frame).await
    }
}
