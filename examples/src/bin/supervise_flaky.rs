//! Supervising a flaky real child: a steady echo child and a flaky one that
//! crashes (exit code 3) 300 ms after it becomes ready, every time. The
//! supervisor restarts the flaky one with a growing, jittered back-off
//! until more than 4 restarts fall within 30 s; then it stops both children
//! and gives up. Every supervisor event is printed as it happens.
//!
//! Run it with `cargo run -p proc-manager-examples --bin supervise_flaky`.
//! It ends on its own in a few seconds and leaves no process behind. The
//! program is its own child: started with `PROC_MANAGER_BOOTSTRAP_MODE`
//! set, it runs the child side instead (the config says whether to crash).
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use proc_manager_bootstrap::child::{BoxError, ChildContext};
use proc_manager_bootstrap::echo::EchoServer;
use proc_manager_bootstrap::protocol::BOOTSTRAP_MODE_ENV;
use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcManager, ChannelAddr, ChannelTransport,
    ProcId, ProcManager,
};
use proc_manager_supervisor::{Backoff, ChildSpec, Restart, Supervisor, SupervisorExit};

/// The child: serve echo; with `{"crash_after_ms": N}`, exit 3 after N ms.
async fn child(ctx: ChildContext) -> Result<i32, BoxError> {
    let server = EchoServer::bind(ctx.socket_dir()).await?;
    ctx.ready(server.addr().clone()).await?;
    let crash_after = ctx
        .config()
        .and_then(|c| c.get("crash_after_ms"))
        .and_then(serde_json::Value::as_u64)
        .map(Duration::from_millis);
    let crash = async move {
        match crash_after {
            Some(delay) => tokio::time::sleep(delay).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = server.run(ctx.shutdown_requested()) => Ok(0),
        () = crash => {
            eprintln!("flaky: crashing on purpose");
            Ok(3)
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os(BOOTSTRAP_MODE_ENV).is_some() {
        proc_manager_bootstrap::child::bootstrap(child);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(supervise())
}

async fn supervise() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let manager = BootstrapProcManager::builder(BootstrapCommand::current_exe()?)
        .ready_timeout(Duration::from_secs(10))
        .build();
    let backend = ChannelAddr::any(ChannelTransport::Unix);
    let flaky = BootstrapProcConfig::with_config(serde_json::json!({ "crash_after_ms": 300 }));
    let builder = Supervisor::builder(manager)
        .intensity(4, Duration::from_secs(30))
        .child(ChildSpec::new(ProcId::new("steady")?, backend.clone()))
        .child(
            ChildSpec::new(ProcId::new("flaky")?, backend)
                .config(flaky)
                .restart(Restart::Permanent)
                .backoff(
                    Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1))
                        .jitter(0.2),
                )
                .min_uptime(Duration::from_secs(2))
                .shutdown(Duration::from_secs(2)),
        );
    let mut events = builder.events();
    let printer = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            println!("{:>7.3}s  {event}", started.elapsed().as_secs_f64());
        }
    });

    let sup = builder.start().await?;
    println!("all children ready after {:?}", started.elapsed());
    let exit = tokio::time::timeout(Duration::from_secs(60), sup.wait()).await?;
    let mut report = vec![match &exit {
        SupervisorExit::GaveUp { proc_id, .. } => format!(
            "supervisor gave up on {proc_id} after {} restarts",
            sup.restarts(proc_id)
        ),
        SupervisorExit::Stopped => "supervisor stopped".to_owned(),
    }];
    for id in sup.proc_ids() {
        let status = sup
            .status(id)
            .map_or_else(|| "never started".into(), |s| s.to_string());
        report.push(format!("{id}: {status}"));
    }
    let manager = sup.manager();
    let live = manager
        .proc_ids()
        .iter()
        .filter(|id| manager.status(id).is_some_and(|s| s.is_alive()))
        .count();
    report.push(format!(
        "live procs left: {live}; done in {:?}",
        started.elapsed()
    ));
    // The last handle gone, the event channel closes and the printer ends
    // once it has printed every event.
    drop(sup);
    tokio::time::timeout(Duration::from_secs(5), printer).await??;
    for line in report {
        println!("{line}");
    }
    if live > 0 {
        return Err(format!("{live} procs still running").into());
    }
    Ok(())
}
