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
//! Where the files are: [`discover`]. Waiting for a cgroup to empty:
//! [`watch`]. Starting a child inside a cgroup: [`crate::clone_spawn`].

pub(crate) mod discover;
pub(crate) mod watch;

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::stamp::ManagerStamp;

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
    next: AtomicU64,
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
            dir,
            next: AtomicU64::new(0),
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

    /// Makes the next proc's cgroup.
    pub(crate) fn new_proc(&self) -> io::Result<ProcCgroup> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        ProcCgroup::create(self.dir.join(format!("p{n}")))
    }

    /// SIGKILLs every process of every proc (one `cgroup.kill`).
    pub(crate) fn kill_all(&self) -> io::Result<()> {
        kill(&self.dir)
    }
}

impl Drop for ManagerCgroup {
    fn drop(&mut self) {
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

/// One proc's cgroup.
#[derive(Debug)]
pub(crate) struct ProcCgroup {
    dir: PathBuf,
}

impl ProcCgroup {
    fn create(dir: PathBuf) -> io::Result<Self> {
        std::fs::create_dir(&dir)?;
        Ok(Self { dir })
    }

    /// Opens the directory itself (`O_PATH`), for a child to be born in
    /// it (`CLONE_INTO_CGROUP`) or to find its `cgroup.procs` in.
    pub(crate) fn open_dir(&self) -> io::Result<OwnedFd> {
        let flags =
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC;
        Ok(rustix::fs::open(
            &self.dir,
            flags,
            rustix::fs::Mode::empty(),
        )?)
    }

    /// SIGKILLs every process in it. An already removed cgroup is not an
    /// error (everything in it is gone).
    pub(crate) fn kill(&self) -> io::Result<()> {
        match kill(&self.dir) {
            // Gone (the proc ended and its monitor removed it, perhaps
            // between our open and our write: ENODEV): nothing to kill.
            Err(err) if is_gone(&err) => Ok(()),
            other => other,
        }
    }

    /// Whether any live process is in it (a removed cgroup is empty).
    #[cfg(test)]
    pub(crate) fn is_populated(&self) -> io::Result<bool> {
        watch::is_populated(&self.dir)
    }

    /// Waits until no live process is in it; with `kill_first`, kills
    /// what is still in it first (an empty cgroup is not written to).
    pub(crate) async fn wait_empty(&self, kill_first: bool) -> io::Result<()> {
        watch::wait_empty(&self.dir, || {
            if kill_first {
                if let Err(err) = self.kill() {
                    tracing::warn!(path = %self.dir.display(), %err, "cgroup.kill failed");
                }
            }
        })
        .await
    }

    /// Waits (blocking, bounded) until it is empty; whether it is.
    pub(crate) fn wait_empty_blocking(&self, timeout: Duration) -> bool {
        watch::wait_empty_blocking(&self.dir, timeout)
    }

    /// Removes it (once empty). Already removed is fine.
    pub(crate) fn remove(&self) {
        remove_proc_cgroup(&self.dir);
    }

    /// [`remove`](Self::remove), on the janitor thread: an `rmdir` takes
    /// the kernel's cgroup lock, which procs ending together queue on.
    pub(crate) fn remove_later(&self) {
        let dir = self.dir.clone();
        crate::janitor::later(move || remove_proc_cgroup(&dir));
    }
}

impl Drop for ProcCgroup {
    /// A spawn that failed after making the cgroup leaves nothing behind
    /// (an empty cgroup is removed; a populated one stays for the manager
    /// cgroup's teardown).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn remove_proc_cgroup(dir: &Path) {
    if let Err(err) = remove_dir(dir) {
        tracing::debug!(path = %dir.display(), %err, "cannot remove proc cgroup");
    }
}

/// Writes `1` to `dir/cgroup.kill`.
fn kill(dir: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(dir.join("cgroup.kill"))?;
    file.write_all(b"1")
}

/// `rmdir` (only once the cgroup is empty, else `EBUSY`); a missing dir is
/// fine.
/// Whether `err` says the cgroup no longer exists: not found, or removed
/// while a file of it was open (kernfs answers ENODEV).
fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ENODEV)
}

fn remove_dir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir(dir) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_cgroup_is_gone_whichever_way_the_kernel_says_it() {
        assert!(is_gone(&io::Error::from(io::ErrorKind::NotFound)));
        // Removed while its file was open: kernfs's answer.
        assert!(is_gone(&io::Error::from_raw_os_error(libc::ENODEV)));
        assert!(!is_gone(&io::Error::from_raw_os_error(libc::EACCES)));
    }

    #[test]
    fn killing_a_cgroup_that_no_longer_exists_is_not_an_error() {
        let gone = ProcCgroup {
            dir: PathBuf::from("/nonexistent/proc-manager-test/p0"),
        };
        gone.kill().expect("nothing left to kill");
    }
}
