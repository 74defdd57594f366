//! End to end on the bootstrap backend with real child processes (the
//! `proc-manager-fake-child`): a child SIGKILLed from outside is restarted and
//! becomes Ready again; a child that keeps crashing makes the supervisor
//! give up with its exit status. Real time, bounded waits.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use proc_manager_bootstrap::{
    BootstrapProcManager, ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcStatus,
};
use proc_manager_fake_child::{self as fake_child, FakeChildScript};
use proc_manager_supervisor::{ChildSpec, Supervisor, SupervisorEvent, SupervisorExit};
use tokio::sync::broadcast;

const SHOULD: Duration = Duration::from_secs(30);

async fn next(rx: &mut broadcast::Receiver<SupervisorEvent>) -> SupervisorEvent {
    tokio::time::timeout(SHOULD, rx.recv())
        .await
        .expect("an event in time")
        .expect("the event channel")
}

/// Whether `pid` is a live (non-zombie) process.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next());
        !matches!(state, Some("Z" | "X") | None)
    })
}

#[tokio::test]
async fn a_child_sigkilled_from_outside_is_restarted_and_ready_again() {
    let id = ProcId::new("echo").unwrap();
    let builder = Supervisor::builder(BootstrapProcManager::new(fake_child::command()))
        .intensity(3, Duration::from_secs(60))
        .child(
            ChildSpec::new(id.clone(), ChannelAddr::any(ChannelTransport::Unix))
                .config(FakeChildScript::serving().into_config()),
        );
    let mut rx = builder.events();
    let sup = builder.start().await.unwrap();
    let first = sup.handle(&id).unwrap();
    let pid = first.pid().unwrap();
    while rx.try_recv().is_ok() {}

    kill(Pid::from_raw(i32::try_from(pid).unwrap()), Signal::SIGKILL).unwrap();

    let mut seen = Vec::new();
    let addr = loop {
        let event = next(&mut rx).await;
        seen.push(event.clone());
        if let SupervisorEvent::Ready { addr, .. } = event {
            break addr;
        }
    };
    assert!(
        matches!(
            &seen[..],
            [
                SupervisorEvent::Exited {
                    status: ProcStatus::Killed { signal: 9, .. },
                    ..
                },
                SupervisorEvent::Restarting { attempt: 1, .. },
                SupervisorEvent::Started { .. },
                SupervisorEvent::Ready { .. },
            ]
        ),
        "{seen:?}"
    );
    assert!(matches!(
        first.status(),
        ProcStatus::Killed { signal: 9, .. }
    ));
    let second = sup.handle(&id).unwrap();
    let new_pid = second.pid().unwrap();
    assert_ne!(new_pid, pid);
    assert!(alive(new_pid));
    assert_eq!(second.addr(), Some(addr));
    assert_eq!(sup.restarts(&id), 1);

    let summary = sup.stop(Duration::from_secs(10)).await;
    assert_eq!((summary.attempted, summary.polite), (1, 1), "{summary}");
    assert!(second.status().is_exit());
    assert!(!alive(new_pid) && !alive(pid));
    assert_eq!(sup.wait().await, SupervisorExit::Stopped);
}

#[tokio::test]
async fn a_real_child_that_keeps_crashing_makes_the_supervisor_give_up() {
    let id = ProcId::new("crasher").unwrap();
    let script = FakeChildScript::serving().exit_after(3, Duration::from_millis(20));
    let sup = Supervisor::builder(BootstrapProcManager::new(fake_child::command()))
        .intensity(2, Duration::from_secs(60))
        .child(
            ChildSpec::new(id.clone(), ChannelAddr::any(ChannelTransport::Unix))
                .config(script.into_config()),
        )
        .start()
        .await
        .unwrap();
    let exit = tokio::time::timeout(SHOULD, sup.wait()).await.unwrap();
    assert!(
        matches!(
            &exit,
            SupervisorExit::GaveUp { proc_id, last_status: ProcStatus::Stopped { exit_code: 3, .. } }
                if *proc_id == id
        ),
        "{exit}"
    );
    assert_eq!(sup.restarts(&id), 2);
    assert!(sup.status(&id).unwrap().is_exit());
}
