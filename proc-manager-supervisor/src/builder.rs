//! [`Supervisor`] and [`SupervisorBuilder`]: the strategy, the restart
//! intensity and the children, checked and started in order by
//! [`SupervisorBuilder::start`].
//!
//! What happens once started is the loop's (`runner.rs`).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::ProcManager;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::child::Child;
use crate::error::SupervisorError;
use crate::event::SupervisorEvent;
use crate::handle::SupervisorHandle;
use crate::intensity::Intensity;
use crate::pending::Pending;
use crate::random::Rng;
use crate::runner::Runner;
use crate::shared::{EVENT_CAPACITY, Shared};
use crate::spec::ChildSpec;
use crate::strategy::Strategy;

/// The default restart intensity: OTP's, at most 1 restart in 5 s.
pub const DEFAULT_INTENSITY: (u32, Duration) = (1, Duration::from_secs(5));

/// Supervises procs of any [`ProcManager`] with Erlang/OTP's restart
/// semantics. Start with [`Supervisor::builder`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Supervisor;

impl Supervisor {
    /// A builder for a supervisor of procs on `manager`, given by value or
    /// as an `Arc` you keep a clone of (then name the manager type, which
    /// the compiler cannot pick between `M` and `Arc<M>`:
    /// `Supervisor::builder::<MyManager>(shared.clone())`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use proc_manager_local::{LocalContext, LocalProcManager};
    /// use proc_manager_supervisor::Supervisor;
    ///
    /// let worker = |_ctx: LocalContext| async { Ok::<i32, String>(0) };
    /// let by_value = Supervisor::builder(LocalProcManager::new(worker));
    /// let shared = Arc::new(LocalProcManager::new(worker));
    /// let by_arc = Supervisor::builder::<LocalProcManager>(shared.clone());
    /// # let _ = (by_value, by_arc);
    /// ```
    pub fn builder<M: ProcManager>(manager: impl Into<Arc<M>>) -> SupervisorBuilder<M> {
        SupervisorBuilder {
            manager: manager.into(),
            strategy: Strategy::default(),
            intensity: DEFAULT_INTENSITY,
            children: Vec::new(),
            events: broadcast::Sender::new(EVENT_CAPACITY),
        }
    }
}

/// The settings of a supervisor: strategy, intensity and children (in
/// start order).
pub struct SupervisorBuilder<M: ProcManager> {
    manager: Arc<M>,
    strategy: Strategy,
    intensity: (u32, Duration),
    children: Vec<ChildSpec<M>>,
    events: broadcast::Sender<SupervisorEvent>,
}

impl<M: ProcManager> SupervisorBuilder<M> {
    /// Which children a restart takes along (default
    /// [`Strategy::OneForOne`]).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// More than `max_restarts` restarts within `period` and the supervisor
    /// stops every child and gives up ([`crate::SupervisorExit::GaveUp`]).
    /// `0` gives up at the first restart; a zero `period` is refused by
    /// [`SupervisorBuilder::start`]. Default [`DEFAULT_INTENSITY`].
    pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.intensity = (max_restarts, period);
        self
    }

    /// Adds a child; children start in the order they are added.
    pub fn child(mut self, spec: ChildSpec<M>) -> Self {
        self.children.push(spec);
        self
    }

    /// A receiver of every event, from the first start on.
    pub fn events(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.events.subscribe()
    }

    /// Checks the settings without starting anything: distinct child ids,
    /// valid back-offs, a non-zero period.
    pub fn validate(&self) -> Result<(), SupervisorError> {
        if self.intensity.1.is_zero() {
            return Err(SupervisorError::ZeroPeriod);
        }
        let mut seen = HashSet::new();
        for spec in &self.children {
            if !seen.insert(&spec.proc_id) {
                return Err(SupervisorError::DuplicateChild {
                    proc_id: spec.proc_id.clone(),
                });
            }
            spec.backoff
                .validate()
                .map_err(|source| SupervisorError::Backoff {
                    proc_id: spec.proc_id.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Checks the settings, then starts the children in order, each Ready
    /// before the next is spawned, and returns once all are (a child that
    /// ended before Ready and is not to be restarted, such as a
    /// `Temporary` one, is passed over). A child that ends before it is
    /// Ready counts as a crash and is restarted as its restart type says,
    /// within the intensity.
    ///
    /// Fails, leaving nothing running, on bad settings, on a spawn error,
    /// or when the intensity runs out before every child is Ready. The
    /// supervision loop is a task on the caller's tokio runtime
    /// ([`SupervisorError::NoRuntime`] without one).
    pub async fn start(self) -> Result<SupervisorHandle<M>, SupervisorError>
    where
        M: 'static,
        M::Config: Clone,
    {
        self.validate()?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| SupervisorError::NoRuntime)?;
        let ids = self.children.iter().map(|s| s.proc_id.clone()).collect();
        let shared = Arc::new(Shared::new(ids, self.events));
        let (commands_tx, commands) = mpsc::channel(4);
        let (ends_tx, ends) = mpsc::unbounded_channel();
        let (starting, started) = oneshot::channel();
        let runner = Runner {
            manager: self.manager.clone(),
            strategy: self.strategy,
            intensity: Intensity::new(self.intensity.0, self.intensity.1),
            children: self.children.into_iter().map(Child::new).collect(),
            shared: shared.clone(),
            ends_tx,
            ends,
            commands,
            pending: Pending::default(),
            rng: Rng::from_entropy(),
            starting: Some(starting),
        };
        // Created before the wait: if this future is dropped, the handle
        // goes with it and the loop stops what it started.
        let handle = SupervisorHandle::new(self.manager, shared, commands_tx);
        runtime.spawn(runner.run());
        match started.await {
            Ok(Ok(())) => Ok(handle),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(SupervisorError::Ended),
        }
    }
}

impl<M: ProcManager> fmt::Debug for SupervisorBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorBuilder")
            .field("strategy", &self.strategy)
            .field("intensity", &self.intensity)
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}
