//! [`SpareCgroups`]: names a manager's proc cgroups (`p0`, `p1`, …) and
//! keeps one made (and opened) ahead of need, on the janitor thread, so a
//! spawn does not wait for the `mkdir` (30–45 µs here: the kernel populates
//! a new cgroup's interface files) nor for the open (10–35 µs). A burst of
//! spawns takes the one spare and makes the rest itself, as before.
//!
//! A spare is a fresh, never used cgroup, so nothing of an earlier proc
//! carries over. Once closed (the manager cgroup's teardown) no spare is
//! made and the one made is removed.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::proc_cgroup::ProcCgroup;

/// The proc cgroups of one manager cgroup.
#[derive(Debug)]
pub(crate) struct SpareCgroups {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The manager cgroup.
    dir: PathBuf,
    next: AtomicU64,
    slot: Mutex<Slot>,
}

#[derive(Debug, Default)]
struct Slot {
    ready: Option<ProcCgroup>,
    /// A spare is being made (or queued) on the janitor thread.
    making: bool,
    closed: bool,
}

impl Inner {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn make(&self) -> io::Result<ProcCgroup> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        ProcCgroup::create(self.dir.join(format!("p{n}")))
    }
}

impl SpareCgroups {
    /// Proc cgroups inside the manager cgroup at `dir`.
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            inner: Arc::new(Inner {
                dir,
                next: AtomicU64::new(0),
                slot: Mutex::new(Slot::default()),
            }),
        }
    }

    /// A new proc's cgroup: the spare if one is ready, else made now; then
    /// the next spare is made in the background.
    pub(crate) fn take(&self) -> io::Result<ProcCgroup> {
        let spare = self.inner.slot().ready.take();
        let taken = match spare {
            Some(cgroup) => Ok(cgroup),
            None => self.inner.make(),
        };
        self.make_spare_later();
        taken
    }

    fn make_spare_later(&self) {
        {
            let mut slot = self.inner.slot();
            if slot.closed || slot.making || slot.ready.is_some() {
                return;
            }
            slot.making = true;
        }
        let inner = self.inner.clone();
        crate::janitor::later(move || {
            // Made under the lock, so a teardown (which closes under it
            // first) never finds a spare appearing behind it.
            let mut slot = inner.slot();
            slot.making = false;
            if slot.closed || slot.ready.is_some() {
                return;
            }
            match inner.make() {
                Ok(cgroup) => slot.ready = Some(cgroup),
                Err(err) => tracing::debug!(%err, "cannot make a spare proc cgroup"),
            }
        });
    }

    /// No more spares; the one made, if any, is removed.
    pub(crate) fn close(&self) {
        let mut slot = self.inner.slot();
        slot.closed = true;
        // Dropping an (empty) ProcCgroup removes it.
        slot.ready = None;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use super::*;

    /// Waits (bounded) until `path` exists or not: the janitor has no
    /// event to wait on.
    fn until(path: &Path, exists: bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while path.exists() != exists {
            assert!(
                Instant::now() < deadline,
                "{} exists: {}",
                path.display(),
                !exists
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    // Plain dirs stand in for cgroups: making and removing one is a
    // `mkdir` and an `rmdir` either way.
    #[test]
    fn the_next_cgroup_is_made_ahead_and_handed_out_then_closed() {
        let dir = tempfile::tempdir().unwrap();
        let spares = SpareCgroups::new(dir.path().to_owned());
        let first = spares.take().unwrap();
        assert_eq!(first.path(), dir.path().join("p0"), "none ready: made now");
        until(&dir.path().join("p1"), true);
        let second = spares.take().unwrap();
        assert_eq!(second.path(), dir.path().join("p1"), "the spare");
        until(&dir.path().join("p2"), true);
        spares.close();
        assert!(!dir.path().join("p2").exists(), "closing removes the spare");
        drop((first, second));
        let third = spares.take().unwrap();
        assert_eq!(third.path(), dir.path().join("p3"), "closed: made now");
        // None is made after closing.
        let (tx, rx) = std::sync::mpsc::channel();
        crate::janitor::later(move || {
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(20)).unwrap();
        assert!(!dir.path().join("p4").exists());
    }
}
