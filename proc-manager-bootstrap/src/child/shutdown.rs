//! The one-shot shutdown latch that merges a stop message, SIGTERM and the
//! end of the control connection into a single future of core's
//! [`ShutdownReason`].
//!
//! Who feeds the latch (the SIGTERM listener, the control-channel reader)
//! lives in the context module; this file only holds the latch.

use std::future::Future;
use std::sync::Arc;

use proc_manager_core::ShutdownReason;
use tokio::sync::watch;

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
