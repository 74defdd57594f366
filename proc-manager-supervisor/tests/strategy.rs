//! The three strategies as OTP defines them — who is stopped (in reverse
//! start order), who is started again (in start order), who is counted as
//! restarted — and the children a restart must not take along, on the
//! local backend in paused time.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use proc_manager_local::{ChannelAddr, LocalProcManager};
use proc_manager_supervisor::{ChildSpec, Restart, Strategy, Supervisor, SupervisorBuilder};

const SEC: Duration = Duration::from_secs(1);

fn three(script: &Script, strategy: Strategy) -> SupervisorBuilder<LocalProcManager> {
    Supervisor::builder(script.manager())
        .strategy(strategy)
        .intensity(10, Duration::from_secs(60))
        .child(ChildSpec::new(id("a"), ChannelAddr::Local(0)))
        .child(ChildSpec::new(id("b"), ChannelAddr::Local(0)))
        .child(ChildSpec::new(id("c"), ChannelAddr::Local(0)))
}

/// Runs a, b, c where b crashes once; returns the events from b's end to
/// the last Ready that follows, as `brief` strings.
async fn b_crashes(strategy: Strategy) -> (Vec<String>, Script, [u64; 3]) {
    let script = Script::default();
    script.plan("b", [Act::ExitAfter(SEC, 1)]);
    let builder = three(&script, strategy);
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    drain(&mut rx);
    let last_ready = match strategy {
        Strategy::OneForOne => "b",
        _ => "c",
    };
    let events = events_until(&mut rx, ready_of(last_ready)).await;
    quiet_for(10 * SEC).await;
    let more: Vec<String> = drain(&mut rx).iter().map(brief).collect();
    assert!(more.is_empty(), "{strategy:?}: unexpected {more:?}");
    let restarts = ["a", "b", "c"].map(|n| sup.restarts(&id(n)));
    sup.stop(10 * SEC).await;
    (events.iter().map(brief).collect(), script, restarts)
}

#[tokio::test(start_paused = true)]
async fn one_for_one_restarts_only_the_ended_child() {
    let (events, script, restarts) = b_crashes(Strategy::OneForOne).await;
    assert_eq!(events, ["exited b", "restarting b", "started b", "ready b"]);
    assert_eq!(restarts, [0, 1, 0]);
    assert_eq!(
        [script.spawns("a"), script.spawns("b"), script.spawns("c")],
        [1, 2, 1]
    );
}

