//! The stop sequences of one proc, generic over the [`ChildOs`] seam so the
//! unit tests below run them against a fake child:
//!
//! - [`terminate`]: mark `Stopping`, ask politely once (stop message on the
//!   control channel, else SIGTERM to the group), wait for the end until the
//!   deadline, then SIGKILL the group and wait for the end.
//! - [`kill`]: mark `Stopping`, SIGKILL the group, wait for the end.
//!
//! The end is always observed by the exit monitor ([`crate::exit_monitor`]);
//! these functions only signal and wait. What a signal to a child that
//! already exited means is in [`crate::group`]. Stopping many procs at once
//! is in [`crate::bulk`].

use std::time::Duration;

use proc_manager_core::{ProcStatus, TerminateError};
use tokio::time::Instant;

use crate::os::ChildOs;
use crate::proc_state::ProcShared;

fn already_terminated<O: ChildOs>(shared: &ProcShared<O>, status: ProcStatus) -> TerminateError {
    TerminateError::AlreadyTerminated {
        proc_id: shared.proc_id.clone(),
        status,
    }
}

fn force_kill<O: ChildOs>(shared: &ProcShared<O>) -> Result<(), TerminateError> {
    shared.force_kill().map_err(|source| TerminateError::Io {
        proc_id: shared.proc_id.clone(),
        source,
    })
}

/// Asks politely, escalates to SIGKILL at `timeout` (`Duration::MAX`: never;
/// `ZERO`: at once, after the request), and returns the terminal status.
/// A proc that already ended is [`TerminateError::AlreadyTerminated`].
pub(crate) async fn terminate<O: ChildOs>(
    shared: &ProcShared<O>,
    timeout: Duration,
    reason: &str,
) -> Result<ProcStatus, TerminateError> {
    // A deadline too far away to represent is no deadline.
    let deadline = Instant::now().checked_add(timeout);
    let now = shared.cell.mark_stopping();
    if now.is_exit() {
        return Err(already_terminated(shared, now));
    }
    if let Err(err) = shared.request_stop(reason).await {
        tracing::warn!(parent: &shared.span, %err, "polite stop request failed");
    }
    let Some(deadline) = deadline else {
        return Ok(shared.cell.wait_terminal().await);
    };
    if let Ok(status) = tokio::time::timeout_at(deadline, shared.cell.wait_terminal()).await {
        return Ok(status);
    }
    tracing::debug!(parent: &shared.span, ?timeout, "not stopped in time");
    force_kill(shared)?;
    Ok(shared.cell.wait_terminal().await)
}

/// SIGKILLs the group at once and returns the terminal status. A proc that
/// already ended is [`TerminateError::AlreadyTerminated`].
pub(crate) async fn kill<O: ChildOs>(shared: &ProcShared<O>) -> Result<ProcStatus, TerminateError> {
    let now = shared.cell.mark_stopping();
    if now.is_exit() {
        return Err(already_terminated(shared, now));
    }
    force_kill(shared)?;
    Ok(shared.cell.wait_terminal().await)
}

#[cfg(test)]
mod tests {
    use rustix::process::Signal;

    use super::*;
    use crate::exit_monitor::supervise_fake;
    use crate::os::ExitKind;
    use crate::os::fake::{Call, FakeChild, group_signal};

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn killed(signal: i32) -> impl Fn(&ProcStatus) -> bool {
        move |s| matches!(s, ProcStatus::Killed { signal: got, .. } if *got == signal)
    }

