//! Restart types × kinds of end, and the restart intensity (giving up with
//! the last status, intensity 0, the period window, crashes before Ready
//! during start), on the local backend in paused time.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use proc_manager_local::{ChannelAddr, LocalProcManager, ProcHandle, ProcManager, ProcStatus};
use proc_manager_supervisor::{
    ChildSpec, Restart, Supervisor, SupervisorError, SupervisorEvent, SupervisorExit,
};

const SEC: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Clean,
    Code,
    Failed,
    Panic,
    Signal,
}

const KINDS: [Kind; 5] = [
    Kind::Clean,
    Kind::Code,
    Kind::Failed,
    Kind::Panic,
    Kind::Signal,
];

fn act(kind: Kind) -> Act {
    match kind {
        Kind::Clean => Act::ExitAfter(SEC, 0),
        Kind::Code => Act::ExitAfter(SEC, 3),
        Kind::Failed => Act::FailAfter(SEC),
        Kind::Panic => Act::PanicAfter(SEC),
        Kind::Signal => Act::Serve,
    }
}

fn expected_end(kind: Kind, status: &ProcStatus) -> bool {
    match kind {
        Kind::Clean => matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
        Kind::Code => matches!(status, ProcStatus::Stopped { exit_code: 3, .. }),
        Kind::Failed => matches!(status, ProcStatus::Failed { reason, .. } if reason == "boom"),
        Kind::Panic => {
            matches!(status, ProcStatus::Failed { reason, .. } if reason.starts_with("panicked"))
        }
        Kind::Signal => matches!(status, ProcStatus::Killed { signal: 9, .. }),
    }
}

/// One child of type `restart` ends once by `kind`; returns whether it was
/// restarted (and checks the bookkeeping either way).
async fn ends_once(restart: Restart, kind: Kind) -> bool {
    let script = Script::default();
    script.plan("w", [act(kind)]);
    let w = id("w");
    let builder = Supervisor::builder(script.manager())
        .intensity(10, Duration::from_secs(60))
        .child(ChildSpec::new(w.clone(), ChannelAddr::Local(0)).restart(restart));
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    if kind == Kind::Signal {
        sup.handle(&w).unwrap().kill().await.unwrap();
    }
    let exited = events_until(&mut rx, |e| matches!(e, SupervisorEvent::Exited { .. })).await;
    let Some(SupervisorEvent::Exited { status, .. }) = exited.last() else {
        unreachable!()
    };
    assert!(expected_end(kind, status), "{restart:?} {kind:?}: {status}");
    let status = status.clone();
    quiet_for(10 * SEC).await;
    let later: Vec<String> = drain(&mut rx).iter().map(brief).collect();
    let restarted = sup.restarts(&w) == 1;
    if restarted {
        assert_eq!(
            later,
            ["restarting w", "started w", "ready w"],
            "{restart:?} {kind:?}"
        );
        assert_eq!(script.spawns("w"), 2);
        assert!(sup.status(&w).unwrap().is_ready());
    } else {
        assert_eq!(sup.restarts(&w), 0);
        assert!(later.is_empty(), "{restart:?} {kind:?}: {later:?}");
        assert_eq!(script.spawns("w"), 1);
        assert_eq!(sup.status(&w), Some(status));
    }
    sup.stop(10 * SEC).await;
    assert_eq!(sup.wait().await, SupervisorExit::Stopped);
    restarted
}

