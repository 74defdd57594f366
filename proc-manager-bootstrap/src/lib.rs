//! Supervises procs as OS child processes (work in progress).

mod command;
pub mod protocol;

pub use command::BootstrapCommand;
pub use proc_manager_core::*;
