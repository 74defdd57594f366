//! [`Launcher`]: what a manager needs to start procs (the command, the
//! options, the runtime dir, the table of live groups) and one spawn, step
//! by step: make the private dir and bind the callback socket, build the
//! command with the payload and the manager's log socket, fork it on a
//! spawner thread, mark `Running{pid}`, register the proc with the log
//! socket, and start the proc's two tasks: the callback server and the exit
//! monitor (which also forwards the output).
//!
//! Every step that can fail comes before the fork or undoes itself, so a
//! failed spawn leaves nothing behind (no dir, no table entry). After the
//! fork nothing awaits, so a cancelled spawn cannot orphan a child (and the
//! spawner thread kills a child whose caller went away). Which ids may be
//! spawned, and publishing the handle, is [`crate::registry`]'s business.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use proc_manager_core::{
    ChannelAddr, LogStream, ProcId, ProcStatus, SpawnError, StatusCell, TailBuffer,
};
use tokio::net::UnixListener;
use tokio::net::unix::pipe;
use tracing::Instrument;

use crate::callback;
use crate::command::BootstrapCommand;
use crate::config::{BootstrapProcConfig, Options, StdioMode};
use crate::exit_monitor::Monitor;
use crate::exit_watch::wait_exit;
use crate::handle::BootstrapProcHandle;
use crate::log_channel::{LogHub, LogTarget};
use crate::proc_state::ProcShared;
use crate::protocol::{BOOTSTRAP_MODE_ENV, Bootstrap, LOG_CHANNEL_ENV, PROTOCOL_VERSION};
use crate::runtime_dir::{MAX_SOCKET_PATH, ProcDir, RuntimeDir};
use crate::spawner::{self, SpawnFailure};
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
    logs: LogHub,
}

impl Launcher {
    pub(crate) fn new(command: BootstrapCommand, options: Options, runtime: RuntimeDir) -> Self {
        Self {
            command,
            options,
            runtime,
            table: Arc::new(GroupTable::default()),
            logs: LogHub::default(),
        }
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

async fn launch(
    launcher: &Launcher,
    proc_id: ProcId,
    backend_addr: ChannelAddr,
    config: BootstrapProcConfig,
) -> Result<BootstrapProcHandle, SpawnError> {
    let span = tracing::info_span!("proc", proc_id = %proc_id, pid = tracing::field::Empty);
    let options = &launcher.options;
    let ready_timeout = config.ready_timeout.unwrap_or(options.ready_timeout);

    launcher.runtime.ensure().map_err(io_err(&proc_id))?;
    let dir_path = launcher.runtime.next_proc_dir();
    let callback_addr = socket_addr(&proc_id, &dir_path.join("cb.sock"))?;
    let log_path = launcher.runtime.log_socket();
    socket_addr(&proc_id, &log_path)?;
    let token = crate::protocol::generate_token().map_err(io_err(&proc_id))?;
    let payload = Bootstrap::Proc {
        version: PROTOCOL_VERSION,
        proc_id: proc_id.clone(),
        backend_addr,
        callback_addr: callback_addr.clone(),
        socket_dir: dir_path.clone(),
        parent_pid: std::process::id(),
        token: token.clone(),
        config: config.config.clone(),
    }
    .encode()
    .map_err(|err| SpawnError::BadConfig {
        proc_id: proc_id.clone(),
        reason: err.to_string(),
    })?;

    let dir = ProcDir::create(dir_path).map_err(io_err(&proc_id))?;
    let callback_listener = bind(&proc_id, &callback_addr)?;
    let log_addr = launcher.logs.addr(&log_path).map_err(io_err(&proc_id))?;
    let command = build_command(launcher, &config, payload, &log_addr);

    let spawned = spawner::spawn(command, launcher.table.clone())
        .await
        .map_err(|failure| match failure {
            SpawnFailure::Exec(source) => SpawnError::BadCommand {
                proc_id: proc_id.clone(),
                program: launcher.command.program.display().to_string(),
                source,
            },
            SpawnFailure::Setup(source) => io_err(&proc_id)(source),
        })?;

    // From here on nothing awaits: the child is recorded and supervised.
    let group = spawned.group;
    let pid = group.pid();
    span.record("pid", pid);
    let mut child = spawned.child;
    let pipes = (
        child.stdout.take().map(OwnedFd::from),
        child.stderr.take().map(OwnedFd::from),
    );
    drop(child);

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
    let shared = Arc::new(ProcShared::new(
        proc_id.clone(),
        cell,
        group.clone(),
        new_tail(),
        new_tail(),
        span.clone(),
    ));

    let mut outputs = Vec::new();
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
                    let splitter = LineSplitter::new(proc_id.clone(), stream, sinks, tail.clone());
                    outputs.push((rx, splitter));
                }
                Err(err) => {
                    tracing::warn!(parent: &span, %stream, %err, "cannot read child output")
                }
            }
        }
    }

    let log = launcher.logs.register(LogTarget {
        proc_id: proc_id.clone(),
        token: Arc::from(token.as_str()),
        sinks: options.sinks.clone(),
        exited: shared.exited.clone(),
    });
    tokio::spawn(
        callback::serve(callback_listener, log, shared.clone(), token, ready_timeout)
            .instrument(span.clone()),
    );
    let monitor = Monitor {
        shared: shared.clone(),
        table: launcher.table.clone(),
        outputs,
        sinks: options.sinks.clone(),
        proc_dir: dir.keep(),
        kill_group_on_exit: options.kill_group_on_exit,
    };
    tokio::spawn(monitor.run(wait_exit(group)).instrument(span.clone()));

    let handle = BootstrapProcHandle { shared };
    tracing::info!(parent: &span, "spawned");
    Ok(handle)
}

fn build_command(
    launcher: &Launcher,
    config: &BootstrapProcConfig,
    payload: String,
    log_addr: &ChannelAddr,
) -> Command {
    let spec = &launcher.command;
    let mut command = Command::new(&spec.program);
    if let Some(arg0) = &spec.arg0 {
        command.arg0(arg0);
    }
    command
        .args(&spec.args)
        .envs(&spec.env)
        .envs(&config.env)
        .env(BOOTSTRAP_MODE_ENV, payload)
        .env(LOG_CHANNEL_ENV, OsString::from(log_addr.to_string()))
        .stdin(Stdio::null())
        // Its own group, set by posix_spawn itself (no pre_exec).
        .process_group(0);
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    match launcher.options.stdio {
        StdioMode::Captured => command.stdout(Stdio::piped()).stderr(Stdio::piped()),
        StdioMode::Inherit => command.stdout(Stdio::inherit()).stderr(Stdio::inherit()),
    };
    command
}
