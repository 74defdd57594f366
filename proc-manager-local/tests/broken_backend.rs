//! The testkit's conformance suite catches broken backends, naming the right
//! check and saying what it expected: the local backend behind wrappers that
//! break one rule each (`terminate` ignoring its deadline; `terminate_all`
//! ignoring `max_in_flight`), while every other check still passes.
//!
//! These are tests of the suite, kept here beside the target they wrap so
//! the testkit depends on no backend, not even in its dev-dependencies.

mod local_target;

use std::collections::BTreeSet;
use std::time::Duration;

use proc_manager_core::{
    BulkTerminate, ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, ProcStatus,
    SpawnError, TerminateError, TerminateSummary, async_trait,
};
use proc_manager_local::{LocalProcConfig, LocalProcHandle, LocalProcManager};
use proc_manager_testkit::conformance::{self, Behavior, Capabilities, ConformanceTarget, Outcome};
use tokio::sync::watch;

/// Which rule the wrapper breaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Breakage {
    /// `terminate(t)` forces the proc only at 3 × t.
    IgnoresDeadline,
    /// `terminate_all` stops every proc at once.
    IgnoresCap,
}

#[derive(Clone)]
struct BrokenHandle {
    inner: LocalProcHandle,
    breakage: Breakage,
}

#[async_trait]
impl ProcHandle for BrokenHandle {
    fn proc_id(&self) -> &ProcId {
        self.inner.proc_id()
    }
    fn status(&self) -> ProcStatus {
        self.inner.status()
    }
    fn watch(&self) -> watch::Receiver<ProcStatus> {
        self.inner.watch()
    }
    async fn terminate(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        let timeout = match self.breakage {
            Breakage::IgnoresDeadline => timeout * 3,
            Breakage::IgnoresCap => timeout,
        };
        self.inner.terminate(timeout, reason).await
    }
    async fn kill(&self) -> Result<ProcStatus, TerminateError> {
        self.inner.kill().await
    }
}

struct BrokenManager {
    inner: LocalProcManager,
    breakage: Breakage,
}

impl BrokenManager {
    fn wrap(&self, inner: LocalProcHandle) -> BrokenHandle {
        BrokenHandle {
            inner,
            breakage: self.breakage,
        }
    }
}

#[async_trait]
impl ProcManager for BrokenManager {
    type Handle = BrokenHandle;
    type Config = LocalProcConfig;

    fn transport(&self) -> ChannelTransport {
        self.inner.transport()
    }
    async fn spawn_with(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
        config: LocalProcConfig,
    ) -> Result<BrokenHandle, SpawnError> {
        let inner = self.inner.spawn_with(proc_id, backend_addr, config).await?;
        Ok(self.wrap(inner))
    }
    fn handle(&self, proc_id: &ProcId) -> Option<BrokenHandle> {
        self.inner.handle(proc_id).map(|h| self.wrap(h))
    }
    fn proc_ids(&self) -> Vec<ProcId> {
        self.inner.proc_ids()
    }
}

#[async_trait]
impl BulkTerminate for BrokenManager {
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
        match self.breakage {
            Breakage::IgnoresDeadline => self.inner.terminate_all(timeout, max_in_flight).await,
            Breakage::IgnoresCap => self.inner.terminate_all(timeout, usize::MAX).await,
        }
    }
}

struct BrokenTarget(Breakage);

impl ConformanceTarget for BrokenTarget {
    type Manager = BrokenManager;

    fn manager(&self) -> BrokenManager {
        BrokenManager {
            inner: LocalProcManager::new(local_target::act),
            breakage: self.0,
        }
    }
    fn config(&self, behavior: &Behavior) -> Option<LocalProcConfig> {
        local_target::config(behavior)
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::in_process(Duration::from_millis(250))
    }
    fn bulk<'a>(&self, manager: &'a BrokenManager) -> Option<&'a dyn BulkTerminate> {
        Some(manager)
    }
}

fn failed_names(report: &conformance::ConformanceReport) -> BTreeSet<&'static str> {
    report.failed().map(|r| r.name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_ignoring_its_deadline_fails_the_escalation_check_only() {
    let report = conformance::run_all(&BrokenTarget(Breakage::IgnoresDeadline)).await;
    eprintln!("{report}");
    assert_eq!(
        failed_names(&report),
        BTreeSet::from(["terminate_escalates_at_deadline"]),
        "{report}"
    );
    let result = report.get("terminate_escalates_at_deadline").unwrap();
    let Outcome::Failed { message } = &result.outcome else {
        panic!("{result}");
    };
    assert!(
        message.starts_with("expected terminate(1.5s) on a proc that ignores the polite request to force it at the deadline and return within 1.75s"),
        "{message}"
    );
    assert!(message.contains("it returned after 4."), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_all_ignoring_its_cap_fails_the_cap_check_only() {
    let report = conformance::run_all(&BrokenTarget(Breakage::IgnoresCap)).await;
    eprintln!("{report}");
    assert_eq!(
        failed_names(&report),
        BTreeSet::from(["terminate_all_concurrency_cap"]),
        "{report}"
    );
    let result = report.get("terminate_all_concurrency_cap").unwrap();
    let Outcome::Failed { message } = &result.outcome else {
        panic!("{result}");
    };
    assert!(
        message.starts_with(
            "expected at most max_in_flight = 2 procs Stopping at once; watch() observers saw 6"
        ),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_behaviour_or_bulk_is_skipped_with_its_reason_never_passed() {
    struct Partial;
    impl ConformanceTarget for Partial {
        type Manager = BrokenManager;
        fn manager(&self) -> BrokenManager {
            BrokenTarget(Breakage::IgnoresCap).manager()
        }
        fn config(&self, behavior: &Behavior) -> Option<LocalProcConfig> {
            match behavior {
                Behavior::ReadyThenIgnoreStop => None,
                other => BrokenTarget(Breakage::IgnoresCap).config(other),
            }
        }
    }
    let report = conformance::run_all(&Partial).await;
    eprintln!("{report}");
    report.assert_no_failures();
    let kill = report.get("kill").unwrap();
    assert!(kill.outcome.is_passed(), "{kill}");
    let escalation = report.get("terminate_escalates_at_deadline").unwrap();
    assert_eq!(
        escalation.outcome,
        Outcome::Skipped {
            reason: "the target has no config for behaviour ReadyThenIgnoreStop".into()
        }
    );
    let cap = report.get("terminate_all_concurrency_cap").unwrap();
    assert!(
        matches!(&cap.outcome, Outcome::Skipped { reason } if reason.contains("no BulkTerminate")),
        "{cap}"
    );
    assert_eq!(
        report.passed().count() + report.skipped().count(),
        conformance::CHECKS.len()
    );
}
