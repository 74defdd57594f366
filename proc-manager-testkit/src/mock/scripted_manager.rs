//! [`ScriptedProcManager`]: a real [`ProcManager`] whose spawns the test
//! answers, in the style of `tower-test`'s mock service: the code under test
//! calls `spawn_with`, the test takes the request from its
//! [`SpawnController`] and answers it through a [`SpawnResponder`] with a
//! handle (usually a [`ScriptedProcHandle`]) or a [`SpawnError`].
//!
//! The handles themselves are scripted in `scripted_handle.rs`; this file
//! holds only the manager side.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use proc_manager_core::{
    ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, SpawnError,
};
use tokio::sync::{mpsc, oneshot};

use super::scripted_handle::{ScriptController, ScriptedProcHandle};

/// The handles whose spawns returned `Ok`, latest per id, in spawn order.
struct Registry<H>(Mutex<Vec<H>>);

impl<H: ProcHandle> Registry<H> {
    fn insert(&self, handle: H) {
        let mut handles = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match handles.iter_mut().find(|h| h.proc_id() == handle.proc_id()) {
            Some(slot) => *slot = handle,
            None => handles.push(handle),
        }
    }

    fn get(&self, proc_id: &ProcId) -> Option<H> {
        let handles = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        handles.iter().find(|h| h.proc_id() == proc_id).cloned()
    }

    fn ids(&self) -> Vec<ProcId> {
        let handles = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        handles.iter().map(|h| h.proc_id().clone()).collect()
    }
}

type Pending<C, H> = (SpawnRequest<C>, SpawnResponder<H>);

/// A manager whose procs exist only in the test: every `spawn_with` waits
/// until the test answers it through the paired [`SpawnController`].
///
/// - An answered handle is returned by that `spawn_with` and from then on by
///   [`handle`](ProcManager::handle), [`status`](ProcManager::status) and
///   [`proc_ids`](ProcManager::proc_ids) (the latest per id, in spawn order;
///   a handle that ends stays listed).
/// - An answered error is returned as is. The manager checks nothing itself
///   (not even duplicate ids): the test decides every answer.
/// - A spawn whose responder is dropped unanswered fails with
///   [`SpawnError::Io`]; once the controller is dropped every spawn fails
///   with [`SpawnError::ShutDown`].
///
/// `C` is the config type (default `()`), `H` the handle type (default
/// [`ScriptedProcHandle`]). It has no [`BulkTerminate`](proc_manager_core::BulkTerminate).
///
/// ```
/// use proc_manager_core::{ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, SpawnError};
/// use proc_manager_testkit::mock::ScriptedProcManager;
///
/// /// The code under test: start a worker and return where it serves.
/// async fn start<M: ProcManager>(manager: &M, id: ProcId) -> Result<ChannelAddr, String> {
///     let handle = manager
///         .spawn(id, ChannelAddr::any(manager.transport()))
///         .await
///         .map_err(|e| e.to_string())?;
///     handle.ready().await.map_err(|e| e.to_string())
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (manager, mut spawns) = ScriptedProcManager::<()>::new(ChannelTransport::Local);
/// let started = tokio::spawn(async move {
///     let first = start(&manager, ProcId::new("a")?).await;
///     let second = start(&manager, ProcId::new("b")?).await;
///     Ok::<_, proc_manager_core::ProcIdError>((first, second))
/// });
///
/// // The first spawn: answer with a scripted handle, and make it ready.
/// let (request, responder) = spawns.next_spawn().await.expect("a spawn");
/// assert_eq!(request.proc_id.to_string(), "a");
/// assert_eq!(request.backend_addr.transport(), ChannelTransport::Local);
/// let script = responder.send_scripted();
/// script.running(10)?;
/// script.ready(ChannelAddr::Local(7))?;
///
/// // The second: refuse it.
/// let (request, responder) = spawns.next_spawn().await.expect("a spawn");
/// responder.send_error(SpawnError::Duplicate { proc_id: request.proc_id });
///
/// let (first, second) = started.await??;
/// assert_eq!(first, Ok(ChannelAddr::Local(7)));
/// assert_eq!(second, Err("proc b: a live proc with this id already exists".to_string()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct ScriptedProcManager<C = (), H = ScriptedProcHandle> {
    transport: ChannelTransport,
    spawns: mpsc::UnboundedSender<Pending<C, H>>,
    registry: Arc<Registry<H>>,
}

