//! [`Launcher`]: what a manager needs to start procs (the command, the
//! options, the runtime dir, the table of live groups) and one spawn, step
//! by step: check the readiness mode and settings (bad input is refused
//! before anything is made), make the private dir and what the mode needs in
//! it (the callback socket with the payload, registered with the manager's one log socket, or the notify socket),
//! build the command (the spawn's own or the manager's) with the mode's
//! variables, fork it (on the main thread, else a spawner thread:
//! [`crate::spawner`]), mark `Running{pid}`, and start
//! the proc's tasks: the mode's driver (callback server, notify server, or
//! probe) and the exit monitor (which also forwards the output and runs the
//! `LogLine` watch).
//!
//! Every step that can fail comes before the fork or undoes itself, so a
//! failed spawn leaves nothing behind (no dir, no table entry). After the
//! fork nothing awaits, so a cancelled spawn cannot orphan a child (and the
//! spawner thread kills a child whose caller went away). Which ids may be
//! spawned, and publishing the handle, is [`crate::registry`]'s business.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use proc_manager_core::{
    ChannelAddr, LogStream, ProcId, ProcStatus, SpawnError, StatusCell, TailBuffer,
};
use tokio::net::UnixListener;
use tokio::net::unix::pipe;
use tokio::process::ChildStdin;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::callback;
use crate::cgroup::ProcCgroup;
use crate::clone_command::{ChildStdio, CloneCommand};
use crate::command::BootstrapCommand;
use crate::config::{BootstrapProcConfig, Options, StdinMode, StdioMode};
use crate::confine::Confinement;
use crate::exit_monitor::{EndHook, Monitor};
use crate::exit_watch::wait_exit;
use crate::handle::BootstrapProcHandle;
use crate::log_channel::{LogHub, LogRegistration, LogTarget};
use crate::log_match::LineMatch;
use crate::notify::NotifySocket;
use crate::outputs::Outputs;
use crate::proc_state::ProcShared;
use crate::protocol::{Bootstrap, PROTOCOL_VERSION};
use crate::readiness::ReadyPlan;
use crate::ready_driver::{self, Trigger};
use crate::runtime_dir::{MAX_SOCKET_PATH, ProcDir, RuntimeDir};
use crate::spawn_command::{ChildEnv, build_command};
use crate::spawner::{self, SpawnFailure, Start};
use crate::stdio::{LineSplitter, SharedTail};
use crate::table::GroupTable;

fn io_err(proc_id: &ProcId) -> impl FnOnce(io::Error) -> SpawnError + '_ {
    move |source| SpawnError::Io {
        proc_id: proc_id.clone(),
        source: crate::nofile::explain(source),
    }
}

fn socket_addr(proc_id: &ProcId, path: &Path) -> Result<ChannelAddr, SpawnError> {
    let bad = |reason: String| SpawnError::BadConfig {
        proc_id: proc_id.clone(),
        reason,
    };
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(bad(format!(
            "socket path {} is longer than {MAX_SOCKET_PATH} bytes (use a shorter runtime dir)",
            path.display()
        )));
    }
    ChannelAddr::unix(path).map_err(|e| bad(e.to_string()))
}

fn bind(proc_id: &ProcId, addr: &ChannelAddr) -> Result<UnixListener, SpawnError> {
    let path = addr
        .as_unix_path()
        .ok_or_else(|| io_err(proc_id)(io::Error::other("not a unix address")))?;
    UnixListener::bind(path).map_err(io_err(proc_id))
}

/// Starts procs from one command with one set of options. See the module
/// docs.
#[derive(Debug)]
pub(crate) struct Launcher {
    command: BootstrapCommand,
    options: Options,
    runtime: RuntimeDir,
    table: Arc<GroupTable>,
    /// The one log socket every callback-mode proc of this manager shares.
    logs: LogHub,
    /// Dropped last: the cgroups' teardown, then the guardian.
    confinement: Confinement,
    /// Told of each proc's end once its terminal status is published.
    on_end: OnceLock<EndHook>,
}

impl Launcher {
    pub(crate) fn new(
        command: BootstrapCommand,
        options: Options,
        runtime: RuntimeDir,
        confinement: Confinement,
    ) -> Self {
        Self {
            command,
            options,
            runtime,
            table: Arc::new(GroupTable::default()),
            logs: LogHub::default(),
            confinement,
            on_end: OnceLock::new(),
        }
    }

