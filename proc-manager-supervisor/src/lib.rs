#![doc = include_str!("../README.md")]

mod backoff;
mod builder;
mod child;
mod error;
mod event;
mod handle;
mod intensity;
mod liveness;
mod monitor;
mod pending;
mod random;
mod restart;
mod runner;
mod shared;
mod spec;
mod stop;
mod strategy;

pub use backoff::Backoff;
pub use builder::{DEFAULT_INTENSITY, Supervisor, SupervisorBuilder};
pub use error::{BackoffError, SupervisorError};
pub use event::{SupervisorEvent, SupervisorExit};
pub use handle::SupervisorHandle;
pub use liveness::{Liveness, MIN_PROBE_INTERVAL, ProbeOutcome};
pub use restart::Restart;
pub use spec::{ChildSpec, DEFAULT_MIN_UPTIME, DEFAULT_SHUTDOWN};
pub use strategy::Strategy;

// Compile-time check that the public types can cross threads, for any
// backend whose types can.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    #[allow(dead_code)]
    fn check<M: proc_manager_core::ProcManager + 'static>()
    where
        M::Config: Sync,
    {
        send_sync::<SupervisorHandle<M>>();
        send_sync::<ChildSpec<M>>();
        send_sync::<SupervisorBuilder<M>>();
    }
    send_sync::<SupervisorEvent>();
    send_sync::<SupervisorExit>();
    send_sync::<SupervisorError>();
    send_sync::<Backoff>();
    send_sync::<Liveness<()>>();
};