#[tokio::test(start_paused = true)]
async fn one_for_all_stops_the_others_in_reverse_order_and_restarts_all_in_order() {
    let (events, script, restarts) = b_crashes(Strategy::OneForAll).await;
    assert_eq!(
        events,
        [
            "exited b",
            "exited c",
            "exited a",
            "restarting a",
            "restarting b",
            "restarting c",
            "started a",
            "ready a",
            "started b",
            "ready b",
            "started c",
            "ready c",
        ]
    );
    // Every child counts the restart, whatever caused it.
    assert_eq!(restarts, [1, 1, 1]);
    assert_eq!(
        script.spawn_order(),
        ["a", "b", "c", "a", "b", "c"],
        "all started again in start order"
    );
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_the_ended_child_and_those_after_it() {
    let (events, script, restarts) = b_crashes(Strategy::RestForOne).await;
    assert_eq!(
        events,
        [
            "exited b",
            "exited c",
            "restarting b",
            "restarting c",
            "started b",
            "ready b",
            "started c",
            "ready c",
        ]
    );
    assert_eq!(restarts, [0, 1, 1]);
    assert_eq!(script.spawn_order(), ["a", "b", "c", "b", "c"]);
}

#[tokio::test(start_paused = true)]
async fn a_temporary_sibling_stopped_by_one_for_all_is_not_restarted() {
    let script = Script::default();
    script.plan("b", [Act::ExitAfter(SEC, 1)]);
    let builder = Supervisor::builder(script.manager())
        .strategy(Strategy::OneForAll)
        .intensity(10, Duration::from_secs(60))
        .child(ChildSpec::new(id("a"), ChannelAddr::Local(0)))
        .child(ChildSpec::new(id("b"), ChannelAddr::Local(0)))
        .child(ChildSpec::new(id("t"), ChannelAddr::Local(0)).restart(Restart::Temporary));
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    drain(&mut rx);
    let events: Vec<String> = events_until(&mut rx, ready_of("b"))
        .await
        .iter()
        .map(brief)
        .collect();
    assert_eq!(
        events,
        [
            "exited b",
            "exited t",
            "exited a",
            "restarting a",
            "restarting b",
            "started a",
            "ready a",
            "started b",
            "ready b",
        ]
    );
    quiet_for(10 * SEC).await;
    assert!(drain(&mut rx).is_empty());
    assert_eq!(sup.restarts(&id("t")), 0);
    assert!(sup.status(&id("t")).unwrap().is_exit());
    assert_eq!(script.spawns("t"), 1);
    sup.stop(10 * SEC).await;
}

#[tokio::test(start_paused = true)]
async fn a_child_that_is_not_restarted_takes_nobody_along() {
    for strategy in [Strategy::OneForAll, Strategy::RestForOne] {
        let script = Script::default();
        script.plan("a", [Act::ExitAfter(SEC, 0)]);
        script.plan("t", [Act::ExitAfter(2 * SEC, 1)]);
        let builder = Supervisor::builder(script.manager())
            .strategy(strategy)
            .intensity(10, Duration::from_secs(60))
            .child(ChildSpec::new(id("a"), ChannelAddr::Local(0)).restart(Restart::Transient))
            .child(ChildSpec::new(id("t"), ChannelAddr::Local(0)).restart(Restart::Temporary))
            .child(ChildSpec::new(id("c"), ChannelAddr::Local(0)));
        let mut rx = builder.events();
        let sup = builder.start().await.unwrap();
        drain(&mut rx);
        quiet_for(10 * SEC).await;
        let events: Vec<String> = drain(&mut rx).iter().map(brief).collect();
        assert_eq!(events, ["exited a", "exited t"], "{strategy:?}");
        assert!(sup.status(&id("c")).unwrap().is_ready(), "{strategy:?}");
        assert_eq!(script.spawns("c"), 1, "{strategy:?}");
        sup.stop(10 * SEC).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_second_crash_while_a_group_restart_waits_out_its_back_off_is_folded_in() {
    // RestForOne: c crashes (c restarts after 5 s); meanwhile a crashes,
    // which takes b and c along: every child is started again in order,
    // c once.
    let script = Script::default();
    script.plan("c", [Act::ExitAfter(SEC, 1)]);
    script.plan("a", [Act::ExitAfter(2 * SEC, 1)]);
    let backoff = proc_manager_supervisor::Backoff::exponential(5 * SEC, 5 * SEC);
    let builder = Supervisor::builder(script.manager())
        .strategy(Strategy::RestForOne)
        .intensity(10, Duration::from_secs(60))
        .child(ChildSpec::new(id("a"), ChannelAddr::Local(0)).backoff(backoff))
        .child(ChildSpec::new(id("b"), ChannelAddr::Local(0)).backoff(backoff))
        .child(ChildSpec::new(id("c"), ChannelAddr::Local(0)).backoff(backoff));
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    drain(&mut rx);
    let events: Vec<String> = events_until(&mut rx, ready_of("c"))
        .await
        .iter()
        .map(brief)
        .collect();
    assert_eq!(
        events,
        [
            "exited c",
            "restarting c",
            "exited a",
            "exited b",
            "restarting a",
            "restarting b",
            "started a",
            "ready a",
            "started b",
            "ready b",
            "started c",
            "ready c",
        ]
    );
    assert_eq!(["a", "b", "c"].map(|n| sup.restarts(&id(n))), [1, 1, 1]);
    quiet_for(10 * SEC).await;
    assert!(drain(&mut rx).is_empty());
    assert_eq!(script.spawn_order(), ["a", "b", "c", "a", "b", "c"]);
    sup.stop(10 * SEC).await;
}