    /// How procs are contained.
    pub(crate) fn confinement(&self) -> &Confinement {
        &self.confinement
    }

    /// SIGKILLs everything every live proc started: each process group,
    /// and with cgroups every process in them. Synchronous.
    pub(crate) fn kill_all(&self) {
        self.table.kill_all();
        self.confinement.kill_all();
    }

    /// Sets who is told of each proc's end (the registry's retention).
    pub(crate) fn on_end(&self, hook: EndHook) {
        let _ = self.on_end.set(hook);
    }

    /// The command every proc starts from.
    pub(crate) fn command(&self) -> &BootstrapCommand {
        &self.command
    }

    /// The manager-wide options.
    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    /// The runtime dir holding the procs' sockets.
    pub(crate) fn runtime_dir(&self) -> &Path {
        self.runtime.path()
    }

    /// The live process groups this launcher started.
    pub(crate) fn table(&self) -> &GroupTable {
        &self.table
    }

    /// Starts one proc (its id already reserved by the caller).
    pub(crate) async fn launch(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
        config: BootstrapProcConfig,
    ) -> Result<BootstrapProcHandle, SpawnError> {
        launch(self, proc_id, backend_addr, config).await
    }
}

/// What the callback protocol needs bound before the fork.
struct CallbackSetup {
    token: String,
    payload: String,
    log_addr: ChannelAddr,
    listener: UnixListener,
    /// The proc's entry in the manager's log socket, made before the fork
    /// so a child that logs at once is never refused as unknown.
    log: LogRegistration,
    /// The exit token that entry watches; becomes the proc's.
    exited: CancellationToken,
}

