//! [`ProcessGroup`]: one spawned child (the leader of its own process group)
//! and the rules for signalling and reaping it, over the [`ChildOs`] seam.
//!
//! The syscalls themselves are in [`crate::pidfd`]; when to stop a proc is
//! [`crate::stop`]'s business and when to reap the exit monitor's.
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
//!
//! # Why `ESRCH` is not an error
//!
//! A child may exit between any check and the signal we send it. The pidfd
//! then answers `ESRCH` (it names an exited process) and `kill(-pgid)`
//! answers `ESRCH` once nothing is left in the group; either way the thing
//! we wanted gone is gone, and the exit monitor reports how it ended.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use rustix::process::Signal;
use tokio::io::unix::AsyncFd;

use crate::os::{ChildOs, ExitKind, is_no_such_process};
use crate::pidfd::PidFd;

/// A spawned child and its group. See the module docs.
#[derive(Debug)]
pub(crate) struct ProcessGroup<O: ChildOs = PidFd> {
    pid: u32,
    /// The child until it is reaped, then `None` (so an ended proc holds no
    /// fd). Guards every signal.
    child: Mutex<Option<O>>,
}

impl ProcessGroup {
    /// Opens a pidfd for a child we just spawned and have not reaped.
    pub(crate) fn open(pid: u32) -> io::Result<Self> {
        PidFd::open(pid).map(Self::new)
    }

    /// A pidfd of its own, in the reactor, for an exit watcher; only while
    /// the leader is unreaped.
    pub(crate) fn exit_watcher(&self) -> io::Result<AsyncFd<Arc<OwnedFd>>> {
        match self.lock().as_ref() {
            Some(pidfd) => pidfd.exit_watcher(),
            None => Err(io::Error::other("already reaped")),
        }
    }
}

fn ignore_gone(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(err) if is_no_such_process(&err) => Ok(()),
        other => other,
    }
}

impl<O: ChildOs> ProcessGroup<O> {
    /// The group of an unreaped child.
    pub(crate) fn new(child: O) -> Self {
        Self {
            pid: child.pid(),
            child: Mutex::new(Some(child)),
        }
    }

    /// The leader's pid (also the group id).
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    fn lock(&self) -> MutexGuard<'_, Option<O>> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Signals the whole group: the leader through its pidfd, the rest by
    /// pgid, both only while the leader is unreaped (see the module docs).
    /// A group that is already gone is not an error; any other failure is,
    /// after both signals were tried.
    pub(crate) fn signal_group(&self, signal: Signal) -> io::Result<()> {
        let child = self.lock();
        let Some(child) = child.as_ref() else {
            return Ok(());
        };
        let leader = ignore_gone(child.signal_leader(signal));
        let group = ignore_gone(child.signal_group(signal));
        leader.and(group)
    }

    /// SIGKILLs the group, logging a failure: for `Drop` paths.
    pub(crate) fn kill_now(&self) {
        if let Err(err) = self.signal_group(Signal::KILL) {
            tracing::warn!(pid = self.pid(), %err, "SIGKILL to process group failed");
        }
    }

    /// How the leader ended, without reaping it (`None` while it runs).
    pub(crate) fn peek_exit(&self) -> io::Result<Option<ExitKind>> {
        match self.lock().as_ref() {
            Some(child) => child.peek_exit(),
            None => Err(io::Error::other("already reaped")),
        }
    }

    /// Reaps the leader (after it ended). From here on the group is never
    /// signalled by pgid. `None` if there was nothing to reap (still
    /// running, or reaped before).
    pub(crate) fn reap(&self) -> io::Result<Option<ExitKind>> {
        let mut slot = self.lock();
        let Some(child) = slot.as_ref() else {
            return Ok(None);
        };
        let kind = child.reap()?;
        if kind.is_some() {
            *slot = None;
        }
        Ok(kind)
    }

    /// Blocking SIGKILL + reap, for a child nobody will supervise (a spawn
    /// whose caller went away).
    pub(crate) fn kill_and_reap_blocking(&self) {
        self.kill_now();
        let Some(child) = self.lock().take() else {
            return;
        };
        if let Err(err) = child.reap_blocking() {
            tracing::warn!(pid = self.pid(), %err, "reaping an unsupervised child failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::fake::{Call, FakeChild, group_signal};

    const TERM: ExitKind = ExitKind::Signal {
        signal: libc::SIGTERM,
        core_dumped: false,
    };

    #[test]
    fn signals_the_leader_by_pidfd_then_the_group_by_pgid() {
        let fake = FakeChild::new(41);
        let group = ProcessGroup::new(fake.clone());
        assert_eq!(group.pid(), 41);
        group.signal_group(Signal::TERM).unwrap();
        assert_eq!(fake.calls(), group_signal(Signal::TERM));
    }

    #[test]
    fn a_leader_that_exits_just_before_the_signal_is_not_an_error() {
        let fake = FakeChild::new(41).exits_before_next_signal(ExitKind::Code(0));
        let group = ProcessGroup::new(fake.clone());
        // The pidfd says ESRCH; the unreaped zombie keeps the pgid ours, so
        // the rest of the group is still signalled.
        group.signal_group(Signal::TERM).unwrap();
        assert_eq!(fake.calls(), group_signal(Signal::TERM));
    }

    #[test]
    fn a_failing_signal_is_reported_after_both_were_tried() {
        let fake = FakeChild::new(41).signals_fail(libc::EPERM);
        let group = ProcessGroup::new(fake.clone());
        let err = group.signal_group(Signal::KILL).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        assert_eq!(fake.calls().len(), 2);
    }

    #[test]
    fn the_group_is_never_signalled_after_the_reap() {
        let fake = FakeChild::new(41);
        let group = ProcessGroup::new(fake.clone());
        fake.exit(TERM);
        assert_eq!(group.peek_exit().unwrap(), Some(TERM));
        assert_eq!(group.reap().unwrap(), Some(TERM));
        let before = fake.calls();
        group.signal_group(Signal::KILL).unwrap();
        group.kill_now();
        assert_eq!(fake.calls(), before, "no signal after the reap");
        assert!(group.peek_exit().is_err());
        assert_eq!(group.reap().unwrap(), None, "a second reap finds nothing");
    }

    #[test]
    fn a_reap_that_finds_nothing_keeps_the_child_for_later() {
        let fake = FakeChild::new(41);
        let group = ProcessGroup::new(fake.clone());
        assert_eq!(group.reap().unwrap(), None, "still running");
        assert!(!fake.reaped());
        // Still unreaped: the group may still be signalled.
        group.signal_group(Signal::KILL).unwrap();
        assert_eq!(
            group.reap().unwrap(),
            Some(ExitKind::Signal {
                signal: libc::SIGKILL,
                core_dumped: false,
            })
        );
        assert!(fake.reaped());
    }

    #[test]
    fn kill_and_reap_blocking_kills_then_reaps_once() {
        let fake = FakeChild::new(41);
        let group = ProcessGroup::new(fake.clone());
        group.kill_and_reap_blocking();
        assert_eq!(
            fake.calls(),
            [group_signal(Signal::KILL).as_slice(), &[Call::ReapBlocking]].concat()
        );
        group.kill_and_reap_blocking();
        assert_eq!(fake.calls().len(), 3, "nothing more once reaped");
    }
}
