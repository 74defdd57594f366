//! [`PidFd`]: the real [`ChildOs`], a pidfd for one child we spawned. Every
//! raw process syscall of the manager side is here (`pidfd_open`,
//! `pidfd_send_signal`, `kill(-pgid)`, `waitid` on the pidfd); when to make
//! them is decided in [`crate::group`]. Also the one reactor registration
//! (tokio makes every `AsyncFd` registration `unsafe`): a dup of the pidfd
//! that the watcher owns.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitIdStatus};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::os::{ChildOs, ExitKind};

/// A child's pid (= pgid) and a pidfd for it. Dropping it closes the pidfd.
#[derive(Debug)]
pub(crate) struct PidFd {
    pid: Pid,
    fd: OwnedFd,
}

impl PidFd {
    /// Opens a pidfd for a child we just spawned and have not reaped.
    pub(crate) fn open(pid: u32) -> io::Result<Self> {
        let raw = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
        let pid = Pid::from_raw(raw).ok_or_else(|| io::Error::other("pid 0"))?;
        let fd = rustix::process::pidfd_open(pid, PidfdFlags::empty())?;
        Ok(Self { pid, fd })
    }

    /// A second descriptor for the same pidfd, registered with the reactor
    /// and owned by what it returns: it turns readable when the child exits,
    /// whenever this `PidFd` is closed.
    pub(crate) fn exit_watcher(&self) -> io::Result<AsyncFd<OwnedFd>> {
        let fd = self.fd.try_clone()?;
        // SAFETY: the `AsyncFd` owns `fd` (an `OwnedFd`), so the descriptor
        // is open, is not closed by anyone else, and `as_raw_fd` returns the
        // same number for the `AsyncFd`'s whole life.
        unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(Into::into)
    }

    fn waitid(&self, options: WaitIdOptions) -> io::Result<Option<ExitKind>> {
        let status = rustix::process::waitid(WaitId::PidFd(self.fd.as_fd()), options)?;
        Ok(status.as_ref().and_then(exit_kind))
    }
}

fn exit_kind(status: &WaitIdStatus) -> Option<ExitKind> {
    if let Some(code) = status.exit_status() {
        return Some(ExitKind::Code(code));
    }
    status.terminating_signal().map(|signal| ExitKind::Signal {
        signal,
        core_dumped: status.dumped(),
    })
}

impl ChildOs for PidFd {
    fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get().unsigned_abs()
    }

    fn signal_leader(&self, signal: Signal) -> io::Result<()> {
        Ok(rustix::process::pidfd_send_signal(&self.fd, signal)?)
    }

    fn signal_group(&self, signal: Signal) -> io::Result<()> {
        Ok(rustix::process::kill_process_group(self.pid, signal)?)
    }

    fn peek_exit(&self) -> io::Result<Option<ExitKind>> {
        self.waitid(WaitIdOptions::EXITED | WaitIdOptions::NOWAIT | WaitIdOptions::NOHANG)
    }

    fn reap(&self) -> io::Result<Option<ExitKind>> {
        self.waitid(WaitIdOptions::EXITED | WaitIdOptions::NOHANG)
    }

    fn reap_blocking(&self) -> io::Result<Option<ExitKind>> {
        self.waitid(WaitIdOptions::EXITED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_child_is_reaped_once_and_then_unreachable() {
        let child = std::process::Command::new("/bin/sh")
            .args(["-c", "exit 7"])
            .spawn()
            .expect("spawn sh");
        let pidfd = PidFd::open(child.id()).expect("pidfd_open");
        assert_eq!(pidfd.pid(), child.id());
        assert_eq!(
            pidfd.reap_blocking().expect("reap"),
            Some(ExitKind::Code(7))
        );
        // Reaped: nothing left to wait for or to signal through the pidfd.
        assert!(pidfd.reap().is_err());
        assert!(pidfd.peek_exit().is_err());
        let err = pidfd.signal_leader(Signal::TERM).unwrap_err();
        assert!(crate::os::is_no_such_process(&err), "{err}");
        // std's handle must not wait for it again: it was reaped above.
        #[allow(clippy::zombie_processes)]
        drop(child);
    }
}
