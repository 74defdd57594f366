//! [`ChildSpec`]: everything the supervisor needs to know about one child —
//! its id and backend address, the backend config to spawn it with, its
//! restart type, back-off, minimum uptime, shutdown timeout and liveness
//! probe.
//!
//! The meaning of each policy lives with its type ([`crate::Restart`],
//! [`crate::Backoff`], [`crate::Liveness`]).

use std::fmt;
use std::time::Duration;

use proc_manager_core::{ChannelAddr, ProcId, ProcManager};

use crate::backoff::Backoff;
use crate::liveness::Liveness;
use crate::restart::Restart;

/// The default [`ChildSpec::shutdown`]: OTP's 5 s.
pub const DEFAULT_SHUTDOWN: Duration = Duration::from_secs(5);

/// The default [`ChildSpec::min_uptime`].
pub const DEFAULT_MIN_UPTIME: Duration = Duration::from_secs(1);

/// One child of a supervisor over a manager of type `M`.
///
/// Defaults: the manager's default config, [`Restart::Permanent`],
/// [`Backoff::none`], a minimum uptime of [`DEFAULT_MIN_UPTIME`], a
/// shutdown timeout of [`DEFAULT_SHUTDOWN`], no liveness probe.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_local::{ChannelAddr, LocalProcConfig, LocalProcManager, ProcId};
/// use proc_manager_supervisor::{Backoff, ChildSpec, Restart};
///
/// let spec: ChildSpec<LocalProcManager> = ChildSpec::new(ProcId::new("web")?, ChannelAddr::Local(1))
///     .config(LocalProcConfig::with_config(serde_json::json!({"port": 8080})))
///     .restart(Restart::Transient)
///     .backoff(Backoff::exponential(Duration::from_millis(50), Duration::from_secs(5)).jitter(0.2))
///     .min_uptime(Duration::from_secs(2))
///     .shutdown(Duration::from_secs(5));
/// assert_eq!(spec.proc_id().as_str(), "web");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ChildSpec<M: ProcManager> {
    pub(crate) proc_id: ProcId,
    pub(crate) backend_addr: ChannelAddr,
    pub(crate) config: Option<M::Config>,
    pub(crate) restart: Restart,
    pub(crate) backoff: Backoff,
    pub(crate) min_uptime: Duration,
    pub(crate) shutdown: Duration,
    pub(crate) liveness: Option<Liveness<M::Handle>>,
}

impl<M: ProcManager> ChildSpec<M> {
    /// A child spawned as `proc_id`, sending its traffic to `backend_addr`.
    pub fn new(proc_id: ProcId, backend_addr: ChannelAddr) -> Self {
        Self {
            proc_id,
            backend_addr,
            config: None,
            restart: Restart::default(),
            backoff: Backoff::default(),
            min_uptime: DEFAULT_MIN_UPTIME,
            shutdown: DEFAULT_SHUTDOWN,
            liveness: None,
        }
    }

    /// The backend config every incarnation is spawned with (a clone each).
    pub fn config(mut self, config: M::Config) -> Self {
        self.config = Some(config);
        self
    }

    /// When the child is restarted.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// The delay before each restart.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long the child must stay up (Ready) for its back-off to start
    /// again at the initial delay.
    pub fn min_uptime(mut self, min_uptime: Duration) -> Self {
        self.min_uptime = min_uptime;
        self
    }

    /// The terminate timeout when the supervisor stops this child: a polite
    /// request, then forced at this deadline (`Duration::MAX`: never forced;
    /// `ZERO`: forced at once).
    pub fn shutdown(mut self, timeout: Duration) -> Self {
        self.shutdown = timeout;
        self
    }

    /// A liveness probe run while the child is Ready.
    pub fn liveness(mut self, liveness: Liveness<M::Handle>) -> Self {
        self.liveness = Some(liveness);
        self
    }

    /// The child's id.
    pub fn proc_id(&self) -> &ProcId {
        &self.proc_id
    }

    /// The backend address the child is given.
    pub fn backend_addr(&self) -> &ChannelAddr {
        &self.backend_addr
    }
}

impl<M: ProcManager> Clone for ChildSpec<M>
where
    M::Config: Clone,
{
    fn clone(&self) -> Self {
        Self {
            proc_id: self.proc_id.clone(),
            backend_addr: self.backend_addr.clone(),
            config: self.config.clone(),
            restart: self.restart,
            backoff: self.backoff,
            min_uptime: self.min_uptime,
            shutdown: self.shutdown,
            liveness: self.liveness.clone(),
        }
    }
}

impl<M: ProcManager> fmt::Debug for ChildSpec<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("proc_id", &self.proc_id)
            .field("backend_addr", &self.backend_addr)
            .field("restart", &self.restart)
            .field("backoff", &self.backoff)
            .field("min_uptime", &self.min_uptime)
            .field("shutdown", &self.shutdown)
            .field("liveness", &self.liveness)
            .finish_non_exhaustive()
    }
}
