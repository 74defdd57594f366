//! Example code for proc-manager: a third-party backend written only against
//! the core traits, and helpers the runnable programs (under `src/bin/`)
//! share.

pub mod sh_backend;
pub mod show;
