//! [`Containment`]: how a manager keeps everything a proc starts inside
//! reach (a cgroup v2 per proc, or the proc's process group), and the one
//! rule that turns [`Containment::Auto`] into the mode in effect.
//!
//! Making cgroups is [`crate::cgroup`]'s job; starting a child inside one is
//! [`crate::clone_spawn`]'s.

use std::fmt;

/// How the processes a proc starts are kept within the manager's reach.
///
/// Either way the child is started the same way, at `vfork` cost, in its
/// own process group, with every signal at its default action: even one
/// the manager's process ignores (a script's background job ignores SIGINT
/// and SIGQUIT, `nohup` SIGHUP) starts at its default, so the program can
/// trap it and a `stop_signal` reaches it.
///
/// ```
/// use proc_manager_bootstrap::{BootstrapCommand, BootstrapProcManager, Containment};
///
/// let manager = BootstrapProcManager::builder(BootstrapCommand::new("/bin/true"))
///     .containment(Containment::ProcessGroup)
///     .build();
/// assert_eq!(manager.containment(), Containment::ProcessGroup);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Containment {
    /// A cgroup per proc where the manager can make one (cgroup v2, under
    /// the manager's own cgroup or the builder's `cgroup_root`), else
    /// process groups; the fallback is logged once at `info` with the
    /// reason. The default.
    #[default]
    Auto,
    /// A cgroup v2 per proc: nothing the proc starts can leave it (`setsid`,
    /// double fork, daemonizing), stopping and killing reach every process
    /// in it through `cgroup.kill`, and the proc is terminal only once the
    /// cgroup is empty. (The polite SIGTERM of `terminate` still goes to the
    /// process group; the SIGKILL at its deadline to the whole cgroup.)
    /// Where no cgroup can be made, every spawn fails with an error naming
    /// the path and the reason (never a silent fallback).
    Cgroup,
    /// The proc's own process group: a child that calls `setsid` or
    /// `setpgid` leaves it and is out of reach.
    ProcessGroup,
}

impl fmt::Display for Containment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Cgroup => "cgroup",
            Self::ProcessGroup => "process group",
        })
    }
}