/// The test's side of a [`ScriptedProcManager`]: receives each spawn.
pub struct SpawnController<C = (), H = ScriptedProcHandle> {
    spawns: mpsc::UnboundedReceiver<Pending<C, H>>,
}

/// What the code under test passed to `spawn_with`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpawnRequest<C = ()> {
    /// The id asked for.
    pub proc_id: ProcId,
    /// The backend address asked for.
    pub backend_addr: ChannelAddr,
    /// The config given (`C::default()` for a plain `spawn`).
    pub config: C,
}

/// Answers one spawn, once. Dropping it unanswered fails the spawn with
/// [`SpawnError::Io`].
pub struct SpawnResponder<H = ScriptedProcHandle> {
    proc_id: ProcId,
    answer: oneshot::Sender<Result<H, SpawnError>>,
}

impl<C, H> ScriptedProcManager<C, H> {
    /// A manager whose procs serve on `transport`, and its controller.
    pub fn new(transport: ChannelTransport) -> (Self, SpawnController<C, H>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let manager = Self {
            transport,
            spawns: tx,
            registry: Arc::new(Registry(Mutex::new(Vec::new()))),
        };
        (manager, SpawnController { spawns: rx })
    }
}

#[async_trait]
impl<C, H> ProcManager for ScriptedProcManager<C, H>
where
    C: Default + Send + 'static,
    H: ProcHandle,
{
    type Handle = H;
    type Config = C;

    fn transport(&self) -> ChannelTransport {
        self.transport
    }

    async fn spawn_with(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
        config: C,
    ) -> Result<H, SpawnError> {
        let (answer, answered) = oneshot::channel();
        let request = SpawnRequest {
            proc_id: proc_id.clone(),
            backend_addr,
            config,
        };
        let responder = SpawnResponder {
            proc_id: proc_id.clone(),
            answer,
        };
        if self.spawns.send((request, responder)).is_err() {
            return Err(SpawnError::ShutDown { proc_id });
        }
        let handle = answered.await.map_err(|_| SpawnError::Io {
            proc_id,
            source: io::Error::other("the test dropped the spawn responder without answering"),
        })??;
        self.registry.insert(handle.clone());
        Ok(handle)
    }

    fn handle(&self, proc_id: &ProcId) -> Option<H> {
        self.registry.get(proc_id)
    }

    fn proc_ids(&self) -> Vec<ProcId> {
        self.registry.ids()
    }
}

impl<C, H> SpawnController<C, H> {
    /// The next spawn, waiting for one; `None` once the manager is dropped
    /// and every spawn has been taken.
    pub async fn next_spawn(&mut self) -> Option<(SpawnRequest<C>, SpawnResponder<H>)> {
        self.spawns.recv().await
    }

    /// The next spawn if one is waiting.
    pub fn try_next_spawn(&mut self) -> Option<(SpawnRequest<C>, SpawnResponder<H>)> {
        self.spawns.try_recv().ok()
    }
}

impl<H> SpawnResponder<H> {
    /// The id of the spawn this answers.
    pub fn proc_id(&self) -> &ProcId {
        &self.proc_id
    }

    /// Answers with `result`. Returns `false` if the spawn is no longer
    /// waiting (its future was dropped).
    pub fn respond(self, result: Result<H, SpawnError>) -> bool {
        self.answer.send(result).is_ok()
    }

    /// Answers with `handle`; see [`Self::respond`].
    pub fn send_handle(self, handle: H) -> bool {
        self.respond(Ok(handle))
    }

    /// Answers with `error`; see [`Self::respond`].
    pub fn send_error(self, error: SpawnError) -> bool {
        self.respond(Err(error))
    }
}

impl SpawnResponder<ScriptedProcHandle> {
    /// Answers with a fresh [`ScriptedProcHandle`] (in `Starting`) for the
    /// requested id and returns its controller.
    pub fn send_scripted(self) -> ScriptController {
        let (handle, script) = ScriptedProcHandle::new(self.proc_id.clone());
        self.send_handle(handle);
        script
    }
}

impl<C, H> fmt::Debug for ScriptedProcManager<C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedProcManager")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl<C, H> fmt::Debug for SpawnController<C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnController").finish_non_exhaustive()
    }
}

impl<H> fmt::Debug for SpawnResponder<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnResponder")
            .field("proc_id", &self.proc_id)
            .finish_non_exhaustive()
    }
}
