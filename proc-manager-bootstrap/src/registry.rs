//! [`Registry`]: the procs a manager knows by id, and the ids being spawned
//! right now ([`Reservation`]), so two spawns of one id cannot both win.
//!
//! Generic over the handle (anything that can say whether its proc is
//! alive), so the rules are unit-tested here without processes. What a
//! spawn does between reserving and publishing is [`crate::launcher`]'s
//! business.
//!
//! Retention of ended procs is here too: [`Registry::forget`] removes an
//! ended entry at once, and the last `retain_ended` ended entries are kept,
//! older ones dropped as new ones end: core's [`Retention`] record beside
//! the entries, told when a proc is reported ended
//! ([`Registry::note_ended`], or found ended when published) and trimmed
//! under the same lock, so memory stays flat over any number of spawns.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use proc_manager_core::{CellHandle, ProcId, ProcStatus, Retention, SpawnError};

/// What the registry needs to know about an entry.
pub(crate) trait Entry: Clone {
    /// Whether its proc has not (yet) been seen to end.
    fn is_alive(&self) -> bool;
}

impl<H: CellHandle + Clone> Entry for H {
    fn is_alive(&self) -> bool {
        // No copy of the status: `live()` asks this of every proc.
        self.cell().inspect(ProcStatus::is_alive)
    }
}

#[derive(Debug)]
struct Entries<H> {
    handles: HashMap<ProcId, H>,
    starting: HashSet<ProcId>,
    ended: Retention,
}

/// Known procs and ids being spawned. See the module docs.
#[derive(Debug)]
pub(crate) struct Registry<H> {
    entries: Mutex<Entries<H>>,
}

impl<H> Default for Registry<H> {
    fn default() -> Self {
        Self::with_retention(Retention::DEFAULT_LIMIT)
    }
}

impl<H> Registry<H> {
    /// A registry keeping the last `retain_ended` ended entries.
    pub(crate) fn with_retention(retain_ended: usize) -> Self {
        Self {
            entries: Mutex::new(Entries {
                handles: HashMap::new(),
                starting: HashSet::new(),
                ended: Retention::new(retain_ended),
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

    /// Records that the proc under `proc_id` has ended (its terminal status
    /// is published), and drops the oldest ended entries beyond the
    /// retention.
    pub(crate) fn note_ended(&self, proc_id: &ProcId) {
        let mut entries = self.lock();
        let ended = entries.handles.get(proc_id).is_some_and(|h| !h.is_alive());
        if ended {
            Self::record_end(&mut entries, proc_id);
        }
    }

    /// Drops the entry of an ended proc at once; whether there was one
    /// (a live proc, or an unknown id, is left alone).
    pub(crate) fn forget(&self, proc_id: &ProcId) -> bool {
        let mut entries = self.lock();
        let ended = entries.handles.get(proc_id).is_some_and(|h| !h.is_alive());
        if ended {
            entries.handles.remove(proc_id);
            entries.ended.forget(proc_id);
        }
        ended
    }

    /// Records an end and drops the ended entry it pushes out, if any.
    fn record_end(entries: &mut Entries<H>, proc_id: &ProcId) {
        if let Some(oldest) = entries.ended.ended(proc_id) {
            if entries.handles.get(&oldest).is_some_and(|h| !h.is_alive()) {
                entries.handles.remove(&oldest);
            }
        }
    }

    /// How many entries are held (live and ended).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().handles.len()
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
        let ended = !handle.is_alive();
        entries.handles.insert(self.proc_id.clone(), handle);
        if ended {
            // It ended before it was published: its end report found no
            // entry to record.
            Registry::record_end(&mut entries, &self.proc_id);
        } else {
            // A live entry replaced an ended one: not ended any more.
            entries.ended.revived(&self.proc_id);
        }
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
    fn only_the_most_recent_ended_entries_are_kept() {
        let registry = Registry::with_retention(2);
        let mut handles = Vec::new();
        for name in ["a", "b", "c"] {
            let handle = Fake::alive();
            registry.reserve(&id(name)).unwrap().fulfil(handle.clone());
            handles.push(handle);
        }
        for (name, handle) in ["a", "b", "c"].iter().zip(&handles) {
            handle.end();
            registry.note_ended(&id(name));
        }
        let mut ids: Vec<_> = registry.ids().into_iter().map(|i| i.to_string()).collect();
        ids.sort();
        assert_eq!(ids, ["b", "c"], "the oldest ended entry went");
    }

    #[test]
    fn live_entries_are_never_trimmed_and_a_respawned_id_counts_once() {
        let registry = Registry::with_retention(1);
        let live = Fake::alive();
        registry.reserve(&id("live")).unwrap().fulfil(live);
        for _ in 0..1000 {
            let handle = Fake::alive();
            registry
                .reserve(&id("again"))
                .unwrap()
                .fulfil(handle.clone());
            handle.end();
            registry.note_ended(&id("again"));
        }
        assert_eq!(registry.len(), 2);
        assert_eq!(registry.lock().ended.len(), 1, "one ended id, counted once");
    }

    #[test]
    fn an_entry_ended_before_it_was_published_is_retained_and_trimmed() {
        let registry = Registry::with_retention(0);
        let handle = Fake::alive();
        handle.end();
        registry.note_ended(&id("fast"));
        registry.reserve(&id("fast")).unwrap().fulfil(handle);
        assert_eq!(registry.len(), 0, "retain 0 keeps no ended entry");
    }

    #[test]
    fn forget_drops_an_ended_entry_only() {
        let registry = Registry::default();
        let handle = Fake::alive();
        registry.reserve(&id("a")).unwrap().fulfil(handle.clone());
        assert!(!registry.forget(&id("a")), "live: kept");
        assert!(!registry.forget(&id("nobody")));
        handle.end();
        assert!(registry.forget(&id("a")));
        assert!(registry.get(&id("a")).is_none());
        assert!(registry.reserve(&id("a")).is_ok());
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
