//! One running `sh -c` proc: starting it, reading its output, turning its
//! exit into a terminal status, and signalling its process group only while
//! that is safe.
//!
//! The public surface over this is [`super::ShProcHandle`].

use std::future::poll_fn;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::pin;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use proc_manager_core::{ChannelAddr, ProcId, ProcStatus, StatusCell, TailBuffer};
use tokio::io::BufReader;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::config::{ReadyWhen, ShConfig};
use super::lines::for_each_line;

/// How long the exit monitor waits for the output pipes to reach EOF after
/// the process group is gone (a process that left the group may hold them).
const DRAIN_DEADLINE: Duration = Duration::from_millis(500);

/// Whether the group leader is still unreaped (its pid, and so the group id,
/// cannot be reused while it is).
#[derive(Debug)]
enum Leader {
    Unreaped(Pid),
    Reaped,
}

/// The shared state of one proc.
#[derive(Debug)]
pub(super) struct Proc {
    pub(super) cell: StatusCell,
    leader: Mutex<Leader>,
    stderr_tail: Mutex<TailBuffer>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Proc {
    /// Signals the proc's process group if its leader is unreaped; `false`
    /// if it had already been reaped.
    pub(super) fn signal(&self, signal: Signal) -> io::Result<bool> {
        let leader = lock(&self.leader);
        match *leader {
            Leader::Unreaped(pid) => match killpg(pid, signal) {
                Ok(()) | Err(Errno::ESRCH) => Ok(true),
                Err(errno) => Err(io::Error::from(errno)),
            },
            Leader::Reaped => Ok(false),
        }
    }

    /// SIGKILLs the group.
    pub(super) fn force(&self) -> io::Result<bool> {
        self.signal(Signal::SIGKILL)
    }
}

/// Starts `sh -c <script>` in its own process group and the tasks that
/// watch it. The proc is `Running` (or `Ready` with [`ReadyWhen::Spawned`])
/// when this returns.
pub(super) fn start(
    shell: &str,
    proc_id: ProcId,
    backend_addr: &ChannelAddr,
    serve_addr: ChannelAddr,
    config: ShConfig,
) -> io::Result<Arc<Proc>> {
    let mut command = Command::new(shell);
    command
        .arg("-c")
        .arg(&config.script)
        .envs(&config.env)
        .env("PROC_ID", proc_id.as_str())
        .env("PROC_BACKEND_ADDR", backend_addr.to_string())
        .env("PROC_SERVE_ADDR", serve_addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn()?;
    let raw_pid = child
        .id()
        .ok_or_else(|| io::Error::other("the child was reaped before its pid was read"))?;
    let pid = Pid::from_raw(i32::try_from(raw_pid).map_err(io::Error::other)?);
    let started_at = SystemTime::now();
    let proc = Arc::new(Proc {
        cell: StatusCell::with_status(
            proc_id.clone(),
            ProcStatus::Running {
                pid: raw_pid,
                started_at,
            },
        ),
        leader: Mutex::new(Leader::Unreaped(pid)),
        stderr_tail: Mutex::new(TailBuffer::default()),
    });
    let span = tracing::info_span!("sh_proc", proc_id = %proc_id, pid = raw_pid);
    if config.ready == ReadyWhen::Spawned {
        mark_ready(&proc, serve_addr.clone());
    }
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(read_stdout(proc.clone(), stdout, serve_addr, span.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(read_stderr(proc.clone(), stderr, span.clone()));
    }
    tokio::spawn(monitor(proc.clone(), child, pid, readers).instrument(span));
    Ok(proc)
}

fn mark_ready(proc: &Proc, addr: ChannelAddr) {
    let result = proc.cell.transition_with(|current| match current {
        ProcStatus::Running { pid, started_at } => Some(ProcStatus::Ready {
            pid: *pid,
            started_at: *started_at,
            addr: addr.clone(),
        }),
        _ => None,
    });
    if result.is_ok_and(|(before, after)| before != after) {
        tracing::info!(%addr, "ready");
    }
}

/// Reads stdout: a `READY <addr>` line with an address of the expected
/// transport marks the proc ready; every line goes to `tracing`.
fn read_stdout(
    proc: Arc<Proc>,
    stdout: tokio::process::ChildStdout,
    serve_addr: ChannelAddr,
    span: tracing::Span,
) -> JoinHandle<()> {
    let transport = serve_addr.transport();
    tokio::spawn(for_each_line(BufReader::new(stdout), move |line| {
        let text = String::from_utf8_lossy(line);
        tracing::info!(proc_id = %proc.cell.proc_id(), stream = "stdout", "{text}");
        if let Some(addr) = text.trim_end().strip_prefix("READY ") {
            match addr.parse::<ChannelAddr>() {
                Ok(addr) if addr.transport() == transport => mark_ready(&proc, addr),
                Ok(addr) => tracing::warn!(%addr, %transport, "READY with an address of another transport ignored"),
                Err(err) => tracing::warn!(%err, "malformed READY line ignored"),
            }
        }
    }).instrument(span))
}

/// Reads stderr into the tail and `tracing`.
fn read_stderr(
    proc: Arc<Proc>,
    stderr: tokio::process::ChildStderr,
    span: tracing::Span,
) -> JoinHandle<()> {
    tokio::spawn(for_each_line(BufReader::new(stderr), move |line| {
        tracing::info!(proc_id = %proc.cell.proc_id(), stream = "stderr", "{}", String::from_utf8_lossy(line));
        lock(&proc.stderr_tail).push(line);
    }).instrument(span))
}

/// Waits for the leader to exit (reaping it under the leader lock, so no
/// signal can reach a recycled pid), kills what is left of its group, drains
/// the output, and publishes the terminal status.
async fn monitor(proc: Arc<Proc>, mut child: Child, pid: Pid, readers: Vec<JoinHandle<()>>) {
    let exit = poll_fn(|cx| {
        let mut leader = lock(&proc.leader);
        // `Child::wait` is cancel safe: a fresh future per poll is fine.
        let result = pin!(child.wait()).poll(cx);
        if result.is_ready() {
            *leader = Leader::Reaped;
        }
        result
    })
    .await;
    // Grandchildren keep the group id allocated while any is alive; if none
    // is, this finds nothing (ESRCH).
    match killpg(pid, Signal::SIGKILL) {
        Ok(()) | Err(Errno::ESRCH) | Err(Errno::EPERM) => {}
        Err(errno) => tracing::warn!(%errno, "cannot kill the rest of the process group"),
    }
    for reader in readers {
        let abort = reader.abort_handle();
        if tokio::time::timeout(DRAIN_DEADLINE, reader).await.is_err() {
            abort.abort();
            tracing::warn!("output still open {DRAIN_DEADLINE:?} after exit; stopped reading it");
        }
    }
    let stderr_tail = lock(&proc.stderr_tail).lines();
    let status = terminal_status(exit, stderr_tail);
    tracing::info!(%status, "ended");
    if let Err(refused) = proc.cell.transition(status) {
        tracing::warn!(%refused, "terminal status refused");
    }
}

fn terminal_status(exit: io::Result<ExitStatus>, stderr_tail: Vec<String>) -> ProcStatus {
    match exit {
        Ok(exit) => match (exit.code(), exit.signal()) {
            (Some(exit_code), _) => ProcStatus::Stopped {
                exit_code,
                stderr_tail,
            },
            (None, Some(signal)) => ProcStatus::Killed {
                signal,
                core_dumped: exit.core_dumped(),
                stderr_tail,
            },
            (None, None) => ProcStatus::Failed {
                reason: format!("unrecognised exit status {exit}"),
                stderr_tail,
            },
        },
        Err(err) => ProcStatus::Failed {
            reason: format!("waiting for the process failed: {err}"),
            stderr_tail,
        },
    }
}
