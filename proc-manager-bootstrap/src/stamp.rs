//! [`ManagerStamp`]: names a manager's process so that whether it still
//! lives can be told later without trusting a pid the kernel may have
//! handed out again: the pid plus the process's start time (field 22 of
//! `/proc/<pid>/stat`, in clock ticks since boot), which a recycled pid
//! never shares.
//!
//! Runtime dirs and manager cgroups carry the stamp in their names
//! (`proc-manager-<pid>.<start>-…`) so a new manager can sweep what dead
//! ones left ([`crate::sweep`]).

use std::fmt;
use std::sync::OnceLock;

/// The prefix of every name that carries a stamp.
const PREFIX: &str = "proc-manager-";

/// A process's pid and start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ManagerStamp {
    pid: u32,
    start: u64,
}

impl ManagerStamp {
    /// This process's stamp (read once).
    pub(crate) fn current() -> Self {
        static CURRENT: OnceLock<ManagerStamp> = OnceLock::new();
        *CURRENT.get_or_init(|| {
            let pid = std::process::id();
            // Without /proc the start time reads as 0: names stay unique by
            // pid, and a sweep never finds a live match for them (it skips
            // names it cannot check, see `is_dead`).
            Self::of(pid).unwrap_or(Self { pid, start: 0 })
        })
    }

    /// The stamp of the live process `pid`, if there is one.
    pub(crate) fn of(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(Self {
            pid,
            start: start_time(&stat)?,
        })
    }

    /// Reads a stamp back from a name made by [`ManagerStamp::name`].
    pub(crate) fn parse_name(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(PREFIX)?;
        let (pid, rest) = rest.split_once('.')?;
        let start = rest.split('-').next()?;
        Some(Self {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }

    /// `proc-manager-<pid>.<start>-<suffix>`.
    pub(crate) fn name(&self, suffix: &str) -> String {
        format!("{PREFIX}{self}-{suffix}")
    }

    /// Whether the process this stamp names is gone: no process has the
    /// pid, or the one that has it started at another time. A stamp with
    /// an unknown start time (0) is never taken for dead.
    pub(crate) fn is_dead(&self) -> bool {
        self.start != 0 && Self::of(self.pid) != Some(*self)
    }
}

impl fmt::Display for ManagerStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.pid, self.start)
    }
}

/// Field 22 of a `/proc/<pid>/stat` line. The command name (field 2) is in
/// parentheses and may hold spaces and parentheses itself, so fields are
/// counted from the last `)`.
fn start_time(stat: &str) -> Option<u64> {
    let (_, after) = stat.rsplit_once(')')?;
    // After the name: field 3 (state) is index 0, so field 22 is index 19.
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_start_time_past_a_name_with_spaces() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2";
        assert_eq!(start_time(stat), Some(987_654));
        assert_eq!(start_time("42 (x) S 1"), None);
    }

    #[test]
    fn names_round_trip() {
        let stamp = ManagerStamp {
            pid: 12,
            start: 345,
        };
        let name = stamp.name("0-abcd");
        assert_eq!(name, "proc-manager-12.345-0-abcd");
        assert_eq!(ManagerStamp::parse_name(&name), Some(stamp));
        assert_eq!(ManagerStamp::parse_name("proc-manager-12-0-abcd"), None);
        assert_eq!(ManagerStamp::parse_name("other-12.345-x"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_dead() {
        let me = ManagerStamp::current();
        assert!(!me.is_dead());
        let recycled = ManagerStamp {
            pid: me.pid,
            start: me.start + 1,
        };
        assert!(recycled.is_dead());
        assert!(
            !ManagerStamp {
                pid: me.pid,
                start: 0
            }
            .is_dead()
        );
    }
}
