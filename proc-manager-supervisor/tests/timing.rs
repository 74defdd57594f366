//! Back-off (doubling, cap, reset after `min_uptime`, jitter bounds, the
//! delay actually waited) and liveness probes (misses in a row stop the
//! child, its restart policy applies, passes keep it up), on the local
//! backend in paused time.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use proc_manager_local::{ChannelAddr, LocalProcHandle, ProcStatus};
use proc_manager_supervisor::{Backoff, ChildSpec, Liveness, Restart, Supervisor, SupervisorEvent};
use tokio::time::Instant;

const SEC: Duration = Duration::from_secs(1);

/// For each restart: the announced delay, and the time from the end to
/// the next spawn.
async fn restart_delays(
    script: &Script,
    spec: ChildSpec<proc_manager_local::LocalProcManager>,
    restarts: usize,
) -> Vec<(Duration, Duration)> {
    let builder = Supervisor::builder(script.manager())
        .intensity(1_000, Duration::from_secs(60))
        .child(spec);
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    let mut delays = Vec::new();
    let mut ended_at = Instant::now();
    let mut announced = Duration::ZERO;
    while delays.len() < restarts {
        match next_event(&mut rx).await {
            SupervisorEvent::Exited { .. } => ended_at = Instant::now(),
            SupervisorEvent::Restarting { delay, .. } => announced = delay,
            SupervisorEvent::Started { .. } if sup.restarts(&id("w")) > 0 => {
                delays.push((announced, ended_at.elapsed()));
            }
            _ => {}
        }
    }
    sup.stop(SEC).await;
    delays
}

#[tokio::test(start_paused = true)]
async fn back_off_doubles_up_to_its_cap_and_is_waited_out() {
    let script = Script::default();
    script.plan(
        "w",
        std::iter::repeat_n(Act::ExitAfter(Duration::from_millis(10), 1), 6),
    );
    let spec = ChildSpec::new(id("w"), ChannelAddr::Local(0))
        .backoff(Backoff::exponential(SEC, 5 * SEC))
        .min_uptime(Duration::from_secs(3600));
    let delays = restart_delays(&script, spec, 6).await;
    let secs = |s: u64| Duration::from_secs(s);
    assert_eq!(
        delays,
        [1, 2, 4, 5, 5, 5].map(|s| (secs(s), secs(s))),
        "(announced, waited)"
    );
}

#[tokio::test(start_paused = true)]
async fn back_off_starts_again_once_the_child_stayed_up_for_min_uptime() {
    let script = Script::default();
    let quick = Act::ExitAfter(Duration::from_millis(10), 1);
    script.plan(
        "w",
        [
            quick.clone(),
            quick.clone(),
            quick.clone(),
            // Up 5 s: longer than min_uptime, so the next delay is 1 s again.
            Act::ExitAfter(5 * SEC, 1),
            quick.clone(),
            // Up exactly min_uptime: that is long enough.
            Act::ExitAfter(4 * SEC, 1),
            quick,
        ],
    );
    let spec = ChildSpec::new(id("w"), ChannelAddr::Local(0))
        .backoff(Backoff::exponential(SEC, 60 * SEC))
        .min_uptime(4 * SEC);
    let announced: Vec<u64> = restart_delays(&script, spec, 7)
        .await
        .iter()
        .map(|(d, _)| d.as_secs())
        .collect();
    assert_eq!(announced, [1, 2, 4, 1, 2, 1, 2]);
}

#[tokio::test(start_paused = true)]
async fn jittered_delays_stay_within_their_fraction_and_vary() {
    let script = Script::default();
    script.plan(
        "w",
        std::iter::repeat_n(Act::ExitAfter(Duration::from_millis(10), 1), 40),
    );
    let spec = ChildSpec::new(id("w"), ChannelAddr::Local(0))
        .backoff(Backoff::exponential(10 * SEC, 10 * SEC).jitter(0.3))
        .min_uptime(Duration::from_secs(3600));
    let delays = restart_delays(&script, spec, 40).await;
    for (announced, waited) in &delays {
        assert!(
            (7 * SEC..=13 * SEC).contains(announced),
            "{announced:?} outside 10 s ± 30 %"
        );
        // The clock is paused: the wait is the announced delay to the tick.
        assert!(
            waited.abs_diff(*announced) <= Duration::from_millis(1),
            "{waited:?} vs {announced:?}"
        );
    }
    let min = delays.iter().map(|d| d.0).min().unwrap();
    let max = delays.iter().map(|d| d.0).max().unwrap();
    assert!(
        max - min > 2 * SEC,
        "40 jittered delays spread only {min:?}..{max:?}"
    );
}