async fn launch(
    launcher: &Launcher,
    proc_id: ProcId,
    backend_addr: ChannelAddr,
    config: BootstrapProcConfig,
) -> Result<BootstrapProcHandle, SpawnError> {
    let span = tracing::info_span!("proc", proc_id = %proc_id, pid = tracing::field::Empty);
    let options = &launcher.options;
    let settings = options.resolve(&config);
    // Bad input is refused before anything is made.
    let plan = ReadyPlan::new(
        &settings.readiness,
        &proc_id,
        options.stdio == StdioMode::Captured,
    )?;
    if config.watchdog.is_some() && !matches!(plan, ReadyPlan::Notify(_)) {
        return Err(SpawnError::BadConfig {
            proc_id,
            reason: "a watchdog needs Readiness::Notify (it is fed by WATCHDOG=1)".into(),
        });
    }
    let spec = config.command.as_ref().unwrap_or(&launcher.command);

    launcher.runtime.ensure().map_err(io_err(&proc_id))?;
    launcher
        .confinement
        .first_spawn(&launcher.runtime, &launcher.table);
    let mut cgroup = launcher.confinement.prepare(&proc_id)?;
    let dir_path = launcher.runtime.next_proc_dir();
    // Removed again on drop, unless kept once the child runs.
    let dir = ProcDir::create(dir_path.clone()).map_err(io_err(&proc_id))?;
    let (mode, line_regex) =
        prepare_mode(launcher, plan, &proc_id, &dir_path, backend_addr, &config)?;
    let child_env = match &mode {
        Mode::Callback(callback) => ChildEnv::Protocol {
            payload: &callback.payload,
            log_addr: &callback.log_addr,
        },
        Mode::Notify { path, .. } => ChildEnv::Notify {
            socket: path,
            watchdog: config.watchdog,
        },
        Mode::Driven { .. } => ChildEnv::Plain,
    };
    let command = build_command(spec, &config, &child_env);
    let start = start_for(
        spec,
        options.stdio,
        settings.stdin,
        command,
        cgroup.as_mut(),
    );
    let spawned = match start {
        Ok(start) => spawner::spawn(start, launcher.table.clone()).await,
        Err(failure) => Err(failure),
    };
    let spawned = spawned.map_err(|failure| match failure {
        SpawnFailure::Exec(source) => SpawnError::BadCommand {
            proc_id: proc_id.clone(),
            program: spec.program.display().to_string(),
            source,
        },
        SpawnFailure::Setup(source) => io_err(&proc_id)(source),
    })?;

    // From here on nothing awaits: the child is recorded and supervised.
    let group = spawned.group;
    let pid = group.pid();
    span.record("pid", pid);
    let pipes = (spawned.stdout, spawned.stderr);
    let stdin = spawned.stdin.and_then(|fd| {
        match ChildStdin::from_std(std::process::ChildStdin::from(fd)) {
            Ok(stdin) => Some(stdin),
            Err(err) => {
                tracing::warn!(parent: &span, %err, "cannot hand out the child's stdin");
                None
            }
        }
    });

    let cell = StatusCell::new(proc_id.clone());
    let _ = cell.transition(ProcStatus::Running {
        pid,
        started_at: SystemTime::now(),
    });
    let new_tail = || -> SharedTail {
        Arc::new(Mutex::new(TailBuffer::new(
            options.tail_lines,
            options.tail_bytes,
        )))
    };
    let exited = match &mode {
        Mode::Callback(callback) => callback.exited.clone(),
        _ => CancellationToken::new(),
    };
    let shared = Arc::new(
        ProcShared::new(
            proc_id.clone(),
            cell,
            group.clone(),
            new_tail(),
            new_tail(),
            span.clone(),
        )
        .with_exited(exited)
        .with_stop(settings.stop)
        .with_stdin(stdin)
        .with_cgroup(cgroup),
    );

    let watch = line_regex.map(|(regex, addr)| {
        let on_ready = shared.clone();
        Arc::new(LineMatch::new(regex, move || {
            ready_driver::mark_ready(&on_ready, &addr);
        }))
    });
    let mut outputs = Outputs::default();
    if options.stdio == StdioMode::Captured {
        let streams = [
            (pipes.0, LogStream::Stdout, &shared.stdout_tail),
            (pipes.1, LogStream::Stderr, &shared.stderr_tail),
        ];
        for (fd, stream, tail) in streams {
            let Some(fd) = fd else { continue };
            match pipe::Receiver::from_owned_fd(fd) {
                Ok(rx) => {
                    let sinks = options.sinks.clone();
                    let mut splitter =
                        LineSplitter::new(proc_id.clone(), stream, sinks, tail.clone());
                    if let Some(watch) = &watch {
                        splitter = splitter.with_watch(watch.clone());
                    }
                    outputs.push(rx, splitter);
                }
                Err(err) => {
                    tracing::warn!(parent: &span, %stream, %err, "cannot read child output")
                }
            }
        }
    }

    let ready_timeout = settings.ready_timeout;
    let mut last_words = None;
    match mode {
        Mode::Callback(callback) => {
            tokio::spawn(
                callback::serve(
                    callback.listener,
                    callback.log,
                    shared.clone(),
                    callback.token,
                    ready_timeout,
                )
                .instrument(span.clone()),
            );
        }
        Mode::Notify { socket, addr, .. } => {
            let server = crate::notify::Server {
                socket,
                shared: shared.clone(),
                addr,
                ready_timeout,
                watchdog: config.watchdog,
                cgroup: None,
            };
            last_words = Some(tokio::spawn(server.run().instrument(span.clone())));
        }
        Mode::Driven { trigger, addr } => {
            ready_driver::start(&shared, trigger, addr, ready_timeout);
        }
    }
    let monitor = Monitor {
        shared: shared.clone(),
        table: launcher.table.clone(),
        outputs,
        sinks: options.sinks.clone(),
        proc_dir: dir.keep(),
        kill_group_on_exit: options.kill_group_on_exit,
        last_words,
        on_end: launcher.on_end.get().cloned(),
    };
    tokio::spawn(monitor.run(wait_exit(group)).instrument(span.clone()));

    let handle = BootstrapProcHandle { shared };
    tracing::info!(parent: &span, "spawned");
    Ok(handle)
}

/// A readiness mode with what it needs made before the fork.
enum Mode {
    /// The bootstrap protocol: payload, callback and log sockets.
    Callback(CallbackSetup),
    /// The notify protocol: its datagram socket.
    Notify {
        socket: NotifySocket,
        path: PathBuf,
        addr: ChannelAddr,
    },
    /// A mode driven by [`ready_driver::start`].
    Driven { trigger: Trigger, addr: ChannelAddr },
}

