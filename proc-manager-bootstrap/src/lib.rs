//! Supervises procs as OS child processes (work in progress).

pub mod child;
mod command;
pub mod echo;
pub mod protocol;

pub use command::BootstrapCommand;
pub use proc_manager_core::*;
