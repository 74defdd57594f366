//! `ScriptedProcManager` the way a user's unit test drives it: each spawn
//! waits for the test's answer, configs arrive as given, answered handles
//! are registered, errors are returned as is, and a dropped responder,
//! controller or spawn future ends things without hanging.

use std::time::Duration;

use proc_manager_core::{
    ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, ProcStatus, SpawnError,
};
use proc_manager_testkit::mock::{ScriptedProcHandle, ScriptedProcManager, SpawnController};

const SHOULD: Duration = Duration::from_secs(10);

#[derive(Debug, Default, Clone, PartialEq)]
struct WorkerConfig {
    threads: usize,
}

fn id(name: &str) -> ProcId {
    ProcId::new(name).expect("valid id")
}

async fn next<C, H>(
    spawns: &mut SpawnController<C, H>,
) -> (
    proc_manager_testkit::mock::SpawnRequest<C>,
    proc_manager_testkit::mock::SpawnResponder<H>,
) {
    tokio::time::timeout(SHOULD, spawns.next_spawn())
        .await
        .expect("a spawn within the bound")
        .expect("the manager is alive")
}

#[tokio::test]
async fn a_spawn_waits_for_its_answer_then_the_handle_is_registered() {
    let (manager, mut spawns) = ScriptedProcManager::<WorkerConfig>::new(ChannelTransport::Unix);
    let manager = std::sync::Arc::new(manager);
    let spawning = tokio::spawn({
        let manager = manager.clone();
        async move {
            manager
                .spawn_with(
                    id("worker"),
                    ChannelAddr::any(ChannelTransport::Unix),
                    WorkerConfig { threads: 4 },
                )
                .await
        }
    });

    let (request, responder) = next(&mut spawns).await;
    assert_eq!(request.proc_id, id("worker"));
    assert_eq!(request.backend_addr.transport(), ChannelTransport::Unix);
    assert_eq!(request.config, WorkerConfig { threads: 4 });
    assert_eq!(responder.proc_id(), &id("worker"));
    // Unanswered: the spawn cannot have returned, and nothing is registered.
    assert!(!spawning.is_finished());
    assert!(manager.handle(&id("worker")).is_none());
    assert!(manager.proc_ids().is_empty());

    let script = responder.send_scripted();
    let handle = tokio::time::timeout(SHOULD, spawning)
        .await
        .expect("the spawn returns once answered")
        .expect("the task did not panic")
        .expect("answered with a handle");
    assert_eq!(handle.proc_id(), &id("worker"));
    assert_eq!(manager.proc_ids(), vec![id("worker")]);
    assert_eq!(manager.status(&id("worker")), Some(ProcStatus::Starting));

    // The registered handle is the answered proc: it sees the script.
    script.running(12).unwrap();
    let registered = manager.handle(&id("worker")).expect("registered");
    assert_eq!(registered.pid(), Some(12));
    assert_eq!(manager.transport(), ChannelTransport::Unix);
}

#[tokio::test]
async fn plain_spawn_carries_the_default_config() {
    let (manager, mut spawns) = ScriptedProcManager::<WorkerConfig>::new(ChannelTransport::Local);
    let spawning = tokio::spawn(async move {
        manager
            .spawn(id("plain"), ChannelAddr::any(ChannelTransport::Local))
            .await
    });
    let (request, responder) = next(&mut spawns).await;
    assert_eq!(request.config, WorkerConfig::default());
    assert!(responder.send_handle(ScriptedProcHandle::new(id("plain")).0));
    let handle = spawning.await.unwrap().expect("answered with a handle");
    assert_eq!(handle.proc_id(), &id("plain"));
}

