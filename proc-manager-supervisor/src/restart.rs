//! [`Restart`]: when an ended child is started again (OTP's restart types),
//! and the one rule that tells a normal end from an abnormal one.
//!
//! Which *other* children a restart takes along is [`crate::Strategy`]'s
//! business, how soon it happens is [`crate::Backoff`]'s.

use proc_manager_core::ProcStatus;

/// When a child that ended is started again.
///
/// ```
/// use proc_manager_core::ProcStatus;
/// use proc_manager_supervisor::Restart;
///
/// let clean = ProcStatus::Stopped { exit_code: 0, stderr_tail: vec![] };
/// let crash = ProcStatus::Stopped { exit_code: 3, stderr_tail: vec![] };
/// assert!(Restart::Permanent.restarts_after(&clean));
/// assert!(!Restart::Transient.restarts_after(&clean));
/// assert!(Restart::Transient.restarts_after(&crash));
/// assert!(!Restart::Temporary.restarts_after(&crash));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Restart {
    /// Always restarted, whatever the end (the default, as in OTP).
    #[default]
    Permanent,
    /// Restarted only after an abnormal end: a non-zero exit code, a signal,
    /// or `Failed`. An exit with code 0 leaves it ended.
    Transient,
    /// Never restarted, not even when a sibling's end under
    /// [`crate::Strategy::OneForAll`] or [`crate::Strategy::RestForOne`]
    /// stopped it; once ended it is no longer supervised.
    Temporary,
}

impl Restart {
    /// Whether a child of this type that ended with `status` is restarted.
    pub fn restarts_after(self, status: &ProcStatus) -> bool {
        match self {
            Self::Permanent => true,
            Self::Transient => is_abnormal(status),
            Self::Temporary => false,
        }
    }
}

/// Whether `status` is an abnormal end: anything but an exit with code 0.
/// (A status that is not terminal cannot be an end; it counts as abnormal
/// so that a backend reporting one is never silently left down.)
pub(crate) fn is_abnormal(status: &ProcStatus) -> bool {
    !matches!(status, ProcStatus::Stopped { exit_code: 0, .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends() -> Vec<(ProcStatus, bool)> {
        vec![
            (
                ProcStatus::Stopped {
                    exit_code: 0,
                    stderr_tail: vec![],
                },
                false,
            ),
            (
                ProcStatus::Stopped {
                    exit_code: 1,
                    stderr_tail: vec![],
                },
                true,
            ),
            (
                ProcStatus::Killed {
                    signal: 9,
                    core_dumped: false,
                    stderr_tail: vec![],
                },
                true,
            ),
            (
                ProcStatus::Failed {
                    reason: "boom".into(),
                    stderr_tail: vec![],
                },
                true,
            ),
        ]
    }

    #[test]
    fn each_type_against_each_kind_of_end() {
        for (status, abnormal) in ends() {
            assert_eq!(is_abnormal(&status), abnormal, "{status}");
            assert!(Restart::Permanent.restarts_after(&status), "{status}");
            assert_eq!(
                Restart::Transient.restarts_after(&status),
                abnormal,
                "{status}"
            );
            assert!(!Restart::Temporary.restarts_after(&status), "{status}");
        }
    }
}
