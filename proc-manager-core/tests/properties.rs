//! Property tests of the core rules, against an oracle written here from the
//! design's state diagram (independent of `ProcStatus::can_transition_to`,
//! so a wrong entry in that function makes these fail):
//!
//! (a) any sequence of attempted transitions on a `StatusCell` applies
//!     exactly the legal ones, and what `watch` subscribers (eager or lazy)
//!     observe is a legal path in which a terminal status is never left;
//! (b) concurrent writers never publish out of order;
//! (c) `ProcId`/`ChannelAddr` round-trip for all valid input and reject
//!     invalid input (and any string) without panicking;
//! (d) `TailBuffer` never exceeds its bounds and keeps exactly the newest
//!     lines that fit, for arbitrary bytes (huge lines, no newlines,
//!     invalid UTF-8).

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Barrier};

use proc_manager_core::{ChannelAddr, ProcId, ProcStatus, StatusCell, TailBuffer};
use proc_manager_testkit::strategy;
use proptest::prelude::*;

/// Position in the diagram: Starting → Running → Ready → Stopping → end.
fn rank(status: &ProcStatus) -> u8 {
    match status.name() {
        "starting" => 0,
        "running" => 1,
        "ready" => 2,
        "stopping" => 3,
        _ => 4,
    }
}

fn terminal(status: &ProcStatus) -> bool {
    rank(status) == 4
}

/// One step of the design's diagram.
fn spec_allows(from: &ProcStatus, to: &ProcStatus) -> bool {
    if terminal(from) {
        return false;
    }
    if terminal(to) {
        return true;
    }
    matches!(
        (rank(from), rank(to)),
        (0, 1) | (0, 3) | (1, 2) | (1, 3) | (2, 3)
    )
}

/// One or more steps of the diagram (what an observer that skips
/// statuses can see next).
fn spec_reachable(from: &ProcStatus, to: &ProcStatus) -> bool {
    !terminal(from) && (terminal(to) || rank(to) > rank(from))
}

fn assert_legal_observation(seen: &[ProcStatus]) -> Result<(), TestCaseError> {
    for pair in seen.windows(2) {
        prop_assert!(
            !terminal(&pair[0]),
            "terminal {:?} was left for {:?}",
            pair[0],
            pair[1]
        );
        prop_assert!(
            spec_reachable(&pair[0], &pair[1]),
            "observed {:?} then {:?}, which the diagram does not allow",
            pair[0],
            pair[1]
        );
    }
    Ok(())
}

fn cell() -> StatusCell {
    StatusCell::new(ProcId::new("prop").unwrap())
}

