//! The spawner threads: dedicated OS threads (one per CPU, at most four),
//! started on first use and alive for the rest of the process, that fork
//! every bootstrap child.
//!
//! Why a thread of our own: the kernel sends a child's parent-death signal
//! (`PR_SET_PDEATHSIG`, armed by the child side) when the *thread* that
//! forked it ends, not the process. Spawning straight from the caller's
//! thread would doom the child as soon as, say, a tokio blocking-pool thread
//! retires. These threads never end, so the signal fires only when the
//! manager's process dies.
//!
//! The spawning thread also opens the pidfd and records the group in the manager's
//! [`GroupTable`] before replying, so a spawn whose caller has gone away
//! (a cancelled future) still leaves nothing behind: the child is killed and
//! reaped here. Building the command is the manager's job.

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::oneshot;

use crate::group::ProcessGroup;
use crate::table::GroupTable;

/// A child just spawned: the std handle (for its pipes) and its group.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) group: Arc<ProcessGroup>,
}

/// Why a spawn failed.
#[derive(Debug)]
pub(crate) enum SpawnFailure {
    /// The OS refused to start the program (missing, not executable, …).
    Exec(io::Error),
    /// Anything else (no spawner thread, no pidfd, out of resources).
    Setup(io::Error),
}

struct Request {
    command: Command,
    table: Arc<GroupTable>,
    reply: oneshot::Sender<Result<Spawned, SpawnFailure>>,
}

static SPAWNER: OnceLock<Result<mpsc::Sender<Request>, String>> = OnceLock::new();

/// How many spawner threads: one per CPU, at most this many. `posix_spawn`
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
            for i in 0..threads {
                let rx = rx.clone();
                let thread = std::thread::Builder::new()
                    .name(format!("proc-manager-spawner-{i}"))
                    .spawn(move || serve_requests(&rx));
                match thread {
                    Ok(_) => started += 1,
                    Err(err) => error = Some(err.to_string()),
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
        mut command,
        table,
        reply,
    } = request;
    let result = match command.spawn() {
        Err(err) if is_resource_error(&err) => Err(SpawnFailure::Setup(err)),
        Err(err) => Err(SpawnFailure::Exec(err)),
        Ok(mut child) => match ProcessGroup::open(child.id()) {
            Ok(group) => Ok(Spawned {
                child,
                group: Arc::new(group),
            }),
            Err(err) => {
                // Unreaped, so the pid is still ours to signal and reap.
                let _ = child.kill();
                let _ = child.wait();
                // Out of fds keeps its errno, so the caller can name the limit.
                Err(SpawnFailure::Setup(if is_resource_error(&err) {
                    err
                } else {
                    io::Error::new(
                        err.kind(),
                        format!("pidfd_open failed (Linux 5.4 or later is required): {err}"),
                    )
                }))
            }
        },
    };
    if let Ok(spawned) = &result {
        table.insert(spawned.group.clone());
    }
    if let Err(Ok(orphan)) = reply.send(result) {
        tracing::debug!(
            pid = orphan.group.pid(),
            "spawn caller went away; killing the child"
        );
        orphan.group.kill_and_reap_blocking();
        table.remove(orphan.group.pid());
    }
}

/// Out of processes, memory or fds: not the program's fault.
fn is_resource_error(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EAGAIN | libc::ENOMEM | libc::EMFILE | libc::ENFILE)
    )
}

/// Spawns `command` on the spawner thread and records it in `table`.
pub(crate) async fn spawn(
    command: Command,
    table: Arc<GroupTable>,
) -> Result<Spawned, SpawnFailure> {
    let (reply, rx) = oneshot::channel();
    spawner()
        .map_err(SpawnFailure::Setup)?
        .send(Request {
            command,
            table,
            reply,
        })
        .map_err(|_| SpawnFailure::Setup(io::Error::other("the spawner thread is gone")))?;
    rx.await.map_err(|_| {
        SpawnFailure::Setup(io::Error::other("the spawner thread dropped the request"))
    })?
}
