//! [`ProcStatus`]: the lifecycle state machine of a proc, the one pure
//! function that says which transitions are legal, and
//! [`IllegalTransition`], a change it refused.
//!
//! Publishing a status to observers is [`crate::StatusCell`]'s job, not this
//! module's.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::addr::ChannelAddr;
use crate::id::ProcId;
use crate::signal_name::SignalName;

/// A status change refused by [`ProcStatus::can_transition_to`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("proc {proc_id}: illegal status transition from {from} to {to}")]
pub struct IllegalTransition {
    /// The proc whose status it is.
    pub proc_id: ProcId,
    /// The current status, left unchanged.
    pub from: ProcStatus,
    /// The refused next status.
    pub to: ProcStatus,
}

/// Where a proc is in its life.
///
/// ```text
/// Starting ──► Running{pid, started_at} ──► Ready{pid, started_at, addr}
///     │               │                          │
///     └───────────────┴──────► Stopping{…} ◄─────┘
///     (any live state) ─────► Stopped{exit_code, stderr_tail}
///                             Killed{signal, core_dumped, stderr_tail}
///                             Failed{reason, stderr_tail}
/// ```
///
/// `Stopped`, `Killed` and `Failed` are terminal: nothing follows them.
/// Every change goes through [`ProcStatus::can_transition_to`].
///
/// ```
/// use std::time::SystemTime;
/// use proc_manager_core::ProcStatus;
///
/// let running = ProcStatus::Running { pid: 42, started_at: SystemTime::now() };
/// let stopped = ProcStatus::Stopped { exit_code: 0, stderr_tail: vec![] };
/// assert!(ProcStatus::Starting.can_transition_to(&running));
/// assert!(running.can_transition_to(&stopped));
/// assert!(!stopped.can_transition_to(&running));
/// assert_eq!(running.pid(), Some(42));
/// assert!(stopped.is_exit());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ProcStatus {
    /// Spawn has begun; there is no pid yet.
    Starting,
    /// The proc exists (for a child process, its pid is known) but has not
    /// reported an address yet.
    Running {
        /// The OS process id (for an in-process proc, the host process's).
        pid: u32,
        /// When the proc started.
        started_at: SystemTime,
    },
    /// The proc told us the address it serves on.
    Ready {
        /// The OS process id.
        pid: u32,
        /// When the proc started.
        started_at: SystemTime,
        /// The address it serves on.
        addr: ChannelAddr,
    },
    /// A stop was requested; the proc has not ended yet. Never returns to
    /// `Ready`.
    Stopping {
        /// The OS process id, when one was known.
        pid: Option<u32>,
        /// When the proc started, when known.
        started_at: Option<SystemTime>,
    },
    /// The proc exited on its own terms with this code.
    Stopped {
        /// The exit code.
        exit_code: i32,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },
    /// The proc was ended by a signal.
    Killed {
        /// The signal number.
        signal: i32,
        /// Whether the kernel wrote a core dump.
        core_dumped: bool,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },
    /// The proc could not be started or supervised, or ended with an error.
    Failed {
        /// What went wrong.
        reason: String,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },
}

impl ProcStatus {
    /// Whether moving from `self` to `next` is legal. The only place the
    /// state machine's rules are written down.
    pub fn can_transition_to(&self, next: &ProcStatus) -> bool {
        use ProcStatus::*;
        match (self, next) {
            (Stopped { .. } | Killed { .. } | Failed { .. }, _) => false,
            (_, Stopped { .. } | Killed { .. } | Failed { .. }) => true,
            (Starting, Running { .. } | Stopping { .. }) => true,
            (Running { .. }, Ready { .. } | Stopping { .. }) => true,
            (Ready { .. }, Stopping { .. }) => true,
            _ => false,
        }
    }

    /// Whether this is a terminal status (`Stopped`, `Killed`, `Failed`).
    pub fn is_exit(&self) -> bool {
        matches!(
            self,
            Self::Stopped { .. } | Self::Killed { .. } | Self::Failed { .. }
        )
    }

    /// Whether the proc is alive (not terminal).
    pub fn is_alive(&self) -> bool {
        !self.is_exit()
    }

    /// Whether the proc is `Ready`.
    pub fn is_ready(&self) -> bool {
        matches!(self, Self::Ready { .. })
    }

    /// Whether a stop is under way.
    pub fn is_stopping(&self) -> bool {
        matches!(self, Self::Stopping { .. })
    }

    /// The pid, while one is known and the proc is alive.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Self::Running { pid, .. } | Self::Ready { pid, .. } => Some(*pid),
            Self::Stopping { pid, .. } => *pid,
            _ => None,
        }
    }

    /// The serving address, while `Ready`.
    pub fn addr(&self) -> Option<&ChannelAddr> {
        match self {
            Self::Ready { addr, .. } => Some(addr),
            _ => None,
        }
    }

    /// When the proc started, while alive and known.
    pub fn started_at(&self) -> Option<SystemTime> {
        match self {
            Self::Running { started_at, .. } | Self::Ready { started_at, .. } => Some(*started_at),
            Self::Stopping { started_at, .. } => *started_at,
            _ => None,
        }
    }

    /// The stderr tail carried by a terminal status.
    pub fn stderr_tail(&self) -> Option<&[String]> {
        match self {
            Self::Stopped { stderr_tail, .. }
            | Self::Killed { stderr_tail, .. }
            | Self::Failed { stderr_tail, .. } => Some(stderr_tail),
            _ => None,
        }
    }

    /// The `Stopping` status that follows this one: it keeps the pid and the
    /// start time.
    pub fn to_stopping(&self) -> ProcStatus {
        ProcStatus::Stopping {
            pid: self.pid(),
            started_at: self.started_at(),
        }
    }

    /// A short name of the variant (`"running"`, `"killed"`, …), for logs
    /// and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running { .. } => "running",
            Self::Ready { .. } => "ready",
            Self::Stopping { .. } => "stopping",
            Self::Stopped { .. } => "stopped",
            Self::Killed { .. } => "killed",
            Self::Failed { .. } => "failed",
        }
    }
}

