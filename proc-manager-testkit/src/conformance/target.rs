//! What the suite needs from a backend: [`ConformanceTarget`] (a fresh
//! manager, a config per [`Behavior`], [`Capabilities`]).
//!
//! The checks themselves are in [`super::checks`]; running and reporting them
//! is in [`super::runner`] and [`super::report`].

use std::time::Duration;

use proc_manager_core::{BulkTerminate, ProcManager};
use serde::{Deserialize, Serialize};

/// How a proc spawned by a check must behave. A target maps each behaviour
/// to its backend's config ([`ConformanceTarget::config`]); the suite never
/// looks inside a proc, only at what the traits report.
///
/// "Polite stop request" means whatever [`proc_manager_core::ProcHandle::terminate`]
/// sends first (a stop message, SIGTERM, a cancellation). "Ready" means the
/// proc reports an address of the manager's transport.
///
/// The serde form (`{"behavior": "exit_after_ready", "code": 5, "after_ms": 200}`)
/// lets a backend whose config is JSON pass the behaviour through unchanged.
///
/// ```
/// use proc_manager_testkit::conformance::Behavior;
///
/// let json = serde_json::to_value(Behavior::ExitAfterReady { code: 5, after_ms: 200 })?;
/// assert_eq!(json["behavior"], "exit_after_ready");
/// assert_eq!(serde_json::from_value::<Behavior>(json)?, Behavior::ExitAfterReady { code: 5, after_ms: 200 });
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "behavior", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Behavior {
    /// Become ready at once, serve until a polite stop request, then exit
    /// with code 0 at once.
    ReadyThenServe,
    /// Become ready at once; on a polite stop request wait `delay_ms`, then
    /// exit with code 0.
    ReadyThenSlowStop {
        /// How long the stop takes, in milliseconds.
        delay_ms: u64,
    },
    /// Become ready at once and ignore polite stop requests: only forcing
    /// ends it.
    ReadyThenIgnoreStop,
    /// Never report ready; exit with code 0 on a polite stop request.
    NeverReady,
    /// Exit with `code` after `after_ms` milliseconds without becoming ready.
    ExitBeforeReady {
        /// The exit code.
        code: i32,
        /// Delay before exiting, in milliseconds.
        after_ms: u64,
    },
    /// Become ready at once, then exit with `code` after `after_ms`
    /// milliseconds.
    ExitAfterReady {
        /// The exit code.
        code: i32,
        /// Delay before exiting, in milliseconds.
        after_ms: u64,
    },
    /// Write `lines` lines `stderr line 1` … `stderr line <lines>` to
    /// stderr (whatever the backend's stderr is), then exit with `code`
    /// without becoming ready.
    WriteStderrThenExit {
        /// The exit code.
        code: i32,
        /// How many lines.
        lines: u32,
    },
    /// A worker that returns `Err(`[`super::WORKER_ERROR`]`)`, after
    /// becoming ready if `after_ready`. Only a proc running a worker
    /// ([`super::worker`]) can act it out; see [`Behavior::WORKER`].
    FailWithError {
        /// Become ready first.
        after_ready: bool,
    },
    /// A worker that panics with [`super::WORKER_PANIC`], after becoming
    /// ready if `after_ready`. Only a proc running a worker can act it out.
    Panic {
        /// Become ready first.
        after_ready: bool,
    },
}

impl Behavior {
    /// Every behaviour the suite uses, with the parameters it uses them with
    /// (handy for a target's own test that all of them map to a config).
    pub const USED: [Behavior; 7] = [
        Behavior::ReadyThenServe,
        Behavior::ReadyThenSlowStop {
            delay_ms: super::checks::SLOW_STOP_MS,
        },
        Behavior::ReadyThenIgnoreStop,
        Behavior::NeverReady,
        Behavior::ExitBeforeReady {
            code: 3,
            after_ms: 200,
        },
        Behavior::ExitAfterReady {
            code: 5,
            after_ms: 300,
        },
        Behavior::WriteStderrThenExit { code: 4, lines: 3 },
    ];

    /// The behaviours only the worker checks ([`super::WORKER_CHECKS`]) use,
    /// beyond [`Behavior::USED`]: what a target whose procs run the suite's
    /// reference [`super::worker`] must map too.
    pub const WORKER: [Behavior; 4] = [
        Behavior::FailWithError { after_ready: false },
        Behavior::FailWithError { after_ready: true },
        Behavior::Panic { after_ready: false },
        Behavior::Panic { after_ready: true },
    ];

    /// The delay of a delayed behaviour.
    pub fn delay(&self) -> Option<Duration> {
        match *self {
            Self::ReadyThenSlowStop { delay_ms }
            | Self::ExitBeforeReady {
                after_ms: delay_ms, ..
            }
            | Self::ExitAfterReady {
                after_ms: delay_ms, ..
            } => Some(Duration::from_millis(delay_ms)),
            _ => None,
        }
    }
}

