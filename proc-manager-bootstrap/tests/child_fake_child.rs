//! `proc-manager-fake-child`'s `fake-child`, located from this package (where cargo
//! does not build it for us: `fake_child::path()` finds or builds it), is
//! a child of this crate's protocol.

mod child_support;

use child_support::*;
use proc_manager_bootstrap::protocol::ChildFrame;
use proc_manager_fake_child::{self as fake_child, FakeChildScript};

#[tokio::test]
async fn fake_child_found_from_another_package_calls_back_and_stops() {
    let program = fake_child::path().expect("fake-child found or built");
    assert!(program.is_file(), "{program:?}");
    let harness = harness();
    let script = FakeChildScript::serving().stderr_lines(1);
    let payload = harness.payload(Some(script.to_config()));
    let mut child = spawn(&harness, program.to_str().unwrap(), &payload);
    let (mut control, hello) = accept_hello(&harness).await;
    assert!(
        matches!(&hello, ChildFrame::Hello { token, pid, .. }
            if token == harness.token() && Some(*pid) == child.id()),
        "{hello:?}"
    );
    control.stop("done").await.unwrap();
    assert_eq!(exit_code(&mut child).await, Some(0));
    assert_eq!(fake_child::command().program, program);
}
