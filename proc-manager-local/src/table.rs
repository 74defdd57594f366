//! [`ProcTable`]: a manager's procs by id, kept in spawn order.
//!
//! Spawn order matters for speed: stopping thousands of procs walks them in
//! the order their memory was allocated. What a proc is lives in
//! [`crate::handle`]; the locking around the table is in [`crate::manager`].

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use proc_manager_core::ProcId;

/// Procs by id, in the order they were first spawned. An ended proc keeps
/// its slot until a new proc reuses its id and takes the slot over.
#[derive(Debug)]
pub(crate) struct ProcTable<H> {
    ids: Vec<ProcId>,
    procs: Vec<H>,
    index: HashMap<Key, usize, BuildHasherDefault<Prehashed>>,
    hasher: RandomState,
}

/// An id with its hash computed once, so growing the index never reads the
/// ids' text again (with thousands of procs that text is cold memory).
#[derive(Debug, PartialEq, Eq)]
struct Key {
    hash: u64,
    proc_id: ProcId,
}

impl Hash for Key {
    fn hash<S: Hasher>(&self, state: &mut S) {
        state.write_u64(self.hash);
    }
}

/// The hasher of [`Key`]s: their hash is already computed.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Key`; this keeps any other use sound.
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
            index: HashMap::default(),
            hasher: RandomState::new(),
        }
    }

    fn key(&self, proc_id: ProcId) -> Key {
        Key {
            hash: self.hasher.hash_one(&proc_id),
            proc_id,
        }
    }

    pub(crate) fn get(&self, proc_id: &ProcId) -> Option<&H> {
        let key = self.key(proc_id.clone());
        self.index.get(&key).and_then(|&i| self.procs.get(i))
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
        let key = self.key(proc_id);
        match self.index.entry(key) {
            Entry::Occupied(entry) => {
                let i = *entry.get();
                let slot = &mut self.procs[i];
                if alive(slot) {
                    return Err(entry.key().proc_id.clone());
                }
                *slot = make(&entry.key().proc_id);
                Ok(slot)
            }
            Entry::Vacant(entry) => {
                let proc = make(&entry.key().proc_id);
                self.ids.push(entry.key().proc_id.clone());
                self.procs.push(proc);
                entry.insert(self.procs.len() - 1);
                Ok(&self.procs[self.procs.len() - 1])
            }
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
}
