//! [`PidFd`]: the real [`ChildOs`], a pidfd for one child we spawned. Every
//! raw process syscall of the manager side is here (`pidfd_open`,
//! `pidfd_send_signal`, `kill(-pgid)`, `waitid` on the pidfd); when to make
//! them is decided in [`crate::group`]. Also the one reactor registration
//! (tokio makes every `AsyncFd` registration `unsafe`): the pidfd itself,
//! shared (an `Arc`) with the watcher, so a live proc costs one fd for it,
//! not two.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitIdStatus};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::os::{ChildOs, ExitKind};

/// A child's pid (= pgid) and a pidfd for it. The pidfd is closed when
/// this and the exit watcher (if any) are both dropped.
#[derive(Debug)]
pub(crate) struct PidFd {
    pid: Pid,
    fd: Arc<OwnedFd>,
}

impl PidFd {
    /// Opens a pidfd for a child we just spawned and have not reaped.
    pub(crate) fn open(pid: u32) -> io::Result<Self> {
        let raw = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
        let pid = Pid::from_raw(raw).ok_or_else(|| io::Error::other("pid 0"))?;
        let fd = Arc::new(rustix::process::pidfd_open(pid, PidfdFlags::empty())?);
        Ok(Self { pid, fd })
    }

    /// The pidfd, registered with the reactor and co-owned by what it
    /// returns: it turns readable when the child exits, and stays open while
    /// the watcher lives even if this `PidFd` is dropped (at the reap).
    pub(crate) fn exit_watcher(&self) -> io::Result<AsyncFd<Arc<OwnedFd>>> {
        let fd = self.fd.clone();
        // SAFETY: the `AsyncFd` holds a strong reference to the `OwnedFd`,
        // so the descriptor stays open (it is closed only when the last
        // reference drops) and `as_raw_fd` returns the same number for the
        // `AsyncFd`'s whole life; nothing closes an `OwnedFd` behind it.
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
        Ok(rustix::process::pidfd_send_signal(&*self.fd, signal)?)
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