/// Makes what `plan` needs in the proc's dir `dir`. For `LogLine`, also
/// returns the pattern and address for the line watch.
fn prepare_mode(
    launcher: &Launcher,
    plan: ReadyPlan,
    proc_id: &ProcId,
    dir: &Path,
    backend_addr: ChannelAddr,
    config: &BootstrapProcConfig,
) -> Result<(Mode, Option<(regex::bytes::Regex, ChannelAddr)>), SpawnError> {
    let driven = |trigger, addr| Mode::Driven { trigger, addr };
    Ok(match plan {
        ReadyPlan::Callback => {
            let callback_addr = socket_addr(proc_id, &dir.join("cb.sock"))?;
            let log_path = launcher.runtime.log_socket();
            socket_addr(proc_id, &log_path)?;
            let (token, payload) = payload(proc_id, backend_addr, &callback_addr, dir, config)?;
            let log_addr = launcher.logs.addr(&log_path).map_err(io_err(proc_id))?;
            let exited = CancellationToken::new();
            let log = launcher.logs.register(LogTarget {
                proc_id: proc_id.clone(),
                token: Arc::from(token.as_str()),
                sinks: launcher.options.sinks.clone(),
                exited: exited.clone(),
            });
            let setup = CallbackSetup {
                listener: bind(proc_id, &callback_addr)?,
                log,
                exited,
                token,
                payload,
                log_addr,
            };
            (Mode::Callback(setup), None)
        }
        ReadyPlan::Notify(addr) => {
            let path = dir.join("notify.sock");
            socket_addr(proc_id, &path)?;
            let socket = crate::notify::bind(&path).map_err(io_err(proc_id))?;
            (Mode::Notify { socket, path, addr }, None)
        }
        ReadyPlan::Spawned(addr) => (driven(Trigger::Spawned, addr), None),
        ReadyPlan::Connect { target, addr } => (driven(Trigger::Connect(target), addr), None),
        ReadyPlan::LogLine { regex, addr } => {
            (driven(Trigger::External, addr.clone()), Some((regex, addr)))
        }
    })
}

/// The bootstrap payload for a callback-mode proc, and its token.
fn payload(
    proc_id: &ProcId,
    backend_addr: ChannelAddr,
    callback_addr: &ChannelAddr,
    dir_path: &Path,
    config: &BootstrapProcConfig,
) -> Result<(String, String), SpawnError> {
    let token = crate::protocol::generate_token().map_err(io_err(proc_id))?;
    let payload = Bootstrap::Proc {
        version: PROTOCOL_VERSION,
        proc_id: proc_id.clone(),
        backend_addr,
        callback_addr: callback_addr.clone(),
        socket_dir: dir_path.to_path_buf(),
        parent_pid: std::process::id(),
        token: token.clone(),
        config: config.config.clone(),
    }
    .encode()
    .map_err(|err| SpawnError::BadConfig {
        proc_id: proc_id.clone(),
        reason: err.to_string(),
    })?;
    Ok((token, payload))
}

/// How the spawner starts `command`: by a vfork-cost `clone`
/// ([`crate::clone_spawn`]), into the proc's cgroup when it has one (the
/// program, arguments, environment, working directory and stdio read off
/// `command` and `spec`). A program that cannot be named to `execve` (not
/// found in `PATH`, a NUL byte) is [`SpawnFailure::Exec`], as one `execve`
/// refuses.
fn start_for(
    spec: &BootstrapCommand,
    stdio: StdioMode,
    stdin: StdinMode,
    command: std::process::Command,
    cgroup: Option<&mut ProcCgroup>,
) -> Result<Start, SpawnFailure> {
    let output = match stdio {
        StdioMode::Captured => ChildStdio::Piped,
        StdioMode::Inherit => ChildStdio::Inherit,
    };
    let input = match stdin {
        StdinMode::Piped => ChildStdio::Piped,
        _ => ChildStdio::Null,
    };
    let clone = CloneCommand::from_std(
        &command,
        spec.arg0.as_deref(),
        spec.env_cleared,
        [input, output, output],
    )
    .map_err(SpawnFailure::Exec)?;
    let cgroup_dir = match cgroup {
        Some(cgroup) => Some(cgroup.take_dir().map_err(SpawnFailure::Setup)?),
        None => None,
    };
    Ok(Start {
        command: clone,
        cgroup_dir,
    })
}
