//! An example third-party backend, written only against the
//! `proc-manager-core` traits: each proc is `sh -c <script>` started with
//! `tokio::process`, with no bootstrap protocol.
//!
//! How a proc tells the manager it is ready: the script prints a line
//! `READY <addr>` on stdout, where `<addr>` is a [`ChannelAddr`] of the
//! manager's transport; the manager suggests one in `$PROC_SERVE_ADDR`
//! (with [`ReadyWhen::Spawned`] the proc is ready at that address as soon as
//! it is spawned). The script also sees `$PROC_ID` and `$PROC_BACKEND_ADDR`.
//!
//! Stopping: `terminate` sends SIGTERM to the proc's process group at once
//! and SIGKILL when the timeout runs out; `kill` sends SIGKILL. The group is
//! signalled only while its leader is unreaped, so a recycled pid is never
//! signalled; what is left of the group is killed when the leader exits.
//! Dropping the manager SIGKILLs every live group.
//!
//! It passes the whole conformance suite (`examples/tests/conformance.rs`):
//!
//! ```
//! use std::time::Duration;
//! use proc_manager_core::{ChannelAddr, ProcHandle, ProcHandleExt, ProcId, ProcManager};
//! use proc_manager_examples::sh_backend::{ShConfig, ShProcManager};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let manager = ShProcManager::new();
//! let config = ShConfig::script(r#"trap 'exit 0' TERM; echo "READY $PROC_SERVE_ADDR"; while :; do sleep 1 & wait $!; done"#);
//! let backend = ChannelAddr::any(manager.transport());
//! let handle = manager.spawn_with(ProcId::new("worker")?, backend, config).await?;
//! println!("ready at {}", handle.ready_within(Duration::from_secs(10)).await?);
//! let status = handle.terminate(Duration::from_secs(2), "done").await?;
//! assert_eq!(status.to_string(), "stopped (exit code 0)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! [`ChannelAddr`]: proc_manager_core::ChannelAddr

mod config;
mod handle;
mod lines;
mod manager;
mod process;

pub use config::{ReadyWhen, ShConfig};
pub use handle::ShProcHandle;
pub use manager::ShProcManager;