fn uptime(started_at: SystemTime) -> Duration {
    SystemTime::now()
        .duration_since(started_at)
        .unwrap_or_default()
}

struct Uptime(Duration);

impl fmt::Display for Uptime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs >= 3600 {
            write!(f, "{}h{:02}m", secs / 3600, (secs % 3600) / 60)
        } else if secs >= 60 {
            write!(f, "{}m{:02}s", secs / 60, secs % 60)
        } else {
            write!(f, "{:.1}s", self.0.as_secs_f64())
        }
    }
}

impl fmt::Display for ProcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => f.write_str("starting"),
            Self::Running { pid, started_at } => {
                write!(f, "running (pid {pid}, up {})", Uptime(uptime(*started_at)))
            }
            Self::Ready {
                pid,
                started_at,
                addr,
            } => write!(
                f,
                "ready at {addr} (pid {pid}, up {})",
                Uptime(uptime(*started_at))
            ),
            Self::Stopping { pid, started_at } => {
                f.write_str("stopping")?;
                match (pid, started_at) {
                    (Some(pid), Some(at)) => write!(f, " (pid {pid}, up {})", Uptime(uptime(*at))),
                    (Some(pid), None) => write!(f, " (pid {pid})"),
                    _ => Ok(()),
                }
            }
            Self::Stopped { exit_code, .. } => write!(f, "stopped (exit code {exit_code})"),
            Self::Killed {
                signal,
                core_dumped,
                ..
            } => {
                let dumped = if *core_dumped { "core dumped" } else { "" };
                match SignalName::of(*signal) {
                    name @ SignalName::Unknown(_) if *core_dumped => {
                        write!(f, "killed by {name} ({dumped})")
                    }
                    name @ SignalName::Unknown(_) => write!(f, "killed by {name}"),
                    name if *core_dumped => {
                        write!(f, "killed by {name} (signal {signal}, {dumped})")
                    }
                    name => write!(f, "killed by {name} (signal {signal})"),
                }
            }
            Self::Failed { reason, .. } => write!(f, "failed: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ProcStatus> {
        let at = SystemTime::now();
        vec![
            ProcStatus::Starting,
            ProcStatus::Running {
                pid: 1,
                started_at: at,
            },
            ProcStatus::Ready {
                pid: 1,
                started_at: at,
                addr: ChannelAddr::Local(1),
            },
            ProcStatus::Stopping {
                pid: Some(1),
                started_at: Some(at),
            },
            ProcStatus::Stopped {
                exit_code: 0,
                stderr_tail: vec![],
            },
            ProcStatus::Killed {
                signal: 9,
                core_dumped: false,
                stderr_tail: vec![],
            },
            ProcStatus::Failed {
                reason: "x".into(),
                stderr_tail: vec![],
            },
        ]
    }

    /// The diagram from the design, as an explicit table by variant name.
    fn expected(from: &str, to: &str) -> bool {
        let terminal = ["stopped", "killed", "failed"];
        if terminal.contains(&from) {
            return false;
        }
        if terminal.contains(&to) {
            return true;
        }
        matches!(
            (from, to),
            ("starting", "running")
                | ("starting", "stopping")
                | ("running", "ready")
                | ("running", "stopping")
                | ("ready", "stopping")
        )
    }

    #[test]
    fn transition_table_matches_the_diagram() {
        for from in all() {
            for to in all() {
                assert_eq!(
                    from.can_transition_to(&to),
                    expected(from.name(), to.name()),
                    "{} -> {}",
                    from.name(),
                    to.name()
                );
            }
        }
    }

    #[test]
    fn accessors() {
        let s = all();
        assert_eq!(s[0].pid(), None);
        assert_eq!(s[1].pid(), Some(1));
        assert_eq!(s[2].addr(), Some(&ChannelAddr::Local(1)));
        assert_eq!(s[3].pid(), Some(1));
        assert!(s[4..].iter().all(ProcStatus::is_exit));
        assert!(s[..4].iter().all(ProcStatus::is_alive));
        assert_eq!(s[2].to_stopping(), s[3]);
        assert_eq!(s[5].stderr_tail(), Some(&[][..]));
    }

    #[test]
    fn display_shows_uptime_code_and_signal() {
        let s = all();
        assert!(s[1].to_string().starts_with("running (pid 1, up "));
        assert!(s[2].to_string().contains("local:1"));
        assert_eq!(s[4].to_string(), "stopped (exit code 0)");
        let dumped = ProcStatus::Killed {
            signal: 6,
            core_dumped: true,
            stderr_tail: vec![],
        };
        assert_eq!(
            dumped.to_string(),
            "killed by SIGABRT (signal 6, core dumped)"
        );
        assert_eq!(s[6].to_string(), "failed: x");
        assert_eq!(s[5].to_string(), "killed by SIGKILL (signal 9)");
        let odd = ProcStatus::Killed {
            signal: 99,
            core_dumped: true,
            stderr_tail: vec![],
        };
        assert_eq!(odd.to_string(), "killed by signal 99 (core dumped)");
    }

    #[test]
    fn serde_round_trip() {
        for status in all() {
            let json = serde_json::to_string(&status).expect("serialize");
            let back: ProcStatus = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, status);
        }
    }
}
