//! What the supervision loop and its [`crate::SupervisorHandle`]s share:
//! the current incarnation and restart count of each child, the event
//! channel, the supervisor's exit, and the [`Command`]s a handle sends.
//!
//! The loop is the only writer; handles only read and send commands.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use proc_manager_core::{ProcHandle, ProcId, ProcStatus, TerminateSummary};
use tokio::sync::{broadcast, oneshot, watch};

use crate::event::{SupervisorEvent, SupervisorExit};

/// How many events a slow subscriber may fall behind before it sees
/// `RecvError::Lagged`.
pub(crate) const EVENT_CAPACITY: usize = 1024;

/// A request from a handle to the loop.
#[derive(Debug)]
pub(crate) enum Command {
    /// Stop every child in reverse start order within `timeout`, then end.
    Stop {
        timeout: Duration,
        reply: oneshot::Sender<TerminateSummary>,
    },
}

#[derive(Debug)]
struct View<H> {
    handle: Option<H>,
    restarts: u64,
}

/// The state visible through a handle.
#[derive(Debug)]
pub(crate) struct Shared<H> {
    index: HashMap<ProcId, usize>,
    ids: Vec<ProcId>,
    views: Mutex<Vec<View<H>>>,
    events: broadcast::Sender<SupervisorEvent>,
    exit: watch::Sender<Option<SupervisorExit>>,
}

impl<H: ProcHandle> Shared<H> {
    /// `ids` in start order (already checked to be distinct).
    pub(crate) fn new(ids: Vec<ProcId>, events: broadcast::Sender<SupervisorEvent>) -> Self {
        let index = ids
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        let views = ids
            .iter()
            .map(|_| View {
                handle: None,
                restarts: 0,
            })
            .collect();
        Self {
            index,
            ids,
            views: Mutex::new(views),
            events,
            exit: watch::Sender::new(None),
        }
    }

    fn views(&self) -> MutexGuard<'_, Vec<View<H>>> {
        self.views.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_view<T>(&self, proc_id: &ProcId, f: impl FnOnce(&View<H>) -> T) -> Option<T> {
        let &i = self.index.get(proc_id)?;
        self.views().get(i).map(f)
    }

    pub(crate) fn ids(&self) -> &[ProcId] {
        &self.ids
    }

    pub(crate) fn handle(&self, proc_id: &ProcId) -> Option<H> {
        self.with_view(proc_id, |v| v.handle.clone()).flatten()
    }

    pub(crate) fn status(&self, proc_id: &ProcId) -> Option<ProcStatus> {
        self.handle(proc_id).map(|h| h.status())
    }

    pub(crate) fn restarts(&self, proc_id: &ProcId) -> u64 {
        self.with_view(proc_id, |v| v.restarts).unwrap_or(0)
    }

    pub(crate) fn set_handle(&self, index: usize, handle: H) {
        if let Some(view) = self.views().get_mut(index) {
            view.handle = Some(handle);
        }
    }

    pub(crate) fn set_restarts(&self, index: usize, restarts: u64) {
        if let Some(view) = self.views().get_mut(index) {
            view.restarts = restarts;
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.events.subscribe()
    }

    /// Publishes `event` (nobody listening is fine) and logs it.
    pub(crate) fn emit(&self, event: SupervisorEvent) {
        tracing::info!(proc_id = %event.proc_id(), %event, "supervisor event");
        let _ = self.events.send(event);
    }

    /// Publishes how the supervisor ended; only the first call counts.
    pub(crate) fn finish(&self, exit: SupervisorExit) {
        self.exit.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(exit);
            true
        });
    }

    pub(crate) fn exit(&self) -> Option<SupervisorExit> {
        self.exit.borrow().clone()
    }

    pub(crate) async fn wait(&self) -> SupervisorExit {
        let mut rx = self.exit.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(exit) => exit.clone().unwrap_or(SupervisorExit::Stopped),
            // The sender lives in `self`: it cannot be gone while we run.
            Err(_) => SupervisorExit::Stopped,
        }
    }
}
