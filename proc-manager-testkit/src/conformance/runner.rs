//! Running checks: the per-check context ([`Ctx`]) that spawns procs with a
//! target's configs and cleans up after them, the bounded-await helpers the
//! checks share, and the entry points [`run_all`], [`run_check`] and
//! [`run_test`].
//!
//! What each check asserts is in [`super::checks`].

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proc_manager_core::{
    BulkTerminate, ChannelAddr, ProcHandle, ProcId, ProcManager, ProcStatus, SpawnError,
};

use super::report::{CheckResult, ConformanceReport, Outcome};
use super::target::{Behavior, Capabilities, ConformanceTarget};

/// The longest a single check may run before it is failed as hung.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(90);

/// How long the suite waits for things that should happen ("the proc is
/// ready", "the proc ended"): generous, so a loaded machine does not fail a
/// correct backend.
pub const SHOULD: Duration = Duration::from_secs(20);

/// Why a check stopped early.
#[derive(Debug)]
pub(crate) enum Verdict {
    Fail(String),
    Skip(String),
}

/// The result of a check's body.
pub(crate) type Step<T = ()> = Result<T, Verdict>;

/// Fails the check with a formatted "expected …, saw …" message.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::conformance::runner::Verdict::Fail(format!($($arg)*)))
    };
}

/// Fails the check unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            fail!($($arg)*);
        }
    };
}

