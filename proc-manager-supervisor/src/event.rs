//! What a supervisor tells its observers: [`SupervisorEvent`] (one per
//! step of a child's life under supervision) and [`SupervisorExit`] (how
//! the supervisor itself ended).
//!
//! Where events are published and read is [`crate::SupervisorHandle`].

use std::fmt;
use std::time::Duration;

use proc_manager_core::{ChannelAddr, ProcId, ProcStatus};

/// One step in the life of a supervised child, in the order it happened.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::ProcId;
/// use proc_manager_supervisor::SupervisorEvent;
///
/// let event = SupervisorEvent::Restarting {
///     proc_id: ProcId::new("web").unwrap(),
///     attempt: 2,
///     delay: Duration::from_millis(100),
/// };
/// assert_eq!(event.proc_id().as_str(), "web");
/// assert_eq!(event.to_string(), "web: restarting (restart 2) in 100ms");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorEvent {
    /// The child was spawned (a new incarnation exists).
    Started {
        /// The child.
        proc_id: ProcId,
    },
    /// The child reported ready.
    Ready {
        /// The child.
        proc_id: ProcId,
        /// The address it serves on.
        addr: ChannelAddr,
    },
    /// The child's incarnation ended, on its own or stopped by the
    /// supervisor (a sibling's restart, a failed liveness probe).
    Exited {
        /// The child.
        proc_id: ProcId,
        /// How it ended. After a liveness failure this is
        /// `Failed { reason: "liveness: …" }` whatever the proc's own
        /// terminal status (its stderr tail is kept).
        status: ProcStatus,
    },
    /// The child will be started again after `delay`.
    Restarting {
        /// The child.
        proc_id: ProcId,
        /// Which restart of this child this is (1 for the first): the value
        /// [`crate::SupervisorHandle::restarts`] now returns.
        attempt: u64,
        /// How long until it is started.
        delay: Duration,
    },
    /// The restart intensity ran out on this child's end: every child was
    /// stopped and the supervisor ended.
    GaveUp {
        /// The child whose end was one restart too many.
        proc_id: ProcId,
        /// How it ended that last time.
        last_status: ProcStatus,
    },
}

impl SupervisorEvent {
    /// The child the event is about.
    pub fn proc_id(&self) -> &ProcId {
        match self {
            Self::Started { proc_id }
            | Self::Ready { proc_id, .. }
            | Self::Exited { proc_id, .. }
            | Self::Restarting { proc_id, .. }
            | Self::GaveUp { proc_id, .. } => proc_id,
        }
    }
}

impl fmt::Display for SupervisorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Started { proc_id } => write!(f, "{proc_id}: started"),
            Self::Ready { proc_id, addr } => write!(f, "{proc_id}: ready at {addr}"),
            Self::Exited { proc_id, status } => write!(f, "{proc_id}: exited: {status}"),
            Self::Restarting {
                proc_id,
                attempt,
                delay,
            } => write!(f, "{proc_id}: restarting (restart {attempt}) in {delay:?}"),
            Self::GaveUp {
                proc_id,
                last_status,
            } => write!(f, "{proc_id}: gave up (its last end: {last_status})"),
        }
    }
}

/// How a supervisor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisorExit {
    /// [`crate::SupervisorHandle::stop`] was called (or every handle was
    /// dropped) and every child was stopped.
    Stopped,
    /// The restart intensity ran out; every child was stopped.
    GaveUp {
        /// The child whose end was one restart too many.
        proc_id: ProcId,
        /// How it ended that last time.
        last_status: ProcStatus,
    },
}

impl fmt::Display for SupervisorExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stopped => f.write_str("stopped"),
            Self::GaveUp {
                proc_id,
                last_status,
            } => write!(f, "gave up on {proc_id}: {last_status}"),
        }
    }
}
