//! Bad input at spawn: a missing or non-executable program, a duplicate id,
//! an oversized config. Each fails with a `SpawnError` naming the proc and
//! leaves nothing behind.

#![allow(clippy::unwrap_used)]

mod support;

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcManager, Containment, ProcHandle,
    ProcManager, ProcStatus, SpawnError,
};
use std::os::unix::fs::PermissionsExt;
use support::*;

fn nothing_left(manager: &BootstrapProcManager, name: &str) {
    assert!(manager.status(&id(name)).is_none());
    assert!(manager.proc_ids().is_empty());
    assert_eq!(manager.live_groups(), 0);
    // No proc dir (the manager's own log socket may be there).
    if let Ok(entries) = std::fs::read_dir(manager.socket_dir()) {
        let left: Vec<_> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

#[tokio::test]
async fn nonexistent_program_is_bad_command_naming_proc_and_program() {
    let manager = BootstrapProcManager::new(BootstrapCommand::new("/nonexistent/prog-xyz"));
    let err = manager.spawn(id("ghost"), backend()).await.unwrap_err();
    assert!(matches!(err, SpawnError::BadCommand { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("ghost") && text.contains("/nonexistent/prog-xyz"),
        "{text}"
    );
    nothing_left(&manager, "ghost");
}

#[tokio::test]
async fn a_program_not_in_path_is_bad_command_under_either_containment() {
    for containment in [Containment::ProcessGroup, Containment::Auto] {
        let manager = BootstrapProcManager::builder(BootstrapCommand::new("no-such-prog-xyz"))
            .containment(containment)
            .build();
        let err = manager.spawn(id("unfound"), backend()).await.unwrap_err();
        assert!(
            matches!(err, SpawnError::BadCommand { .. }),
            "{containment}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("unfound") && text.contains("no-such-prog-xyz"),
            "{containment}: {text}"
        );
        nothing_left(&manager, "unfound");
    }
}

#[tokio::test]
async fn non_executable_program_is_bad_command_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-exec");
    std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let manager = BootstrapProcManager::new(BootstrapCommand::new(&path));
    let err = manager.spawn(id("noexec"), backend()).await.unwrap_err();
    assert!(matches!(err, SpawnError::BadCommand { .. }), "{err:?}");
    assert!(err.to_string().contains("noexec") && err.to_string().contains("not-exec"));
    nothing_left(&manager, "noexec");
}

#[tokio::test]
async fn duplicate_live_id_is_refused_and_first_proc_untouched() {
    let manager = manager("exec sleep 1000");
    let first = manager.spawn(id("dup"), backend()).await.unwrap();
    let pid = first.pid().unwrap();
    let err = manager.spawn(id("dup"), backend()).await.unwrap_err();
    assert!(matches!(err, SpawnError::Duplicate { .. }), "{err:?}");
    assert!(err.to_string().contains("dup"));
    assert_eq!(first.pid(), Some(pid));
    assert!(matches!(first.status(), ProcStatus::Running { .. }));
    assert!(alive(pid));
    assert_eq!(manager.live_groups(), 1);
    first.kill().await.unwrap();
}

#[tokio::test]
async fn concurrent_spawns_of_one_id_yield_exactly_one_proc() {
    let manager = manager("exec sleep 1000");
    let results =
        futures::future::join_all((0..8).map(|_| manager.spawn(id("race"), backend()))).await;
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, SpawnError::Duplicate { .. }))
    );
    assert_eq!(manager.live_groups(), 1);
    ok[0].kill().await.unwrap();
}

#[tokio::test]
async fn ended_proc_id_can_be_reused() {
    let manager = manager("exit 0");
    let first = manager.spawn(id("again"), backend()).await.unwrap();
    assert!(matches!(
        wait_end(&first).await,
        ProcStatus::Stopped { exit_code: 0, .. }
    ));
    let second = manager.spawn(id("again"), backend()).await.unwrap();
    assert!(matches!(
        wait_end(&second).await,
        ProcStatus::Stopped { exit_code: 0, .. }
    ));
    assert_eq!(manager.proc_ids().len(), 1);
}

