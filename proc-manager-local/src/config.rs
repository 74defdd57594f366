//! [`LocalProcConfig`]: what a caller can hand one local proc at spawn.
//!
//! How the config reaches the proc is [`crate::ProcContext::config`]; the
//! manager-wide settings (tail bounds, sinks) are on
//! [`crate::LocalProcManagerBuilder`].

/// Per-spawn configuration of a local proc.
///
/// The value is handed to the proc function untouched, the way the bootstrap
/// backend hands its `config` to a child.
///
/// ```
/// use proc_manager_local::LocalProcConfig;
///
/// let config = LocalProcConfig::with_config(serde_json::json!({ "port": 4000 }));
/// assert_eq!(config.config.as_ref().and_then(|c| c["port"].as_u64()), Some(4000));
/// assert!(LocalProcConfig::default().config.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LocalProcConfig {
    /// A free-form value the proc reads with [`crate::ProcContext::config`].
    pub config: Option<serde_json::Value>,
}

impl LocalProcConfig {
    /// A config carrying `value`.
    pub fn with_config(value: serde_json::Value) -> Self {
        Self {
            config: Some(value),
        }
    }
}
