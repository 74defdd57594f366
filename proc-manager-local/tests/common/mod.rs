//! Helpers shared by the local backend's integration tests: ids, bounded
//! waits, and a counter of live proc futures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proc_manager_local::{
    ChannelAddr, LocalContext, LocalProcHandle, LocalProcManager, ProcId, ProcManager, ProcStatus,
};

/// How long a "should happen" wait may take on a loaded machine.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

pub(crate) fn id(name: &str) -> ProcId {
    ProcId::new(name).expect("valid id")
}

/// `f`, failing the test if it takes longer than [`PATIENCE`].
pub(crate) async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(PATIENCE, f)
        .await
        .expect("timed out waiting")
}

pub(crate) fn stopped(exit_code: i32) -> ProcStatus {
    ProcStatus::Stopped {
        exit_code,
        stderr_tail: vec![],
    }
}

pub(crate) fn killed() -> ProcStatus {
    ProcStatus::Killed {
        signal: 9,
        core_dumped: false,
        stderr_tail: vec![],
    }
}

/// Counts live values: +1 when made, -1 when dropped. Put one in a proc's
/// future to see when the future is gone.
#[derive(Debug)]
pub(crate) struct Live(Arc<AtomicUsize>);

impl Live {
    pub(crate) fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A fresh counter for [`Live`].
pub(crate) fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

pub(crate) fn count(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

/// Spawns `name` on `manager` with backend `local:1`.
pub(crate) async fn start(manager: &LocalProcManager, name: &str) -> LocalProcHandle {
    manager
        .spawn(id(name), ChannelAddr::Local(1))
        .await
        .expect("spawn")
}

/// A manager whose procs return `Ok(code)` at once.
pub(crate) fn exits_with(code: i32) -> LocalProcManager {
    LocalProcManager::new(move |_ctx: LocalContext| async move { Ok::<i32, String>(code) })
}

/// A manager whose procs return `Ok(0)` at once, and a count of the calls
/// of its proc function.
pub(crate) fn counting_calls() -> (LocalProcManager, Arc<AtomicUsize>) {
    let calls = counter();
    let manager = LocalProcManager::new({
        let calls = calls.clone();
        move |_ctx: LocalContext| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<i32, String>(0) }
        }
    });
    (manager, calls)
}
