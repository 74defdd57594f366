//! The OS seam under process-group supervision: [`ChildOs`], the four
//! things we ask the kernel about one spawned child (signal it through its
//! pidfd, signal its process group, peek at its exit without reaping, reap
//! it), and [`ExitKind`], how it ended.
//!
//! The real implementation is [`crate::pidfd::PidFd`]; a hand-written fake
//! for unit tests is in `os/fake.rs`. The decisions taken on top of the seam
//! (when a pgid may be signalled, what an `ESRCH` means, the stop sequence,
//! the exit monitor's order and status mapping) live in [`crate::group`],
//! [`crate::stop`] and [`crate::exit_monitor`], generic over this trait, so
//! the unit tests run the real decision code.

use std::fmt;
use std::io;

use rustix::process::Signal;

#[cfg(test)]
pub(crate) mod fake;

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

/// The syscalls about one spawned, not yet reaped child that leads its own
/// process group. Implementations make the call and report the kernel's
/// answer unchanged (an `ESRCH` stays an error); they decide nothing.
pub(crate) trait ChildOs: fmt::Debug + Send + Sync + 'static {
    /// The child's pid, which is also its process group id.
    fn pid(&self) -> u32;
    /// Sends `signal` to the child itself (through its pidfd, which cannot
    /// reach a recycled pid).
    fn signal_leader(&self, signal: Signal) -> io::Result<()>;
    /// Sends `signal` to every process in the child's group, by pgid. Only
    /// safe while the leader is unreaped (see [`crate::group`]).
    fn signal_group(&self, signal: Signal) -> io::Result<()>;
    /// How the child ended, without reaping it; `None` while it runs
    /// (`waitid(WEXITED | WNOWAIT | WNOHANG)`).
    fn peek_exit(&self) -> io::Result<Option<ExitKind>>;
    /// Reaps the child if it has ended; `None` if there was nothing to reap
    /// (`waitid(WEXITED | WNOHANG)`).
    fn reap(&self) -> io::Result<Option<ExitKind>>;
    /// Waits for the child to end and reaps it (`waitid(WEXITED)`): only for
    /// a child that was just SIGKILLed.
    fn reap_blocking(&self) -> io::Result<Option<ExitKind>>;
}

/// Whether `err` is the kernel saying "no such process".
pub(crate) fn is_no_such_process(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::ESRCH)
}