/// Defines the public `check_*` entry point of a check whose body is the
/// private async fn `$name(&mut Ctx) -> Step`: a fresh context, the body
/// bounded by [`CHECK_TIMEOUT`], then cleanup into a [`CheckResult`].
macro_rules! entry {
    ($(#[$doc:meta])* $public:ident => $name:ident) => {
        $(#[$doc])*
        pub async fn $public<T: $crate::conformance::ConformanceTarget>(
            target: &T,
        ) -> $crate::conformance::CheckResult {
            let mut cx = $crate::conformance::runner::Ctx::new(target, stringify!($name));
            let step =
                tokio::time::timeout($crate::conformance::CHECK_TIMEOUT, $name(&mut cx)).await;
            cx.finish(step).await
        }
    };
}

pub(crate) use {ensure, entry, fail};

/// The handle type of a target's manager.
pub(crate) type HandleOf<T> = <<T as ConformanceTarget>::Manager as ProcManager>::Handle;

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// One check's world: its target, a fresh manager, and the procs it spawned
/// (all forced to stop when the check ends, whatever its outcome).
pub(crate) struct Ctx<'t, T: ConformanceTarget> {
    pub(crate) target: &'t T,
    pub(crate) manager: T::Manager,
    pub(crate) caps: Capabilities,
    check: &'static str,
    started: Instant,
    spawned: Vec<HandleOf<T>>,
}

impl<'t, T: ConformanceTarget> Ctx<'t, T> {
    pub(crate) fn new(target: &'t T, check: &'static str) -> Self {
        Self {
            target,
            manager: target.manager(),
            caps: target.capabilities(),
            check,
            started: Instant::now(),
            spawned: Vec::new(),
        }
    }

    /// A fresh id, unique in this process and readable in logs.
    pub(crate) fn fresh_id(&self) -> ProcId {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let name = format!("conf-{}-{}-{n}", self.check, std::process::id());
        ProcId::new(name.replace('_', "-")).unwrap_or_else(|err| panic!("ids are valid: {err}"))
    }

    /// A backend address of the manager's transport.
    pub(crate) fn backend_addr(&self) -> ChannelAddr {
        ChannelAddr::any(self.manager.transport())
    }

    /// The target's config for `behavior`; skips the check if it has none.
    pub(crate) fn config(&self, behavior: Behavior) -> Step<<T::Manager as ProcManager>::Config> {
        self.target.config(&behavior).ok_or_else(|| {
            Verdict::Skip(format!(
                "the target has no config for behaviour {behavior:?}"
            ))
        })
    }

    /// The manager's [`BulkTerminate`]; skips the check if it has none.
    pub(crate) fn bulk(&self) -> Step<&dyn BulkTerminate> {
        self.target.bulk(&self.manager).ok_or_else(|| {
            Verdict::Skip(
                "the target's manager has no BulkTerminate (ConformanceTarget::bulk returned None)"
                    .into(),
            )
        })
    }

    /// Spawns a proc behaving as `behavior` under a fresh id.
    pub(crate) async fn spawn(&mut self, behavior: Behavior) -> Step<HandleOf<T>> {
        let id = self.fresh_id();
        self.spawn_as(id, behavior).await
    }

    /// Spawns under `id`; a spawn error fails the check.
    pub(crate) async fn spawn_as(&mut self, id: ProcId, behavior: Behavior) -> Step<HandleOf<T>> {
        match self.try_spawn_as(id.clone(), behavior).await? {
            Ok(handle) => Ok(handle),
            Err(err) => fail!("expected spawn of {id} ({behavior:?}) to succeed, got error: {err}"),
        }
    }

    /// Spawns under `id`, returning the spawn error to the check.
    pub(crate) async fn try_spawn_as(
        &mut self,
        id: ProcId,
        behavior: Behavior,
    ) -> Step<Result<HandleOf<T>, SpawnError>> {
        let config = self.config(behavior)?;
        let backend = self.backend_addr();
        let what = format!("spawn of {id} to return");
        let spawned = within(SHOULD, what, self.manager.spawn_with(id, backend, config)).await?;
        if let Ok(handle) = &spawned {
            self.spawned.push(handle.clone());
        }
        Ok(spawned)
    }

    /// Waits until `handle` is ready; an error fails the check.
    pub(crate) async fn ready(&self, handle: &HandleOf<T>) -> Step<ChannelAddr> {
        let id = handle.proc_id();
        match within(SHOULD, format!("ready() of {id}"), handle.ready()).await? {
            Ok(addr) => Ok(addr),
            Err(err) => fail!("expected {id} to become ready, ready() gave error: {err}"),
        }
    }

    /// Waits until `handle` has ended; an error fails the check.
    pub(crate) async fn wait(&self, handle: &HandleOf<T>) -> Step<ProcStatus> {
        let id = handle.proc_id();
        match within(SHOULD, format!("wait() of {id}"), handle.wait()).await? {
            Ok(status) => Ok(status),
            Err(err) => {
                fail!("expected wait() of {id} to give its terminal status, got error: {err}")
            }
        }
    }

    /// Forces every proc this check spawned, drops the manager, and turns
    /// the body's result into an [`Outcome`].
    pub(crate) async fn finish(
        self,
        step: Result<Step, tokio::time::error::Elapsed>,
    ) -> CheckResult {
        let outcome = match step {
            Ok(Ok(())) => Outcome::Passed,
            Ok(Err(Verdict::Fail(message))) => Outcome::Failed { message },
            Ok(Err(Verdict::Skip(reason))) => Outcome::Skipped { reason },
            Err(_) => Outcome::Failed {
                message: format!(
                    "the check did not finish within {CHECK_TIMEOUT:?}: a backend call hung"
                ),
            },
        };
        for handle in &self.spawned {
            if handle.status().is_alive() {
                // Best effort: a backend that cannot kill has failed a check already.
                let _ = tokio::time::timeout(SHOULD, handle.kill()).await;
            }
        }
        let elapsed = self.started.elapsed();
        drop(self.manager);
        CheckResult::new(self.check, outcome, elapsed)
    }
}

/// Awaits `fut` for at most `limit`, failing the check with "expected
/// {what} within {limit}" otherwise.
pub(crate) async fn within<F: Future>(
    limit: Duration,
    what: impl fmt::Display,
    fut: F,
) -> Step<F::Output> {
    match tokio::time::timeout(limit, fut).await {
        Ok(out) => Ok(out),
        Err(_) => fail!("expected {what} within {limit:?}; it was still pending after {limit:?}"),
    }
}

/// Whether an OS process with this pid exists (a zombie counts).
pub(crate) fn process_exists(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(errno) => errno == nix::errno::Errno::EPERM,
    }
}

macro_rules! dispatch {
    ({} $($name:ident => $check:ident),* $(,)?) => {
        /// The name of every check, in the order [`run_all`] runs them.
        pub const CHECKS: &[&str] = &[$(stringify!($name)),*];

        /// Runs the check called `name` (one of [`CHECKS`] or
        /// [`WORKER_CHECKS`]); `None` if there is no such check.
        pub async fn run_check<T: ConformanceTarget>(target: &T, name: &str) -> Option<CheckResult> {
            match name {
                $(stringify!($name) => Some(super::checks::$check(target).await),)*
                _ => run_worker_check(target, name).await,
            }
        }
    };
}

