//! proptest strategies for the core vocabulary: ids, addresses, statuses and
//! sequences of attempted status transitions.
//!
//! "Valid" strategies produce only input the core types accept, "invalid"
//! ones only input they refuse, so a property can assert both directions.
//! What a legal *path* of statuses is (the reachability oracle) lives in
//! [`crate::conformance::is_reachable`]; this module only generates values.
//!
//! ```
//! use proptest::prelude::*;
//! use proc_manager_core::ProcId;
//! use proc_manager_testkit::strategy;
//!
//! proptest!(|(text in strategy::valid_proc_id_string())| {
//!     let id: ProcId = text.parse().unwrap();
//!     prop_assert_eq!(id.to_string(), text);
//! });
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use proc_manager_core::{ChannelAddr, ChannelTransport, MAX_PROC_NAME_LEN, ProcId, ProcStatus};
use proptest::prelude::*;

/// A valid proc name (no rank): 1 to [`MAX_PROC_NAME_LEN`] bytes of
/// `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
pub fn proc_name() -> impl Strategy<Value = String> {
    let pattern = format!("[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{}}}", MAX_PROC_NAME_LEN - 1);
    proptest::string::string_regex(&pattern)
        .unwrap_or_else(|err| panic!("the proc name pattern is a valid regex: {err}"))
}

/// A string that parses as a [`ProcId`]: a plain name or `name[rank]` with a
/// canonical decimal rank.
pub fn valid_proc_id_string() -> impl Strategy<Value = String> {
    prop_oneof![
        proc_name(),
        (proc_name(), any::<usize>()).prop_map(|(name, rank)| format!("{name}[{rank}]")),
    ]
}

/// A [`ProcId`], plain or ranked.
pub fn proc_id() -> impl Strategy<Value = ProcId> {
    prop_oneof![
        proc_name().prop_filter_map("valid name", |name| ProcId::new(name).ok()),
        (proc_name(), any::<usize>())
            .prop_filter_map("valid name", |(name, rank)| ProcId::ranked(name, rank).ok()),
    ]
}

/// A string that [`ProcId`]'s parser must refuse, covering each way to be
/// wrong: empty, too long, a bad first or later character, non-ASCII, and
/// malformed or non-canonical ranks.
pub fn invalid_proc_id_string() -> impl Strategy<Value = String> {
    let bad_char = prop_oneof![
        Just('/'),
        Just(' '),
        Just('\0'),
        Just('\n'),
        Just(':'),
        Just('é'),
        Just('*'),
        Just('\\'),
        Just('['),
        Just(']'),
    ];
    prop_oneof![
        Just(String::new()),
        (MAX_PROC_NAME_LEN + 1..MAX_PROC_NAME_LEN * 4).prop_map(|n| "a".repeat(n)),
        (prop_oneof![Just('.'), Just('-')], proc_name())
            .prop_map(|(first, rest)| format!("{first}{rest}")),
        (proc_name(), bad_char, proc_name())
            .prop_map(|(head, bad, tail)| format!("{head}{bad}{tail}")),
        (proc_name(), "0[0-9]{1,5}").prop_map(|(name, rank)| format!("{name}[{rank}]")),
        (proc_name(), "[^0-9\\]]{0,4}").prop_map(|(name, rank)| format!("{name}[{rank}]")),
        (proc_name(), any::<u32>()).prop_map(|(name, rank)| format!("{name}[{rank}")),
        (proc_name(), any::<u32>(), "[a-z]{1,3}")
            .prop_map(|(name, rank, junk)| format!("{name}[{rank}]{junk}")),
        any::<u32>().prop_map(|rank| format!("[{rank}]")),
        (proc_name(), "[0-9]{21,30}").prop_map(|(name, huge)| format!("{name}[{huge}]")),
    ]
}

/// One of the transports.
pub fn channel_transport() -> impl Strategy<Value = ChannelTransport> {
    prop_oneof![
        Just(ChannelTransport::Unix),
        Just(ChannelTransport::Tcp),
        Just(ChannelTransport::Local),
    ]
}

/// A socket address that survives `Display`/`FromStr` (IPv6 without flow
/// info or scope id, which its text form does not carry).
pub fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<u128>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

/// A [`ChannelAddr`] of any transport: Unix paths (absolute or relative, any
/// non-NUL UTF-8), TCP v4/v6 addresses and local numbers.
pub fn channel_addr() -> impl Strategy<Value = ChannelAddr> {
    prop_oneof![
        "[^\\x00]{1,200}".prop_map(|path| ChannelAddr::Unix(PathBuf::from(path))),
        "/[A-Za-z0-9_./-]{0,100}".prop_map(|path| ChannelAddr::Unix(PathBuf::from(path))),
        socket_addr().prop_map(ChannelAddr::Tcp),
        any::<u64>().prop_map(ChannelAddr::Local),
    ]
}

/// A string that parses as a [`ChannelAddr`].
pub fn valid_channel_addr_string() -> impl Strategy<Value = String> {
    channel_addr().prop_map(|addr| addr.to_string())
}