#[tokio::test(start_paused = true)]
async fn permanent_is_restarted_after_every_kind_of_end() {
    for kind in KINDS {
        assert!(ends_once(Restart::Permanent, kind).await, "{kind:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn transient_is_restarted_only_after_an_abnormal_end() {
    for kind in KINDS {
        let abnormal = kind != Kind::Clean;
        assert_eq!(
            ends_once(Restart::Transient, kind).await,
            abnormal,
            "{kind:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn temporary_is_never_restarted() {
    for kind in KINDS {
        assert!(!ends_once(Restart::Temporary, kind).await, "{kind:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn intensity_exceeded_stops_everything_and_gives_up_with_the_last_status() {
    let script = Script::default();
    script.plan(
        "w",
        [
            Act::ExitAfter(SEC, 1),
            Act::ExitAfter(SEC, 2),
            Act::ExitAfter(SEC, 3),
        ],
    );
    let manager = Arc::new(script.manager());
    let builder = Supervisor::builder::<LocalProcManager>(manager.clone())
        .intensity(2, Duration::from_secs(60))
        .child(ChildSpec::new(id("s"), ChannelAddr::Local(0)))
        .child(ChildSpec::new(id("w"), ChannelAddr::Local(0)));
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    let exit = tokio::time::timeout(SHOULD, sup.wait()).await.unwrap();
    let SupervisorExit::GaveUp {
        proc_id,
        last_status,
    } = &exit
    else {
        panic!("{exit}")
    };
    assert_eq!(proc_id, &id("w"));
    assert!(
        matches!(last_status, ProcStatus::Stopped { exit_code: 3, .. }),
        "{last_status}"
    );
    assert_eq!(sup.restarts(&id("w")), 2);
    // The sibling was stopped politely before the supervisor gave up.
    let sibling = manager.status(&id("s")).unwrap();
    assert!(
        matches!(sibling, ProcStatus::Stopped { exit_code: 0, .. }),
        "{sibling}"
    );
    let events = drain(&mut rx);
    let tail: Vec<String> = events.iter().rev().take(3).rev().map(brief).collect();
    assert_eq!(tail, ["exited w", "exited s", "gave-up w"]);
    assert!(matches!(
        events.last(),
        Some(SupervisorEvent::GaveUp { last_status: event_status, .. }) if event_status == last_status
    ));
    // Stopping a supervisor that gave up does nothing.
    assert_eq!(sup.stop(SEC).await.attempted, 0);
}

#[tokio::test(start_paused = true)]
async fn intensity_zero_gives_up_at_the_first_restart() {
    let script = Script::default();
    script.plan("w", [Act::ExitAfter(SEC, 1)]);
    let sup = Supervisor::builder(script.manager())
        .intensity(0, Duration::from_secs(60))
        .child(ChildSpec::new(id("w"), ChannelAddr::Local(0)))
        .start()
        .await
        .unwrap();
    let exit = tokio::time::timeout(SHOULD, sup.wait()).await.unwrap();
    assert!(
        matches!(
            &exit,
            SupervisorExit::GaveUp {
                last_status: ProcStatus::Stopped { exit_code: 1, .. },
                ..
            }
        ),
        "{exit}"
    );
    assert_eq!(sup.restarts(&id("w")), 0);
    assert_eq!(script.spawns("w"), 1);
}

#[tokio::test(start_paused = true)]
async fn restarts_older_than_the_period_no_longer_count() {
    let script = Script::default();
    // 1 restart allowed in 10 s; crashes come 20 s apart, then one 1 s
    // after the last restart.
    script.plan(
        "w",
        [
            Act::ExitAfter(20 * SEC, 1),
            Act::ExitAfter(20 * SEC, 1),
            Act::ExitAfter(20 * SEC, 1),
            Act::ExitAfter(SEC, 4),
        ],
    );
    let sup = Supervisor::builder(script.manager())
        .intensity(1, 10 * SEC)
        .child(ChildSpec::new(id("w"), ChannelAddr::Local(0)))
        .start()
        .await
        .unwrap();
    let exit = tokio::time::timeout(SHOULD, sup.wait()).await.unwrap();
    assert!(
        matches!(
            &exit,
            SupervisorExit::GaveUp {
                last_status: ProcStatus::Stopped { exit_code: 4, .. },
                ..
            }
        ),
        "{exit}"
    );
    // The three spaced-out restarts were each alone in their period; the
    // fourth end, 1 s after the third restart, made two.
    assert_eq!(sup.restarts(&id("w")), 3);
}

#[tokio::test(start_paused = true)]
async fn a_child_ending_before_ready_during_start_is_restarted_within_the_intensity() {
    let script = Script::default();
    script.plan("w", [Act::ExitBeforeReady(1), Act::ExitBeforeReady(2)]);
    let builder = Supervisor::builder(script.manager())
        .intensity(5, 10 * SEC)
        .child(ChildSpec::new(id("w"), ChannelAddr::Local(0)))
        .child(ChildSpec::new(id("after"), ChannelAddr::Local(0)));
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    assert_eq!(sup.restarts(&id("w")), 2);
    assert!(sup.status(&id("w")).unwrap().is_ready());
    assert!(sup.status(&id("after")).unwrap().is_ready());
    // `after` was spawned only once `w` was finally Ready.
    assert_eq!(script.spawn_order(), ["w", "w", "w", "after"]);
    let order: Vec<String> = drain(&mut rx).iter().map(brief).collect();
    assert_eq!(
        order,
        [
            "started w",
            "exited w",
            "restarting w",
            "started w",
            "exited w",
            "restarting w",
            "started w",
            "ready w",
            "started after",
            "ready after",
        ]
    );
    sup.stop(SEC).await;
}

#[tokio::test(start_paused = true)]
async fn start_fails_when_the_intensity_runs_out_before_every_child_is_ready() {
    let script = Script::default();
    script.plan("w", [Act::ExitBeforeReady(1), Act::ExitBeforeReady(2)]);
    let manager = Arc::new(script.manager());
    let err = Supervisor::builder::<LocalProcManager>(manager.clone())
        .intensity(1, 10 * SEC)
        .child(ChildSpec::new(id("first"), ChannelAddr::Local(0)))
        .child(ChildSpec::new(id("w"), ChannelAddr::Local(0)))
        .start()
        .await
        .unwrap_err();
    let SupervisorError::GaveUp {
        proc_id,
        last_status,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(proc_id, &id("w"));
    assert!(
        matches!(last_status, ProcStatus::Stopped { exit_code: 2, .. }),
        "{err}"
    );
    // Nothing is left running.
    for name in ["first", "w"] {
        assert!(manager.status(&id(name)).unwrap().is_exit(), "{name}");
    }
    assert!(manager.handle(&id("first")).unwrap().status().is_exit());
}
