//! Supervises procs as OS child processes (work in progress).

pub use proc_manager_core::*;
