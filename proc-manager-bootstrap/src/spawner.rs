//! Where children are forked: on the caller's thread when that is the
//! process's main thread, else on the spawner threads, dedicated OS threads
//! (one per CPU, at most four) started on first use and alive for the rest
//! of the process. Each spawning thread keeps a child stack and three stdio
//! slots (fds, see [`crate::stdio_slots`]); the spawner threads make theirs
//! before they serve the first spawn.
//!
//! Why it matters which thread forks: the kernel sends a child's
//! parent-death signal (`PR_SET_PDEATHSIG`, armed by the child side) when
//! the *thread* that forked it ends, not the process. Spawning straight
//! from any caller's thread would doom the child as soon as, say, a tokio
//! blocking-pool thread retires. The main thread and the spawner threads
//! end only with the process, so the signal fires only when the manager's
//! process dies.
//!
//! Why fork on the main thread at all: a round trip through a spawner
//! thread costs more than its two context switches. The caller sleeps
//! while its child is forked, so the child lands on the caller's idle CPU,
//! and the spawner's wake-up then queues the caller behind its own freshly
//! exec'd child (up to half a millisecond on two CPUs). Forking where the
//! caller already runs is what `tokio::process` does: the caller's thread
//! is held until the child has exec'd, as there.
//!
//! Either way the pidfd is opened and the group recorded in the manager's
//! [`GroupTable`] before the caller hears of the child, so a spawn whose
//! caller has gone away (a cancelled future) still leaves nothing behind:
//! the spawner thread kills and reaps it. Building the command is the
//! manager's job.
//!
//! Every child is started by [`crate::clone_spawn`] (a vfork-cost clone that
//! is born in its cgroup when it has one).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::oneshot;

use crate::clone_command::CloneCommand;
use crate::clone_spawn::{self, CloneError};
use crate::group::ProcessGroup;
use crate::table::GroupTable;

/// How to start the child: the program, and the cgroup to be born in
/// (none under process groups), its directory open.
#[derive(Debug)]
pub(crate) struct Start {
    pub(crate) command: CloneCommand,
    pub(crate) cgroup_dir: Option<OwnedFd>,
}

/// A child just spawned: its group and our ends of its output pipes.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub(crate) group: Arc<ProcessGroup>,
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
}

/// Why a spawn failed.
#[derive(Debug)]
pub(crate) enum SpawnFailure {
    /// The OS refused to start the program (missing, not executable, …).
    Exec(io::Error),
    /// Anything else (no spawner thread, no pidfd, out of resources, the
    /// cgroup refused the child).
    Setup(io::Error),
}

struct Request {
    start: Start,
    table: Arc<GroupTable>,
    reply: oneshot::Sender<Result<Spawned, SpawnFailure>>,
}

static SPAWNER: OnceLock<Result<mpsc::Sender<Request>, String>> = OnceLock::new();

/// How many spawner threads: one per CPU, at most this many. A `vfork`
/// holds its thread until the child has exec'd, so one thread would spawn
/// strictly one child after another.
const MAX_SPAWNER_THREADS: usize = 4;

fn spawner() -> io::Result<&'static mpsc::Sender<Request>> {
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Request>();
            let rx = Arc::new(Mutex::new(rx));
            let threads = std::thread::available_parallelism()
                .map_or(1, usize::from)
                .clamp(1, MAX_SPAWNER_THREADS);
            let mut started = 0;
            let mut error = None;
            let (prepared_tx, prepared) = mpsc::channel::<()>();
            for i in 0..threads {
                let rx = rx.clone();
                let prepared_tx = prepared_tx.clone();
                let thread = std::thread::Builder::new()
                    .name(format!("proc-manager-spawner-{i}"))
                    .spawn(move || {
                        prepare_thread();
                        prepared_tx.send(()).ok();
                        serve_requests(&rx);
                    });
                match thread {
                    Ok(_) => started += 1,
                    Err(err) => error = Some(err.to_string()),
                }
            }
            drop(prepared_tx);
            // Every thread's stack and stdio slots exist before the first
            // spawn is served, so the manager's fd count settles with it. A
            // thread that dies early drops its sender: no hang.
            for _ in 0..started {
                if prepared.recv().is_err() {
                    break;
                }
            }
            match (started, error) {
                (0, Some(err)) => Err(err),
                _ => Ok(tx),
            }
        })
        .as_ref()
        .map_err(|err| io::Error::other(format!("cannot start the spawner thread: {err}")))
}

