//! [`ProcNotes`]: what a proc said about itself besides its status, through
//! the notify protocol: its `STATUS=` text, and the `ERRNO=` /
//! `EXIT_STATUS=` it reported, which [`explain`] adds to the reason of a
//! failed end.
//!
//! Receiving the messages is [`crate::notify`]'s job; mapping the OS exit to
//! a status is [`crate::exit_monitor`]'s.

use std::sync::{Mutex, MutexGuard};

use proc_manager_core::ProcStatus;

/// The proc's own words, kept for its handle and its end.
#[derive(Debug, Default)]
pub(crate) struct ProcNotes {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    status_text: Option<String>,
    errno: Option<String>,
    exit_status: Option<String>,
}

impl ProcNotes {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last `STATUS=` text.
    pub(crate) fn status_text(&self) -> Option<String> {
        self.lock().status_text.clone()
    }

    pub(crate) fn set_status_text(&self, text: String) {
        self.lock().status_text = Some(text);
    }

    /// `ERRNO=n`, kept as `ERRNO=2 (ENOENT: No such file or directory)`.
    pub(crate) fn set_errno(&self, errno: i32) {
        let name = nix::errno::Errno::from_raw(errno);
        self.lock().errno = Some(format!("ERRNO={errno} ({name})"));
    }

    /// `EXIT_STATUS=text`.
    pub(crate) fn set_exit_status(&self, text: String) {
        self.lock().exit_status = Some(format!("EXIT_STATUS={text}"));
    }

    /// What the proc reported about a failure, if anything.
    pub(crate) fn failure_detail(&self) -> Option<String> {
        let inner = self.lock();
        match (&inner.errno, &inner.exit_status) {
            (Some(errno), Some(exit)) => Some(format!("{errno}, {exit}")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        }
    }
}

/// Adds what the proc reported to a failed end: a `Failed` reason gets it
/// appended, a non-zero exit becomes `Failed` with the code and it. A clean
/// exit and a death by signal are left as they are.
pub(crate) fn explain(status: ProcStatus, detail: Option<String>) -> ProcStatus {
    let Some(detail) = detail else {
        return status;
    };
    match status {
        ProcStatus::Failed {
            reason,
            stderr_tail,
        } => ProcStatus::Failed {
            reason: format!("{reason}; the proc reported {detail}"),
            stderr_tail,
        },
        ProcStatus::Stopped {
            exit_code,
            stderr_tail,
        } if exit_code != 0 => ProcStatus::Failed {
            reason: format!("exit code {exit_code}; the proc reported {detail}"),
            stderr_tail,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped(exit_code: i32) -> ProcStatus {
        ProcStatus::Stopped {
            exit_code,
            stderr_tail: vec!["bye".into()],
        }
    }

    #[test]
    fn reported_errno_and_exit_status_explain_a_failed_end() {
        let notes = ProcNotes::default();
        assert_eq!(explain(stopped(1), notes.failure_detail()), stopped(1));
        notes.set_errno(2);
        notes.set_exit_status("3".into());
        assert_eq!(
            explain(stopped(3), notes.failure_detail()),
            ProcStatus::Failed {
                reason:
                    "exit code 3; the proc reported ERRNO=2 (ENOENT: No such file or directory), \
                         EXIT_STATUS=3"
                        .into(),
                stderr_tail: vec!["bye".into()],
            }
        );
        let failed = ProcStatus::Failed {
            reason: "watchdog".into(),
            stderr_tail: vec![],
        };
        assert!(matches!(
            explain(failed, notes.failure_detail()),
            ProcStatus::Failed { reason, .. } if reason.starts_with("watchdog; the proc reported ERRNO=2")
        ));
    }

    #[test]
    fn clean_exits_and_signals_are_left_alone() {
        let detail = Some("ERRNO=5 (EIO: I/O error)".to_string());
        assert_eq!(explain(stopped(0), detail.clone()), stopped(0));
        let killed = ProcStatus::Killed {
            signal: 9,
            core_dumped: false,
            stderr_tail: vec![],
        };
        assert_eq!(explain(killed.clone(), detail), killed);
    }

    #[test]
    fn status_text_is_the_last_one() {
        let notes = ProcNotes::default();
        assert_eq!(notes.status_text(), None);
        notes.set_status_text("loading".into());
        notes.set_status_text("serving".into());
        assert_eq!(notes.status_text().as_deref(), Some("serving"));
    }
}
