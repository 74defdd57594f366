//! [`RuntimeDir`]: the manager's private (0700) runtime directory, created
//! on first spawn, which holds the manager's log socket and the private
//! per-proc directories with the callback sockets and the child's own
//! sockets.
//!
//! Serving the sockets is [`crate::callback`]'s and [`crate::log_channel`]'s
//! job; this module only makes and removes directories.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::stamp::ManagerStamp;

/// The longest socket path `sockaddr_un` takes (108 bytes with the NUL).
pub(crate) const MAX_SOCKET_PATH: usize = 107;

/// The manager's runtime dir. Removed on drop if this manager created it.
#[derive(Debug)]
pub(crate) struct RuntimeDir {
    path: PathBuf,
    /// `None` until first use; then whether we created it.
    state: Mutex<Option<bool>>,
    next: AtomicU64,
    /// Random per manager: managers sharing a runtime dir never pick the
    /// same proc dir name.
    tag: u32,
}

impl RuntimeDir {
    /// A runtime dir at `path` (not created yet).
    pub(crate) fn new(path: PathBuf) -> Self {
        let mut bytes = [0u8; 4];
        // A failed read leaves 0: the pid-based default path stays unique.
        let _ = getrandom::fill(&mut bytes);
        Self {
            path,
            state: Mutex::new(None),
            next: AtomicU64::new(0),
            tag: u32::from_ne_bytes(bytes),
        }
    }

    /// A fresh default path, `proc-manager-<pid>.<start>-<n>-<random>`
    /// (a [`ManagerStamp`] name, so a later manager can tell this one is
    /// dead and sweep the dir) under the first of [`default_bases`].
    pub(crate) fn default_path() -> PathBuf {
        let mut bytes = [0u8; 4];
        // Uniqueness also comes from the stamp and the counter below.
        let _ = getrandom::fill(&mut bytes);
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let base = default_bases()
            .into_iter()
            .next()
            .unwrap_or_else(std::env::temp_dir);
        base.join(ManagerStamp::current().name(&format!("{n}-{:08x}", u32::from_ne_bytes(bytes))))
    }

    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the dir (0700) if this has not been done yet.
    pub(crate) fn ensure(&self) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.is_some() {
            return Ok(());
        }
        let created = match std::fs::DirBuilder::new().mode(0o700).create(&self.path) {
            Ok(()) => true,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                // A dir the user chose (possibly shared, like /tmp): its mode
                // is theirs. Privacy comes from the 0700 per-proc dirs inside.
                if !self.path.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "runtime dir {} exists and is not a directory",
                            self.path.display()
                        ),
                    ));
                }
                false
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = self.path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::DirBuilder::new().mode(0o700).create(&self.path)?;
                true
            }
            Err(err) => return Err(err),
        };
        *state = Some(created);
        Ok(())
    }

    /// Whether this manager created the dir (and so removes it).
    pub(crate) fn owned(&self) -> bool {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) == Some(true)
    }

    /// The path of the next per-proc dir (not created yet).
    pub(crate) fn next_proc_dir(&self) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.path.join(format!("p{n}-{:08x}", self.tag))
    }

    /// The path of this manager's log socket (shared by all its procs).
    pub(crate) fn log_socket(&self) -> PathBuf {
        self.path.join(format!("log-{:08x}.sock", self.tag))
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if *state == Some(true) {
            // The janitor may be removing a proc dir inside at the same time;
            // a few attempts settle that race.
            let mut result = Ok(());
            for _ in 0..3 {
                result = std::fs::remove_dir_all(&self.path);
                if result.is_ok() || !self.path.exists() {
                    return;
                }
            }
            if let Err(err) = result {
                tracing::debug!(path = %self.path.display(), %err, "cannot remove runtime dir");
            }
        }
    }
}

/// A per-proc private dir; removed on drop unless [`ProcDir::keep`] was
/// called (the exit monitor then removes it when the proc ends).
#[derive(Debug)]
pub(crate) struct ProcDir {
    path: PathBuf,
    armed: bool,
}

impl ProcDir {
    /// Creates `path` with mode 0700.
    pub(crate) fn create(path: PathBuf) -> io::Result<Self> {
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(Self { path, armed: true })
    }

    /// Stops the drop from removing the dir.
    pub(crate) fn keep(mut self) -> PathBuf {
        self.armed = false;
        std::mem::take(&mut self.path)
    }
}

impl Drop for ProcDir {
    fn drop(&mut self) {
        if self.armed {
            remove_proc_dir(&self.path);
        }
    }
}

/// Removes a per-proc dir in the background, on the janitor thread
/// ([`crate::janitor`]).
pub(crate) fn remove_proc_dir_later(path: PathBuf) {
    crate::janitor::later(move || remove_proc_dir(&path));
}

/// Where default runtime dirs go, best first: `$XDG_RUNTIME_DIR` (a
/// per-user tmpfs made for sockets), `$TMPDIR` when set, `/dev/shm`
/// (tmpfs), the temp dir; only absolute, writable dirs. Sockets on a
/// disk-backed file system cost milliseconds each to create and remove on
/// a busy machine; on tmpfs, microseconds.
pub(crate) fn default_bases() -> Vec<PathBuf> {
    let mut bases: Vec<PathBuf> = ["XDG_RUNTIME_DIR", "TMPDIR"]
        .into_iter()
        .filter_map(|var| std::env::var_os(var).map(PathBuf::from))
        .chain([PathBuf::from("/dev/shm"), std::env::temp_dir()])
        .filter(|dir| dir.is_absolute() && dir.is_dir() && is_writable(dir))
        .collect();
    bases.dedup();
    bases
}

/// Whether this process may create entries in `dir`.
fn is_writable(dir: &Path) -> bool {
    rustix::fs::access(
        dir,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    )
    .is_ok()
}

/// Removes a per-proc dir and whatever sockets are in it.
pub(crate) fn remove_proc_dir(path: &Path) {
    if let Err(err) = std::fs::remove_dir_all(path) {
        if err.kind() != io::ErrorKind::NotFound {
            tracing::debug!(path = %path.display(), %err, "cannot remove proc dir");
        }
    }
}