/// Makes this thread's child stack and stdio slots now; a failure only
/// defers it to the thread's first spawn, which then reports it.
fn prepare_thread() {
    if let Err(err) = clone_spawn::prepare_thread() {
        tracing::debug!(%err, "spawner thread not prepared ahead");
    }
}

/// One spawner thread's loop. The sender lives in a static, so it never
/// ends. The lock is held only while waiting for the next request.
fn serve_requests(rx: &Mutex<mpsc::Receiver<Request>>) {
    loop {
        let request = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match request {
            Ok(request) => serve(request),
            Err(_) => return,
        }
    }
}

fn serve(request: Request) {
    let Request {
        start,
        table,
        reply,
    } = request;
    let result = start_child(start, &table);
    if let Err(Ok(orphan)) = reply.send(result) {
        tracing::debug!(
            pid = orphan.group.pid(),
            "spawn caller went away; killing the child"
        );
        orphan.group.kill_and_reap_blocking();
        table.remove(orphan.group.pid());
    }
}

/// Forks the child on this thread and records it in `table`.
fn start_child(start: Start, table: &GroupTable) -> Result<Spawned, SpawnFailure> {
    // A subreaper pass must not see this child before the table does.
    let lock = crate::subreaper::spawn_lock();
    let Start {
        command,
        cgroup_dir,
    } = start;
    let result = match clone_spawn::spawn(&command, cgroup_dir.as_ref().map(AsFd::as_fd)) {
        Err(CloneError::Exec(err)) => Err(SpawnFailure::Exec(err)),
        Err(CloneError::Cgroup(err)) => Err(SpawnFailure::Setup(io::Error::new(
            err.kind(),
            format!("the child cannot join its cgroup: {err}"),
        ))),
        Err(CloneError::Setup(err)) => Err(SpawnFailure::Setup(err)),
        Ok(child) => match ProcessGroup::open(child.pid) {
            Ok(group) => Ok(Spawned {
                group: Arc::new(group),
                stdin: child.stdin,
                stdout: child.stdout,
                stderr: child.stderr,
            }),
            Err(err) => {
                kill_and_reap_unopened(child.pid);
                Err(pidfd_failure(err))
            }
        },
    };
    if let Ok(spawned) = &result {
        table.insert(spawned.group.clone());
    }
    drop(lock);
    result
}

fn pidfd_failure(err: io::Error) -> SpawnFailure {
    // Out of fds keeps its errno, so the caller can name the limit.
    if is_resource_error(&err) {
        return SpawnFailure::Setup(err);
    }
    SpawnFailure::Setup(io::Error::new(
        err.kind(),
        format!("pidfd_open failed (Linux 5.4 or later is required): {err}"),
    ))
}

/// SIGKILLs and reaps a child we could not open a pidfd for (unreaped, so
/// its pid is still ours).
fn kill_and_reap_unopened(pid: u32) {
    let Ok(pid) = i32::try_from(pid) else { return };
    // SAFETY: signal and wait for our own unreaped child; no pointers kept.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// Out of processes, memory or fds: not the program's fault.
fn is_resource_error(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EAGAIN | libc::ENOMEM | libc::EMFILE | libc::ENFILE)
    )
}

/// Starts a child and records it in `table`: right here on the main
/// thread, else on a spawner thread.
pub(crate) async fn spawn(start: Start, table: Arc<GroupTable>) -> Result<Spawned, SpawnFailure> {
    if on_main_thread() {
        return start_child(start, &table);
    }
    let (reply, rx) = oneshot::channel();
    spawner()
        .map_err(SpawnFailure::Setup)?
        .send(Request {
            start,
            table,
            reply,
        })
        .map_err(|_| SpawnFailure::Setup(io::Error::other("the spawner thread is gone")))?;
    rx.await.map_err(|_| {
        SpawnFailure::Setup(io::Error::other("the spawner thread dropped the request"))
    })?
}

/// Whether this is the process's main thread (its thread id is the
/// process id), which ends only with the process (Rust's `main` returning
/// exits it), so its children's parent-death signal fires only when the
/// manager's process dies.
fn on_main_thread() -> bool {
    nix::unistd::gettid() == nix::unistd::getpid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_of_its_own_is_not_the_main_thread() {
        let other = std::thread::spawn(on_main_thread).join();
        assert!(matches!(other, Ok(false)));
    }
}
