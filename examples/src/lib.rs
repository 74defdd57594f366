//! Example code for proc-manager: a third-party backend written only against
//! the core traits. The runnable programs are under `src/bin/`.

pub mod sh_backend;
