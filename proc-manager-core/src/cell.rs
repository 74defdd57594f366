//! [`StatusCell`]: the one place a proc's status is stored and published.
//!
//! A transition is checked with [`ProcStatus::can_transition_to`] and applied
//! under the channel's lock, so concurrent writers publish in a legal order.
//! Illegal transitions are refused and logged. What a status *means* is in
//! [`ProcStatus`]; this module only stores and publishes it.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::addr::ChannelAddr;
use crate::error::{ReadyError, WaitError};
use crate::id::ProcId;
use crate::status::{IllegalTransition, ProcStatus};

/// A proc's status, shared by its backend (the writer) and any number of
/// observers.
///
/// ```
/// use std::time::SystemTime;
/// use proc_manager_core::{ProcId, ProcStatus, StatusCell};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cell = StatusCell::new(ProcId::new("p")?);
/// let mut rx = cell.watch();
/// cell.transition(ProcStatus::Running { pid: 7, started_at: SystemTime::now() })?;
/// rx.changed().await?;
/// assert_eq!(rx.borrow().pid(), Some(7));
///
/// // Terminal states are absorbing: the second exit is refused.
/// cell.transition(ProcStatus::Stopped { exit_code: 0, stderr_tail: vec![] })?;
/// assert!(cell.transition(ProcStatus::Stopped { exit_code: 1, stderr_tail: vec![] }).is_err());
/// assert_eq!(cell.wait_terminal().await, ProcStatus::Stopped { exit_code: 0, stderr_tail: vec![] });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct StatusCell {
    proc_id: ProcId,
    tx: watch::Sender<ProcStatus>,
}

impl StatusCell {
    /// A cell in [`ProcStatus::Starting`].
    pub fn new(proc_id: ProcId) -> Self {
        Self::with_status(proc_id, ProcStatus::Starting)
    }

    /// A cell starting at `status`.
    pub fn with_status(proc_id: ProcId, status: ProcStatus) -> Self {
        // `Sender::new` skips creating (and dropping) a first receiver.
        Self {
            proc_id,
            tx: watch::Sender::new(status),
        }
    }

    /// The proc this cell belongs to.
    pub fn proc_id(&self) -> &ProcId {
        &self.proc_id
    }

    /// A snapshot of the current status.
    pub fn status(&self) -> ProcStatus {
        self.tx.borrow().clone()
    }

    /// What `f` reads off the current status, without copying the status
    /// (a copy allocates for every status that holds an address or a
    /// tail). `f` runs under the cell's read lock: keep it short, and do
    /// not transition the cell from it.
    ///
    /// ```
    /// use proc_manager_core::{ProcId, ProcStatus, StatusCell};
    ///
    /// let cell = StatusCell::new(ProcId::new("worker").unwrap());
    /// assert!(cell.inspect(ProcStatus::is_alive));
    /// assert_eq!(cell.inspect(|s| s.addr().cloned()), None);
    /// ```
    pub fn inspect<R>(&self, f: impl FnOnce(&ProcStatus) -> R) -> R {
        f(&self.tx.borrow())
    }

    /// A receiver that sees the current status and every later one (a slow
    /// receiver may skip intermediate statuses, never reorder them).
    pub fn watch(&self) -> watch::Receiver<ProcStatus> {
        self.tx.subscribe()
    }

