//! Configuration: [`StdioMode`], [`StdinMode`] and the per-spawn
//! [`BootstrapProcConfig`], plus the manager-wide options the builder fills
//! in, and how the two combine for one spawn ([`Options::resolve`]).
//!
//! The builder itself is in [`crate::builder`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{LogSink, TailBuffer};

use crate::command::BootstrapCommand;
use crate::proc_state::StopPolicy;
use crate::readiness::{Readiness, effective_ready_timeout};
use crate::signal::Signal;

/// What happens to a child's stdout and stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StdioMode {
    /// Piped to the manager, split into lines, fed to the sinks and kept in
    /// a bounded tail (the default).
    #[default]
    Captured,
    /// Inherited from the manager's own stdout and stderr (no tail, no
    /// sinks).
    Inherit,
}

/// What a child's stdin is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StdinMode {
    /// `/dev/null` (the default).
    #[default]
    Null,
    /// A pipe whose write end the caller takes, once, with
    /// [`BootstrapProcHandle::take_stdin`](crate::BootstrapProcHandle::take_stdin).
    Piped,
}

/// Per-spawn configuration of a bootstrap proc. Every field left unset
/// takes the manager's setting.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_bootstrap::{
///     BootstrapCommand, BootstrapProcConfig, ChannelAddr, Readiness, Signal, StdinMode,
/// };
///
/// let config = BootstrapProcConfig::with_config(serde_json::json!({"shards": 4}))
///     .env("RUST_LOG", "debug")
///     .ready_timeout(Duration::from_secs(5));
/// assert_eq!(config.ready_timeout, Some(Duration::from_secs(5)));
///
/// // Any program, ready once its port accepts connections.
/// let web: ChannelAddr = "tcp:127.0.0.1:8000".parse()?;
/// let python = BootstrapProcConfig::default()
///     .command(BootstrapCommand::new("python3").args(["-m", "http.server", "8000"]))
///     .readiness(Readiness::Connect(web))
///     .stop_signal(Signal::SIGINT)
///     .stdin(StdinMode::Null);
/// assert!(python.command.is_some());
/// # Ok::<(), proc_manager_bootstrap::AddrError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BootstrapProcConfig {
    /// User configuration handed to the child in its payload, as JSON.
    pub config: Option<serde_json::Value>,
    /// Extra environment variables for this proc (on top of the command's).
    pub env: BTreeMap<OsString, OsString>,
    /// Overrides the manager's ready timeout for this proc
    /// (`Duration::MAX`: no deadline).
    pub ready_timeout: Option<Duration>,
    /// Replaces the manager's command for this proc.
    pub command: Option<BootstrapCommand>,
    /// Overrides the manager's readiness mode for this proc.
    pub readiness: Option<Readiness>,
    /// With [`Readiness::Notify`]: the longest the proc may go without
    /// `WATCHDOG=1` once ready.
    pub watchdog: Option<Duration>,
    /// Overrides the manager's stop signal for this proc.
    pub stop_signal: Option<Signal>,
    /// Overrides the manager's stop timeout for this proc.
    pub stop_timeout: Option<Duration>,
    /// Overrides the manager's stdin mode for this proc.
    pub stdin: Option<StdinMode>,
}

impl BootstrapProcConfig {
    /// A config carrying `value` to the child.
    pub fn with_config(value: serde_json::Value) -> Self {
        Self {
            config: Some(value),
            ..Self::default()
        }
    }

    /// Sets the JSON config.
    pub fn config(mut self, value: serde_json::Value) -> Self {
        self.config = Some(value);
        self
    }

    /// Sets an environment variable for this proc.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Overrides the ready timeout for this proc; `None` (or
    /// `Duration::MAX`) waits forever.
    pub fn ready_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.ready_timeout = Some(timeout.into().unwrap_or(Duration::MAX));
        self
    }

    /// Runs `command` for this proc instead of the manager's, so one manager
    /// runs any mix of programs.
    pub fn command(mut self, command: BootstrapCommand) -> Self {
        self.command = Some(command);
        self
    }

    /// How this proc is known to be ready (default: the manager's mode).
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// With [`Readiness::Notify`]: once ready, a proc silent (no
    /// `WATCHDOG=1`) for `period` is stopped and ends
    /// `Failed{"watchdog …"}`. The child gets `WATCHDOG_USEC`. Refused at
    /// spawn with any other mode.
    pub fn watchdog(mut self, period: Duration) -> Self {
        self.watchdog = Some(period);
        self
    }

    /// The polite stop request for this proc when it holds no control
    /// connection (default: the manager's, SIGTERM unless set).
    pub fn stop_signal(mut self, signal: Signal) -> Self {
        self.stop_signal = Some(signal);
        self
    }

    /// How long a stop the manager starts itself (ready timeout, watchdog)
    /// waits after the polite request before SIGKILL.
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = Some(timeout);
        self
    }

    /// The stdin of this proc.
    pub fn stdin(mut self, mode: StdinMode) -> Self {
        self.stdin = Some(mode);
        self
    }
}

