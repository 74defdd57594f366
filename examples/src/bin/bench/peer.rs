//! The peer baseline: the same jobs done with process-wrap (its tokio
//! flavour, each child the leader of its own process group and killed if
//! its handle is dropped), the way a user of that crate would write them.
//!
//! Children are spawned from the same commands as the hand-written
//! baseline's (`baseline.rs`); the scenarios decide what to time.

use std::process::{ExitStatus, Stdio};

use nix::sys::signal::Signal;
use process_wrap::tokio::{KillOnDrop, ProcessGroup, TokioChildWrapper, TokioCommandWrap};
use tokio::net::UnixStream;
use tokio::process::Command;
use tokio::task::JoinHandle;

use crate::baseline::{HandSpawner, accept_hello, drain_both, with_stderr};
use crate::harness::Result;
use crate::mode::Mode;

/// The peer's name, as the table shows it.
pub(crate) const NAME: &str = "process-wrap";

/// Spawns `command` through process-wrap: own process group, kill on drop.
fn spawn(command: Command) -> std::io::Result<Box<dyn TokioChildWrapper>> {
    TokioCommandWrap::from(command)
        .wrap(ProcessGroup::leader())
        .wrap(KillOnDrop)
        .spawn()
}

/// Takes the child's stdout and stderr and drains both to EOF in a task.
fn drain_pipes(child: &mut Box<dyn TokioChildWrapper>) -> JoinHandle<()> {
    let out = child.stdout().take();
    let err = child.stderr().take();
    tokio::spawn(drain_both(out, err))
}

/// Spawns `program` with stdin null and both pipes drained, and waits it
/// (process-wrap's wait: the leader, then any rest of its group).
pub(crate) async fn spawn_to_exit(program: &str) -> Result<ExitStatus> {
    let mut command = Command::new(program);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(command)?;
    let drains = drain_pipes(&mut child);
    let status = Box::into_pin(child.wait()).await?;
    drains.await?;
    Ok(status)
}

/// A ready child of the peer: the wrapped child, its control connection
/// (held open) and the task draining its pipes.
pub(crate) struct PeerProc {
    child: Box<dyn TokioChildWrapper>,
    conn: UnixStream,
    drains: JoinHandle<()>,
}

impl std::fmt::Debug for PeerProc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerProc")
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl PeerProc {
    /// Spawns the bench's child in `mode` through process-wrap and waits
    /// for its hello, like [`HandSpawner::spawn_ready`].
    pub(crate) async fn spawn_ready(hand: &HandSpawner, mode: Mode) -> Result<Self> {
        let ready = hand.ready_command(mode)?;
        let mut child = spawn(ready.command)?;
        let hello = accept_hello(
            &ready.listener,
            &ready.path,
            &ready.token,
            Box::into_pin(child.wait()),
        )
        .await;
        let conn = match hello {
            Ok(conn) => conn,
            Err(e) => return Err(with_stderr(e, child.stderr().take()).await),
        };
        let drains = drain_pipes(&mut child);
        Ok(Self {
            child,
            conn,
            drains,
        })
    }

    /// Signals the child's process group (process-wrap's `signal`).
    pub(crate) fn signal(&self, signal: Signal) -> Result<()> {
        Ok(self.child.signal(signal as i32)?)
    }

    /// Waits the child (and its group) and its pipes' EOF.
    pub(crate) async fn wait(mut self) -> Result<ExitStatus> {
        let status = Box::into_pin(self.child.wait()).await?;
        self.drains.await?;
        drop(self.conn);
        Ok(status)
    }
}
