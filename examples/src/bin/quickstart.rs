//! Quickstart: spawn a few bootstrap children, watch them start and become
//! ready, talk to each at its ready address, stop them all, print the
//! summary and how each one ended.
//!
//! Run it with `cargo run -p proc-manager-examples --bin quickstart`. The
//! program is its own child: started by the manager (with
//! `PROC_MANAGER_BOOTSTRAP_MODE` set), it runs the echo service instead.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use proc_manager_bootstrap::protocol::BOOTSTRAP_MODE_ENV;
use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcManager, BulkTerminate, ChannelAddr, ChannelTransport,
    ProcHandle, ProcId, ProcManager, TeeSink,
};
use proc_manager_examples::show::{echo_round_trip, print_changes};

const PROCS: usize = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os(BOOTSTRAP_MODE_ENV).is_some() {
        // We are a child: serve echo until asked to stop.
        proc_manager_bootstrap::child::bootstrap(proc_manager_bootstrap::echo::serve);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(manager_main())
}

async fn manager_main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let manager = BootstrapProcManager::builder(BootstrapCommand::current_exe()?)
        .sink(std::sync::Arc::new(TeeSink::new()))
        .ready_timeout(Duration::from_secs(10))
        .build();
    println!("runtime dir: {}", manager.socket_dir().display());

    let backend = ChannelAddr::any(ChannelTransport::Unix);
    let mut handles = Vec::new();
    let mut watchers = Vec::new();
    for rank in 0..PROCS {
        let handle = manager
            .spawn(ProcId::ranked("echo", rank)?, backend.clone())
            .await?;
        watchers.push(tokio::spawn(print_changes(handle.clone())));
        handles.push(handle);
    }

    for handle in &handles {
        let addr = tokio::time::timeout(Duration::from_secs(10), handle.ready()).await??;
        let reply = echo_round_trip(&addr, &format!("hello {}", handle.proc_id())).await?;
        println!(
            "[{}] ready at {addr}; echoed back {reply:?}",
            handle.proc_id()
        );
    }

    let summary = manager.terminate_all(Duration::from_secs(5), 16).await;
    println!("terminate_all: {summary}");
    for watcher in watchers {
        watcher.await?;
    }
    for handle in &handles {
        let status = handle.wait().await?;
        println!("[{}] exit: {status}", handle.proc_id());
    }
    println!("done in {:.2}s", started.elapsed().as_secs_f64());
    Ok(())
}
