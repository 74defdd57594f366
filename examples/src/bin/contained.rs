//! Contained: a manager whose procs are plain programs (`bash` scripts that
//! fork a `sleep`, and one that also `setsid`s a `sleep` away from its
//! process group), to show that none of them outlives the manager's own
//! process, however it dies.
//!
//! Run `cargo run -p proc-manager-examples --bin contained -- <runtime-dir>
//! <count> [auto|cgroup|process-group]`, note the `PIDS` line, `kill -9` the
//! manager: a moment later every process it started is gone, and so is
//! its runtime dir. (Under `process-group`, the `setsid` child is not
//! started: a process group cannot hold it.) The test
//! `examples/tests/manager_death.rs` does exactly that.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcManager, ChannelAddr, ChannelTransport, Containment, ProcHandle,
    ProcId, ProcManager,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, count, mode) = match args.as_slice() {
        [dir, count] => (dir, count, "auto"),
        [dir, count, mode] => (dir, count, mode.as_str()),
        _ => {
            return Err(
                "usage: contained <runtime-dir> <count> [auto|cgroup|process-group]".into(),
            );
        }
    };
    let containment = match mode {
        "auto" => Containment::Auto,
        "cgroup" => Containment::Cgroup,
        "process-group" => Containment::ProcessGroup,
        other => return Err(format!("unknown containment {other:?}").into()),
    };
    let count: usize = count.parse()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(run(dir, count, containment))
}

async fn run(dir: &str, count: usize, containment: Containment) -> Result<(), BoxError> {
    let probe = BootstrapProcManager::builder(BootstrapCommand::new("/bin/true"))
        .containment(containment)
        .build();
    // Escaping the process group only makes sense where something holds it.
    let script = if probe.containment() == Containment::Cgroup {
        "sleep 300 & setsid sleep 300 & wait"
    } else {
        "sleep 300 & wait"
    };
    drop(probe);
    let manager =
        BootstrapProcManager::builder(BootstrapCommand::new("/bin/bash").args(["-c", script]))
            .containment(containment)
            .runtime_dir(dir)
            .ready_timeout(Duration::MAX)
            .build();
    let mut pids = Vec::new();
    for rank in 0..count {
        let handle = manager
            .spawn(
                ProcId::ranked("plain", rank)?,
                ChannelAddr::any(ChannelTransport::Unix),
            )
            .await?;
        pids.push(handle.pid().ok_or("a running proc has no pid")?.to_string());
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "CONTAINMENT {}", manager.containment())?;
        writeln!(out, "PIDS {}", pids.join(" "))?;
        out.flush()?;
    }
    // Until this process is killed.
    std::future::pending::<()>().await;
    Ok(())
}
