//! [`GroupTable`]: the synchronous table of live process groups a manager
//! has spawned, so `Drop` can kill them without an async runtime.
//!
//! Entries are added by the forking thread right after a spawn and removed
//! by the exit monitor right after the reap. What killing means is in
//! [`crate::group`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::group::ProcessGroup;
use crate::guardian::Guardian;
use crate::os::ChildOs;
use crate::pidfd::PidFd;

/// Live process groups by leader pid.
#[derive(Debug)]
pub(crate) struct GroupTable<O: ChildOs = PidFd> {
    groups: Mutex<HashMap<u32, Arc<ProcessGroup<O>>>>,
    /// The manager-death guardian, told of every group added and removed
    /// (only without cgroups: see [`crate::guardian`]).
    mirror: OnceLock<Arc<Guardian>>,
}

impl<O: ChildOs> Default for GroupTable<O> {
    fn default() -> Self {
        Self {
            groups: Mutex::new(HashMap::new()),
            mirror: OnceLock::new(),
        }
    }
}

impl<O: ChildOs> GroupTable<O> {
    fn lock(&self) -> MutexGuard<'_, HashMap<u32, Arc<ProcessGroup<O>>>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a live group.
    pub(crate) fn insert(&self, group: Arc<ProcessGroup<O>>) {
        let pid = group.pid();
        self.lock().insert(pid, group);
        if let Some(guardian) = self.mirror.get() {
            guardian.track(pid);
        }
    }

    /// Forgets a group (after its leader was reaped).
    pub(crate) fn remove(&self, pid: u32) {
        if self.lock().remove(&pid).is_some() {
            if let Some(guardian) = self.mirror.get() {
                guardian.untrack(pid);
            }
        }
    }

    /// From now on, tells `guardian` of every group added and removed,
    /// starting with those recorded now.
    pub(crate) fn mirror_to(&self, guardian: Arc<Guardian>) {
        let groups = self.lock();
        for &pid in groups.keys() {
            guardian.track(pid);
        }
        let _ = self.mirror.set(guardian);
    }

    /// The leaders' pids.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.lock().keys().copied().collect()
    }

    /// How many groups are recorded.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// SIGKILLs every recorded group, synchronously.
    pub(crate) fn kill_all(&self) {
        let groups: Vec<_> = self.lock().values().cloned().collect();
        for group in groups {
            group.kill_now();
        }
    }
}
