//! The `proc-bootstrap` child against a hand-written manager: hello, echo,
//! the three ways to be asked to stop, and the log channel.

mod child_support;

use child_support::*;
use proc_manager_bootstrap::protocol::ChildFrame;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PROGRAM: &str = env!("CARGO_BIN_EXE_proc-bootstrap");

#[tokio::test]
async fn hello_carries_token_pid_and_an_address_that_echoes() {
    let harness = harness();
    let mut child = spawn(&harness, PROGRAM, &harness.payload(None));
    let (mut control, hello) = accept_hello(&harness).await;
    let ChildFrame::Hello { token, pid, addr } = hello else {
        panic!("expected a hello, got {hello:?}");
    };
    assert_eq!(token, harness.token());
    assert_eq!(Some(pid), child.id());
    let path = addr.as_unix_path().expect("a unix address").to_owned();
    assert!(path.starts_with(harness.socket_dir()), "{path:?}");

    for round in 0..3 {
        let stream = tokio::net::UnixStream::connect(&path).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        for i in 0..5 {
            let line = format!("round {round} line {i}");
            write
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
            let back = tokio::time::timeout(LONG, lines.next_line())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(back.as_deref(), Some(line.as_str()));
        }
    }

    control.stop("test over").await.unwrap();
    assert_eq!(exit_code(&mut child).await, Some(0));
    assert!(!path.exists(), "the echo socket is removed at exit");
}

#[tokio::test]
async fn sigterm_is_a_shutdown_request_and_exits_zero() {
    let harness = harness();
    let mut child = spawn(&harness, PROGRAM, &harness.payload(None));
    let (_control, _hello) = accept_hello(&harness).await;
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(exit_code(&mut child).await, Some(0));
}

#[tokio::test]
async fn end_of_the_control_connection_means_the_manager_is_gone() {
    let harness = harness();
    let mut child = spawn(&harness, PROGRAM, &harness.payload(None));
    let (control, _hello) = accept_hello(&harness).await;
    drop(control);
    assert_eq!(exit_code(&mut child).await, Some(0));
}

#[tokio::test]
async fn log_records_arrive_on_the_log_channel() {
    let harness = harness();
    let payload = harness.payload(Some(serde_json::json!({"log": true})));
    let mut child = spawn(&harness, PROGRAM, &payload);
    let (mut control, hello) = accept_hello(&harness).await;
    let ChildFrame::Hello { addr, .. } = hello else {
        panic!("expected a hello, got {hello:?}");
    };
    let mut log = harness.accept_log(LONG).await.unwrap();
    assert_eq!(
        read(&mut log).await,
        Some(ChildFrame::LogHello {
            token: harness.token().to_owned(),
            pid: child.id().unwrap(),
        })
    );
    let Some(ChildFrame::Log { level, message }) = read(&mut log).await else {
        panic!("expected a log record");
    };
    assert_eq!(level, "info");
    assert_eq!(message, format!("echo serving at {addr}"));

    control.stop("because").await.unwrap();
    let Some(ChildFrame::Log { message, .. }) = read(&mut log).await else {
        panic!("expected the stopping record");
    };
    assert!(
        message.contains("stop requested by the manager: because"),
        "{message}"
    );
    assert_eq!(exit_code(&mut child).await, Some(0));
    assert_eq!(read(&mut log).await, None, "the log channel closes at exit");
}
