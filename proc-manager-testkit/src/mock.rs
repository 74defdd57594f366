//! Two kinds of test double for code that takes a
//! [`ProcManager`](proc_manager_core::ProcManager) or a
//! [`ProcHandle`](proc_manager_core::ProcHandle):
//!
//! - expectation mocks made with mockall: [`MockProcManager`] (which also
//!   implements [`BulkTerminate`](proc_manager_core::BulkTerminate)) and
//!   [`MockProcHandle`], for "was it called like this, and what did it
//!   return";
//! - scripted doubles driven from the test (in the style of `tower-test`'s
//!   mock), for code that reacts over time: [`ScriptedProcHandle`] with its
//!   [`ScriptController`] (the test pushes statuses and answers stop
//!   requests), and [`ScriptedProcManager`] with its [`SpawnController`]
//!   (the test answers each spawn with a handle or a `SpawnError`).
//!
//! ```
//! use std::time::Duration;
//! use proc_manager_core::{ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, ProcStatus};
//! use proc_manager_testkit::mock::{MockProcHandle, MockProcManager};
//!
//! /// The code under test: start a worker, wait until it is ready, and stop
//! /// it again if it is not serving where we expect.
//! async fn start_worker<M: ProcManager>(manager: &M, expected: &ChannelAddr) -> Result<M::Handle, String> {
//!     let id = ProcId::new("worker").map_err(|e| e.to_string())?;
//!     let handle = manager
//!         .spawn(id, ChannelAddr::any(manager.transport()))
//!         .await
//!         .map_err(|e| e.to_string())?;
//!     let addr = handle.ready().await.map_err(|e| e.to_string())?;
//!     if &addr != expected {
//!         let _ = handle.terminate(Duration::from_secs(5), "wrong address").await;
//!         return Err(format!("worker serves at {addr}, expected {expected}"));
//!     }
//!     Ok(handle)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let worker: ProcId = "worker".parse()?;
//! let mut manager = MockProcManager::<()>::new();
//! manager.expect_transport().return_const(ChannelTransport::Local);
//! manager
//!     .expect_spawn()
//!     .withf(move |id, addr| *id == worker && addr.transport() == ChannelTransport::Local)
//!     .times(1)
//!     .returning(|_, _| {
//!         let mut handle = MockProcHandle::new();
//!         handle.expect_ready().times(1).returning(|| Ok(ChannelAddr::Local(9)));
//!         handle
//!             .expect_terminate()
//!             .withf(|timeout, reason| *timeout == Duration::from_secs(5) && reason == "wrong address")
//!             .times(1)
//!             .returning(|_, _| Ok(ProcStatus::Stopped { exit_code: 0, stderr_tail: vec![] }));
//!         Ok(handle)
//!     });
//!
//! let err = start_worker(&manager, &ChannelAddr::Local(4)).await.unwrap_err();
//! assert_eq!(err, "worker serves at local:9, expected local:4");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use mockall::mock;
use proc_manager_core::{
    ChannelAddr, ChannelTransport, ProcId, ProcStatus, ReadyError, SpawnError, TerminateError,
    TerminateSummary, WaitError,
};
use tokio::sync::watch;

mod scripted_handle;
mod scripted_manager;

pub use scripted_handle::{ScriptController, ScriptedProcHandle, StopRequest};
pub use scripted_manager::{ScriptedProcManager, SpawnController, SpawnRequest, SpawnResponder};

mock! {
    /// A mockall mock of [`ProcHandle`](proc_manager_core::ProcHandle).
    /// Every method, including the provided ones (`pid`, `addr`, `ready`,
    /// `wait`), is an expectation. `clone()` is an expectation too: return
    /// the handle the clone should be (`expect_clone().returning(|| …)`).
    pub ProcHandle {}

    impl Clone for ProcHandle {
        fn clone(&self) -> Self;
    }

    #[async_trait]
    impl proc_manager_core::ProcHandle for ProcHandle {
        fn proc_id(&self) -> &ProcId;
        fn status(&self) -> ProcStatus;
        fn watch(&self) -> watch::Receiver<ProcStatus>;
        fn pid(&self) -> Option<u32>;
        fn addr(&self) -> Option<ChannelAddr>;
        async fn ready(&self) -> Result<ChannelAddr, ReadyError>;
        async fn wait(&self) -> Result<ProcStatus, WaitError>;
        async fn terminate(&self, timeout: Duration, reason: &str) -> Result<ProcStatus, TerminateError>;
        async fn kill(&self) -> Result<ProcStatus, TerminateError>;
    }
}

mock! {
    /// A mockall mock of [`ProcManager`](proc_manager_core::ProcManager)
    /// (with `Handle = MockProcHandle` and `Config = C`) and
    /// [`BulkTerminate`](proc_manager_core::BulkTerminate). Use
    /// `MockProcManager::<()>::new()` when the code under test does not care
    /// about the config type, or your own config type when it does. Every
    /// method, including `spawn` and `status`, is an expectation.
    pub ProcManager<C: Default + Send + Sync + 'static> {}

    #[async_trait]
    impl<C: Default + Send + Sync + 'static> proc_manager_core::ProcManager for ProcManager<C> {
        type Handle = MockProcHandle;
        type Config = C;

        fn transport(&self) -> ChannelTransport;
        async fn spawn(&self, proc_id: ProcId, backend_addr: ChannelAddr) -> Result<MockProcHandle, SpawnError>;
        async fn spawn_with(&self, proc_id: ProcId, backend_addr: ChannelAddr, config: C) -> Result<MockProcHandle, SpawnError>;
        fn status(&self, proc_id: &ProcId) -> Option<ProcStatus>;
        fn handle(&self, proc_id: &ProcId) -> Option<MockProcHandle>;
        fn proc_ids(&self) -> Vec<ProcId>;
    }

    #[async_trait]
    impl<C: Default + Send + Sync + 'static> proc_manager_core::BulkTerminate for ProcManager<C> {
        async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary;
    }
}

impl fmt::Debug for MockProcHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MockProcHandle")
    }
}

impl<C: Default + Send + Sync + 'static> fmt::Debug for MockProcManager<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MockProcManager")
    }
}
