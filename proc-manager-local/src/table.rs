//! [`ProcTable`]: a manager's procs by id, kept in spawn order, and which
//! ended ones it keeps (core's [`Retention`]: the most recent
//! `retain_ended`; older ones, and forgotten ones, are removed).
//!
//! Spawn order matters for speed: stopping thousands of procs walks them in
//! the order their memory was allocated. What a proc is lives in
//! [`crate::handle`]; the locking around the table is in [`crate::manager`].

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use proc_manager_core::{ProcId, Retention};

/// Procs by id, in the order they were first spawned (a removed proc's
/// slot is taken by the last one). An ended proc keeps its slot until a
/// new proc reuses its id and takes the slot over, or retention removes it.
///
/// The index maps an id's hash to the first slot with that hash; slots with
/// equal hashes are chained. Entries are two words and growing the index
/// never reads the ids again (with thousands of procs, cold memory).
#[derive(Debug)]
pub(crate) struct ProcTable<H> {
    ids: Vec<ProcId>,
    procs: Vec<H>,
    /// Per slot: the next slot whose id has the same hash.
    same_hash: Vec<Option<usize>>,
    index: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    hasher: RandomState,
    retention: Retention,
}

/// The hasher of the index: its keys are hashes already.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `u64` keys; this keeps any other use sound.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl<H> ProcTable<H> {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::with_retention(Retention::DEFAULT_LIMIT)
    }

    /// A table keeping the `retain_ended` most recently ended procs.
    pub(crate) fn with_retention(retain_ended: usize) -> Self {
        Self {
            ids: Vec::new(),
            procs: Vec::new(),
            same_hash: Vec::new(),
            index: HashMap::default(),
            hasher: RandomState::new(),
            retention: Retention::new(retain_ended),
        }
    }

    /// The slot of `proc_id`, given its hash.
    fn find(&self, hash: u64, proc_id: &ProcId) -> Option<usize> {
        let mut slot = self.index.get(&hash).copied();
        while let Some(i) = slot {
            if self.ids.get(i) == Some(proc_id) {
                return Some(i);
            }
            slot = self.same_hash.get(i).copied().flatten();
        }
        None
    }

    pub(crate) fn get(&self, proc_id: &ProcId) -> Option<&H> {
        let hash = self.hasher.hash_one(proc_id);
        self.find(hash, proc_id).and_then(|i| self.procs.get(i))
    }

    /// Records the proc `make` builds under `proc_id`, unless a proc with
    /// that id exists and `alive` says it is still alive: then `make` is not
    /// called and the id comes back as the error.
    pub(crate) fn claim(
        &mut self,
        proc_id: ProcId,
        alive: impl FnOnce(&H) -> bool,
        make: impl FnOnce(&ProcId) -> H,
    ) -> Result<&H, ProcId> {
        let hash = self.hasher.hash_one(&proc_id);
        if let Some(i) = self.find(hash, &proc_id) {
            let slot = &mut self.procs[i];
            if alive(slot) {
                return Err(proc_id);
            }
            *slot = make(&proc_id);
            self.retention.revived(&proc_id);
            return Ok(&self.procs[i]);
        }
        let i = self.procs.len();
        self.procs.push(make(&proc_id));
        self.ids.push(proc_id);
        self.same_hash.push(self.index.insert(hash, i));
        Ok(&self.procs[i])
    }

    /// Records that the proc under `proc_id` ended (if its entry, by
    /// `alive`, has), and removes the ended entry that pushes out.
    pub(crate) fn note_ended(&mut self, proc_id: &ProcId, alive: impl Fn(&H) -> bool) {
        if self.get(proc_id).is_none_or(&alive) {
            return;
        }
        if let Some(oldest) = self.retention.ended(proc_id) {
            if self.get(&oldest).is_some_and(|h| !alive(h)) {
                self.remove(&oldest);
            }
        }
    }

    /// Removes the entry of an ended proc; whether there was one.
    pub(crate) fn forget(&mut self, proc_id: &ProcId, alive: impl Fn(&H) -> bool) -> bool {
        let ended = self.get(proc_id).is_some_and(|h| !alive(h));
        if ended {
            self.remove(proc_id);
            self.retention.forget(proc_id);
        }
        ended
    }

    /// Removes `proc_id`'s slot: the last slot moves into it, and the hash
    /// chains are mended for both.
    fn remove(&mut self, proc_id: &ProcId) -> Option<H> {
        let hash = self.hasher.hash_one(proc_id);
        let i = self.find(hash, proc_id)?;
        Some(self.remove_slot(hash, i))
    }

    /// Removes slot `i`, whose id hashes to `hash`.
    fn remove_slot(&mut self, hash: u64, i: usize) -> H {
        self.relink(hash, i, self.same_hash[i]);
        let last = self.procs.len() - 1;
        if i != last {
            let last_hash = self.hasher.hash_one(&self.ids[last]);
            self.relink(last_hash, last, Some(i));
        }
        self.ids.swap_remove(i);
        self.same_hash.swap_remove(i);
        self.procs.swap_remove(i)
    }

    /// In the chain of `hash`, makes what pointed at slot `from` point at
    /// `to` instead (`None`: the end of the chain, or no chain).
    fn relink(&mut self, hash: u64, from: usize, to: Option<usize>) {
        if self.index.get(&hash) == Some(&from) {
            match to {
                Some(to) => {
                    self.index.insert(hash, to);
                }
                None => {
                    self.index.remove(&hash);
                }
            }
            return;
        }
        let mut slot = self.index.get(&hash).copied();
        while let Some(s) = slot {
            if self.same_hash[s] == Some(from) {
                self.same_hash[s] = to;
                return;
            }
            slot = self.same_hash[s];
        }
    }

    /// Every proc, in spawn order.
    pub(crate) fn procs(&self) -> &[H] {
        &self.procs
    }

    /// Every id, in spawn order.
    pub(crate) fn ids(&self) -> &[ProcId] {
        &self.ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> ProcId {
        ProcId::new(name).expect("valid id")
    }

    #[test]
    fn keeps_spawn_order_refuses_live_duplicates_and_reuses_ended_slots() {
        // (name, alive)
        let mut table: ProcTable<(u32, bool)> = ProcTable::new();
        for (n, name) in ["c", "a", "b"].into_iter().enumerate() {
            let made = table.claim(id(name), |_| unreachable!(), |_| (n as u32, true));
            assert_eq!(made, Ok(&(n as u32, true)));
        }
        assert_eq!(table.ids(), &[id("c"), id("a"), id("b")]);

        let mut called = false;
        let dup = table.claim(
            id("a"),
            |p| p.1,
            |_| {
                called = true;
                (9, true)
            },
        );
        assert_eq!(dup, Err(id("a")));
        assert!(!called);
        assert_eq!(table.get(&id("a")), Some(&(1, true)));

        // An ended proc's id is reused in place.
        let reused = table.claim(
            id("a"),
            |_| false,
            |got| {
                assert_eq!(got, &id("a"));
                (7, true)
            },
        );
        assert_eq!(reused, Ok(&(7, true)));
        assert_eq!(table.procs(), &[(0, true), (7, true), (2, true)]);
        assert_eq!(table.ids().len(), 3);
        assert_eq!(table.get(&id("zz")), None);
    }

    #[test]
    fn only_the_most_recent_ended_procs_stay_and_lookups_survive_removal() {
        // (number, alive)
        let mut table: ProcTable<(u32, bool)> = ProcTable::with_retention(2);
        let names: Vec<String> = (0..50).map(|n| format!("p{n}")).collect();
        for (n, name) in names.iter().enumerate() {
            table
                .claim(id(name), |_| true, |_| (n as u32, true))
                .expect("new");
        }
        // End every even one, in order.
        for (n, name) in names.iter().enumerate().filter(|(n, _)| n % 2 == 0) {
            let i = table
                .find(table.hasher.hash_one(id(name)), &id(name))
                .expect("there");
            table.procs[i].1 = false;
            table.note_ended(&id(name), |p| p.1);
            let _ = n;
        }
        // 25 live + the last 2 ended.
        assert_eq!(table.procs().len(), 27);
        for (n, name) in names.iter().enumerate() {
            let kept = n % 2 == 1 || n >= 46;
            assert_eq!(table.get(&id(name)).is_some(), kept, "{name}");
            if let Some(p) = table.get(&id(name)) {
                assert_eq!(p.0, n as u32, "{name} found its own slot");
            }
        }
        assert!(!table.forget(&id("p1"), |p| p.1), "live: kept");
        assert!(table.forget(&id("p48"), |p| p.1));
        assert!(table.get(&id("p48")).is_none());
        assert_eq!(table.get(&id("p49")), Some(&(49, true)));
    }

    /// A table holding "a" (1) and "b" (2), where "b" was given the hash of
    /// "a", as a 64-bit collision would; and that hash.
    fn colliding_a_and_b() -> (ProcTable<u32>, u64) {
        let mut table: ProcTable<u32> = ProcTable::new();
        table.claim(id("a"), |_| true, |_| 1).expect("new");
        let hash_a = table.hasher.hash_one(id("a"));
        table.procs.push(2);
        table.ids.push(id("b"));
        table.same_hash.push(table.index.insert(hash_a, 1));
        (table, hash_a)
    }

    #[test]
    fn removal_mends_chains_of_equal_hashes() {
        let (mut table, hash_a) = colliding_a_and_b();
        table.claim(id("c"), |_| true, |_| 3).expect("new");
        // Remove the head of the collided chain, then the moved slot.
        assert_eq!(table.remove_slot(hash_a, 1), 2);
        assert_eq!(table.get(&id("a")), Some(&1));
        assert_eq!(table.get(&id("c")), Some(&3));
        assert_eq!(table.remove(&id("a")), Some(1));
        assert_eq!(table.get(&id("c")), Some(&3));
        assert_eq!(table.ids(), &[id("c")]);
    }

    #[test]
    fn ids_with_equal_hashes_are_chained() {
        let (table, hash_a) = colliding_a_and_b();
        assert_eq!(table.find(hash_a, &id("b")), Some(1));
        assert_eq!(table.find(hash_a, &id("a")), Some(0));
        assert_eq!(table.find(hash_a, &id("c")), None);
        assert_eq!(table.get(&id("a")), Some(&1));
    }
}
