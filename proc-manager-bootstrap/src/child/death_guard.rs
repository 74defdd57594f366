//! The parent-death guard: the child asks the kernel for SIGKILL when its
//! parent goes, then checks that its parent is still the manager named in
//! the payload.
//!
//! Checking *after* arming closes the race: if the manager died before the
//! request, the parent is already someone else and the check sees it; if it
//! dies after, the kernel delivers the signal. Nothing else lives here.

use std::io;

use rustix::process::{Signal, getppid, set_parent_process_death_signal};

/// The guard could not be armed, or the parent is not the manager.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeathGuardError {
    /// `prctl(PR_SET_PDEATHSIG)` failed.
    #[error("could not arm the parent-death signal: {0}")]
    Arm(#[source] io::Error),
    /// The parent process is not the manager that started this child: the
    /// manager is already gone.
    #[error("parent process is {actual}, expected the manager {expected}: the manager is gone")]
    WrongParent {
        /// The manager's pid from the payload.
        expected: u32,
        /// The current parent pid (0 if none).
        actual: u32,
    },
}

/// Arms SIGKILL-on-parent-death, then checks the parent pid against
/// `expected_parent`.
///
/// The kernel fires the signal when the *thread* that forked this process
/// ends; the manager side is responsible for forking from a long-lived
/// thread.
pub fn arm(expected_parent: u32) -> Result<(), DeathGuardError> {
    set_parent_process_death_signal(Some(Signal::KILL))
        .map_err(|e| DeathGuardError::Arm(e.into()))?;
    let actual = getppid().map_or(0, |pid| pid.as_raw_nonzero().get().unsigned_abs());
    if actual != expected_parent {
        return Err(DeathGuardError::WrongParent {
            expected: expected_parent,
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_parent_is_reported_after_arming() {
        // Run in a thread-independent way: arming only affects this test
        // process, whose parent (the harness or cargo) outlives it.
        let parent = std::os::unix::process::parent_id();
        let err = arm(parent.wrapping_add(1)).unwrap_err();
        assert!(
            matches!(err, DeathGuardError::WrongParent { expected, actual }
                if expected == parent.wrapping_add(1) && actual == parent),
            "{err}"
        );
        assert!(arm(parent).is_ok());
        let armed = rustix::process::parent_process_death_signal()
            .ok()
            .flatten();
        assert_eq!(armed, Some(Signal::KILL));
        // Disarm so the rest of the unit tests are unaffected.
        set_parent_process_death_signal(None).ok();
    }
}
