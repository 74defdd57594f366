//! `child::run` in this process (no exec, no exit) against the
//! hand-written manager: ready, one shutdown future for many waiters, the
//! errors from user code, and the manager-gone grace period.

mod child_support;

use std::time::{Duration, Instant};

use child_support::*;
use proc_manager_bootstrap::child::{self, ChildError, MANAGER_GONE_GRACE, ShutdownReason};
use proc_manager_bootstrap::protocol::ChildFrame;
use proc_manager_bootstrap::{BoxError, ChannelAddr, ContextError};

#[tokio::test]
async fn stop_resolves_every_shutdown_future_and_main_returns_its_code() {
    let harness = harness();
    let payload = harness.payload(Some(serde_json::json!({"k": 1})));
    let addr = ChannelAddr::unix(harness.socket_dir().join("svc.sock")).unwrap();
    let reported = addr.clone();
    let run = tokio::spawn(child::run(payload, move |ctx| async move {
        assert_eq!(ctx.config(), Some(&serde_json::json!({"k": 1})));
        assert_eq!(ctx.proc_id().to_string(), "child[0]");
        assert!(ctx.shutdown_reason().is_none());
        let early = ctx.shutdown_requested();
        ctx.ready(reported.clone()).await?;
        let again = ctx.ready(reported).await;
        assert!(
            matches!(again, Err(ContextError::AlreadyReady { .. })),
            "{again:?}"
        );
        let late = tokio::spawn(ctx.clone().shutdown_requested());
        let first = early.await;
        assert_eq!(late.await?, first);
        assert_eq!(ctx.shutdown_reason(), Some(first.clone()));
        Ok::<i32, BoxError>(match first {
            ShutdownReason::Stop { reason } if reason == "seven" => 7,
            _ => 1,
        })
    }));
    let (mut control, hello) = accept_hello(&harness).await;
    assert!(
        matches!(&hello, ChildFrame::Hello { addr: got, pid, .. }
            if *got == addr && *pid == std::process::id()),
        "{hello:?}"
    );
    control.stop("seven").await.unwrap();
    let code = tokio::time::timeout(LONG, run).await.unwrap().unwrap();
    assert_eq!(code.unwrap(), 7);
}

#[tokio::test]
async fn an_error_from_main_is_returned() {
    let harness = harness();
    let result = tokio::time::timeout(
        LONG,
        child::run(harness.payload(None), |_ctx| async {
            Err::<i32, _>("no config file")
        }),
    )
    .await
    .unwrap();
    let err = result.unwrap_err();
    assert!(matches!(err, ChildError::Main(_)), "{err:?}");
    assert_eq!(err.to_string(), "no config file");
}

#[tokio::test]
async fn a_main_that_ignores_the_manager_going_is_cut_off_after_the_grace() {
    let harness = harness();
    let addr = ChannelAddr::unix(harness.socket_dir().join("svc.sock")).unwrap();
    let run = tokio::spawn(child::run(harness.payload(None), move |ctx| async move {
        ctx.ready(addr).await?;
        std::future::pending::<()>().await;
        Ok::<i32, BoxError>(0)
    }));
    let (control, _hello) = accept_hello(&harness).await;
    let dropped = Instant::now();
    drop(control);
    let result = tokio::time::timeout(LONG, run).await.unwrap().unwrap();
    assert!(
        matches!(result, Err(ChildError::ManagerGone { grace }) if grace == MANAGER_GONE_GRACE),
        "{result:?}"
    );
    assert!(dropped.elapsed() >= MANAGER_GONE_GRACE - Duration::from_millis(50));
}

#[tokio::test]
async fn an_error_after_ready_is_reported_on_the_control_connection() {
    let harness = harness();
    let addr = ChannelAddr::unix(harness.socket_dir().join("svc.sock")).unwrap();
    let run = tokio::spawn(child::run(harness.payload(None), move |ctx| async move {
        ctx.ready(addr).await?;
        Err::<i32, BoxError>("disk full".into())
    }));
    let (mut control, _hello) = accept_hello(&harness).await;
    let report = read(&mut control).await;
    assert_eq!(
        report,
        Some(ChildFrame::Failure {
            token: harness.token().to_owned(),
            reason: "disk full".into()
        })
    );
    // This manager never notes it: the child gives up after
    // FAILURE_REPORT_TIMEOUT and ends with the error all the same.
    let result = tokio::time::timeout(LONG, run).await.unwrap().unwrap();
    assert!(
        matches!(&result, Err(ChildError::Main(e)) if e.to_string() == "disk full"),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_panic_before_ready_is_reported_on_a_fresh_connection() {
    let harness = harness();
    let run = tokio::spawn(child::run(harness.payload(None), |_ctx| async {
        if true {
            panic!("bad shard {}", 3);
        }
        Ok::<i32, BoxError>(0)
    }));
    let (_conn, first) = accept_hello(&harness).await;
    assert_eq!(
        first,
        ChildFrame::Failure {
            token: harness.token().to_owned(),
            reason: "panicked: bad shard 3".into()
        }
    );
    let result = tokio::time::timeout(LONG, run).await.unwrap().unwrap();
    assert!(
        matches!(&result, Err(ChildError::Panicked { message }) if message == "bad shard 3"),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_error_once_the_manager_is_gone_is_returned_without_a_report() {
    let harness = harness();
    let addr = ChannelAddr::unix(harness.socket_dir().join("svc.sock")).unwrap();
    let run = tokio::spawn(child::run(harness.payload(None), move |ctx| async move {
        ctx.ready(addr).await?;
        let reason = ctx.shutdown_requested().await;
        Err::<i32, BoxError>(format!("stopping: {reason}").into())
    }));
    let (control, _hello) = accept_hello(&harness).await;
    drop(control);
    let result = tokio::time::timeout(LONG, run).await.unwrap().unwrap();
    assert!(
        matches!(&result, Err(ChildError::Main(e))
            if e.to_string() == "stopping: the manager's control connection closed"),
        "{result:?}"
    );
}
