//! Configuration: [`StdioMode`] and the per-spawn [`BootstrapProcConfig`],
//! plus the manager-wide options the builder fills in.
//!
//! The builder itself is in [`crate::builder`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{LogSink, TailBuffer};

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

/// Per-spawn configuration of a bootstrap proc.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_bootstrap::BootstrapProcConfig;
///
/// let config = BootstrapProcConfig::with_config(serde_json::json!({"shards": 4}))
///     .env("RUST_LOG", "debug")
///     .ready_timeout(Duration::from_secs(5));
/// assert_eq!(config.ready_timeout, Some(Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BootstrapProcConfig {
    /// User configuration handed to the child in its payload, as JSON.
    pub config: Option<serde_json::Value>,
    /// Extra environment variables for this proc (on top of the command's).
    pub env: BTreeMap<OsString, OsString>,
    /// Overrides the manager's ready timeout for this proc.
    pub ready_timeout: Option<Duration>,
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

    /// Overrides the ready timeout for this proc.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = Some(timeout);
        self
    }
}

/// Manager-wide options (filled in by the builder).
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) stdio: StdioMode,
    pub(crate) tail_lines: usize,
    pub(crate) tail_bytes: usize,
    pub(crate) sinks: Arc<[Arc<dyn LogSink>]>,
    pub(crate) ready_timeout: Duration,
    pub(crate) kill_group_on_exit: bool,
}

impl Options {
    /// The default ready timeout.
    pub(crate) const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);
}

impl Default for Options {
    fn default() -> Self {
        Self {
            stdio: StdioMode::Captured,
            tail_lines: TailBuffer::DEFAULT_MAX_LINES,
            tail_bytes: TailBuffer::DEFAULT_MAX_BYTES,
            sinks: Arc::from(Vec::new()),
            ready_timeout: Self::DEFAULT_READY_TIMEOUT,
            kill_group_on_exit: true,
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
            .finish()
    }
}
