//! The hand-written tokio baselines' building blocks: the simplest good code
//! a user would write instead of our manager. Spawn the same child binary
//! with a hand-built payload, serve a listener, accept, read the hello; drain
//! the pipes with small buffers and wait the child.
//!
//! The scenarios decide what to time; our manager's side is in the
//! scenarios themselves.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use proc_manager_bootstrap::protocol::{
    BOOTSTRAP_MODE_ENV, Bootstrap, ChildFrame, PROTOCOL_VERSION, generate_token, read_frame,
};
use proc_manager_bootstrap::{ChannelAddr, ProcId};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::harness::Result;
use crate::mode::Mode;

/// Reads `reader` to EOF through a 1 KiB buffer, discarding the bytes.
pub(crate) async fn drain<R: AsyncRead + Unpin>(mut reader: R) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = reader.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Drains a child's stdout and stderr (those that are piped) to EOF, both
/// at once.
pub(crate) async fn drain_both(out: Option<ChildStdout>, err: Option<ChildStderr>) {
    tokio::join!(
        async {
            if let Some(out) = out {
                drain(out).await;
            }
        },
        async {
            if let Some(err) = err {
                drain(err).await;
            }
        },
    );
}

/// Drains the child's stdout and stderr (if piped) to EOF, then waits it.
pub(crate) async fn supervise(mut child: Child) -> std::io::Result<ExitStatus> {
    drain_both(child.stdout.take(), child.stderr.take()).await;
    child.wait().await
}

/// A ready child of the baseline: its pid, the control connection (held
/// open: the child treats its end as the manager being gone), and the task
/// that drains its pipes and reaps it.
#[derive(Debug)]
pub(crate) struct HandProc {
    pub(crate) pid: u32,
    pub(crate) conn: UnixStream,
    pub(crate) exit: JoinHandle<std::io::Result<ExitStatus>>,
}

impl HandProc {
    /// Sends `signal` to the child (not yet reaped: its task is still
    /// waiting on it, so the pid is still ours).
    pub(crate) fn signal(&self, signal: Signal) -> Result<()> {
        let pid = i32::try_from(self.pid)?;
        kill(Pid::from_raw(pid), signal)?;
        Ok(())
    }

    /// Waits until the child has been reaped.
    pub(crate) async fn wait(self) -> Result<ExitStatus> {
        let status = self.exit.await??;
        drop(self.conn);
        Ok(status)
    }
}

/// Spawns the bench's own binary as a bootstrap child by hand.
#[derive(Debug)]
pub(crate) struct HandSpawner {
    exe: PathBuf,
    dir: PathBuf,
    next: AtomicUsize,
}

impl HandSpawner {
    /// A spawner whose sockets live in `dir` (which must exist).
    pub(crate) fn new(exe: PathBuf, dir: PathBuf) -> Self {
        Self {
            exe,
            dir,
            next: AtomicUsize::new(0),
        }
    }

    fn command(&self, callback: &ChannelAddr, token: &str, mode: Mode) -> Result<Command> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let payload = Bootstrap::Proc {
            version: PROTOCOL_VERSION,
            proc_id: ProcId::ranked("hand", n)?,
            backend_addr: ChannelAddr::unix(self.dir.join("backend.sock"))?,
            callback_addr: callback.clone(),
            socket_dir: self.dir.clone(),
            parent_pid: std::process::id(),
            token: token.to_owned(),
            config: Some(mode.config()),
        }
        .encode()?;
        let mut cmd = Command::new(&self.exe);
        cmd.env(BOOTSTRAP_MODE_ENV, payload)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(cmd)
    }

    /// Spawns a child in `mode` with its pipes piped and returns it
    /// unsupervised (the caller drains and waits).
    pub(crate) fn spawn_raw(&self, mode: Mode) -> Result<Child> {
        let callback = ChannelAddr::unix(self.dir.join("unused.sock"))?;
        Ok(self.command(&callback, "unused", mode)?.spawn()?)
    }

    /// A fresh call-back listener and the command of a child in `mode`
    /// that will call it back with the returned token (the caller spawns it
    /// and then calls [`accept_hello`]).
    pub(crate) fn ready_command(&self, mode: Mode) -> Result<ReadyCommand> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("cb-{n}.sock"));
        let listener = UnixListener::bind(&path)?;
        let token = generate_token()?;
        let command = self.command(&ChannelAddr::unix(&path)?, &token, mode)?;
        Ok(ReadyCommand {
            listener,
            path,
            token,
            command,
        })
    }

    /// Spawns a child in `mode` (one that reports ready), accepts its
    /// call-back on a fresh listener and checks the hello.
    pub(crate) async fn spawn_ready(&self, mode: Mode) -> Result<HandProc> {
        let ready = self.ready_command(mode)?;
        let mut command = ready.command;
        let mut child = command.spawn()?;
        let pid = child.id().ok_or("child has no pid")?;
        let conn =
            match accept_hello(&ready.listener, &ready.path, &ready.token, child.wait()).await {
                Ok(conn) => conn,
                Err(e) => return Err(with_stderr(e, child.stderr.take()).await),
            };
        let exit = tokio::spawn(supervise(child));
        Ok(HandProc { pid, conn, exit })
    }
}

/// A call-back listener (at `path`), the token to expect, and the command
/// of a child that will present it.
#[derive(Debug)]
pub(crate) struct ReadyCommand {
    pub(crate) listener: UnixListener,
    pub(crate) path: PathBuf,
    pub(crate) token: String,
    pub(crate) command: Command,
}

/// Accepts the child's call-back on `listener` (then removes the socket
/// file at `path`) and checks its hello presents `token`; fails if `exited`
/// (the child's wait) completes first.
pub(crate) async fn accept_hello<F>(
    listener: &UnixListener,
    path: &std::path::Path,
    token: &str,
    exited: F,
) -> Result<UnixStream>
where
    F: std::future::Future<Output = std::io::Result<ExitStatus>>,
{
    let accepted = tokio::select! {
        accepted = listener.accept() => accepted,
        status = exited => return Err(format!("child exited before hello ({status:?})").into()),
    };
    let _ = std::fs::remove_file(path);
    let mut conn = BufReader::new(accepted?.0);
    let mut buf = Vec::new();
    match read_frame::<_, ChildFrame>(&mut conn, &mut buf).await? {
        Some(ChildFrame::Hello { token: t, .. }) if t == token => Ok(conn.into_inner()),
        other => Err(format!("bad hello: {other:?}").into()),
    }
}

/// `error`, with what the child wrote on stderr appended.
pub(crate) async fn with_stderr<R: AsyncRead + Unpin>(
    error: crate::harness::BoxError,
    stderr: Option<R>,
) -> crate::harness::BoxError {
    let mut text = String::new();
    if let Some(mut err) = stderr {
        let _ = err.read_to_string(&mut text).await;
    }
    format!("{error}: {}", text.trim()).into()
}
