#![doc = include_str!("../README.md")]

mod builder;
mod bulk;
mod callback;
mod cgroup;
pub mod child;
mod clone3;
mod clone_command;
mod clone_spawn;
mod command;
mod config;
mod confine;
mod connect;
mod containment;
mod control;
pub mod echo;
mod exit_monitor;
mod exit_watch;
mod failure;
mod fine_timer;
mod group;
mod guardian;
mod handle;
mod janitor;
mod launcher;
mod log_channel;
mod log_match;
mod manager;
mod nofile;
mod notify;
mod os;
mod outputs;
mod pidfd;
mod proc_notes;
mod proc_state;
pub mod protocol;
mod readiness;
mod ready_driver;
mod registry;
mod runtime_dir;
mod signal;
mod spawn_command;
mod spawner;
mod stamp;
mod stdio;
mod stdio_slots;
mod stop;
mod subreaper;
mod sweep;
mod table;

pub use builder::BootstrapProcManagerBuilder;
pub use command::BootstrapCommand;
pub use config::{BootstrapProcConfig, StdinMode, StdioMode};
pub use containment::Containment;
pub use handle::BootstrapProcHandle;
pub use manager::BootstrapProcManager;
pub use proc_manager_core::*;
pub use readiness::Readiness;
pub use signal::Signal;
pub use stdio::MAX_LINE_BYTES;
/// The write end of a piped child's stdin
/// ([`BootstrapProcHandle::take_stdin`]): `AsyncWrite + Unpin + Send`.
pub use tokio::process::ChildStdin;

/// Compile-time check: the public manager and handle types are `Send + Sync`.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BootstrapProcManager>();
    assert_send_sync::<BootstrapProcHandle>();
    assert_send_sync::<BootstrapProcManagerBuilder>();
};
