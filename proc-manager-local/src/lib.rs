//! Supervises procs as tokio tasks (work in progress).

pub use proc_manager_core::*;
