//! cgroup v2 for containment: [`ManagerCgroup`], the one cgroup a manager
//! owns (`<base>/proc-manager-<pid>.<start>-<tag>`, under the manager's own
//! cgroup or the builder's `cgroup_root`), and [`ProcCgroup`], one proc's
//! cgroup inside it (`…/p<n>`).
//!
//! Procs never live in the manager cgroup itself, only in its children, so
//! the v2 "no internal processes" rule never bites and one write to the
//! manager cgroup's `cgroup.kill` reaches every process of every proc. The
//! manager's own process stays where it was (its cgroup is an ancestor), so
//! that kill never reaches the manager or its guardian.
//!
//! Where the files are: [`discover`]. One proc's cgroup and the file
//! operations on it: [`proc_cgroup`]. Naming proc cgroups and making one
//! ahead of need: [`spare`]. Waiting for a cgroup to empty: [`watch`].
//! Starting a child inside a cgroup: [`crate::clone_spawn`].

pub(crate) mod discover;
mod proc_cgroup;
mod spare;
pub(crate) mod watch;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::stamp::ManagerStamp;
pub(crate) use proc_cgroup::ProcCgroup;
use proc_cgroup::{is_gone, kill, remove_dir};
use spare::SpareCgroups;

/// How long a synchronous teardown waits for killed processes to leave.
pub(crate) const TEARDOWN_WAIT: Duration = Duration::from_secs(2);

/// Why no cgroup could be made: the path and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupUnavailable {
    pub(crate) path: PathBuf,
    pub(crate) reason: String,
}

impl std::fmt::Display for CgroupUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cgroup {}: {}", self.path.display(), self.reason)
    }
}

/// The cgroup a manager owns; every proc's cgroup is a child of it.
/// Dropping it kills everything inside and removes it (synchronously).
#[derive(Debug)]
pub(crate) struct ManagerCgroup {
    dir: PathBuf,
    procs: SpareCgroups,
}

impl ManagerCgroup {
    /// Makes the manager's cgroup under `root`, or under this process's own
    /// cgroup when `root` is `None`, and checks the kernel has
    /// `cgroup.kill` (Linux 5.14).
    pub(crate) fn create(root: Option<&Path>) -> Result<Self, CgroupUnavailable> {
        let base = match root {
            Some(root) => root.to_path_buf(),
            None => discover::own_cgroup_dir().map_err(|reason| CgroupUnavailable {
                path: PathBuf::from("/proc/self/cgroup"),
                reason,
            })?,
        };
        let unavailable = |path: &Path, reason: String| CgroupUnavailable {
            path: path.to_path_buf(),
            reason,
        };
        discover::check_writable_v2_dir(&base).map_err(|r| unavailable(&base, r))?;
        let mut tag = [0u8; 4];
        // Uniqueness also comes from the stamp; a failed read leaves zeros.
        let _ = getrandom::fill(&mut tag);
        let name = ManagerStamp::current().name(&format!("{:08x}", u32::from_ne_bytes(tag)));
        let dir = base.join(name);
        std::fs::create_dir(&dir)
            .map_err(|e| unavailable(&dir, format!("cannot create it: {e}")))?;
        let made = Self {
            procs: SpareCgroups::new(dir.clone()),
            dir,
        };
        if !made.dir.join("cgroup.kill").exists() {
            return Err(unavailable(
                &made.dir,
                "the kernel has no cgroup.kill (Linux 5.14 or later is needed)".into(),
            ));
        }
        let procs = made.dir.join("cgroup.procs");
        rustix::fs::access(&procs, rustix::fs::Access::WRITE_OK)
            .map_err(|e| unavailable(&procs, format!("cannot move processes into it: {e}")))?;
        Ok(made)
    }

    /// Where it is.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The next proc's cgroup (made ahead where it could be: [`spare`]).
    pub(crate) fn new_proc(&self) -> io::Result<ProcCgroup> {
        self.procs.take()
    }

    /// SIGKILLs every process of every proc (one `cgroup.kill`).
    pub(crate) fn kill_all(&self) -> io::Result<()> {
        kill(&self.dir)
    }
}

impl Drop for ManagerCgroup {
    fn drop(&mut self) {
        self.procs.close();
        remove_tree(&self.dir, TEARDOWN_WAIT);
    }
}

/// Kills everything in the cgroup tree at `dir`, waits (bounded) for it to
/// empty, and removes the proc cgroups and `dir` itself. For teardown and
/// for sweeping what a dead manager left.
pub(crate) fn remove_tree(dir: &Path, wait: Duration) {
    match kill(dir) {
        Ok(()) => {}
        Err(err) if is_gone(&err) => return,
        Err(err) => tracing::debug!(path = %dir.display(), %err, "cgroup.kill failed"),
    }
    if !watch::wait_empty_blocking(dir, wait) {
        tracing::warn!(path = %dir.display(), ?wait, "cgroup still populated after cgroup.kill");
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = remove_dir(&entry.path());
            }
        }
    }
    if let Err(err) = remove_dir(dir) {
        tracing::debug!(path = %dir.display(), %err, "cannot remove cgroup");
    }
}
