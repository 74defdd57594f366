//! Out of file descriptors: under a low `RLIMIT_NOFILE` the spawn that
//! would pass it fails at once with a `SpawnError` that names the limit
//! (never a hang, never a misleading cause), the procs already running are
//! untouched, and spawning works again once they have ended.
//!
//! One test in this file on purpose: it lowers the limit of its own process.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcManager, ChannelAddr, ChannelTransport, ProcHandle, ProcId,
    ProcManager, SpawnError,
};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

const ANSWER: Duration = Duration::from_secs(10);

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_past_the_open_files_limit_is_a_spawn_error_naming_it() {
    let manager = BootstrapProcManager::new(BootstrapCommand::new("/bin/sleep").arg("60"));
    let backend = ChannelAddr::any(ChannelTransport::Unix);
    let id = |i: usize| ProcId::ranked("fd", i).unwrap();
    // Warm up (the runtime opens some fds lazily), then leave room for a
    // few procs only.
    let warm = manager.spawn(id(0), backend.clone()).await.unwrap();
    warm.kill().await.unwrap();
    tokio::time::timeout(ANSWER, warm.wait())
        .await
        .unwrap()
        .unwrap();
    let saved = getrlimit(Resource::Nofile);
    let low = open_fds() + 40;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(low),
            maximum: saved.maximum,
        },
    )
    .unwrap();

    let mut handles = Vec::new();
    let mut refusal = None;
    for i in 1..=60 {
        match tokio::time::timeout(ANSWER, manager.spawn(id(i), backend.clone())).await {
            Ok(Ok(handle)) => handles.push(handle),
            Ok(Err(err)) => {
                refusal = Some(err);
                break;
            }
            Err(_) => panic!("spawn {i} under RLIMIT_NOFILE {low}: no answer within {ANSWER:?}"),
        }
    }
    setrlimit(Resource::Nofile, saved).unwrap();

    let err = refusal.expect("40 spare fds cannot hold 60 procs");
    assert!(matches!(err, SpawnError::Io { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("RLIMIT_NOFILE soft limit of {low} open files")),
        "{text}"
    );
    assert!(text.contains(err.proc_id().as_str()), "{text}");
    assert!(
        handles.len() >= 4,
        "only {} procs fit in 40 fds",
        handles.len()
    );
    for h in &handles {
        assert!(h.status().is_alive(), "{}", h.status());
        h.kill().await.unwrap();
    }
    for h in &handles {
        tokio::time::timeout(ANSWER, h.wait())
            .await
            .unwrap()
            .unwrap();
    }
    let again = manager.spawn(id(100), backend).await.unwrap();
    again.kill().await.unwrap();
    tokio::time::timeout(ANSWER, again.wait())
        .await
        .unwrap()
        .unwrap();
}