proptest! {
    /// (a) A single writer: the cell applies exactly what the diagram
    /// allows, an eager subscriber sees every applied status in order, and a
    /// lazy one (reading at random moments) sees a legal sub-path.
    #[test]
    fn cell_applies_exactly_the_legal_transitions(
        attempts in strategy::attempted_transitions(24),
        lazy_reads in proptest::collection::vec(any::<bool>(), 24),
    ) {
        let cell = cell();
        let mut eager = cell.watch();
        let mut lazy = cell.watch();
        let mut model = ProcStatus::Starting;
        let mut applied = vec![ProcStatus::Starting];
        let mut seen_eager = vec![eager.borrow_and_update().clone()];
        let mut seen_lazy = vec![lazy.borrow_and_update().clone()];
        for (i, next) in attempts.into_iter().enumerate() {
            let allowed = spec_allows(&model, &next);
            let result = cell.transition(next.clone());
            prop_assert_eq!(result.is_ok(), allowed, "{:?} -> {:?}", model, next);
            if allowed {
                model = next;
                applied.push(model.clone());
            }
            prop_assert_eq!(cell.status(), model.clone());
            if eager.has_changed().unwrap() {
                seen_eager.push(eager.borrow_and_update().clone());
            }
            if lazy_reads[i % lazy_reads.len()] && lazy.has_changed().unwrap() {
                seen_lazy.push(lazy.borrow_and_update().clone());
            }
        }
        if lazy.has_changed().unwrap() {
            seen_lazy.push(lazy.borrow_and_update().clone());
        }
        prop_assert_eq!(&seen_eager, &applied);
        assert_legal_observation(&seen_eager)?;
        assert_legal_observation(&seen_lazy)?;
        prop_assert_eq!(seen_lazy.last(), Some(&model));
    }

    /// (a) A legal path from the strategy is applied in full.
    #[test]
    fn every_legal_path_is_applied(path in strategy::legal_path()) {
        let cell = cell();
        for next in &path {
            prop_assert!(cell.transition(next.clone()).is_ok(), "{:?} refused after {:?}", next, cell.status());
        }
        prop_assert_eq!(cell.status(), path.last().cloned().unwrap_or(ProcStatus::Starting));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// (b) Four threads race random transitions on one cell while a
    /// subscriber watches: the applied transitions form one chain from
    /// `Starting`, and what the subscriber saw is a legal path ending in
    /// the final status.
    #[test]
    fn concurrent_writers_publish_in_order(
        writers in proptest::collection::vec(strategy::attempted_transitions(16), 4),
    ) {
        let cell = Arc::new(cell());
        let mut rx = cell.watch();
        let observer = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async move {
                let mut seen = vec![rx.borrow_and_update().clone()];
                while rx.changed().await.is_ok() {
                    seen.push(rx.borrow_and_update().clone());
                }
                seen
            })
        });
        let barrier = Arc::new(Barrier::new(writers.len()));
        let threads: Vec<_> = writers
            .into_iter()
            .map(|attempts| {
                let (cell, barrier) = (cell.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    attempts
                        .into_iter()
                        .filter_map(|next| cell.transition(next.clone()).ok().map(|prev| (prev, next)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut applied: Vec<(ProcStatus, ProcStatus)> =
            threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        let last = cell.status();
        drop(cell);
        let seen = observer.join().unwrap();

        applied.sort_by_key(|(_, next)| rank(next));
        let mut current = ProcStatus::Starting;
        for (prev, next) in &applied {
            prop_assert_eq!(prev, &current, "applied transitions do not chain: {:?}", applied);
            prop_assert!(spec_allows(prev, next), "{:?} -> {:?} was applied", prev, next);
            current = next.clone();
        }
        prop_assert_eq!(&current, &last);
        assert_legal_observation(&seen)?;
        prop_assert_eq!(seen.last(), Some(&last));
    }
}

proptest! {
    /// (c) Valid id strings parse, display as themselves, and survive serde.
    #[test]
    fn valid_proc_ids_round_trip(text in strategy::valid_proc_id_string()) {
        let id: ProcId = text.parse().unwrap();
        prop_assert_eq!(id.to_string(), text.clone());
        let json = serde_json::to_string(&id).unwrap();
        prop_assert_eq!(serde_json::from_str::<ProcId>(&json).unwrap(), id.clone());
        let rebuilt = match id.rank() {
            Some(rank) => ProcId::ranked(id.name(), rank).unwrap(),
            None => ProcId::new(id.name()).unwrap(),
        };
        prop_assert_eq!(rebuilt, id);
    }

    /// (c) Ids from the strategy round-trip through their text form.
    #[test]
    fn proc_ids_round_trip(id in strategy::proc_id()) {
        prop_assert_eq!(id.to_string().parse::<ProcId>().unwrap(), id);
    }

    /// (c) Invalid id strings are refused with an error naming the problem.
    #[test]
    fn invalid_proc_ids_are_refused(text in strategy::invalid_proc_id_string()) {
        let err = text.parse::<ProcId>().unwrap_err();
        prop_assert!(err.to_string().contains("invalid proc id"), "{}", err);
        prop_assert!(serde_json::from_value::<ProcId>(serde_json::Value::String(text)).is_err());
    }

    /// (c) Any string (or lossy bytes) parses without panicking; whatever is
    /// accepted is canonical and safe as a file name.
    #[test]
    fn any_text_parses_as_id_without_panic(text in ".*", bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        for input in [text, String::from_utf8_lossy(&bytes).into_owned()] {
            if let Ok(id) = input.parse::<ProcId>() {
                prop_assert_eq!(id.to_string(), input);
                prop_assert!(!id.as_str().contains('/') && !id.as_str().starts_with('.'));
            }
        }
    }

    /// (c) Addresses of every transport round-trip through text and serde.
    #[test]
    fn channel_addrs_round_trip(addr in strategy::channel_addr()) {
        let text = addr.to_string();
        let back: ChannelAddr = text.parse().unwrap();
        prop_assert_eq!(&back, &addr);
        prop_assert_eq!(back.transport(), addr.transport());
        let prefix = format!("{}:", addr.transport());
        prop_assert!(text.starts_with(&prefix), "{} does not start with {}", text, prefix);
        let json = serde_json::to_string(&addr).unwrap();
        prop_assert_eq!(serde_json::from_str::<ChannelAddr>(&json).unwrap(), addr);
    }

    /// (c) Invalid address strings are refused; any string parses without
    /// panicking, and what is accepted round-trips.
    #[test]
    fn addrs_reject_invalid_and_never_panic(bad in strategy::invalid_channel_addr_string(), any_text in ".*") {
        prop_assert!(bad.parse::<ChannelAddr>().is_err(), "{:?} was accepted", bad);
        if let Ok(addr) = any_text.parse::<ChannelAddr>() {
            prop_assert_eq!(addr.to_string(), any_text);
        }
    }
}

/// A line pushed into the tail: small arbitrary bytes, or one huge run of a
/// byte (no newline, possibly invalid UTF-8).
fn tail_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..200),
        1 => (any::<u8>(), 0..200_000usize).prop_map(|(byte, len)| vec![byte; len]),
    ]
}

proptest! {
    /// (d) After every push the tail holds at most `max_lines` lines and
    /// `max_bytes` bytes, each line cut to `max_bytes`, and exactly the
    /// longest run of newest (cut) lines that fits both bounds.
    #[test]
    fn tail_stays_within_bounds(
        max_lines in 0usize..20,
        max_bytes in 0usize..4096,
        lines in proptest::collection::vec(tail_line(), 0..40),
    ) {
        let mut tail = TailBuffer::new(max_lines, max_bytes);
        let mut pushed: Vec<Vec<u8>> = Vec::new();
        for line in &lines {
            tail.push(line);
            pushed.push(line[..line.len().min(max_bytes)].to_vec());
            prop_assert!(tail.len() <= max_lines, "{} lines > {}", tail.len(), max_lines);
            prop_assert!(tail.bytes() <= max_bytes, "{} bytes > {}", tail.bytes(), max_bytes);
            let kept: Vec<&[u8]> = tail.iter().collect();
            prop_assert_eq!(tail.bytes(), kept.iter().map(|l| l.len()).sum::<usize>());
            let mut expected: Vec<&[u8]> = Vec::new();
            let mut bytes = 0;
            for line in pushed.iter().rev() {
                if expected.len() == max_lines || bytes + line.len() > max_bytes {
                    break;
                }
                bytes += line.len();
                expected.insert(0, line);
            }
            prop_assert_eq!(&kept, &expected);
            let text = tail.lines();
            prop_assert_eq!(text.len(), kept.len());
            for (t, k) in text.iter().zip(&kept) {
                prop_assert_eq!(t, &String::from_utf8_lossy(k));
            }
        }
        prop_assert_eq!(tail.dropped() as usize + tail.len(), lines.len());
    }
}