/// A string that [`ChannelAddr`]'s parser must refuse.
pub fn invalid_channel_addr_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^:]{0,40}",
        "(udp|ftp|http|UNIX|Tcp|Local|tcp6):[ -~]{0,20}",
        Just("unix:".to_string()),
        "unix:[^\\x00]{0,10}\\x00[^\\x00]{0,10}",
        "tcp:[a-z]{1,20}",
        "tcp:[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        "tcp:256\\.[0-9]\\.[0-9]\\.[0-9]:[0-9]{1,4}",
        "tcp:127\\.0\\.0\\.1:[1-9][0-9]{5,8}",
        Just("local:".to_string()),
        "local:0[0-9]{1,10}",
        "local:-[0-9]{1,10}",
        "local:[0-9]{0,5}[a-z ][0-9]{0,5}",
        "local:[0-9]{21,30}",
    ]
}

fn started_at() -> impl Strategy<Value = SystemTime> {
    (0u64..4_000_000_000).prop_map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

fn stderr_tail() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(".{0,40}", 0..4)
}

/// A live status: `Starting`, `Running`, `Ready` or `Stopping`.
pub fn live_status() -> impl Strategy<Value = ProcStatus> {
    prop_oneof![
        Just(ProcStatus::Starting),
        (any::<u32>(), started_at())
            .prop_map(|(pid, started_at)| ProcStatus::Running { pid, started_at }),
        (any::<u32>(), started_at(), channel_addr()).prop_map(|(pid, started_at, addr)| {
            ProcStatus::Ready {
                pid,
                started_at,
                addr,
            }
        }),
        (any::<Option<u32>>(), proptest::option::of(started_at()))
            .prop_map(|(pid, started_at)| ProcStatus::Stopping { pid, started_at }),
    ]
}

/// A terminal status: `Stopped`, `Killed` or `Failed`, with a stderr tail.
pub fn terminal_status() -> impl Strategy<Value = ProcStatus> {
    prop_oneof![
        (any::<i32>(), stderr_tail()).prop_map(|(exit_code, stderr_tail)| {
            ProcStatus::Stopped {
                exit_code,
                stderr_tail,
            }
        }),
        (1i32..65, any::<bool>(), stderr_tail()).prop_map(|(signal, core_dumped, stderr_tail)| {
            ProcStatus::Killed {
                signal,
                core_dumped,
                stderr_tail,
            }
        }),
        (".{0,60}", stderr_tail()).prop_map(|(reason, stderr_tail)| ProcStatus::Failed {
            reason,
            stderr_tail
        }),
    ]
}

/// Any [`ProcStatus`], every variant equally likely.
pub fn proc_status() -> impl Strategy<Value = ProcStatus> {
    // Weights 4:3 so that each of the seven variants has probability 1/7.
    prop_oneof![4 => live_status(), 3 => terminal_status()]
}

/// A sequence of attempted status changes (most of them illegal from where
/// the proc happens to be), for driving a [`proc_manager_core::StatusCell`].
pub fn attempted_transitions(max_len: usize) -> impl Strategy<Value = Vec<ProcStatus>> {
    proptest::collection::vec(proc_status(), 0..=max_len)
}

/// A legal path of statuses starting after `Starting`: a walk through the
/// state machine that may stop at any live state or end in a terminal one.
/// Every consecutive pair satisfies [`ProcStatus::can_transition_to`].
pub fn legal_path() -> impl Strategy<Value = Vec<ProcStatus>> {
    (
        any::<u32>(),
        started_at(),
        channel_addr(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(terminal_status()),
    )
        .prop_map(
            |(pid, started_at, addr, running, ready, stopping, terminal)| {
                let mut path = Vec::new();
                if running || ready {
                    path.push(ProcStatus::Running { pid, started_at });
                }
                if ready {
                    path.push(ProcStatus::Ready {
                        pid,
                        started_at,
                        addr,
                    });
                }
                if stopping {
                    let last = path.last().cloned().unwrap_or(ProcStatus::Starting);
                    path.push(last.to_stopping());
                }
                path.extend(terminal);
                path
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest! {
        #[test]
        fn valid_ids_parse(text in valid_proc_id_string()) {
            prop_assert!(text.parse::<ProcId>().is_ok(), "{:?}", text);
        }

        #[test]
        fn invalid_ids_are_refused(text in invalid_proc_id_string()) {
            prop_assert!(text.parse::<ProcId>().is_err(), "{:?} was accepted", text);
        }

        #[test]
        fn valid_addrs_parse(text in valid_channel_addr_string()) {
            prop_assert!(text.parse::<ChannelAddr>().is_ok(), "{:?}", text);
        }

        #[test]
        fn invalid_addrs_are_refused(text in invalid_channel_addr_string()) {
            prop_assert!(text.parse::<ChannelAddr>().is_err(), "{:?} was accepted", text);
        }

        #[test]
        fn legal_paths_are_legal(path in legal_path()) {
            let mut current = ProcStatus::Starting;
            for next in path {
                prop_assert!(current.can_transition_to(&next), "{} -> {}", current, next);
                current = next;
            }
        }
    }
}