/// What a backend can report, so that checks which need an ability a
/// backend lacks are skipped with that reason (never passed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Each proc is its own OS process: `Running`/`Ready` carry its pid,
    /// that process exists while the proc is alive and is gone (reaped) once
    /// the status is terminal.
    pub os_processes: bool,
    /// `Killed` carries the signal that ended the proc (`SIGKILL` after
    /// [`proc_manager_core::ProcHandle::kill`] or an escalated terminate).
    pub signals: bool,
    /// The backend's documented bound on how late `terminate(timeout, _)`
    /// may return after `timeout`, and how long `kill()` may take. The suite
    /// requires it to be under the timeouts it uses, so "timeout + bound" is
    /// always less than "2 × timeout".
    pub stop_bound: Duration,
}

impl Capabilities {
    /// A backend of OS processes with signals, with this stop bound.
    pub fn os_processes(stop_bound: Duration) -> Self {
        Self {
            os_processes: true,
            signals: true,
            stop_bound,
        }
    }

    /// A backend of in-process procs (no pids of their own, no signals).
    pub fn in_process(stop_bound: Duration) -> Self {
        Self {
            os_processes: false,
            signals: false,
            stop_bound,
        }
    }
}

impl Default for Capabilities {
    /// No optional abilities, a one-second stop bound.
    fn default() -> Self {
        Self::in_process(Duration::from_secs(1))
    }
}

/// A backend under test. Implement it once in your backend's tests and pass
/// it to [`crate::conformance_tests!`] or [`super::run_all`].
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::{BulkTerminate, ProcManager};
/// use proc_manager_testkit::conformance::{Behavior, Capabilities, ConformanceTarget};
///
/// struct Mine;
/// # #[derive(Default)] struct MyManager;
/// # #[derive(Default)] struct MyConfig { script: String }
/// # type MyHandle = proc_manager_testkit::mock::ScriptedProcHandle;
/// # #[async_trait::async_trait]
/// # impl ProcManager for MyManager {
/// #     type Handle = MyHandle; type Config = MyConfig;
/// #     fn transport(&self) -> proc_manager_core::ChannelTransport { proc_manager_core::ChannelTransport::Local }
/// #     async fn spawn_with(&self, id: proc_manager_core::ProcId, _: proc_manager_core::ChannelAddr, _: MyConfig)
/// #         -> Result<MyHandle, proc_manager_core::SpawnError> { Err(proc_manager_core::SpawnError::ShutDown { proc_id: id }) }
/// #     fn handle(&self, _: &proc_manager_core::ProcId) -> Option<MyHandle> { None }
/// #     fn proc_ids(&self) -> Vec<proc_manager_core::ProcId> { vec![] }
/// # }
/// # #[async_trait::async_trait]
/// # impl BulkTerminate for MyManager {
/// #     async fn terminate_all(&self, _: Duration, _: usize) -> proc_manager_core::TerminateSummary { Default::default() }
/// # }
///
/// impl ConformanceTarget for Mine {
///     type Manager = MyManager;
///
///     fn manager(&self) -> MyManager {
///         MyManager::default()
///     }
///
///     fn config(&self, behavior: &Behavior) -> Option<MyConfig> {
///         let script = match behavior {
///             Behavior::ReadyThenServe => "serve",
///             Behavior::NeverReady => "hang",
///             _ => return None, // those checks are reported as skipped
///         };
///         Some(MyConfig { script: script.into() })
///     }
///
///     fn capabilities(&self) -> Capabilities {
///         Capabilities::os_processes(Duration::from_millis(500))
///     }
///
///     fn bulk<'a>(&self, manager: &'a MyManager) -> Option<&'a dyn BulkTerminate> {
///         Some(manager)
///     }
/// }
/// ```
pub trait ConformanceTarget: Send + Sync {
    /// The manager under test.
    type Manager: ProcManager + 'static;

    /// A fresh manager: each check gets its own and drops it at the end.
    fn manager(&self) -> Self::Manager;

    /// The config that makes a proc behave as `behavior`, or `None` if the
    /// backend cannot express it (checks that need it are skipped, naming the
    /// behaviour).
    fn config(&self, behavior: &Behavior) -> Option<<Self::Manager as ProcManager>::Config>;

    /// What the backend can report. Defaults to [`Capabilities::default`].
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// The manager's [`BulkTerminate`], if it has one (`Some(manager)`).
    /// `None` skips the `terminate_all` checks.
    fn bulk<'a>(&self, manager: &'a Self::Manager) -> Option<&'a dyn BulkTerminate> {
        let _ = manager;
        None
    }
}