#[tokio::test]
async fn oversized_config_is_bad_config_before_spawning() {
    let manager = manager("exit 0");
    let big = serde_json::Value::String("x".repeat(200 * 1024));
    let err = manager
        .spawn_with(id("big"), backend(), BootstrapProcConfig::with_config(big))
        .await
        .unwrap_err();
    assert!(matches!(err, SpawnError::BadConfig { .. }), "{err:?}");
    assert!(err.to_string().contains("big") && err.to_string().contains("limit"));
    nothing_left(&manager, "big");
}

#[tokio::test]
async fn too_long_runtime_dir_is_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("d".repeat(120));
    let manager = BootstrapProcManager::builder(sh("exit 0"))
        .runtime_dir(&long)
        .build();
    let err = manager.spawn(id("longpath"), backend()).await.unwrap_err();
    assert!(matches!(err, SpawnError::BadConfig { .. }), "{err:?}");
    nothing_left(&manager, "longpath");
}

#[tokio::test]
async fn spawn_returns_running_with_pid_and_payload_in_env() {
    let manager = manager("exec sleep 1000");
    let config = BootstrapProcConfig::with_config(serde_json::json!({"k": 1})).env("EXTRA", "yes");
    let handle = manager
        .spawn_with(id("env"), backend(), config)
        .await
        .unwrap();
    let pid = match handle.status() {
        ProcStatus::Running { pid, .. } => pid,
        other => panic!("expected Running, got {other}"),
    };
    let env = child_env(pid);
    assert_eq!(
        manager.transport(),
        proc_manager_bootstrap::ChannelTransport::Unix
    );
    assert_eq!(env.parent_pid, std::process::id());
    assert_eq!(env.proc_id, id("env"));
    assert_eq!(env.config, Some(serde_json::json!({"k": 1})));
    assert_eq!(env.token.len(), 32);
    assert!(environ(pid).iter().any(|v| v == b"EXTRA=yes"));
    // The private dirs are 0700.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(manager.socket_dir()), 0o700);
    assert_eq!(mode(&env.socket_dir), 0o700);
    // Its own process group, stdin closed.
    let pgid = rustix::process::getpgid(rustix::process::Pid::from_raw(pid as i32)).unwrap();
    assert_eq!(pgid.as_raw_nonzero().get() as u32, pid);
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap(),
        std::path::Path::new("/dev/null")
    );
    let status = within(SHOULD, "kill", handle.kill()).await.unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 9, .. }),
        "{status}"
    );
    // The proc's private dir is removed (in the background) once it ended.
    within(SHOULD, "proc dir removed", async {
        while env.socket_dir.exists() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(manager.live_groups(), 0);
}

#[tokio::test]
async fn managers_sharing_a_runtime_dir_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    // A shared dir the user chose keeps its mode; the per-proc dirs are private.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let first = BootstrapProcManager::builder(sh("exec sleep 1000"))
        .runtime_dir(dir.path())
        .build();
    let second = BootstrapProcManager::builder(sh("exec sleep 1000"))
        .runtime_dir(dir.path())
        .build();
    let a = first.spawn(id("shared"), backend()).await.unwrap();
    let b = second.spawn(id("shared"), backend()).await.unwrap();
    assert_ne!(
        child_env(a.pid().unwrap()).socket_dir,
        child_env(b.pid().unwrap()).socket_dir
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.path()), 0o755);
    assert_eq!(mode(&child_env(a.pid().unwrap()).socket_dir), 0o700);
    a.kill().await.unwrap();
    b.kill().await.unwrap();
    drop((first, second));
    assert!(
        dir.path().exists(),
        "a runtime dir the managers did not create is kept"
    );
}
