//! [`ProcCgroup`]: one proc's cgroup (`…/p<n>` inside its manager's), and
//! the file operations every cgroup of ours needs: `cgroup.kill`, `rmdir`,
//! and telling a cgroup that is gone from a failure.
//!
//! Naming them and making them ahead is [`super::spare`]'s job; the
//! manager's own cgroup is in [`super`]; waiting for one to empty is
//! [`super::watch`].

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::watch;

/// One proc's cgroup.
#[derive(Debug)]
pub(crate) struct ProcCgroup {
    dir: PathBuf,
    /// The directory, opened when it was made (for a spare: on the janitor
    /// thread, so the spawn does not wait for the path walk), until the
    /// child is born in it.
    opened: Option<OwnedFd>,
}

impl ProcCgroup {
    /// Where it is (for tests of what names it).
    #[cfg(test)]
    pub(super) fn path(&self) -> &Path {
        &self.dir
    }

    /// Makes it and opens it (a failed open is retried by
    /// [`take_dir`](Self::take_dir)).
    pub(super) fn create(dir: PathBuf) -> io::Result<Self> {
        std::fs::create_dir(&dir)?;
        let opened = open_dir(&dir).ok();
        Ok(Self { dir, opened })
    }

    /// The directory itself (`O_PATH`), for a child to be born in it
    /// (`CLONE_INTO_CGROUP`) or to find its `cgroup.procs` in: the one
    /// opened when it was made, else opened now.
    pub(crate) fn take_dir(&mut self) -> io::Result<OwnedFd> {
        match self.opened.take() {
            Some(fd) => Ok(fd),
            None => open_dir(&self.dir),
        }
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

fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    let flags =
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC;
    Ok(rustix::fs::open(dir, flags, rustix::fs::Mode::empty())?)
}

/// Writes `1` to `dir/cgroup.kill`.
pub(super) fn kill(dir: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(dir.join("cgroup.kill"))?;
    file.write_all(b"1")
}

/// Whether `err` says the cgroup no longer exists: not found, or removed
/// while a file of it was open (kernfs answers ENODEV).
pub(super) fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ENODEV)
}

/// `rmdir` (only once the cgroup is empty, else `EBUSY`); a missing dir is
/// fine.
pub(super) fn remove_dir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir(dir) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

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
            opened: None,
        };
        gone.kill().expect("nothing left to kill");
    }

    #[test]
    fn the_dir_opened_when_made_is_handed_out_once_then_opened_again() {
        let root = tempfile::tempdir().unwrap();
        let mut cgroup = ProcCgroup::create(root.path().join("p0")).unwrap();
        assert!(cgroup.opened.is_some(), "opened when made");
        let first = cgroup.take_dir().unwrap();
        assert!(cgroup.opened.is_none());
        let again = cgroup.take_dir().unwrap();
        for fd in [first, again] {
            let at = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
            assert_eq!(at, root.path().join("p0"));
        }
    }
}
