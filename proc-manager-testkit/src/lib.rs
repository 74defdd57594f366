#![doc = include_str!("../README.md")]

pub mod conformance;
pub mod fake_child;
pub mod local_target;
pub mod mock;
pub mod strategy;
