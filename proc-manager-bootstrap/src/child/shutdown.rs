//! [`ShutdownReason`] and the one-shot shutdown latch that merges a stop
//! message, SIGTERM and the end of the control connection into a single
//! future.
//!
//! Who feeds the latch (the SIGTERM listener, the control-channel reader)
//! lives in the context module; this file only holds the latch.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// Why a child was asked to shut down.
///
/// ```
/// use proc_manager_bootstrap::child::ShutdownReason;
///
/// let reason = ShutdownReason::Stop { reason: "rolling restart".into() };
/// assert_eq!(reason.to_string(), "stop requested by the manager: rolling restart");
/// assert!(!reason.is_manager_gone());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// The manager sent a stop message on the control channel.
    Stop {
        /// The reason the manager gave.
        reason: String,
    },
    /// The process received SIGTERM.
    Sigterm,
    /// The control connection ended: the manager is gone.
    ManagerGone,
}

impl ShutdownReason {
    /// Whether the manager is gone (nobody is waiting for an orderly exit).
    pub fn is_manager_gone(&self) -> bool {
        matches!(self, Self::ManagerGone)
    }
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stop { reason } => write!(f, "stop requested by the manager: {reason}"),
            Self::Sigterm => f.write_str("received SIGTERM"),
            Self::ManagerGone => f.write_str("the manager's control connection closed"),
        }
    }
}

/// A latch set once, by the first request; later requests are kept apart
/// only for the manager-gone flag (see [`ShutdownLatch::manager_gone`]).
#[derive(Debug, Clone)]
pub(crate) struct ShutdownLatch {
    first: Arc<watch::Sender<Option<ShutdownReason>>>,
    gone: Arc<watch::Sender<bool>>,
}

impl ShutdownLatch {
    pub(crate) fn new() -> Self {
        Self {
            first: Arc::new(watch::channel(None).0),
            gone: Arc::new(watch::channel(false).0),
        }
    }

    /// Records a request; the first one wins for [`Self::requested`].
    pub(crate) fn request(&self, reason: ShutdownReason) {
        if reason.is_manager_gone() {
            self.gone.send_replace(true);
        }
        self.first.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(reason);
            true
        });
    }

    /// The first request, if any.
    pub(crate) fn current(&self) -> Option<ShutdownReason> {
        self.first.borrow().clone()
    }

    /// Resolves with the first request. Holds its own reference to the
    /// latch, so it never resolves spuriously.
    pub(crate) fn requested(&self) -> impl Future<Output = ShutdownReason> + Send + 'static {
        let sender = Arc::clone(&self.first);
        let mut rx = sender.subscribe();
        async move {
            let reason = match rx.wait_for(Option::is_some).await {
                Ok(slot) => slot.clone(),
                Err(_) => None,
            };
            drop(sender);
            reason.unwrap_or(ShutdownReason::ManagerGone)
        }
    }

    /// Resolves once the control connection has ended, whatever came first.
    pub(crate) fn manager_gone(&self) -> impl Future<Output = ()> + Send + 'static {
        let sender = Arc::clone(&self.gone);
        let mut rx = sender.subscribe();
        async move {
            let _ = rx.wait_for(|gone| *gone).await;
            drop(sender);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_request_wins_and_every_waiter_sees_it() {
        let latch = ShutdownLatch::new();
        let a = tokio::spawn(latch.requested());
        let b = tokio::spawn(latch.requested());
        latch.request(ShutdownReason::Sigterm);
        latch.request(ShutdownReason::Stop { reason: "x".into() });
        assert_eq!(a.await.ok(), Some(ShutdownReason::Sigterm));
        assert_eq!(b.await.ok(), Some(ShutdownReason::Sigterm));
        assert_eq!(latch.requested().await, ShutdownReason::Sigterm);
        assert_eq!(latch.current(), Some(ShutdownReason::Sigterm));
    }

    #[tokio::test]
    async fn manager_gone_is_seen_even_after_another_request() {
        let latch = ShutdownLatch::new();
        latch.request(ShutdownReason::Stop { reason: "x".into() });
        let gone = tokio::spawn(latch.manager_gone());
        latch.request(ShutdownReason::ManagerGone);
        let waited = tokio::time::timeout(std::time::Duration::from_secs(10), gone).await;
        assert!(matches!(waited, Ok(Ok(()))));
        assert_eq!(
            latch.current(),
            Some(ShutdownReason::Stop { reason: "x".into() })
        );
    }
}
