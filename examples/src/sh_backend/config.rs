//! [`ShConfig`]: what one sh proc runs and how it reports ready.

use std::collections::BTreeMap;

/// How a proc of the sh backend becomes ready.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadyWhen {
    /// When the script prints `READY <addr>` on stdout.
    #[default]
    StdoutLine,
    /// As soon as it is spawned, at the address in `$PROC_SERVE_ADDR`.
    Spawned,
}

/// The script a proc runs under `sh -c`, its extra environment, and how it
/// reports ready. The default is an empty script (it exits 0 at once).
///
/// ```
/// use proc_manager_examples::sh_backend::{ReadyWhen, ShConfig};
///
/// let config = ShConfig::script("exec sleep 10").env("LEVEL", "3").ready_when(ReadyWhen::Spawned);
/// assert_eq!(config.env["LEVEL"], "3");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShConfig {
    /// The script, given to `sh -c`.
    pub script: String,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// How the proc reports ready.
    pub ready: ReadyWhen,
}

impl ShConfig {
    /// A config running `script`, ready on a `READY <addr>` line.
    pub fn script(script: impl Into<String>) -> Self {
        Self {
            script: script.into(),
            ..Self::default()
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets how the proc reports ready.
    pub fn ready_when(mut self, ready: ReadyWhen) -> Self {
        self.ready = ready;
        self
    }
}
