//! [`ProcessGroup`]: one spawned child (the leader of its own process group)
//! reached through a pidfd, and the rules for signalling and reaping it.
//!
//! Only the syscall edge lives here (pidfd, `kill(-pgid)`, `waitid`); when
//! to signal is the handle's and the exit monitor's business.
//!
//! # Why signalling the group by pgid is safe
//!
//! The child is spawned with `process_group(0)`, so its pgid equals its pid.
//! The kernel does not hand out a pid again while a process with that pid
//! exists, zombies included. We are the only reaper of the leader
//! ([`ProcessGroup::reap`]), and every `kill(-pgid)` happens under the same
//! lock as the reap and only while the leader is unreaped: the pgid therefore
//! still names *our* group and cannot have been recycled. After the reap the
//! group is never signalled again. The leader itself is always signalled
//! through its pidfd, which can never reach a recycled pid.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitIdStatus};

/// How the leader ended, as read from `waitid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitKind {
    /// Exited with this code.
    Code(i32),
    /// Ended by this signal.
    Signal {
        /// The signal number.
        signal: i32,
        /// Whether a core was written.
        core_dumped: bool,
    },
}

impl ExitKind {
    fn from_status(status: &WaitIdStatus) -> Option<Self> {
        if let Some(code) = status.exit_status() {
            return Some(Self::Code(code));
        }
        status.terminating_signal().map(|signal| Self::Signal {
            signal,
            core_dumped: status.dumped(),
        })
    }
}

/// A spawned child: its pid (= pgid) and a pidfd for it.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pid: Pid,
    /// The pidfd's number, for registering with the reactor until the reap.
    raw_pidfd: RawFd,
    /// The pidfd until the leader is reaped, then `None` (closed, so an
    /// ended proc holds no fd). Guards every signal.
    pidfd: Mutex<Option<OwnedFd>>,
}

impl ProcessGroup {
    /// Opens a pidfd for a child we just spawned and have not reaped.
    pub(crate) fn open(pid: u32) -> io::Result<Self> {
        let raw = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
        let pid = Pid::from_raw(raw).ok_or_else(|| io::Error::other("pid 0"))?;
        let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty())?;
        Ok(Self {
            pid,
            raw_pidfd: pidfd.as_raw_fd(),
            pidfd: Mutex::new(Some(pidfd)),
        })
    }

    /// The leader's pid (also the group id).
    pub(crate) fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get().unsigned_abs()
    }

    fn lock(&self) -> MutexGuard<'_, Option<OwnedFd>> {
        self.pidfd.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Signals the whole group: the leader through its pidfd, the rest by
    /// pgid, both only while the leader is unreaped (see the module docs).
    /// A group that is already gone is not an error.
    pub(crate) fn signal_group(&self, signal: Signal) -> io::Result<()> {
        let pidfd = self.lock();
        let Some(pidfd) = pidfd.as_ref() else {
            return Ok(());
        };
        match rustix::process::pidfd_send_signal(pidfd, signal) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => {}
            Err(err) => return Err(err.into()),
        }
        match rustix::process::kill_process_group(self.pid, signal) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// SIGKILLs the group, ignoring errors: for `Drop` paths.
    pub(crate) fn kill_now(&self) {
        if let Err(err) = self.signal_group(Signal::KILL) {
            tracing::warn!(pid = self.pid(), %err, "SIGKILL to process group failed");
        }
    }

    /// How the leader ended, without reaping it (`None` while it runs).
    pub(crate) fn peek_exit(&self) -> io::Result<Option<ExitKind>> {
        let pidfd = self.lock();
        let Some(pidfd) = pidfd.as_ref() else {
            return Err(io::Error::other("already reaped"));
        };
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT | WaitIdOptions::NOHANG;
        let status = rustix::process::waitid(WaitId::PidFd(pidfd.as_fd()), options)?;
        Ok(status.as_ref().and_then(ExitKind::from_status))
    }

    /// Reaps the leader (after it ended). From here on the group is never
    /// signalled by pgid.
    pub(crate) fn reap(&self) -> io::Result<Option<ExitKind>> {
        let mut slot = self.lock();
        let Some(pidfd) = slot.as_ref() else {
            return Ok(None);
        };
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG;
        let status = rustix::process::waitid(WaitId::PidFd(pidfd.as_fd()), options)?;
        let kind = status.as_ref().and_then(ExitKind::from_status);
        if kind.is_some() {
            *slot = None;
        }
        Ok(kind)
    }

    /// Blocking SIGKILL + reap, for a child nobody will supervise (a spawn
    /// whose caller went away).
    pub(crate) fn kill_and_reap_blocking(&self) {
        self.kill_now();
        if let Some(pidfd) = self.lock().take() {
            let _ = rustix::process::waitid(WaitId::PidFd(pidfd.as_fd()), WaitIdOptions::EXITED);
        }
    }
}

/// The pidfd, for registering with the reactor (it becomes readable when
/// the leader exits). Valid until [`ProcessGroup::reap`] closes it, so it
/// must be deregistered before the reap.
pub(crate) struct PidFdSource(pub(crate) std::sync::Arc<ProcessGroup>);

impl AsRawFd for PidFdSource {
    fn as_raw_fd(&self) -> RawFd {
        self.0.raw_pidfd
    }
}
