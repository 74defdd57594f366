//! The oracle for status sequences: which status can follow which, possibly
//! through statuses an observer skipped.
//!
//! The rules themselves are [`ProcStatus::can_transition_to`]; this module
//! only takes their transitive closure.

use std::time::SystemTime;

use proc_manager_core::{ChannelAddr, ProcStatus};

/// One status of each variant, to explore the state machine by variant.
fn representatives() -> [ProcStatus; 7] {
    let at = SystemTime::UNIX_EPOCH;
    [
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
            stderr_tail: Vec::new(),
        },
        ProcStatus::Killed {
            signal: 9,
            core_dumped: false,
            stderr_tail: Vec::new(),
        },
        ProcStatus::Failed {
            reason: String::new(),
            stderr_tail: Vec::new(),
        },
    ]
}

/// Whether `to` can follow `from` in one or more legal transitions: what a
/// `watch` subscriber, which may skip intermediate statuses, can observe as
/// consecutive values.
///
/// ```
/// use std::time::SystemTime;
/// use proc_manager_core::{ChannelAddr, ProcStatus};
/// use proc_manager_testkit::conformance::is_reachable;
///
/// let ready = ProcStatus::Ready { pid: 1, started_at: SystemTime::now(), addr: ChannelAddr::Local(1) };
/// assert!(is_reachable(&ProcStatus::Starting, &ready)); // through Running
/// assert!(!is_reachable(&ProcStatus::Stopping { pid: None, started_at: None }, &ready));
/// ```
pub fn is_reachable(from: &ProcStatus, to: &ProcStatus) -> bool {
    let samples = representatives();
    let mut visited = [false; 7];
    let mut frontier = vec![from.clone()];
    while let Some(node) = frontier.pop() {
        if node.can_transition_to(to) {
            return true;
        }
        for (i, sample) in samples.iter().enumerate() {
            if !visited[i] && node.can_transition_to(sample) {
                visited[i] = true;
                frontier.push(sample.clone());
            }
        }
    }
    false
}

/// Checks a sequence of statuses one observer saw, in order: every
/// consecutive pair is [reachable](is_reachable), and nothing different
/// follows a terminal status. The error says which pair broke the rule.
///
/// ```
/// use std::time::SystemTime;
/// use proc_manager_core::ProcStatus;
/// use proc_manager_testkit::conformance::check_observed_path;
///
/// let running = ProcStatus::Running { pid: 1, started_at: SystemTime::now() };
/// let stopped = ProcStatus::Stopped { exit_code: 0, stderr_tail: vec![] };
/// assert!(check_observed_path(&[running.clone(), stopped.clone()]).is_ok());
/// assert!(check_observed_path(&[stopped, running]).is_err());
/// ```
pub fn check_observed_path(path: &[ProcStatus]) -> Result<(), String> {
    for (i, pair) in path.windows(2).enumerate() {
        let (prev, next) = (&pair[0], &pair[1]);
        if prev.is_exit() && prev != next {
            return Err(format!(
                "observed #{i} was terminal ({prev:?}) but #{} was {next:?}: a terminal status was left",
                i + 1
            ));
        }
        if !prev.is_exit() && !is_reachable(prev, next) {
            return Err(format!(
                "observed #{i} {prev:?} then #{} {next:?}: no legal path leads from the first to the second",
                i + 1
            ));
        }
    }
    Ok(())
}
