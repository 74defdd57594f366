#![doc = include_str!("../README.md")]

mod harness;
mod locate;
mod runner;
mod script;

pub use harness::{ChildHarness, HarnessConn};
pub use locate::{FAKE_CHILD_ENV, command, path};
pub use runner::{record_inherited_fds, run};
pub use script::{FakeChildScript, OnShutdown, Step, Stream};
