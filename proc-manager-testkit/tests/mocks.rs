//! The two kinds of mock, used the way a user's unit tests would: mockall
//! expectations with a custom config type, `Clone` and `BulkTerminate`; and
//! the scripted handle's requests, refusals and end of script.

use std::time::Duration;

use proc_manager_core::{
    BulkTerminate, ChannelAddr, ProcHandle, ProcId, ProcManager, ProcStatus, TerminateError,
    TerminateSummary,
};
use proc_manager_testkit::conformance::check_observed_path;
use proc_manager_testkit::mock::{
    MockProcHandle, MockProcManager, ScriptedProcHandle, StopRequest,
};

const SHOULD: Duration = Duration::from_secs(10);

#[derive(Debug, Default, Clone, PartialEq)]
struct WorkerConfig {
    threads: usize,
}

/// Code under test: spawn with a config, keep a clone of the handle, and
/// stop everything at the end.
async fn run_job<M: ProcManager<Config = WorkerConfig> + BulkTerminate>(
    manager: &M,
) -> Result<(ProcStatus, TerminateSummary), String> {
    let id = ProcId::ranked("job", 0).map_err(|e| e.to_string())?;
    let handle = manager
        .spawn_with(id, ChannelAddr::Local(1), WorkerConfig { threads: 4 })
        .await
        .map_err(|e| e.to_string())?;
    let kept = handle.clone();
    let status = kept.wait().await.map_err(|e| e.to_string())?;
    Ok((
        status,
        manager.terminate_all(Duration::from_secs(1), 8).await,
    ))
}

#[tokio::test]
async fn mock_manager_with_a_custom_config_clone_and_bulk() {
    let mut manager = MockProcManager::<WorkerConfig>::new();
    manager
        .expect_spawn_with()
        .withf(|id, _, config| id.to_string() == "job[0]" && config.threads == 4)
        .times(1)
        .returning(|_, _, _| {
            let mut handle = MockProcHandle::new();
            handle.expect_clone().times(1).returning(|| {
                let mut clone = MockProcHandle::new();
                clone.expect_wait().times(1).returning(|| {
                    Ok(ProcStatus::Stopped {
                        exit_code: 0,
                        stderr_tail: vec![],
                    })
                });
                clone
            });
            Ok(handle)
        });
    manager
        .expect_terminate_all()
        .withf(|timeout, cap| *timeout == Duration::from_secs(1) && *cap == 8)
        .times(1)
        .returning(|_, _| TerminateSummary::new(0, 0, 0, 0));
    let (status, summary) = run_job(&manager).await.unwrap();
    assert!(status.is_exit());
    assert_eq!(summary.attempted, 0);
}

#[tokio::test]
async fn scripted_kill_request_and_watch_path() {
    let (handle, mut script) = ScriptedProcHandle::new(ProcId::new("scripted").unwrap());
    let mut rx = handle.watch();
    script.running(7).unwrap();
    script.ready(ChannelAddr::Local(2)).unwrap();
    let killer = tokio::spawn({
        let handle = handle.clone();
        async move { handle.kill().await }
    });
    let request = tokio::time::timeout(SHOULD, script.next_request())
        .await
        .unwrap();
    assert_eq!(request, Some(StopRequest::Kill));
    assert!(
        script.status().is_stopping(),
        "kill marks the proc Stopping first"
    );
    assert!(
        script.ready(ChannelAddr::Local(3)).is_err(),
        "Stopping never goes back to Ready"
    );
    script.killed(9).unwrap();
    let status = tokio::time::timeout(SHOULD, killer)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(status, ProcStatus::Killed { signal: 9, .. }));

    let mut seen = vec![rx.borrow_and_update().clone()];
    while rx.has_changed().unwrap() {
        seen.push(rx.borrow_and_update().clone());
    }
    check_observed_path(&seen).unwrap();
    assert_eq!(seen.last(), Some(&status));

    match handle.terminate(SHOULD, "again").await {
        Err(TerminateError::AlreadyTerminated { status: again, .. }) => assert_eq!(again, status),
        other => panic!("expected AlreadyTerminated, got {other:?}"),
    }
    assert_eq!(script.try_next_request(), None);
}

#[tokio::test]
async fn a_dropped_script_ends_pending_stops() {
    let (handle, script) = ScriptedProcHandle::new(ProcId::new("orphan").unwrap());
    script.running(1).unwrap();
    let waiting = tokio::spawn({
        let handle = handle.clone();
        async move { handle.terminate(Duration::from_secs(1), "bye").await }
    });
    drop(script);
    let result = tokio::time::timeout(SHOULD, waiting)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(result, Err(TerminateError::ChannelClosed { .. })),
        "{result:?}"
    );
}
