//! The scripted bootstrap child used by tests: see
//! `proc_manager_fake_child::FakeChildScript`.
//!
//! Started as `fake-child --manager <runtime-dir> <count>` it plays a
//! manager instead: it spawns `count` serving fake children under a
//! `BootstrapProcManager` whose runtime dir is `<runtime-dir>`, prints
//! `PIDS <pid> <pid> …` once all are ready, and waits to be killed. Tests of
//! "the manager's process dies" kill it and check its children go too.

#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcManager, ChannelAddr, ChannelTransport, ProcHandle, ProcId,
    ProcManager,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--manager") {
        if let Err(err) = manager_role(&args[1..]) {
            eprintln!("fake-child --manager: {err}");
            std::process::exit(1);
        }
        return;
    }
    proc_manager_fake_child::record_inherited_fds();
    proc_manager_bootstrap::child::bootstrap(proc_manager_fake_child::run)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn manager_role(args: &[String]) -> Result<(), BoxError> {
    let [dir, count] = args else {
        return Err("usage: fake-child --manager <runtime-dir> <count>".into());
    };
    let count: usize = count.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let manager = BootstrapProcManager::builder(BootstrapCommand::current_exe()?)
            .runtime_dir(PathBuf::from(dir))
            .ready_timeout(Duration::from_secs(60))
            .build();
        let mut pids = Vec::new();
        for rank in 0..count {
            let handle = manager
                .spawn(
                    ProcId::ranked("orphan", rank)?,
                    ChannelAddr::any(ChannelTransport::Unix),
                )
                .await?;
            handle.ready().await?;
            pids.push(handle.pid().ok_or("a ready child has no pid")?.to_string());
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "PIDS {}", pids.join(" "))?;
        out.flush()?;
        drop(out);
        // Keep the manager alive until this process is killed.
        std::future::pending::<()>().await;
        Ok::<(), BoxError>(())
    })
}