/// A probe that passes while `healthy` is set.
fn probe(healthy: &Arc<AtomicBool>, failures: u32) -> Liveness<LocalProcHandle> {
    let healthy = healthy.clone();
    Liveness::probe(
        SEC,
        Duration::from_millis(100),
        failures,
        move |_h: LocalProcHandle| {
            let ok = healthy.load(Ordering::SeqCst);
            async move { if ok { Ok(()) } else { Err("unhealthy") } }
        },
    )
}

#[tokio::test(start_paused = true)]
async fn liveness_misses_in_a_row_stop_the_child_and_it_is_restarted() {
    for restart in [Restart::Permanent, Restart::Transient] {
        let script = Script::default();
        let healthy = Arc::new(AtomicBool::new(true));
        let builder = Supervisor::builder(script.manager())
            .intensity(10, Duration::from_secs(60))
            .child(
                ChildSpec::new(id("w"), ChannelAddr::Local(0))
                    .restart(restart)
                    .liveness(probe(&healthy, 3)),
            );
        let mut rx = builder.events();
        let sup = builder.start().await.unwrap();
        drain(&mut rx);
        quiet_for(10 * SEC).await;
        assert!(drain(&mut rx).is_empty(), "passing probes change nothing");
        let old = sup.handle(&id("w")).unwrap();
        healthy.store(false, Ordering::SeqCst);
        let unhealthy_at = Instant::now();
        let events = events_until(&mut rx, |e| matches!(e, SupervisorEvent::Exited { .. })).await;
        let Some(SupervisorEvent::Exited { status, .. }) = events.last() else {
            unreachable!()
        };
        // Three checks a second apart, the first within a second.
        let took = unhealthy_at.elapsed();
        assert!((2 * SEC..=3 * SEC).contains(&took), "{took:?}");
        assert!(
            matches!(status, ProcStatus::Failed { reason, .. }
                if reason.starts_with("liveness: 3 checks missed in a row") && reason.contains("unhealthy")),
            "{status}"
        );
        healthy.store(true, Ordering::SeqCst);
        events_until(&mut rx, ready_of("w")).await;
        // The proc itself was stopped politely.
        assert!(matches!(
            proc_manager_local::ProcHandle::status(&old),
            ProcStatus::Stopped { exit_code: 0, .. }
        ));
        assert_eq!(sup.restarts(&id("w")), 1, "{restart:?}");
        quiet_for(10 * SEC).await;
        assert!(drain(&mut rx).is_empty());
        sup.stop(SEC).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_temporary_child_failing_its_probe_stays_down() {
    let script = Script::default();
    let healthy = Arc::new(AtomicBool::new(false));
    let builder = Supervisor::builder(script.manager()).child(
        ChildSpec::new(id("w"), ChannelAddr::Local(0))
            .restart(Restart::Temporary)
            .liveness(probe(&healthy, 1)),
    );
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    events_until(&mut rx, |e| matches!(e, SupervisorEvent::Exited { .. })).await;
    quiet_for(10 * SEC).await;
    assert!(drain(&mut rx).is_empty());
    assert_eq!(script.spawns("w"), 1);
    assert_eq!(sup.restarts(&id("w")), 0);
    sup.stop(SEC).await;
}

#[tokio::test(start_paused = true)]
async fn zero_back_off_restarts_without_waiting_for_a_timer_tick() {
    // tokio rounds timer deadlines up to the next millisecond: a restart
    // that is due now must not go through a timer. The crash comes between
    // two ticks.
    let script = Script::default();
    let builder = Supervisor::builder(script.manager())
        .child(ChildSpec::new(id("w"), ChannelAddr::Local(0)).backoff(Backoff::none()));
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    drain(&mut rx);
    tokio::time::advance(Duration::from_micros(1500)).await;
    let crashed_at = Instant::now();
    proc_manager_local::ProcHandle::kill(&sup.handle(&id("w")).unwrap())
        .await
        .unwrap();
    events_until(&mut rx, ready_of("w")).await;
    assert_eq!(crashed_at.elapsed(), Duration::ZERO);
    sup.stop(SEC).await;
}
