//! The [`Readiness::Connect`](crate::Readiness::Connect) probe: connect to
//! the proc's address until a connection succeeds, waiting a short, growing
//! delay between attempts ([`Backoff`]), never spinning.
//!
//! What happens once it succeeds (and when it never does) is
//! [`crate::ready_driver`]'s business.

use std::io;
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};

use crate::readiness::ProbeTarget;

/// The first delay between two attempts.
const FIRST_DELAY: Duration = Duration::from_millis(1);
/// The longest delay between two attempts.
const MAX_DELAY: Duration = Duration::from_millis(50);
/// How long one attempt may take (a filtered TCP port never answers).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// The delays between connection attempts: doubling from 1 ms up to 50 ms,
/// so a fast server is seen within a millisecond or two and a slow one costs
/// at most 20 attempts a second.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { next: FIRST_DELAY }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(MAX_DELAY);
        Some(delay)
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
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let delays: Vec<u64> = Backoff::new()
            .take(9)
            .map(|d| u64::try_from(d.as_millis()).expect("small"))
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 50, 50, 50]);
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
