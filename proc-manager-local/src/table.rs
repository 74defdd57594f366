//! [`ProcTable`]: a manager's procs by id, kept in spawn order.
//!
//! Spawn order matters for speed: stopping thousands of procs walks them in
//! the order their memory was allocated. What a proc is lives in
//! [`crate::handle`]; the locking around the table is in [`crate::manager`].

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use proc_manager_core::ProcId;

/// Procs by id, in the order they were first spawned. An ended proc keeps
/// its slot until a new proc reuses its id and takes the slot over.
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
    pub(crate) fn new() -> Self {
        Self {
            ids: Vec::new(),
            procs: Vec::new(),
            same_hash: Vec::new(),
            index: HashMap::default(),
            hasher: RandomState::new(),
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
            return Ok(slot);
        }
        let i = self.procs.len();
        self.procs.push(make(&proc_id));
        self.ids.push(proc_id);
        self.same_hash.push(self.index.insert(hash, i));
        Ok(&self.procs[i])
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
    fn ids_with_equal_hashes_are_chained() {
        let mut table: ProcTable<u32> = ProcTable::new();
        table.claim(id("a"), |_| true, |_| 1).expect("new");
        // Give "b" the hash of "a", as a 64-bit collision would.
        let hash_a = table.hasher.hash_one(id("a"));
        table.procs.push(2);
        table.ids.push(id("b"));
        table.same_hash.push(table.index.insert(hash_a, 1));
        assert_eq!(table.find(hash_a, &id("b")), Some(1));
        assert_eq!(table.find(hash_a, &id("a")), Some(0));
        assert_eq!(table.find(hash_a, &id("c")), None);
        assert_eq!(table.get(&id("a")), Some(&1));
    }
}
