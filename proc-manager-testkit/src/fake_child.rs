//! The scripted fake child: a real bootstrap child process whose behaviour
//! comes from a [`FakeChildScript`] carried in its payload's `config`.
//!
//! Tests build a script, spawn the `fake-child` binary (found with
//! [`path`] or [`command`]) through a manager or by hand, and check what
//! the manager makes of it.
//!
//! ```no_run
//! use std::time::Duration;
//! use proc_manager_testkit::fake_child::{self, FakeChildScript};
//!
//! let program = fake_child::command();
//! let script = FakeChildScript::serving()
//!     .stderr_lines(3)
//!     .ignore_shutdown();
//! let config = script.to_config(); // the payload's `config`
//! # let _ = (program, config);
//! ```
//!
//! Submodules: `script` (the vocabulary), `runner` (the binary's body),
//! `locate` (finding/building the binary), `harness` (a hand-written
//! manager side for driving a child directly).

mod harness;
mod locate;
mod runner;
mod script;

pub use harness::{ChildHarness, HarnessConn};
pub use locate::{FAKE_CHILD_ENV, command, path};
pub use runner::{record_inherited_fds, run};
pub use script::{FakeChildScript, OnShutdown, Step, Stream};