    #[tokio::test(start_paused = true)]
    async fn a_proc_that_stops_when_asked_is_not_killed() {
        let fake = FakeChild::new(7).dies_of(Signal::TERM);
        let (shared, _monitor) = supervise_fake(fake.clone(), true);
        let started = Instant::now();
        let status = terminate(&shared, TIMEOUT, "test").await.unwrap();
        assert!(killed(libc::SIGTERM)(&status), "{status:?}");
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "no wait for the deadline"
        );
        let asked = fake.calls().iter().take(2).copied().collect::<Vec<_>>();
        assert_eq!(
            asked,
            group_signal(Signal::TERM),
            "SIGTERM first (no control channel)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_proc_that_ignores_the_request_is_killed_at_the_deadline() {
        let fake = FakeChild::new(7);
        let (shared, _monitor) = supervise_fake(fake.clone(), true);
        let started = Instant::now();
        let status = terminate(&shared, TIMEOUT, "test").await.unwrap();
        assert!(killed(libc::SIGKILL)(&status), "{status:?}");
        assert_eq!(
            started.elapsed(),
            TIMEOUT,
            "escalated at the deadline, not before"
        );
        let calls = fake.calls();
        let first_kill = calls
            .iter()
            .position(|c| *c == Call::SignalLeader(Signal::KILL));
        let first_term = calls
            .iter()
            .position(|c| *c == Call::SignalLeader(Signal::TERM));
        assert!(first_term < first_kill, "{calls:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_timeout_escalates_at_once_and_max_never_does() {
        let fake = FakeChild::new(7);
        let (shared, _monitor) = supervise_fake(fake, true);
        let status = terminate(&shared, Duration::ZERO, "now").await.unwrap();
        assert!(killed(libc::SIGKILL)(&status), "{status:?}");

        let fake = FakeChild::new(8).dies_of(Signal::TERM);
        let (shared, _monitor) = supervise_fake(fake, true);
        let status = terminate(&shared, Duration::MAX, "no deadline")
            .await
            .unwrap();
        assert!(killed(libc::SIGTERM)(&status), "{status:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_proc_that_exits_between_the_check_and_the_signal_is_not_an_error() {
        let fake = FakeChild::new(7).exits_before_next_signal(ExitKind::Code(0));
        let (shared, _monitor) = supervise_fake(fake.clone(), true);
        let status = terminate(&shared, TIMEOUT, "race").await.unwrap();
        assert!(
            matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
            "{status:?}"
        );

        let fake = FakeChild::new(8).exits_before_next_signal(ExitKind::Code(1));
        let (shared, _monitor) = supervise_fake(fake, true);
        let status = kill(&shared).await.unwrap();
        assert!(
            matches!(status, ProcStatus::Stopped { exit_code: 1, .. }),
            "{status:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_signal_is_an_io_error_naming_the_proc() {
        let fake = FakeChild::new(7).signals_fail(libc::EPERM);
        let (shared, _monitor) = supervise_fake(fake.clone(), true);
        let err = terminate(&shared, TIMEOUT, "test").await.unwrap_err();
        match err {
            TerminateError::Io { proc_id, source } => {
                assert_eq!(proc_id, shared.proc_id);
                assert_eq!(source.raw_os_error(), Some(libc::EPERM));
            }
            other => panic!("expected Io, got {other:?}"),
        }
        let err = kill(&shared).await.unwrap_err();
        assert!(matches!(err, TerminateError::Io { .. }), "{err:?}");
        assert!(
            shared.cell.status().is_stopping(),
            "still alive, marked stopping"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_an_ended_proc_is_already_terminated_and_signals_nothing() {
        let fake = FakeChild::new(7);
        let (shared, monitor) = supervise_fake(fake.clone(), true);
        fake.exit(ExitKind::Code(3));
        monitor.await.unwrap();
        let calls = fake.calls();
        for result in [
            terminate(&shared, TIMEOUT, "late").await,
            kill(&shared).await,
        ] {
            match result {
                Err(TerminateError::AlreadyTerminated { status, .. }) => assert!(
                    matches!(status, ProcStatus::Stopped { exit_code: 3, .. }),
                    "{status:?}"
                ),
                other => panic!("expected AlreadyTerminated, got {other:?}"),
            }
        }
        assert_eq!(fake.calls(), calls, "no signal to an ended proc");
    }

    #[tokio::test(start_paused = true)]
    async fn kill_does_not_ask_first() {
        let fake = FakeChild::new(7).dies_of(Signal::TERM);
        let (shared, _monitor) = supervise_fake(fake.clone(), true);
        let status = kill(&shared).await.unwrap();
        assert!(killed(libc::SIGKILL)(&status), "{status:?}");
        assert_eq!(fake.calls()[0], Call::SignalLeader(Signal::KILL));
        assert!(!fake.calls().contains(&Call::SignalLeader(Signal::TERM)));
    }
}
