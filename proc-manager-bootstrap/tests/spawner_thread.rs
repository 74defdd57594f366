//! Spawning from a short-lived thread is safe: children are forked by the
//! manager's long-lived spawner thread, so a parent-death signal the child
//! arms does not fire when the calling thread ends.
//!
//! The child arms `PR_SET_PDEATHSIG=SIGKILL` with util-linux `setpriv` (a
//! real, independent implementation of what the bootstrap child does).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcManager, ProcHandle, ProcManager, ProcStatus,
};
use support::*;

fn setpriv() -> Option<std::path::PathBuf> {
    ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_from_a_short_lived_thread_leaves_the_child_alive() {
    let Some(setpriv) = setpriv() else {
        panic!("setpriv (util-linux) is needed to arm a parent-death signal");
    };
    let command =
        BootstrapCommand::new(setpriv).args(["--pdeathsig", "KILL", "--", "sleep", "1000"]);
    let manager = BootstrapProcManager::builder(command)
        .ready_timeout(Duration::from_secs(120))
        .build();
    let runtime = tokio::runtime::Handle::current();
    let (handle, tid) = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: gettid has no preconditions.
                let tid = unsafe { libc::gettid() };
                let handle = runtime
                    .block_on(manager.spawn(id("orphan-safe"), backend()))
                    .unwrap();
                // End this thread only once the child has armed its
                // parent-death signal (setpriv arms it, then execs sleep).
                let pid = handle.pid().unwrap();
                runtime.block_on(within(SHOULD, "exec of sleep", async {
                    while std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .map(|c| c.trim() != "sleep")
                        .unwrap_or(true)
                    {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }));
                (handle, tid)
            })
            .join()
            .unwrap()
    });
    // The thread has fully exited once its /proc entry is gone; any
    // parent-death signal tied to it has been sent by then.
    let task = format!("/proc/self/task/{tid}");
    within(SHOULD, "thread exit", async {
        while std::path::Path::new(&task).exists() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // Had the parent-death SIGKILL been sent when the thread ended, it
    // would already be queued, and a group that is dying of SIGKILL ignores
    // later signals: the exit would be SIGKILL. Our SIGTERM ending it shows
    // the child was alive and unsignalled.
    let status = within(SHOULD, "terminate", handle.terminate(SHOULD, "check"))
        .await
        .unwrap();
    assert_eq!(
        status,
        ProcStatus::Killed {
            signal: libc::SIGTERM,
            core_dumped: false,
            stderr_tail: vec![]
        },
        "the child was killed when the spawning thread ended"
    );
}