    /// Waits for the next change after this call (the subscription is taken
    /// when `changed` is called, not when the future is first polled) and
    /// returns the new status. Resolves at once with the current status if it
    /// is terminal.
    pub fn changed(&self) -> impl Future<Output = ProcStatus> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            if rx.borrow().is_exit() {
                return rx.borrow().clone();
            }
            // An error means the cell was dropped; its last status stands.
            let _ = rx.changed().await;
            rx.borrow().clone()
        }
    }

    /// Applies `next` if the state machine allows it, returning the status it
    /// replaced.
    pub fn transition(&self, next: ProcStatus) -> Result<ProcStatus, IllegalTransition> {
        self.transition_with(|_| Some(next))
            .map(|(previous, _)| previous)
    }

    /// Computes the next status from the current one under the lock and
    /// applies it if legal. `f` returning `None` means "no change" and is not
    /// an error; the result is then `Ok` with both statuses equal.
    ///
    /// Returns `(previous, current)`.
    pub fn transition_with(
        &self,
        f: impl FnOnce(&ProcStatus) -> Option<ProcStatus>,
    ) -> Result<(ProcStatus, ProcStatus), IllegalTransition> {
        let mut outcome = None;
        self.tx.send_if_modified(|current| {
            let Some(next) = f(current) else {
                outcome = Some(Ok((current.clone(), current.clone())));
                return false;
            };
            if current.can_transition_to(&next) {
                let previous = std::mem::replace(current, next);
                outcome = Some(Ok((previous, current.clone())));
                true
            } else {
                tracing::warn!(
                    proc_id = %self.proc_id,
                    from = %current,
                    to = %next,
                    "refused illegal status transition"
                );
                outcome = Some(Err(IllegalTransition {
                    proc_id: self.proc_id.clone(),
                    from: current.clone(),
                    to: next,
                }));
                false
            }
        });
        outcome.unwrap_or_else(|| {
            // `send_if_modified` always runs the closure.
            let status = self.status();
            Ok((status.clone(), status))
        })
    }

    /// Moves a live proc to `Stopping` (keeping its pid and start time).
    /// Returns the status after the call: `Stopping`, or the terminal status
    /// if the proc had already ended.
    pub fn mark_stopping(&self) -> ProcStatus {
        match self.transition_with(|current| {
            (current.is_alive() && !current.is_stopping()).then(|| current.to_stopping())
        }) {
            Ok((_, current)) => current,
            Err(refused) => refused.from,
        }
    }

    /// Waits until the status is terminal and returns it.
    pub async fn wait_terminal(&self) -> ProcStatus {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so the channel cannot close here.
        match rx.wait_for(ProcStatus::is_exit).await {
            Ok(status) => status.clone(),
            Err(_) => self.status(),
        }
    }

    /// Waits until the proc is `Ready` (returning its address) or has ended
    /// (returning [`ReadyError::Terminal`]).
    pub async fn wait_ready(&self) -> Result<ChannelAddr, ReadyError> {
        wait_ready(&self.proc_id, self.tx.subscribe()).await
    }
}

/// Waits on `rx` until the status is `Ready` or terminal. A proc seen in
/// `Stopping` can no longer become ready, so this then waits for its end.
pub async fn wait_ready(
    proc_id: &ProcId,
    mut rx: watch::Receiver<ProcStatus>,
) -> Result<ChannelAddr, ReadyError> {
    let seen = rx
        .wait_for(|s| s.is_ready() || s.is_exit() || s.is_stopping())
        .await
        .map(|s| s.clone())
        .map_err(|_| ReadyError::ChannelClosed {
            proc_id: proc_id.clone(),
        })?;
    if let Some(addr) = seen.addr() {
        return Ok(addr.clone());
    }
    let status = wait_terminal(proc_id, rx)
        .await
        .map_err(|_| ReadyError::ChannelClosed {
            proc_id: proc_id.clone(),
        })?;
    Err(ReadyError::Terminal {
        proc_id: proc_id.clone(),
        status,
    })
}

/// Waits on `rx` until the status is terminal.
pub async fn wait_terminal(
    proc_id: &ProcId,
    mut rx: watch::Receiver<ProcStatus>,
) -> Result<ProcStatus, WaitError> {
    rx.wait_for(ProcStatus::is_exit)
        .await
        .map(|s| s.clone())
        .map_err(|_| WaitError::ChannelClosed {
            proc_id: proc_id.clone(),
        })
}

/// [`wait_ready`] with a deadline.
pub async fn wait_ready_within(
    proc_id: &ProcId,
    rx: watch::Receiver<ProcStatus>,
    timeout: Duration,
) -> Result<ChannelAddr, ReadyError> {
    tokio::time::timeout(timeout, wait_ready(proc_id, rx))
        .await
        .unwrap_or_else(|_| {
            Err(ReadyError::Timeout {
                proc_id: proc_id.clone(),
                timeout,
            })
        })
}

