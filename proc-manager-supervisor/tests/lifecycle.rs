//! Start and stop: ordered start (each child Ready before the next), a
//! spawn error failing `start()`, stop in reverse start order under one
//! deadline, no restart for a crash during stop, the last handle's drop
//! stopping everything, and bad or extreme settings, on the local backend
//! in paused time.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use proc_manager_local::{ChannelAddr, LocalProcManager, ProcHandle, ProcManager, ProcStatus};
use proc_manager_supervisor::{
    Backoff, BackoffError, ChildSpec, Supervisor, SupervisorError, SupervisorExit,
};
use tokio::time::Instant;

const SEC: Duration = Duration::from_secs(1);

fn spec(name: &str) -> ChildSpec<LocalProcManager> {
    ChildSpec::new(id(name), ChannelAddr::Local(0))
}

#[tokio::test(start_paused = true)]
async fn children_start_in_order_each_ready_before_the_next() {
    let script = Script::default();
    script.plan("a", [Act::ReadyAfter(3 * SEC)]);
    script.plan("b", [Act::ReadyAfter(2 * SEC)]);
    let builder = Supervisor::builder(script.manager())
        .child(spec("a"))
        .child(spec("b"))
        .child(spec("c"));
    let mut rx = builder.events();
    let started = Instant::now();
    let sup = builder.start().await.unwrap();
    assert_eq!(started.elapsed(), 5 * SEC, "a then b, one after the other");
    let order: Vec<String> = drain(&mut rx).iter().map(brief).collect();
    assert_eq!(
        order,
        [
            "started a",
            "ready a",
            "started b",
            "ready b",
            "started c",
            "ready c"
        ]
    );
    for name in ["a", "b", "c"] {
        assert!(sup.status(&id(name)).unwrap().is_ready(), "{name}");
    }
    assert_eq!(sup.proc_ids(), [id("a"), id("b"), id("c")]);
    sup.stop(SEC).await;
}

#[tokio::test(start_paused = true)]
async fn a_spawn_error_fails_start_and_leaves_nothing_running() {
    let script = Script::default();
    let manager = Arc::new(script.manager());
    // A live proc already holds the id the second child wants.
    let squatter = manager.spawn(id("b"), ChannelAddr::Local(0)).await.unwrap();
    let err = Supervisor::builder::<LocalProcManager>(manager.clone())
        .child(spec("a"))
        .child(spec("b"))
        .child(spec("c"))
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SupervisorError::Spawn { proc_id, .. } if *proc_id == id("b")),
        "{err}"
    );
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!(manager.status(&id("a")).unwrap().is_exit(), "a was stopped");
    assert!(manager.status(&id("c")).is_none(), "c was never spawned");
    assert!(squatter.status().is_ready(), "the other proc is untouched");
}

#[tokio::test(start_paused = true)]
async fn stop_goes_in_reverse_start_order() {
    let script = Script::default();
    let builder = Supervisor::builder(script.manager())
        .child(spec("a"))
        .child(spec("b"))
        .child(spec("c"));
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    drain(&mut rx);
    let summary = sup.stop(10 * SEC).await;
    assert_eq!(
        (
            summary.attempted,
            summary.ok,
            summary.polite,
            summary.killed,
            summary.failed
        ),
        (3, 3, 3, 0, 0)
    );
    let order: Vec<String> = drain(&mut rx).iter().map(brief).collect();
    assert_eq!(order, ["exited c", "exited b", "exited a"]);
    assert_eq!(sup.wait().await, SupervisorExit::Stopped);
    assert_eq!(sup.exit(), Some(SupervisorExit::Stopped));
    // A second stop finds nothing to do.
    assert_eq!(sup.stop(SEC).await.attempted, 0);
}