#[tokio::test]
async fn an_answered_error_is_returned_as_is_and_nothing_is_registered() {
    let (manager, mut spawns) = ScriptedProcManager::<()>::new(ChannelTransport::Local);
    let manager = std::sync::Arc::new(manager);
    let spawning = tokio::spawn({
        let manager = manager.clone();
        async move {
            manager
                .spawn(id("dup"), ChannelAddr::any(ChannelTransport::Local))
                .await
        }
    });
    let (request, responder) = next(&mut spawns).await;
    assert!(responder.send_error(SpawnError::Duplicate {
        proc_id: request.proc_id
    }));
    let err = spawning.await.unwrap().expect_err("answered with an error");
    assert!(
        matches!(&err, SpawnError::Duplicate { proc_id } if *proc_id == id("dup")),
        "{err}"
    );
    assert!(manager.handle(&id("dup")).is_none());
    assert!(manager.proc_ids().is_empty());
}

#[tokio::test]
async fn a_second_answer_for_the_same_id_replaces_the_first() {
    let (manager, mut spawns) = ScriptedProcManager::<()>::new(ChannelTransport::Local);
    let manager = std::sync::Arc::new(manager);
    for round in 0..2 {
        let spawning = tokio::spawn({
            let manager = manager.clone();
            async move {
                manager
                    .spawn(id("again"), ChannelAddr::any(ChannelTransport::Local))
                    .await
            }
        });
        let (_, responder) = next(&mut spawns).await;
        let script = responder.send_scripted();
        spawning.await.unwrap().expect("answered with a handle");
        script.running(100 + round).unwrap();
    }
    assert_eq!(manager.proc_ids(), vec![id("again")]);
    let latest = manager.handle(&id("again")).expect("registered");
    assert_eq!(latest.pid(), Some(101));
}

#[tokio::test]
async fn a_dropped_responder_fails_the_spawn_with_a_named_io_error() {
    let (manager, mut spawns) = ScriptedProcManager::<()>::new(ChannelTransport::Local);
    let spawning = tokio::spawn(async move {
        manager
            .spawn(id("orphan"), ChannelAddr::any(ChannelTransport::Local))
            .await
    });
    let (_, responder) = next(&mut spawns).await;
    drop(responder);
    let err = tokio::time::timeout(SHOULD, spawning)
        .await
        .expect("the spawn returns")
        .unwrap()
        .expect_err("no answer is an error");
    assert!(matches!(err, SpawnError::Io { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "proc orphan: i/o error during spawn: the test dropped the spawn responder without answering"
    );
}

#[tokio::test]
async fn without_a_controller_every_spawn_is_shut_down() {
    let (manager, spawns) = ScriptedProcManager::<()>::new(ChannelTransport::Local);
    drop(spawns);
    let err = manager
        .spawn(id("late"), ChannelAddr::any(ChannelTransport::Local))
        .await
        .expect_err("no controller");
    assert!(
        matches!(&err, SpawnError::ShutDown { proc_id } if *proc_id == id("late")),
        "{err}"
    );
}

#[tokio::test]
async fn the_controller_ends_when_the_manager_is_gone_and_sees_cancelled_spawns() {
    let (manager, mut spawns) = ScriptedProcManager::<()>::new(ChannelTransport::Local);
    let spawning = tokio::spawn(async move {
        manager
            .spawn(id("cancelled"), ChannelAddr::any(ChannelTransport::Local))
            .await
    });
    let (_, responder) = next(&mut spawns).await;
    spawning.abort();
    assert!(spawning.await.unwrap_err().is_cancelled());
    // The spawn future (and with it the manager) is gone: the answer is
    // refused and the controller sees the end.
    assert!(!responder.send_handle(ScriptedProcHandle::new(id("cancelled")).0));
    assert!(spawns.try_next_spawn().is_none());
    assert!(
        tokio::time::timeout(SHOULD, spawns.next_spawn())
            .await
            .expect("next_spawn returns")
            .is_none()
    );
}

#[test]
fn the_scripted_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ScriptedProcManager<WorkerConfig>>();
    send_sync::<SpawnController<WorkerConfig>>();
    send_sync::<proc_manager_testkit::mock::SpawnResponder>();
    send_sync::<proc_manager_testkit::mock::SpawnRequest<WorkerConfig>>();
}
