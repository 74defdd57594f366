//! One worker, two backends: a worker function written once against
//! [`ProcContext`], run here as real child processes of a
//! [`BootstrapProcManager`], and in this file's tests as tasks of a
//! [`LocalProcManager`](proc_manager_local::LocalProcManager) — the same function, the same statuses.
//!
//! Run it with `cargo run -p proc-manager-examples --bin worker`. The
//! program is its own child: started by the manager (with
//! `PROC_MANAGER_BOOTSTRAP_MODE` set), `main` hands the process to
//! `child::bootstrap(worker)` instead. It spawns one proc per [`JOBS`]
//! entry (one serves until stopped, one returns a code, one returns an
//! error, one panics), prints how each ended, and exits non-zero if any
//! ended otherwise than [`JOBS`] says.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Duration;

use proc_manager_bootstrap::protocol::BOOTSTRAP_MODE_ENV;
use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcManager, ChannelAddr, ProcContext,
    ProcHandle, ProcId, ProcManager, ProcStatus, SpawnError, TeeSink,
};
#[cfg(test)]
use proc_manager_local::{LocalProcConfig, LocalProcManager};
use serde_json::Value;

/// The worker: what it does comes from its config (`{"job": …}`).
async fn worker(ctx: impl ProcContext) -> Result<i32, String> {
    let job = ctx
        .config()
        .and_then(|c| c["job"].as_str())
        .unwrap_or("serve");
    match job {
        "serve" => {
            let addr = ChannelAddr::any(ctx.backend_addr().transport());
            ctx.ready(addr).await.map_err(|e| e.to_string())?;
            ctx.log().stdout(format!("{} serving", ctx.proc_id()));
            let reason = ctx.shutdown_requested().await;
            ctx.log().info(format!("stopping: {reason}"));
            Ok(0)
        }
        "count" => {
            let n = ctx.config().and_then(|c| c["n"].as_i64()).unwrap_or(0);
            for i in 1..=n {
                ctx.log().stdout(format!("counted {i}"));
            }
            i32::try_from(n).map_err(|_| format!("cannot return {n} as an exit code"))
        }
        "fail" => Err(format!("{}: the input shard is missing", ctx.proc_id())),
        "panic" => panic!("{}: index out of range", ctx.proc_id()),
        other => Err(format!("unknown job {other:?}")),
    }
}

/// How each job must end, on every backend.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Stopped(i32),
    Failed(&'static str),
}

/// `(proc name, config, how it must end)`. Reasons are checked without the
/// proc id prefix the worker puts in front.
const JOBS: [(&str, &str, Expect); 4] = [
    ("serve", r#"{"job": "serve"}"#, Expect::Stopped(0)),
    ("count", r#"{"job": "count", "n": 3}"#, Expect::Stopped(3)),
    (
        "fail",
        r#"{"job": "fail"}"#,
        Expect::Failed(": the input shard is missing"),
    ),
    (
        "panic",
        r#"{"job": "panic"}"#,
        Expect::Failed(": index out of range"),
    ),
];

impl Expect {
    fn matches(self, id: &ProcId, status: &ProcStatus) -> bool {
        match (self, status) {
            (Self::Stopped(code), ProcStatus::Stopped { exit_code, .. }) => *exit_code == code,
            (Self::Failed(tail), ProcStatus::Failed { reason, .. }) => {
                let prefix = if reason.starts_with("panicked: ") {
                    format!("panicked: {id}")
                } else {
                    id.to_string()
                };
                *reason == format!("{prefix}{tail}")
            }
            _ => false,
        }
    }
}

/// Runs every job on `manager` (any backend): spawns them, stops the
/// serving one once it is ready, and returns how each ended, in order.
async fn run_jobs<M, C>(
    manager: &M,
    config: C,
) -> Result<Vec<(ProcId, ProcStatus)>, Box<dyn std::error::Error>>
where
    M: ProcManager,
    C: Fn(Value) -> M::Config,
{
    let backend = ChannelAddr::any(manager.transport());
    let mut handles = Vec::new();
    for (name, job, _) in JOBS {
        let id = ProcId::new(name)?;
        let value: Value = serde_json::from_str(job)?;
        let handle = manager
            .spawn_with(id.clone(), backend.clone(), config(value))
            .await
            .map_err(|e: SpawnError| e.to_string())?;
        handles.push(handle);
    }
    let mut ended = Vec::new();
    for handle in &handles {
        let status = if handle.proc_id().as_str() == "serve" {
            let addr = tokio::time::timeout(Duration::from_secs(10), handle.ready()).await??;
            println!("[{}] ready at {addr}", handle.proc_id());
            handle
                .terminate(Duration::from_secs(5), "the demo is over")
                .await?
        } else {
            tokio::time::timeout(Duration::from_secs(10), handle.wait()).await??
        };
        ended.push((handle.proc_id().clone(), status));
    }
    Ok(ended)
}

/// Checks each ended proc against [`JOBS`]; returns the mismatches.
fn mismatches(ended: &[(ProcId, ProcStatus)]) -> Vec<String> {
    JOBS.iter()
        .zip(ended)
        .filter(|((_, _, expect), (id, status))| !expect.matches(id, status))
        .map(|((_, _, expect), (id, status))| {
            format!("{id}: expected {expect:?}, ended {status:?}")
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os(BOOTSTRAP_MODE_ENV).is_some() {
        // We are a child: run the worker, exit with what it returns.
        proc_manager_bootstrap::child::bootstrap(worker);
    }
    let ended = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            // The children's lines, prefixed with their id, on our stdio.
            let manager = BootstrapProcManager::builder(BootstrapCommand::current_exe()?)
                .sink(Arc::new(TeeSink::new()))
                .build();
            run_jobs(&manager, BootstrapProcConfig::with_config).await
        })?;
    for (id, status) in &ended {
        println!("[{id}] ended: {status}");
    }
    let wrong = mismatches(&ended);
    if wrong.is_empty() {
        println!("every job ended as expected");
        Ok(())
    } else {
        Err(wrong.join("; ").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same worker and the same jobs as `main`, as local procs: the
    /// same statuses.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_worker_ends_the_same_way_in_process() {
        let manager = LocalProcManager::new(worker);
        let ended = run_jobs(&manager, LocalProcConfig::with_config)
            .await
            .expect("every job ran");
        assert_eq!(ended.len(), JOBS.len());
        assert_eq!(mismatches(&ended), Vec::<String>::new());
        assert_eq!(
            ended[2].1,
            ProcStatus::Failed {
                reason: "fail: the input shard is missing".into(),
                stderr_tail: vec![]
            }
        );
        assert_eq!(
            ended[3].1,
            ProcStatus::Failed {
                reason: "panicked: panic: index out of range".into(),
                stderr_tail: vec![]
            }
        );
    }
}
