//! The [`Readiness::Connect`](crate::Readiness::Connect) probe: connect to
//! the proc's address until a connection succeeds, waiting a short, then
//! growing delay between attempts ([`Backoff`]), never spinning. The first
//! delays are shorter than tokio's timer can sleep, so they are slept on a
//! [`FineTimer`].
//!
//! What happens once it succeeds (and when it never does) is
//! [`crate::ready_driver`]'s business.

use std::io;
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};

use crate::fine_timer::FineTimer;
use crate::readiness::ProbeTarget;

/// The delay between the first attempts, for the first 5 ms: a server that
/// starts listening a moment after the spawn (a small program listens
/// within 1–3 ms) is seen within a quarter of a millisecond. One attempt
/// costs a few syscalls (about 10 µs), so this phase costs at most 0.2 ms
/// of CPU per proc.
const FINE_DELAY: Duration = Duration::from_micros(250);
/// How many attempts are spaced by [`FINE_DELAY`].
const FINE_ATTEMPTS: u32 = 20;
/// The delay between the next attempts: the timer's resolution.
const QUICK_DELAY: Duration = Duration::from_millis(1);
/// How many attempts are spaced by [`QUICK_DELAY`] before the delay grows.
const QUICK_ATTEMPTS: u32 = 10;
/// The longest delay between two attempts.
const MAX_DELAY: Duration = Duration::from_millis(50);
/// How long one attempt may take (a filtered TCP port never answers).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// The delays between connection attempts: 250 µs for the first twenty and
/// 1 ms for the next ten (most servers are up within a few milliseconds of
/// the spawn), then doubling up to 50 ms, so a slow server costs at most 20
/// attempts a second.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    attempts: u32,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self {
            attempts: 0,
            next: QUICK_DELAY,
        }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts <= FINE_ATTEMPTS {
            return Some(FINE_DELAY);
        }
        if self.attempts <= FINE_ATTEMPTS.saturating_add(QUICK_ATTEMPTS) {
            return Some(QUICK_DELAY);
        }
        self.next = self.next.saturating_mul(2).min(MAX_DELAY);
        Some(self.next)
    }
}

/// One attempt: connects and drops the connection at once.
async fn attempt(target: &ProbeTarget) -> io::Result<()> {
    let connect = async {
        match target {
            ProbeTarget::Tcp(addr) => TcpStream::connect(addr).await.map(drop),
            ProbeTarget::Unix(path) => UnixStream::connect(path).await.map(drop),
        }
    };
    tokio::time::timeout(ATTEMPT_TIMEOUT, connect)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

/// Returns once a connection to `target` succeeds (possibly never: the
/// caller bounds it).
pub(crate) async fn until_connectable(target: &ProbeTarget) {
    let mut backoff = Backoff::new();
    let mut fine = Fine::Unmade;
    let mut attempts = 0u64;
    loop {
        attempts = attempts.saturating_add(1);
        match attempt(target).await {
            Ok(()) => {
                tracing::debug!(attempts, ?target, "connection probe succeeded");
                return;
            }
            Err(err) => tracing::trace!(%err, ?target, "connection probe failed"),
        }
        let delay = backoff.next().unwrap_or(MAX_DELAY);
        fine.sleep(delay).await;
    }
}

/// The probe's [`FineTimer`]: made at the first sub-millisecond delay and
/// dropped (its fd closed) at the first longer one; without one (out of
/// fds), short delays are slept on tokio's timer, a little longer.
enum Fine {
    Unmade,
    Made(FineTimer),
    Done,
}

impl Fine {
    async fn sleep(&mut self, delay: Duration) {
        if delay >= QUICK_DELAY {
            *self = Self::Done;
            return tokio::time::sleep(delay).await;
        }
        if let Self::Unmade = self {
            *self = match FineTimer::new() {
                Ok(timer) => Self::Made(timer),
                Err(err) => {
                    tracing::debug!(%err, "no timerfd; probing on the millisecond timer");
                    Self::Done
                }
            };
        }
        let slept = match self {
            Self::Made(timer) => timer.sleep(delay).await,
            _ => Err(io::ErrorKind::Unsupported.into()),
        };
        if slept.is_err() {
            *self = Self::Done;
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_quick_first_then_doubles_up_to_a_cap() {
        let delays: Vec<u64> = Backoff::new()
            .take(38)
            .map(|d| u64::try_from(d.as_micros()).expect("small"))
            .collect();
        let mut expected = vec![250; 20];
        expected.extend([1_000; 10]);
        expected.extend([2_000, 4_000, 8_000, 16_000, 32_000, 50_000, 50_000, 50_000]);
        assert_eq!(delays, expected);
    }

    #[tokio::test]
    async fn the_fine_timer_lives_for_the_short_delays_only() {
        let mut fine = Fine::Unmade;
        let bounded = Duration::from_secs(10);
        tokio::time::timeout(bounded, fine.sleep(FINE_DELAY))
            .await
            .expect("slept");
        assert!(
            matches!(fine, Fine::Made(_)),
            "made at the first short delay"
        );
        tokio::time::timeout(bounded, fine.sleep(FINE_DELAY))
            .await
            .expect("slept");
        assert!(matches!(fine, Fine::Made(_)), "kept through the short ones");
        tokio::time::timeout(bounded, fine.sleep(QUICK_DELAY))
            .await
            .expect("slept");
        assert!(matches!(fine, Fine::Done), "dropped at the first long one");
        tokio::time::timeout(bounded, fine.sleep(FINE_DELAY))
            .await
            .expect("slept");
        assert!(matches!(fine, Fine::Done), "never made again");
    }

    #[tokio::test]
    async fn waits_for_a_listener_that_appears_later() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("late.sock");
        let target = ProbeTarget::Unix(path.clone());
        let probe = tokio::spawn(async move { until_connectable(&target).await });
        // Refused attempts until the listener exists; the probe keeps going.
        tokio::task::yield_now().await;
        assert!(!probe.is_finished());
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        tokio::time::timeout(Duration::from_secs(10), probe)
            .await
            .expect("probe saw the listener")
            .expect("probe task");
        drop(listener);
    }

    #[tokio::test]
    async fn tcp_listener_is_seen() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let target = ProbeTarget::Tcp(listener.local_addr().expect("addr"));
        tokio::time::timeout(Duration::from_secs(10), until_connectable(&target))
            .await
            .expect("probe saw the listener");
    }
}