macro_rules! dispatch_worker {
    ({} $($name:ident => $check:ident),* $(,)?) => {
        /// The name of every worker check, in the order
        /// [`run_worker_checks`] runs them: they need procs running the
        /// reference [`worker`](super::worker).
        pub const WORKER_CHECKS: &[&str] = &[$(stringify!($name)),*];

        async fn run_worker_check<T: ConformanceTarget>(target: &T, name: &str) -> Option<CheckResult> {
            match name {
                $(stringify!($name) => Some(super::checks::$check(target).await),)*
                _ => None,
            }
        }
    };
}

crate::__conformance_checks!([dispatch] {});
crate::__worker_conformance_checks!([dispatch_worker] {});

/// Runs every check against `target`, one after the other, each with a
/// fresh manager and bounded by [`CHECK_TIMEOUT`].
pub async fn run_all<T: ConformanceTarget>(target: &T) -> ConformanceReport {
    run_listed(target, CHECKS).await
}

/// Runs every worker check ([`WORKER_CHECKS`]) against `target`, as
/// [`run_all`] does the others.
pub async fn run_worker_checks<T: ConformanceTarget>(target: &T) -> ConformanceReport {
    run_listed(target, WORKER_CHECKS).await
}

async fn run_listed<T: ConformanceTarget>(target: &T, names: &[&str]) -> ConformanceReport {
    let mut report = ConformanceReport::default();
    for name in names {
        if let Some(result) = run_check(target, name).await {
            tracing::info!(target: "proc_manager_testkit::conformance", "{result}");
            report.results.push(result);
        }
    }
    report
}

/// The body of one test generated by [`crate::conformance_tests!`]: builds a
/// two-worker runtime, makes the target inside it, runs the check named
/// `name`, and panics with the expected-versus-seen message if it failed.
/// A skipped check prints its reason to stderr and does not panic.
#[track_caller]
pub fn run_test<T: ConformanceTarget>(name: &str, make_target: impl FnOnce() -> T) {
    if let Some(reason) = run_test_inner(name, make_target) {
        // A skip is not a pass: say so where the test runner shows it.
        eprintln!("conformance check {name} SKIPPED: {reason}");
    }
}

/// [`run_test`] in strict mode (`conformance_tests!(target, strict)`): a
/// skipped check panics with its reason instead of passing.
///
/// ```should_panic
/// use proc_manager_testkit::conformance::{self, Behavior, ConformanceTarget};
/// use proc_manager_testkit::mock::ScriptedProcManager;
///
/// /// Expresses no behaviour at all, so every check that spawns is skipped.
/// struct Nothing;
/// impl ConformanceTarget for Nothing {
///     type Manager = ScriptedProcManager;
///     fn manager(&self) -> ScriptedProcManager {
///         ScriptedProcManager::new(proc_manager_core::ChannelTransport::Local).0
///     }
///     fn config(&self, _: &Behavior) -> Option<()> {
///         None
///     }
/// }
///
/// // Panics: "conformance check kill was SKIPPED, and strict mode fails a skip: …"
/// conformance::run_test_strict("kill", || Nothing);
/// ```
#[track_caller]
pub fn run_test_strict<T: ConformanceTarget>(name: &str, make_target: impl FnOnce() -> T) {
    if let Some(reason) = run_test_inner(name, make_target) {
        panic!("conformance check {name} was SKIPPED, and strict mode fails a skip: {reason}");
    }
}

/// Runs the check on its own runtime, panics if it failed or does not
/// exist, and returns the reason if it was skipped.
#[track_caller]
fn run_test_inner<T: ConformanceTarget>(
    name: &str,
    make_target: impl FnOnce() -> T,
) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|err| {
            panic!("cannot build a tokio runtime for conformance check {name}: {err}")
        });
    let result = runtime.block_on(async {
        let target = make_target();
        run_check(&target, name).await
    });
    match result {
        None => panic!("no conformance check is called {name:?}"),
        Some(result) => match result.outcome {
            Outcome::Failed { message } => panic!("conformance check {name} failed: {message}"),
            Outcome::Skipped { reason } => Some(reason),
            Outcome::Passed => None,
        },
    }
}
