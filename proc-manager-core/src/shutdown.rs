//! [`ShutdownReason`]: why a proc was asked to stop, as its
//! [`crate::ProcContext::shutdown_requested`] future reports it on every
//! backend.
//!
//! Who asks (a handle's `terminate`, a signal, the manager's end) is the
//! backend's business; this file only names the reasons.

use std::fmt;

/// Why a proc was asked to shut down.
///
/// ```
/// use proc_manager_core::ShutdownReason;
///
/// let reason = ShutdownReason::Stop { reason: "rolling restart".into() };
/// assert_eq!(reason.to_string(), "stop requested by the manager: rolling restart");
/// assert!(!reason.is_manager_gone());
/// assert_eq!(
///     ShutdownReason::ManagerGone.to_string(),
///     "the manager's control connection closed"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// The manager asked the proc to stop (`terminate`, `terminate_all`).
    Stop {
        /// The reason the manager gave (empty when it gave none).
        reason: String,
    },
    /// The proc's OS process received SIGTERM (child-process backends).
    Sigterm,
    /// The manager is gone: its control connection closed (for an
    /// in-process proc: its status is gone). Nobody waits for an orderly
    /// exit.
    ManagerGone,
}

impl ShutdownReason {
    /// Whether the manager is gone (nobody is waiting for an orderly exit).
    pub fn is_manager_gone(&self) -> bool {
        matches!(self, Self::ManagerGone)
    }
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stop { reason } if reason.is_empty() => {
                f.write_str("stop requested by the manager")
            }
            Self::Stop { reason } => write!(f, "stop requested by the manager: {reason}"),
            Self::Sigterm => f.write_str("received SIGTERM"),
            Self::ManagerGone => f.write_str("the manager's control connection closed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let empty = ShutdownReason::Stop {
            reason: String::new(),
        };
        assert_eq!(empty.to_string(), "stop requested by the manager");
        assert_eq!(ShutdownReason::Sigterm.to_string(), "received SIGTERM");
        assert!(ShutdownReason::ManagerGone.is_manager_gone());
        assert!(!ShutdownReason::Sigterm.is_manager_gone());
    }
}
