//! [`GroupTable`]: the synchronous table of live process groups a manager
//! has spawned, so `Drop` can kill them without an async runtime.
//!
//! Entries are added by the spawner thread right after a spawn and removed
//! by the exit monitor right after the reap. What killing means is in
//! [`crate::group`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::group::ProcessGroup;
use crate::os::ChildOs;
use crate::pidfd::PidFd;

/// Live process groups by leader pid.
#[derive(Debug)]
pub(crate) struct GroupTable<O: ChildOs = PidFd> {
    groups: Mutex<HashMap<u32, Arc<ProcessGroup<O>>>>,
}

impl<O: ChildOs> Default for GroupTable<O> {
    fn default() -> Self {
        Self {
            groups: Mutex::new(HashMap::new()),
        }
    }
}

impl<O: ChildOs> GroupTable<O> {
    fn lock(&self) -> MutexGuard<'_, HashMap<u32, Arc<ProcessGroup<O>>>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a live group.
    pub(crate) fn insert(&self, group: Arc<ProcessGroup<O>>) {
        self.lock().insert(group.pid(), group);
    }

    /// Forgets a group (after its leader was reaped).
    pub(crate) fn remove(&self, pid: u32) {
        self.lock().remove(&pid);
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
