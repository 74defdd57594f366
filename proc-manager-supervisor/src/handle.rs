//! [`SupervisorHandle`]: what `start()` returns — the children's current
//! incarnations and restart counts, the event stream, `stop` and `wait`.
//!
//! The loop behind it is `runner.rs`; what the two share is `shared.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{ProcId, ProcManager, ProcStatus, TerminateSummary};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::event::{SupervisorEvent, SupervisorExit};
use crate::shared::{Command, Shared};

/// A running supervisor. Cheap to clone; every method takes `&self`.
///
/// Dropping every clone stops the supervisor as [`SupervisorHandle::stop`]
/// would, each child within its own shutdown timeout: a supervisor never
/// outlives the last handle to it.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_local::{ChannelAddr, LocalContext, LocalProcManager, ProcId};
/// use proc_manager_supervisor::{ChildSpec, Supervisor, SupervisorExit};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let manager = LocalProcManager::new(|ctx: LocalContext| async move {
///     ctx.ready(ChannelAddr::Local(1)).await.map_err(|e| e.to_string())?;
///     ctx.shutdown_requested().await;
///     Ok::<i32, String>(0)
/// });
/// let id = ProcId::new("worker")?;
/// let sup = Supervisor::builder(manager)
///     .child(ChildSpec::new(id.clone(), ChannelAddr::Local(0)))
///     .start()
///     .await?;
/// assert!(sup.status(&id).is_some_and(|s| s.is_ready()));
/// assert_eq!(sup.restarts(&id), 0);
/// let summary = sup.stop(Duration::from_secs(5)).await;
/// assert_eq!((summary.attempted, summary.polite), (1, 1));
/// assert_eq!(sup.wait().await, SupervisorExit::Stopped);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct SupervisorHandle<M: ProcManager> {
    manager: Arc<M>,
    shared: Arc<Shared<M::Handle>>,
    commands: mpsc::Sender<Command>,
}

impl<M: ProcManager> SupervisorHandle<M> {
    pub(crate) fn new(
        manager: Arc<M>,
        shared: Arc<Shared<M::Handle>>,
        commands: mpsc::Sender<Command>,
    ) -> Self {
        Self {
            manager,
            shared,
            commands,
        }
    }

    /// A receiver of every event from now on. (To see the events of the
    /// first start too, subscribe with [`crate::SupervisorBuilder::events`]
    /// before `start()`.)
    pub fn events(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.shared.subscribe()
    }

    /// The status of the child's current (or last) incarnation; `None` for
    /// an id that is not a child of this supervisor.
    pub fn status(&self, proc_id: &ProcId) -> Option<ProcStatus> {
        self.shared.status(proc_id)
    }

    /// The handle of the child's current (or last) incarnation.
    pub fn handle(&self, proc_id: &ProcId) -> Option<M::Handle> {
        self.shared.handle(proc_id)
    }

    /// How many times the child was restarted, whatever caused it: its own
    /// end, or a sibling's under `OneForAll`/`RestForOne`. `0` for an id
    /// that is not a child.
    pub fn restarts(&self, proc_id: &ProcId) -> u64 {
        self.shared.restarts(proc_id)
    }

    /// The children's ids, in start order.
    pub fn proc_ids(&self) -> &[ProcId] {
        self.shared.ids()
    }

    /// The manager the children run on.
    pub fn manager(&self) -> &M {
        &self.manager
    }

    /// How the supervisor ended, if it has.
    pub fn exit(&self) -> Option<SupervisorExit> {
        self.shared.exit()
    }

    /// Stops every child in reverse start order under one deadline,
    /// `timeout` from now (each child also within its own shutdown
    /// timeout; `Duration::MAX`: no overall deadline), and ends the
    /// supervisor with [`SupervisorExit::Stopped`]. A child that ends
    /// during the stop is not restarted. Once the supervisor has ended,
    /// returns an empty summary.
    pub async fn stop(&self, timeout: Duration) -> TerminateSummary {
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(Command::Stop { timeout, reply })
            .await
            .is_err()
        {
            return TerminateSummary::default();
        }
        answer.await.unwrap_or_default()
    }

    /// Waits until the supervisor has ended and says how. Any number of
    /// callers may wait.
    pub async fn wait(&self) -> SupervisorExit {
        self.shared.wait().await
    }
}

impl<M: ProcManager> Clone for SupervisorHandle<M> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            shared: self.shared.clone(),
            commands: self.commands.clone(),
        }
    }
}

impl<M: ProcManager> fmt::Debug for SupervisorHandle<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("children", &self.shared.ids())
            .field("exit", &self.shared.exit())
            .finish_non_exhaustive()
    }
}
