//! `LocalProcManager` passes the whole conformance suite: one named test per
//! check, plus a run of them all that must report no failure. The checks
//! that need OS processes and signals run in their in-process form.

use std::time::Duration;

use proc_manager_local::{
    BulkTerminate, ChannelAddr, ChannelTransport, LocalProcConfig, LocalProcManager, ProcContext,
};
use proc_manager_testkit::conformance::{self, Behavior, Capabilities, ConformanceTarget};

/// Each behaviour is passed as JSON in the config; one proc function reads
/// it and acts it out.
struct LocalTarget;

async fn act(ctx: ProcContext) -> Result<i32, String> {
    let behavior: Behavior = ctx
        .config()
        .cloned()
        .ok_or("no behaviour in the config")
        .and_then(|v| serde_json::from_value(v).map_err(|_| "not a behaviour"))?;
    let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
    let addr = ChannelAddr::any(ChannelTransport::Local);
    match behavior {
        Behavior::ReadyThenServe => {
            ctx.ready(addr);
            ctx.shutdown_requested().await;
            Ok(0)
        }
        Behavior::ReadyThenSlowStop { delay_ms } => {
            ctx.ready(addr);
            ctx.shutdown_requested().await;
            sleep(delay_ms).await;
            Ok(0)
        }
        Behavior::ReadyThenIgnoreStop => {
            ctx.ready(addr);
            std::future::pending().await
        }
        Behavior::NeverReady => {
            ctx.shutdown_requested().await;
            Ok(0)
        }
        Behavior::ExitBeforeReady { code, after_ms } => {
            sleep(after_ms).await;
            Ok(code)
        }
        Behavior::ExitAfterReady { code, after_ms } => {
            ctx.ready(addr);
            sleep(after_ms).await;
            Ok(code)
        }
        Behavior::WriteStderrThenExit { code, lines } => {
            for i in 1..=lines {
                ctx.log().stderr(format!("stderr line {i}"));
            }
            Ok(code)
        }
        other => Err(format!("unknown behaviour {other:?}")),
    }
}

impl ConformanceTarget for LocalTarget {
    type Manager = LocalProcManager;

    fn manager(&self) -> LocalProcManager {
        LocalProcManager::new(act)
    }

    fn config(&self, behavior: &Behavior) -> Option<LocalProcConfig> {
        serde_json::to_value(behavior)
            .ok()
            .map(LocalProcConfig::with_config)
    }

    fn capabilities(&self) -> Capabilities {
        // No pids of its own, but a forced stop is reported as SIGKILL.
        let mut caps = Capabilities::in_process(Duration::from_millis(250));
        caps.signals = true;
        caps
    }

    fn bulk<'a>(&self, manager: &'a LocalProcManager) -> Option<&'a dyn BulkTerminate> {
        Some(manager)
    }
}

proc_manager_testkit::conformance_tests!(LocalTarget);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_reports_no_failure() {
    let report = conformance::run_all(&LocalTarget).await;
    eprintln!("{report}");
    report.assert_no_failures();
    assert_eq!(report.skipped().count(), 0, "{report}");
}
