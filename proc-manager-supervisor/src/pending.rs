//! [`Pending`]: the children waiting to be (re)started, each with the time
//! it may start, and the rule for which goes next.
//!
//! Starting them is the supervision loop's job (`runner.rs`).

use tokio::time::Instant;

/// Start-order positions waiting to be started, with their due times.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    entries: Vec<(usize, Instant)>,
}

impl Pending {
    /// Queues `index` to start at `due`; an index already queued keeps the
    /// later of its two due times.
    pub(crate) fn push(&mut self, index: usize, due: Instant) {
        match self.entries.iter_mut().find(|(i, _)| *i == index) {
            Some((_, existing)) => *existing = (*existing).max(due),
            None => self.entries.push((index, due)),
        }
    }

    pub(crate) fn contains(&self, index: usize) -> bool {
        self.entries.iter().any(|(i, _)| *i == index)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn remove(&mut self, index: usize) {
        self.entries.retain(|(i, _)| *i != index);
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entry to start next. `ordered`: the lowest start-order position
    /// (it waits for its own due time, holding back those after it), as
    /// every start does under `OneForAll`/`RestForOne` and during the first
    /// start; otherwise the earliest due, ties by position.
    pub(crate) fn next(&self, ordered: bool) -> Option<(usize, Instant)> {
        let entries = self.entries.iter().copied();
        if ordered {
            entries.min_by_key(|&(i, _)| i)
        } else {
            entries.min_by_key(|&(i, due)| (due, i))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ordered_takes_the_lowest_position_unordered_the_earliest_due() {
        let t0 = Instant::now();
        let mut p = Pending::default();
        p.push(2, t0);
        p.push(0, t0 + Duration::from_secs(5));
        p.push(1, t0);
        assert_eq!(p.next(true), Some((0, t0 + Duration::from_secs(5))));
        assert_eq!(p.next(false), Some((1, t0)));
        p.remove(1);
        assert_eq!(p.next(false), Some((2, t0)));
        assert!(p.contains(0) && !p.contains(1));
    }

    #[test]
    fn a_second_push_keeps_the_later_due_time() {
        let t0 = Instant::now();
        let mut p = Pending::default();
        p.push(0, t0 + Duration::from_secs(3));
        p.push(0, t0);
        assert_eq!(p.next(true), Some((0, t0 + Duration::from_secs(3))));
        p.push(0, t0 + Duration::from_secs(4));
        assert_eq!(p.next(true), Some((0, t0 + Duration::from_secs(4))));
        p.clear();
        assert!(p.is_empty() && p.next(true).is_none());
    }
}
