#![doc = include_str!("../README.md")]

mod builder;
mod bulk;
mod config;
mod context;
mod handle;
mod manager;
mod output;
mod shared;
mod table;
mod task;
mod writer;

pub use builder::LocalProcManagerBuilder;
pub use config::LocalProcConfig;
pub use context::LocalContext;
pub use handle::LocalProcHandle;
pub use manager::LocalProcManager;
pub use writer::LogWriter;

pub use proc_manager_core::*;

// Compile-time check that the public types can cross threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<LocalProcManager>();
    send_sync::<LocalProcHandle>();
    send_sync::<LogWriter>();
    send_sync::<LocalProcConfig>();
    send_sync::<LocalContext>();
    send::<LocalProcManagerBuilder>();
};
