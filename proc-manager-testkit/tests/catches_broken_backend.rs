//! The suite fails a broken backend with a readable message, with no backend
//! crate at all: a tiny backend made of `ScriptedProcManager` and a driver
//! task that answers every spawn with a ready `ScriptedProcHandle` (and any
//! stop request with `Killed(SIGKILL)`). Built correctly it refuses a live
//! id and passes `duplicate_id`; broken, it accepts the duplicate and the
//! check fails, saying what it expected and what it saw.
//!
//! The full-suite broken-backend tests (the local backend behind wrappers
//! that each break one rule) are in `proc-manager-local/tests/broken_backend.rs`.

use std::collections::HashMap;
use std::time::Duration;

use proc_manager_core::{ChannelAddr, ChannelTransport, ProcHandle, ProcId, SpawnError};
use proc_manager_testkit::conformance::{self, Behavior, Capabilities, ConformanceTarget, Outcome};
use proc_manager_testkit::mock::{ScriptedProcHandle, ScriptedProcManager, SpawnController};

const SIGKILL: i32 = 9;

/// A scripted backend; `refuses_duplicates: false` is the broken one.
struct Scripted {
    refuses_duplicates: bool,
}

/// Answers each spawn: `Duplicate` for a live id if asked to, else a fresh
/// scripted proc, ready at once, that ends `Killed(SIGKILL)` on any stop.
async fn drive(mut spawns: SpawnController, refuses_duplicates: bool) {
    let mut procs: HashMap<ProcId, ScriptedProcHandle> = HashMap::new();
    let mut next_addr = 0;
    while let Some((request, responder)) = spawns.next_spawn().await {
        let live = procs
            .get(&request.proc_id)
            .is_some_and(|h| h.status().is_alive());
        if refuses_duplicates && live {
            responder.send_error(SpawnError::Duplicate {
                proc_id: request.proc_id,
            });
            continue;
        }
        // Ready before the answer, so the spawn returns a ready proc.
        let (handle, mut script) = ScriptedProcHandle::new(request.proc_id.clone());
        next_addr += 1;
        let started = script
            .running(4242)
            .and_then(|_| script.ready(ChannelAddr::Local(next_addr)));
        if started.is_err() || !responder.send_handle(handle) {
            continue;
        }
        procs.insert(request.proc_id, script.handle());
        tokio::spawn(async move {
            while script.next_request().await.is_some() {
                let _ = script.killed(SIGKILL);
            }
        });
    }
}

impl ConformanceTarget for Scripted {
    type Manager = ScriptedProcManager;

    fn manager(&self) -> ScriptedProcManager {
        let (manager, spawns) = ScriptedProcManager::new(ChannelTransport::Local);
        // Ends when the check drops the manager.
        tokio::spawn(drive(spawns, self.refuses_duplicates));
        manager
    }

    fn config(&self, behavior: &Behavior) -> Option<()> {
        (*behavior == Behavior::ReadyThenServe).then_some(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::in_process(Duration::from_millis(250))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_refusing_live_ids_passes_the_duplicate_check() {
    let result = conformance::check_duplicate_id(&Scripted {
        refuses_duplicates: true,
    })
    .await;
    assert!(result.outcome.is_passed(), "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_accepting_a_live_id_fails_it_saying_what_it_saw() {
    let result = conformance::check_duplicate_id(&Scripted {
        refuses_duplicates: false,
    })
    .await;
    let Outcome::Failed { message } = &result.outcome else {
        panic!("expected the duplicate check to fail: {result}");
    };
    assert!(
        message.starts_with("expected spawning live id conf-duplicate-id-"),
        "{message}"
    );
    assert!(
        message.contains(
            "again to fail with SpawnError::Duplicate, it spawned a second proc (status Ready"
        ),
        "{message}"
    );
}
