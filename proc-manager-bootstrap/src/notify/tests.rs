//! The notify decisions ([`State`]), the manager's own stops (watchdog,
//! ready timeout) and `signal`, run against the fake child of
//! [`crate::os::fake`] with a paused clock.

use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{ChannelAddr, ProcStatus};
use rustix::process::Signal;
use tokio::time::Instant;

use super::State;
use super::message::Message;
use super::peer::Member;
use super::watchdog::Watchdog;
use crate::exit_monitor::supervise_fake;
use crate::os::ExitKind;
use crate::os::fake::{FakeChild, group_signal};
use crate::proc_state::ProcShared;

const LONG: Duration = Duration::from_secs(60);

fn addr() -> ChannelAddr {
    "tcp:127.0.0.1:8080".parse().expect("addr")
}

fn state(watchdog: Option<Duration>) -> State {
    State {
        member: Member {
            leader: 7,
            cgroup: None,
        },
        watchdog: Watchdog::new(watchdog),
        addr: addr(),
    }
}

fn apply(state: &mut State, shared: &Arc<ProcShared<FakeChild>>, datagram: &[u8]) {
    let message = Message::parse(datagram).expect("valid datagram");
    state.apply(shared, message, Instant::now());
}

async fn end(shared: &ProcShared<FakeChild>) -> ProcStatus {
    tokio::time::timeout(LONG, shared.cell.wait_terminal())
        .await
        .expect("ended in time")
}

#[tokio::test(start_paused = true)]
async fn status_then_ready_in_one_datagram_and_stopping_later() {
    let fake = FakeChild::new(7);
    let (shared, _monitor) = supervise_fake(fake.clone(), true);
    let mut state = state(None);
    apply(&mut state, &shared, b"STATUS=serving\nREADY=1");
    assert_eq!(shared.cell.status().addr(), Some(&addr()));
    assert_eq!(shared.notes.status_text().as_deref(), Some("serving"));
    apply(&mut state, &shared, b"READY=1");
    assert!(
        shared.cell.status().is_ready(),
        "a second READY=1 changes nothing"
    );
    apply(&mut state, &shared, b"STOPPING=1");
    assert!(shared.cell.status().is_stopping());
    assert!(
        fake.calls().is_empty(),
        "the proc stops on its own: no signal"
    );
    apply(&mut state, &shared, b"READY=1");
    assert!(shared.cell.status().is_stopping(), "never back to Ready");
}

#[tokio::test(start_paused = true)]
async fn a_silent_proc_is_asked_to_stop_and_fails_with_the_watchdog_reason() {
    let fake = FakeChild::new(7).dies_of(Signal::TERM);
    let (shared, _monitor) = supervise_fake(fake.clone(), true);
    let mut state = state(Some(Duration::from_millis(100)));
    apply(&mut state, &shared, b"READY=1");
    let due = state.watchdog.deadline().expect("running after READY=1");
    apply(&mut state, &shared, b"WATCHDOG=1");
    assert!(state.watchdog.deadline() >= Some(due));
    state.watchdog_expired(&shared);
    match end(&shared).await {
        ProcStatus::Failed { reason, .. } => {
            assert_eq!(reason, "watchdog: no WATCHDOG=1 within 100ms")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(
        fake.calls()[..2],
        group_signal(Signal::TERM),
        "asked politely first"
    );
}

#[tokio::test(start_paused = true)]
async fn a_proc_ignoring_the_stop_signal_is_killed_after_the_stop_timeout() {
    let fake = FakeChild::new(7);
    let (shared, _monitor) = supervise_fake(fake.clone(), true);
    let started = Instant::now();
    let mut state = state(None);
    apply(&mut state, &shared, b"READY=1\nWATCHDOG=trigger");
    match end(&shared).await {
        ProcStatus::Failed { reason, .. } => {
            assert_eq!(reason, "watchdog: the proc sent WATCHDOG=trigger")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(
        started.elapsed(),
        shared.stop.timeout,
        "SIGKILL at the stop timeout, not before"
    );
    let calls = fake.calls();
    assert_eq!(calls[..2], group_signal(Signal::TERM));
    assert_eq!(calls[2..4], group_signal(Signal::KILL));
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_does_not_fire_on_a_proc_being_stopped() {
    let fake = FakeChild::new(7);
    let (shared, _monitor) = supervise_fake(fake.clone(), true);
    let mut state = state(Some(Duration::from_millis(100)));
    apply(&mut state, &shared, b"READY=1");
    shared.cell.mark_stopping();
    state.watchdog_expired(&shared);
    assert!(fake.calls().is_empty());
    assert_eq!(shared.fail_reason(), None);
}

#[tokio::test(start_paused = true)]
async fn errno_is_kept_for_the_reason_of_a_failed_end() {
    let fake = FakeChild::new(7);
    let (shared, monitor) = supervise_fake(fake.clone(), true);
    let mut state = state(None);
    apply(&mut state, &shared, b"ERRNO=13\nEXIT_STATUS=4");
    fake.exit(ExitKind::Code(4));
    monitor.await.expect("monitor");
    match shared.cell.status() {
        ProcStatus::Failed { reason, .. } => assert_eq!(
            reason,
            "exit code 4; the proc reported ERRNO=13 (EACCES: Permission denied), EXIT_STATUS=4"
        ),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn not_ready_in_time_stops_a_running_proc_only() {
    let fake = FakeChild::new(7).dies_of(Signal::TERM);
    let (shared, _monitor) = supervise_fake(fake.clone(), true);
    crate::ready_driver::mark_ready(&shared, &addr());
    crate::ready_driver::not_ready(&shared, Duration::from_secs(1));
    assert!(fake.calls().is_empty(), "a ready proc is left alone");

    let fake = FakeChild::new(8).dies_of(Signal::TERM);
    let (shared, _monitor) = supervise_fake(fake.clone(), true);
    crate::ready_driver::not_ready(&shared, Duration::from_secs(1));
    match end(&shared).await {
        ProcStatus::Failed { reason, .. } => assert_eq!(reason, "not ready within 1s"),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn signal_reaches_the_group_until_the_end() {
    let fake = FakeChild::new(7);
    let (shared, monitor) = supervise_fake(fake.clone(), true);
    assert!(shared.signal(crate::Signal::SIGHUP).expect("sent"));
    assert_eq!(fake.calls(), group_signal(Signal::HUP));
    fake.exit(ExitKind::Code(0));
    monitor.await.expect("monitor");
    let calls = fake.calls();
    assert!(!shared.signal(crate::Signal::SIGHUP).expect("no error"));
    assert_eq!(fake.calls(), calls, "nothing sent after the end");
}
