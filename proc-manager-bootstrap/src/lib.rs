#![doc = include_str!("../README.md")]

mod builder;
mod bulk;
mod callback;
pub mod child;
mod command;
mod config;
mod control;
pub mod echo;
mod exit_monitor;
mod exit_watch;
mod group;
mod handle;
mod launcher;
mod log_channel;
mod manager;
mod nofile;
mod os;
mod pidfd;
mod proc_state;
pub mod protocol;
mod registry;
mod runtime_dir;
mod spawner;
mod stdio;
mod stop;
mod table;

pub use builder::BootstrapProcManagerBuilder;
pub use command::BootstrapCommand;
pub use config::{BootstrapProcConfig, StdioMode};
pub use handle::BootstrapProcHandle;
pub use manager::BootstrapProcManager;
pub use proc_manager_core::*;
pub use stdio::MAX_LINE_BYTES;

/// Compile-time check: the public manager and handle types are `Send + Sync`.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BootstrapProcManager>();
    assert_send_sync::<BootstrapProcHandle>();
    assert_send_sync::<BootstrapProcManagerBuilder>();
};