#[tokio::test(start_paused = true)]
async fn stop_has_one_deadline_for_all_children() {
    let script = Script::default();
    script.plan("a", [Act::Hang]);
    script.plan("b", [Act::Hang]);
    script.plan("c", [Act::Hang]);
    let sup = Supervisor::builder(script.manager())
        .child(spec("a").shutdown(60 * SEC))
        .child(spec("b").shutdown(60 * SEC))
        .child(spec("c").shutdown(60 * SEC))
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    let summary = sup.stop(2 * SEC).await;
    // Not 3 × 2 s, not 3 × 60 s: everything is forced at the one deadline.
    assert_eq!(started.elapsed(), 2 * SEC);
    assert_eq!((summary.attempted, summary.killed), (3, 3));
    for name in ["a", "b", "c"] {
        assert!(
            matches!(sup.status(&id(name)).unwrap(), ProcStatus::Killed { .. }),
            "{name}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_child_shutdown_timeout_bounds_its_own_stop() {
    let script = Script::default();
    script.plan("a", [Act::Hang]);
    let sup = Supervisor::builder(script.manager())
        .child(spec("a").shutdown(SEC))
        .child(spec("b"))
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    let summary = sup.stop(Duration::MAX).await;
    assert_eq!(started.elapsed(), SEC);
    assert_eq!((summary.polite, summary.killed), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_crash_during_stop_is_not_restarted() {
    let script = Script::default();
    // b is stopped first and takes 10 s; a crashes 5 s into that.
    script.plan("a", [Act::ExitAfter(5 * SEC, 1)]);
    script.plan("b", [Act::Hang]);
    let builder = Supervisor::builder(script.manager())
        .intensity(10, Duration::from_secs(60))
        .child(spec("a"))
        .child(spec("b").shutdown(10 * SEC));
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    drain(&mut rx);
    let summary = sup.stop(Duration::MAX).await;
    assert_eq!(summary.attempted, 2);
    quiet_for(60 * SEC).await;
    let order: Vec<String> = drain(&mut rx).iter().map(brief).collect();
    assert_eq!(order, ["exited b", "exited a"]);
    assert_eq!(sup.restarts(&id("a")), 0);
    assert_eq!(script.spawns("a"), 1);
    assert!(matches!(
        sup.status(&id("a")).unwrap(),
        ProcStatus::Stopped { exit_code: 1, .. }
    ));
    assert_eq!(sup.wait().await, SupervisorExit::Stopped);
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_stops_the_children() {
    let script = Script::default();
    let manager = Arc::new(script.manager());
    let sup = Supervisor::builder::<LocalProcManager>(manager.clone())
        .child(spec("a"))
        .child(spec("b"))
        .start()
        .await
        .unwrap();
    let a = sup.handle(&id("a")).unwrap();
    let copy = sup.clone();
    drop(sup);
    assert!(
        copy.status(&id("a")).unwrap().is_ready(),
        "a clone keeps it"
    );
    drop(copy);
    let status = tokio::time::timeout(SHOULD, a.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
        "{status}"
    );
    let b = manager.handle(&id("b")).unwrap();
    assert!(
        tokio::time::timeout(SHOULD, b.wait())
            .await
            .unwrap()
            .unwrap()
            .is_exit()
    );
}

#[tokio::test(start_paused = true)]
async fn bad_settings_are_errors_from_start_and_spawn_nothing() {
    let ms = Duration::from_millis;
    let script = Script::default();
    let cases: Vec<(
        &str,
        proc_manager_supervisor::SupervisorBuilder<LocalProcManager>,
    )> = {
        let b = || Supervisor::builder(script.manager());
        vec![
            (
                "duplicate",
                b().child(spec("a")).child(spec("b")).child(spec("a")),
            ),
            (
                "initial > cap",
                b().child(spec("a").backoff(Backoff::exponential(ms(10), ms(5)))),
            ),
            (
                "jitter > 1",
                b().child(spec("a").backoff(Backoff::none().jitter(1.5))),
            ),
            (
                "jitter < 0",
                b().child(spec("a").backoff(Backoff::none().jitter(-0.1))),
            ),
            (
                "jitter NaN",
                b().child(spec("a").backoff(Backoff::none().jitter(f64::NAN))),
            ),
            (
                "zero period",
                b().intensity(3, Duration::ZERO).child(spec("a")),
            ),
        ]
    };
    for (what, builder) in cases {
        assert!(builder.validate().is_err(), "{what}");
        let err = builder.start().await.unwrap_err();
        let ok = match what {
            "duplicate" => {
                matches!(&err, SupervisorError::DuplicateChild { proc_id } if *proc_id == id("a"))
            }
            "initial > cap" => matches!(
                &err,
                SupervisorError::Backoff {
                    source: BackoffError::InitialExceedsCap { .. },
                    ..
                }
            ),
            "zero period" => matches!(err, SupervisorError::ZeroPeriod),
            _ => matches!(
                &err,
                SupervisorError::Backoff {
                    source: BackoffError::Jitter { .. },
                    ..
                }
            ),
        };
        assert!(ok, "{what}: {err}");
        assert!(!err.to_string().is_empty());
    }
    assert!(
        script.spawn_order().is_empty(),
        "{:?}",
        script.spawn_order()
    );
}

#[tokio::test(start_paused = true)]
async fn every_duration_is_valid_input() {
    let script = Script::default();
    script.plan("w", [Act::ExitAfter(SEC, 1)]);
    let builder = Supervisor::builder(script.manager())
        .intensity(u32::MAX, Duration::MAX)
        .child(
            spec("w")
                .backoff(Backoff::exponential(Duration::ZERO, Duration::MAX).jitter(1.0))
                .min_uptime(Duration::MAX)
                .shutdown(Duration::MAX),
        )
        .child(
            spec("x")
                .backoff(Backoff::exponential(Duration::MAX, Duration::MAX))
                .min_uptime(Duration::ZERO)
                .shutdown(Duration::ZERO),
        );
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    // The first start's Ready, then the Ready after the restart.
    events_until(&mut rx, ready_of("w")).await;
    events_until(&mut rx, ready_of("w")).await;
    assert_eq!(sup.restarts(&id("w")), 1);
    let summary = sup.stop(Duration::MAX).await;
    assert_eq!(summary.attempted, 2);
    // A zero shutdown timeout is "forced at once".
    assert!(matches!(
        sup.status(&id("x")).unwrap(),
        ProcStatus::Killed { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn unknown_ids_have_no_status_handle_or_restarts() {
    let script = Script::default();
    let sup = Supervisor::builder(script.manager())
        .child(spec("a"))
        .start()
        .await
        .unwrap();
    assert!(sup.status(&id("nobody")).is_none());
    assert!(sup.handle(&id("nobody")).is_none());
    assert_eq!(sup.restarts(&id("nobody")), 0);
    assert_eq!(sup.manager().proc_ids(), [id("a")]);
    sup.stop(SEC).await;
}

#[tokio::test(start_paused = true)]
async fn a_supervisor_without_children_starts_and_stops() {
    let script = Script::default();
    let sup = Supervisor::builder(script.manager()).start().await.unwrap();
    assert_eq!(sup.stop(SEC).await.attempted, 0);
    assert_eq!(sup.wait().await, SupervisorExit::Stopped);
}

#[test]
fn start_outside_a_tokio_runtime_is_an_error() {
    let script = Script::default();
    let builder = Supervisor::builder(script.manager()).child(spec("a"));
    let err = futures::executor::block_on(builder.start()).unwrap_err();
    assert!(matches!(err, SupervisorError::NoRuntime), "{err}");
    assert!(script.spawn_order().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_exit_is_known_once_stop_returns() {
    let script = Script::default();
    let sup = Supervisor::builder(script.manager())
        .child(spec("a"))
        .start()
        .await
        .unwrap();
    assert_eq!(sup.exit(), None);
    sup.stop(SEC).await;
    assert_eq!(sup.exit(), Some(SupervisorExit::Stopped));
}
