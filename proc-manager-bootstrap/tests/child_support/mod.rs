//! Test shorthands over `proc-manager-fake-child`'s [`ChildHarness`] (a hand-written
//! manager side) for the child-side tests: unwrapping, generous timeouts.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::time::Duration;

use proc_manager_bootstrap::protocol::{Bootstrap, ChildFrame};
pub use proc_manager_fake_child::{ChildHarness, HarnessConn};
use tokio::process::Child;

/// Generous bound for things that should happen.
pub const LONG: Duration = Duration::from_secs(20);

pub fn harness() -> ChildHarness {
    ChildHarness::new().unwrap()
}

pub fn spawn(harness: &ChildHarness, program: &str, payload: &Bootstrap) -> Child {
    harness.command(program, payload).unwrap().spawn().unwrap()
}

pub fn spawn_raw(harness: &ChildHarness, program: &str, encoded: Option<&str>) -> Child {
    harness.command_raw(program, encoded).spawn().unwrap()
}

pub async fn accept_hello(harness: &ChildHarness) -> (HarnessConn, ChildFrame) {
    harness.accept(LONG).await.unwrap()
}

pub async fn read(conn: &mut HarnessConn) -> Option<ChildFrame> {
    conn.read(LONG).await.unwrap()
}

/// Waits (bounded) for the child to exit and returns its exit code.
pub async fn exit_code(child: &mut Child) -> Option<i32> {
    tokio::time::timeout(LONG, child.wait())
        .await
        .expect("child did not exit in time")
        .unwrap()
        .code()
}

/// Waits (bounded) for the child's whole output.
pub async fn output(child: Child) -> std::process::Output {
    tokio::time::timeout(LONG, child.wait_with_output())
        .await
        .expect("child did not exit in time")
        .unwrap()
}