impl fmt::Debug for StatusCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusCell")
            .field("proc_id", &self.proc_id)
            .field("status", &*self.tx.borrow())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;

    fn id() -> ProcId {
        ProcId::new("cell").expect("valid id")
    }

    fn running() -> ProcStatus {
        ProcStatus::Running {
            pid: 10,
            started_at: SystemTime::now(),
        }
    }

    #[test]
    fn refuses_illegal_and_keeps_state() {
        let cell = StatusCell::new(id());
        let err = cell
            .transition(ProcStatus::Ready {
                pid: 1,
                started_at: SystemTime::now(),
                addr: ChannelAddr::Local(1),
            })
            .unwrap_err();
        assert_eq!(err.from, ProcStatus::Starting);
        assert_eq!(cell.status(), ProcStatus::Starting);
        assert!(err.to_string().contains("cell"));
    }

    #[test]
    fn mark_stopping_keeps_pid_and_is_idempotent() {
        let cell = StatusCell::new(id());
        cell.transition(running()).expect("legal");
        let s = cell.mark_stopping();
        assert!(s.is_stopping());
        assert_eq!(s.pid(), Some(10));
        assert_eq!(cell.mark_stopping(), s);
        cell.transition(ProcStatus::Stopped {
            exit_code: 3,
            stderr_tail: vec![],
        })
        .expect("legal");
        assert!(cell.mark_stopping().is_exit());
    }

    #[tokio::test]
    async fn wait_ready_returns_addr_or_terminal() {
        let cell = Arc::new(StatusCell::new(id()));
        cell.transition(running()).expect("legal");
        let waiter = tokio::spawn({
            let cell = cell.clone();
            async move { cell.wait_ready().await }
        });
        cell.transition_with(|s| {
            Some(ProcStatus::Ready {
                pid: s.pid()?,
                started_at: s.started_at()?,
                addr: ChannelAddr::Local(5),
            })
        })
        .expect("legal");
        let addr = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("bounded")
            .expect("joined")
            .expect("ready");
        assert_eq!(addr, ChannelAddr::Local(5));

        let cell = StatusCell::new(id());
        cell.transition(ProcStatus::Failed {
            reason: "boom".into(),
            stderr_tail: vec!["last".into()],
        })
        .expect("legal");
        let err = cell.wait_ready().await.unwrap_err();
        assert!(
            matches!(err, ReadyError::Terminal { ref status, .. } if status.stderr_tail() == Some(&["last".to_string()][..]))
        );
    }

    #[tokio::test]
    async fn ready_waiter_on_stopping_proc_gets_terminal() {
        let cell = Arc::new(StatusCell::new(id()));
        cell.transition(running()).expect("legal");
        cell.mark_stopping();
        let waiter = tokio::spawn({
            let cell = cell.clone();
            async move { cell.wait_ready().await }
        });
        cell.transition(ProcStatus::Killed {
            signal: 9,
            core_dumped: false,
            stderr_tail: vec![],
        })
        .expect("legal");
        let err = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("bounded")
            .expect("joined")
            .unwrap_err();
        assert!(matches!(
            err,
            ReadyError::Terminal {
                status: ProcStatus::Killed { .. },
                ..
            }
        ));
    }

    #[tokio::test]
    async fn ready_within_times_out() {
        let cell = StatusCell::new(id());
        let err = wait_ready_within(cell.proc_id(), cell.watch(), Duration::from_millis(20))
            .await
            .unwrap_err();
        assert!(matches!(err, ReadyError::Timeout { .. }));
    }

    #[tokio::test]
    async fn changed_sees_next_status() {
        let cell = Arc::new(StatusCell::new(id()));
        let next = tokio::spawn(cell.changed());
        cell.transition(running()).expect("legal");
        let seen = tokio::time::timeout(Duration::from_secs(5), next)
            .await
            .expect("bounded")
            .expect("joined");
        assert_eq!(seen.name(), "running");
    }
}
