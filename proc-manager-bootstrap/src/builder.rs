//! [`BootstrapProcManagerBuilder`]: the options of a
//! [`BootstrapProcManager`](crate::BootstrapProcManager) (stdio, stdin, tail
//! size, sinks, readiness, ready timeout, stop signal and timeout, group kill
//! on exit, runtime dir, containment, retention).
//!
//! What the options do is the launcher's business ([`crate::launcher`]);
//! `build` is with the manager ([`crate::manager`]), so this file does not
//! import what it builds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::LogSink;

use crate::command::BootstrapCommand;
use crate::config::{Options, StdinMode, StdioMode};
use crate::confine::{Confinement, ContainmentOptions};
use crate::containment::Containment;
use crate::launcher::Launcher;
use crate::readiness::Readiness;
use crate::runtime_dir::RuntimeDir;
use crate::signal::Signal;

/// Builds a [`BootstrapProcManager`](crate::BootstrapProcManager).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use proc_manager_bootstrap::{BootstrapCommand, BootstrapProcManager, StdioMode, TracingSink};
///
/// let manager = BootstrapProcManager::builder(BootstrapCommand::new("/usr/bin/my-worker"))
///     .stdio(StdioMode::Captured)
///     .tail(200, 64 * 1024)
///     .sink(Arc::new(TracingSink::new()))
///     .ready_timeout(Duration::from_secs(10))
///     .kill_process_group_on_exit(true)
///     .build();
/// assert!(manager.socket_dir().is_absolute());
/// ```
pub struct BootstrapProcManagerBuilder {
    command: BootstrapCommand,
    options: Options,
    sinks: Vec<Arc<dyn LogSink>>,
    runtime_dir: Option<PathBuf>,
    contain: ContainmentOptions,
    retain_ended: usize,
}

impl std::fmt::Debug for BootstrapProcManagerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapProcManagerBuilder")
            .field("command", &self.command)
            .field("options", &self.options)
            .field("sinks", &self.sinks.len())
            .field("runtime_dir", &self.runtime_dir)
            .field("contain", &self.contain)
            .field("retain_ended", &self.retain_ended)
            .finish()
    }
}

impl BootstrapProcManagerBuilder {
    pub(crate) fn new(command: BootstrapCommand) -> Self {
        Self {
            command,
            options: Options::default(),
            sinks: Vec::new(),
            runtime_dir: None,
            contain: ContainmentOptions::default(),
            retain_ended: Self::DEFAULT_RETAIN_ENDED,
        }
    }

    /// Captured (default) or inherited stdout/stderr.
    pub fn stdio(mut self, mode: StdioMode) -> Self {
        self.options.stdio = mode;
        self
    }

    /// Bounds of each stream's tail: lines and bytes (defaults 100 lines,
    /// 16 KiB).
    pub fn tail(mut self, max_lines: usize, max_bytes: usize) -> Self {
        self.options.tail_lines = max_lines;
        self.options.tail_bytes = max_bytes;
        self
    }

    /// Adds a sink for every proc's output lines and log records
    /// (repeatable).
    pub fn sink(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// How long a proc may take to be ready, whatever its readiness mode;
    /// `None` (or `Duration::MAX`) waits forever. Unset, it is 30 s for
    /// [`Readiness::Callback`] and forever for the other modes. A proc can
    /// override it in its [`crate::BootstrapProcConfig`]. When it runs out
    /// the proc is stopped politely (stop signal, SIGKILL after the stop
    /// timeout) and ends `Failed{"not ready within …"}`.
    pub fn ready_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.options.ready_timeout = Some(timeout.into().unwrap_or(Duration::MAX));
        self
    }

    /// How procs are known to be ready (default [`Readiness::Callback`]);
    /// per spawn with [`crate::BootstrapProcConfig::readiness`].
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.options.readiness = readiness;
        self
    }

    /// The polite stop request for procs without a control connection
    /// (default SIGTERM; nginx wants SIGQUIT, PostgreSQL SIGINT).
    pub fn stop_signal(mut self, signal: Signal) -> Self {
        self.options.stop.signal = signal;
        self
    }

    /// How long a stop the manager starts itself (ready timeout, watchdog)
    /// waits after the polite request before SIGKILL (default 5 s).
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.options.stop.timeout = timeout;
        self
    }

    /// The procs' stdin (default [`StdinMode::Null`]).
    pub fn stdin(mut self, mode: StdinMode) -> Self {
        self.options.stdin = mode;
        self
    }

    /// Whether to SIGKILL what is left of a child's process group when the
    /// child exits (default `true`).
    pub fn kill_process_group_on_exit(mut self, kill: bool) -> Self {
        self.options.kill_group_on_exit = kill;
        self
    }

    /// The runtime dir for sockets (default: a fresh dir under
    /// `$XDG_RUNTIME_DIR`, else `$TMPDIR`, else `/dev/shm`, else the temp
    /// dir: tmpfs when there is one, where sockets are cheap). Created (0700)
    /// on first spawn; removed on drop if the manager created it. Socket
    /// paths must fit in 107 bytes, so keep it short.
    pub fn runtime_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.runtime_dir = Some(dir.into());
        self
    }

    /// How the processes a proc starts are kept within reach (default
    /// [`Containment::Auto`]: a cgroup v2 per proc where the manager can
    /// make one, else process groups). See [`Containment`].
    ///
    /// ```
    /// use proc_manager_bootstrap::{BootstrapCommand, BootstrapProcManager, Containment};
    ///
    /// let manager = BootstrapProcManager::builder(BootstrapCommand::new("/bin/true"))
    ///     .containment(Containment::Auto)
    ///     .build();
    /// // Whichever the machine allows.
    /// assert!(matches!(manager.containment(), Containment::Cgroup | Containment::ProcessGroup));
    /// ```
    pub fn containment(mut self, containment: Containment) -> Self {
        self.contain.containment = containment;
        self
    }

    /// The cgroup v2 directory to make the manager's cgroup in (default:
    /// the manager's own cgroup), e.g. a systemd `Delegate=yes` dir. One
    /// that is not a writable cgroup v2 dir makes every spawn fail with an
    /// error naming it and the reason, under `Auto` too (it was asked for).
    pub fn cgroup_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.contain.cgroup_root = Some(dir.into());
        self
    }

    /// Whether the manager's process becomes a child subreaper and reaps
    /// the orphans of its procs (default `false`; always on when the
    /// manager is PID 1). Process-wide: set it on one manager.
    pub fn subreaper(mut self, on: bool) -> Self {
        self.contain.subreaper = on;
        self
    }

    /// How many ended procs stay known to `status`/`handle`/`proc_ids`
    /// (default 1,000; the most recent ones). Older ones are forgotten as
    /// new ones end; `forget` drops one at once.
    pub fn retain_ended(mut self, n: usize) -> Self {
        self.retain_ended = n;
        self
    }

    /// The default of [`BootstrapProcManagerBuilder::retain_ended`].
    pub const DEFAULT_RETAIN_ENDED: usize = 1000;

    /// How many ended procs to keep.
    pub(crate) fn retention(&self) -> usize {
        self.retain_ended
    }

    /// The launcher these options describe (the manager's half that
    /// starts procs).
    pub(crate) fn into_launcher(self) -> Launcher {
        let mut options = self.options;
        options.sinks = Arc::from(self.sinks);
        let runtime = RuntimeDir::new(self.runtime_dir.unwrap_or_else(RuntimeDir::default_path));
        Launcher::new(
            self.command,
            options,
            runtime,
            Confinement::new(&self.contain),
        )
    }
}