/// The settings of one spawn: the spawn's own over the manager's.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) readiness: Readiness,
    pub(crate) ready_timeout: Option<Duration>,
    pub(crate) stop: StopPolicy,
    pub(crate) stdin: StdinMode,
}

/// Manager-wide options (filled in by the builder).
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) stdio: StdioMode,
    pub(crate) tail_lines: usize,
    pub(crate) tail_bytes: usize,
    pub(crate) sinks: Arc<[Arc<dyn LogSink>]>,
    /// `None`: the readiness mode's default.
    pub(crate) ready_timeout: Option<Duration>,
    pub(crate) kill_group_on_exit: bool,
    pub(crate) readiness: Readiness,
    pub(crate) stop: StopPolicy,
    pub(crate) stdin: StdinMode,
}

impl Options {
    /// The settings for one spawn with `config`.
    pub(crate) fn resolve(&self, config: &BootstrapProcConfig) -> Resolved {
        let readiness = config
            .readiness
            .clone()
            .unwrap_or_else(|| self.readiness.clone());
        Resolved {
            ready_timeout: effective_ready_timeout(
                &readiness,
                config.ready_timeout,
                self.ready_timeout,
            ),
            readiness,
            stop: StopPolicy {
                signal: config.stop_signal.unwrap_or(self.stop.signal),
                timeout: config.stop_timeout.unwrap_or(self.stop.timeout),
            },
            stdin: config.stdin.unwrap_or(self.stdin),
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            stdio: StdioMode::Captured,
            tail_lines: TailBuffer::DEFAULT_MAX_LINES,
            tail_bytes: TailBuffer::DEFAULT_MAX_BYTES,
            sinks: Arc::from(Vec::new()),
            ready_timeout: None,
            kill_group_on_exit: true,
            readiness: Readiness::Callback,
            stop: StopPolicy::default(),
            stdin: StdinMode::Null,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("stdio", &self.stdio)
            .field("tail_lines", &self.tail_lines)
            .field("tail_bytes", &self.tail_bytes)
            .field("sinks", &self.sinks.len())
            .field("ready_timeout", &self.ready_timeout)
            .field("kill_group_on_exit", &self.kill_group_on_exit)
            .field("readiness", &self.readiness)
            .field("stop", &self.stop)
            .field("stdin", &self.stdin)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spawn_setting_wins_over_the_managers() {
        let mut options = Options::default();
        options.stop.signal = Signal::SIGQUIT;
        options.stdin = StdinMode::Piped;
        let plain = options.resolve(&BootstrapProcConfig::default());
        assert_eq!(plain.stop.signal, Signal::SIGQUIT);
        assert_eq!(plain.stdin, StdinMode::Piped);
        assert_eq!(plain.ready_timeout, Some(Readiness::CALLBACK_READY_TIMEOUT));

        let addr = "tcp:127.0.0.1:1".parse().expect("addr");
        let config = BootstrapProcConfig::default()
            .readiness(Readiness::Connect(addr))
            .stop_signal(Signal::SIGINT)
            .stop_timeout(Duration::from_millis(7))
            .stdin(StdinMode::Null);
        let own = options.resolve(&config);
        assert_eq!(own.stop.signal, Signal::SIGINT);
        assert_eq!(own.stop.timeout, Duration::from_millis(7));
        assert_eq!(own.stdin, StdinMode::Null);
        assert_eq!(own.ready_timeout, None, "Connect waits forever by default");
    }

    #[test]
    fn ready_timeout_none_means_forever() {
        let config = BootstrapProcConfig::default().ready_timeout(None);
        assert_eq!(config.ready_timeout, Some(Duration::MAX));
        assert_eq!(Options::default().resolve(&config).ready_timeout, None);
    }
}
