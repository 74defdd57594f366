//! Test support for proc-manager backends (work in progress).

pub mod conformance;
pub mod fake_child;
pub mod mock;
pub mod strategy;
