//! [`Registry`]: the procs a manager knows by id, and the ids being spawned
//! right now ([`Reservation`]), so two spawns of one id cannot both win.
//!
//! Generic over the handle (anything that can say whether its proc is
//! alive), so the rules are unit-tested here without processes. What a
//! spawn does between reserving and publishing is [`crate::launcher`]'s
//! business.
//!
//! Retention of ended procs belongs here too: `forget(&id)` removes an ended
//! entry from `handles`, and `retain_ended(n)` needs only an ordered record
//! of ended ids beside it (pushed when an entry is found ended, trimmed to
//! `n` under the same lock).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use proc_manager_core::{ProcHandle, ProcId, SpawnError};

/// What the registry needs to know about an entry.
pub(crate) trait Entry: Clone {
    /// Whether its proc has not (yet) been seen to end.
    fn is_alive(&self) -> bool;
}

impl<H: ProcHandle + Clone> Entry for H {
    fn is_alive(&self) -> bool {
        self.status().is_alive()
    }
}

#[derive(Debug)]
struct Entries<H> {
    handles: HashMap<ProcId, H>,
    starting: HashSet<ProcId>,
}

/// Known procs and ids being spawned. See the module docs.
#[derive(Debug)]
pub(crate) struct Registry<H> {
    entries: Mutex<Entries<H>>,
}

impl<H> Default for Registry<H> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(Entries {
                handles: HashMap::new(),
                starting: HashSet::new(),
            }),
        }
    }
}

impl<H: Entry> Registry<H> {
    fn lock(&self) -> MutexGuard<'_, Entries<H>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves `proc_id` for a spawn: refused ([`SpawnError::Duplicate`])
    /// while a live proc has it or another spawn of it is in progress. An
    /// ended proc's id may be reused; its entry is replaced on publish.
    pub(crate) fn reserve(&self, proc_id: &ProcId) -> Result<Reservation<'_, H>, SpawnError> {
        let mut entries = self.lock();
        let live = entries.handles.get(proc_id).is_some_and(H::is_alive);
        if live || !entries.starting.insert(proc_id.clone()) {
            return Err(SpawnError::Duplicate {
                proc_id: proc_id.clone(),
            });
        }
        Ok(Reservation {
            registry: self,
            proc_id: proc_id.clone(),
        })
    }

    /// The entry for `proc_id`, live or ended.
    pub(crate) fn get(&self, proc_id: &ProcId) -> Option<H> {
        self.lock().handles.get(proc_id).cloned()
    }

    /// Every known id, live or ended (not those still being spawned).
    pub(crate) fn ids(&self) -> Vec<ProcId> {
        self.lock().handles.keys().cloned().collect()
    }

    /// Entries whose proc is not known to have ended.
    pub(crate) fn live(&self) -> Vec<H> {
        self.lock()
            .handles
            .values()
            .filter(|h| h.is_alive())
            .cloned()
            .collect()
    }
}

/// An id reserved for a spawn in progress; frees it on drop unless
/// [fulfilled](Reservation::fulfil).
#[derive(Debug)]
pub(crate) struct Reservation<'a, H: Entry> {
    registry: &'a Registry<H>,
    proc_id: ProcId,
}

impl<H: Entry> Reservation<'_, H> {
    /// Publishes `handle` under the reserved id.
    pub(crate) fn fulfil(self, handle: H) {
        let mut entries = self.registry.lock();
        entries.starting.remove(&self.proc_id);
        entries.handles.insert(self.proc_id.clone(), handle);
    }
}

impl<H: Entry> Drop for Reservation<'_, H> {
    fn drop(&mut self) {
        self.registry.lock().starting.remove(&self.proc_id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// An entry whose liveness the test flips.
    #[derive(Debug, Clone, Default)]
    struct Fake(Arc<AtomicBool>);

    impl Fake {
        fn alive() -> Self {
            Self(Arc::new(AtomicBool::new(true)))
        }
        fn end(&self) {
            self.0.store(false, Ordering::SeqCst);
        }
    }

    impl Entry for Fake {
        fn is_alive(&self) -> bool {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn id(name: &str) -> ProcId {
        ProcId::new(name).unwrap()
    }

    fn is_duplicate<T: std::fmt::Debug>(result: Result<T, SpawnError>, name: &str) -> bool {
        matches!(result, Err(SpawnError::Duplicate { proc_id }) if proc_id.as_str() == name)
    }

    #[test]
    fn an_id_being_spawned_cannot_be_reserved_twice_and_is_not_listed() {
        let registry = Registry::<Fake>::default();
        let first = registry.reserve(&id("a")).unwrap();
        assert!(is_duplicate(registry.reserve(&id("a")), "a"));
        assert!(registry.ids().is_empty());
        assert!(registry.get(&id("a")).is_none());
        drop(first);
        assert!(registry.reserve(&id("a")).is_ok(), "freed on drop");
    }

    #[test]
    fn a_live_proc_keeps_its_id_and_an_ended_one_frees_it() {
        let registry = Registry::default();
        let handle = Fake::alive();
        registry.reserve(&id("a")).unwrap().fulfil(handle.clone());
        assert!(is_duplicate(registry.reserve(&id("a")), "a"));
        assert_eq!(registry.live().len(), 1);
        handle.end();
        assert!(registry.live().is_empty());
        assert_eq!(registry.ids(), [id("a")], "ended procs stay known");
        let again = Fake::alive();
        registry.reserve(&id("a")).unwrap().fulfil(again.clone());
        assert!(registry.get(&id("a")).unwrap().is_alive(), "replaced");
        assert_eq!(registry.ids().len(), 1);
    }
}
