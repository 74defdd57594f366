//! [`Retention`]: the one rule every backend keeps for ended procs: the
//! `limit` most recently ended stay known (for `status`/`handle`), older
//! ones are dropped as new ones end, and `forget` drops one at once. So a
//! manager's memory is flat over any number of spawn/stop cycles.
//!
//! Only the bookkeeping is here (which ids to drop, in what order); the
//! backend holds the entries and removes the ones this names.

use std::collections::{HashMap, VecDeque};

use crate::ProcId;

/// Which ended procs a manager keeps. See the module docs.
///
/// ```
/// use proc_manager_core::{ProcId, Retention};
///
/// let mut kept = Retention::new(2);
/// let id = |n: &str| ProcId::new(n).unwrap();
/// assert_eq!(kept.ended(&id("a")), None);
/// assert_eq!(kept.ended(&id("b")), None);
/// // A third end pushes the oldest out: the backend drops "a".
/// assert_eq!(kept.ended(&id("c")), Some(id("a")));
/// // "b" was spawned again and runs: it is no longer an ended entry.
/// kept.revived(&id("b"));
/// assert_eq!(kept.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Retention {
    limit: usize,
    next: u64,
    /// Each ended id and the number of its latest end.
    latest: HashMap<ProcId, u64>,
    /// Ends, oldest first; a record whose number is no longer its id's
    /// latest is stale and skipped.
    order: VecDeque<(u64, ProcId)>,
}

impl Retention {
    /// The default limit (DESIGN: 1,000 ended procs).
    pub const DEFAULT_LIMIT: usize = 1000;

    /// Keeps at most `limit` ended procs.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            next: 0,
            latest: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many ended procs are kept now.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    /// Whether no ended proc is kept.
    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }

    /// Records that the proc under `proc_id` has ended; returns the id whose
    /// ended entry must now go (the oldest, past the limit), if any. The
    /// caller drops that entry only if it is still ended.
    pub fn ended(&mut self, proc_id: &ProcId) -> Option<ProcId> {
        self.next = self.next.wrapping_add(1);
        self.latest.insert(proc_id.clone(), self.next);
        self.order.push_back((self.next, proc_id.clone()));
        if self.order.len() > self.latest.len().saturating_mul(2).saturating_add(64) {
            let latest = &self.latest;
            self.order.retain(|(n, id)| latest.get(id) == Some(n));
        }
        if self.latest.len() > self.limit {
            self.pop_oldest()
        } else {
            None
        }
    }

    /// A live proc took `proc_id` (spawned again): it is no longer an ended
    /// entry.
    pub fn revived(&mut self, proc_id: &ProcId) {
        self.latest.remove(proc_id);
    }

    /// The ended entry of `proc_id` was dropped by the caller (`forget`).
    pub fn forget(&mut self, proc_id: &ProcId) {
        self.latest.remove(proc_id);
    }

    fn pop_oldest(&mut self) -> Option<ProcId> {
        while let Some((n, id)) = self.order.pop_front() {
            if self.latest.get(&id) == Some(&n) {
                self.latest.remove(&id);
                return Some(id);
            }
        }
        None
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::new(Self::DEFAULT_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> ProcId {
        ProcId::new(name).expect("valid id")
    }

    #[test]
    fn drops_the_oldest_past_the_limit_and_zero_keeps_none() {
        let mut kept = Retention::new(0);
        assert_eq!(kept.ended(&id("a")), Some(id("a")));
        assert!(kept.is_empty());

        let mut kept = Retention::new(2);
        for name in ["a", "b"] {
            assert_eq!(kept.ended(&id(name)), None);
        }
        // "a" ends again (respawned, ended): it is now the newest.
        assert_eq!(kept.ended(&id("a")), None);
        assert_eq!(kept.ended(&id("c")), Some(id("b")));
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn stale_records_are_compacted() {
        let mut kept = Retention::new(1);
        for _ in 0..10_000 {
            kept.ended(&id("same"));
        }
        assert_eq!(kept.len(), 1);
        assert!(kept.order.len() <= 64 + 2, "{}", kept.order.len());
    }

    #[test]
    fn forgotten_and_revived_ids_are_not_dropped_later() {
        let mut kept = Retention::new(1);
        kept.ended(&id("a"));
        kept.forget(&id("a"));
        kept.ended(&id("b"));
        kept.revived(&id("b"));
        assert!(kept.is_empty());
        assert_eq!(kept.ended(&id("c")), None);
    }
}
