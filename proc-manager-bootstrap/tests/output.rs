//! Output forwarding: lines split on bytes with `\r\n` normalised and the
//! final partial line kept, fed to every sink and to tails bounded in lines
//! and bytes; a child closing stdout early or facing a slow sink is still
//! supervised; log-channel records reach the same sinks, tagged.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use proc_manager_bootstrap::protocol::{ChildFrame, write_frame};
use proc_manager_bootstrap::{
    BootstrapProcManager, LogLine, LogStream, ProcHandle, ProcManager, ProcStatus, StdioMode,
};
use support::*;

#[tokio::test]
async fn lines_are_split_with_crlf_normalised_and_final_partial_line_kept() {
    let collect = Collect::default();
    let manager =
        BootstrapProcManager::builder(sh(r"printf 'a\r\nb\n\n\377x\nlast'; printf 'e1\ne2' >&2"))
            .sink(collect.sink())
            .sink(collect.sink())
            .build();
    let handle = manager.spawn(id("lines"), backend()).await.unwrap();
    let status = wait_end(&handle).await;
    assert_eq!(
        status.stderr_tail(),
        Some(&["e1".to_string(), "e2".to_string()][..])
    );
    let lines = collect.lines();
    let stdout: Vec<&[u8]> = lines
        .iter()
        .filter(|l| l.stream == LogStream::Stdout)
        .map(|l| &l.bytes[..])
        .collect();
    // Each line twice: two sinks.
    let expected: [&[u8]; 5] = [b"a", b"b", b"", b"\xffx", b"last"];
    assert_eq!(stdout.len(), 10);
    for want in expected {
        assert_eq!(stdout.iter().filter(|l| **l == want).count(), 2, "{want:?}");
    }
    assert!(lines.iter().all(|l| l.proc_id == id("lines")));
    assert_eq!(
        handle.stdout_tail(),
        vec!["a", "b", "", "\u{fffd}x", "last"]
    );
}

#[tokio::test]
async fn tails_are_bounded_in_lines_and_bytes() {
    let manager = BootstrapProcManager::builder(sh(
        "i=0; while [ $i -lt 500 ]; do echo \"line $i\" >&2; i=$((i+1)); done; \
         head -c 5000 /dev/zero | tr '\\0' y; echo",
    ))
    .tail(10, 1000)
    .build();
    let handle = manager.spawn(id("tail"), backend()).await.unwrap();
    let status = wait_end(&handle).await;
    let tail = status.stderr_tail().unwrap();
    assert_eq!(tail.len(), 10);
    assert_eq!(tail.last().map(String::as_str), Some("line 499"));
    assert_eq!(tail.first().map(String::as_str), Some("line 490"));
    let out = handle.stdout_tail();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 1000, "a long line is cut to the byte bound");
}

#[tokio::test]
async fn child_closing_stdout_early_is_still_supervised() {
    let manager = manager("echo before; exec 1>&-; echo after-close >&2; exit 4");
    let handle = manager.spawn(id("closer"), backend()).await.unwrap();
    assert_eq!(
        wait_end(&handle).await,
        ProcStatus::Stopped {
            exit_code: 4,
            stderr_tail: vec!["after-close".into()]
        }
    );
    assert_eq!(handle.stdout_tail(), vec!["before"]);
}

#[tokio::test]
async fn slow_sink_neither_deadlocks_nor_loses_lines() {
    let collect = Collect::default();
    let slow = {
        let inner = collect.sink();
        Arc::new(move |line: &LogLine| {
            std::thread::sleep(Duration::from_micros(200));
            inner.log(line);
        })
    };
    let manager = BootstrapProcManager::builder(sh("seq 1 3000; exit 0"))
        .sink(slow)
        .build();
    let handle = manager.spawn(id("slow-sink"), backend()).await.unwrap();
    let status = wait_end(&handle).await;
    assert!(matches!(status, ProcStatus::Stopped { exit_code: 0, .. }));
    let lines = collect.lines();
    assert_eq!(lines.len(), 3000);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| l.text() == (i + 1).to_string())
    );
}

#[tokio::test]
async fn inherited_stdio_keeps_no_tail() {
    let manager = BootstrapProcManager::builder(sh("echo to-inherited-stderr >&2; exit 6"))
        .stdio(StdioMode::Inherit)
        .build();
    let handle = manager.spawn(id("inherit"), backend()).await.unwrap();
    assert_eq!(
        wait_end(&handle).await,
        ProcStatus::Stopped {
            exit_code: 6,
            stderr_tail: vec![]
        }
    );
}

#[tokio::test]
async fn log_channel_records_reach_the_sinks_tagged_and_wrong_token_is_dropped() {
    let (manager, sink) = watched("exec sleep 1000");
    let mut rx = sink.subscribe();
    let handle = manager.spawn(id("logger"), backend()).await.unwrap();
    let env = child_env(handle.pid().unwrap());

    let mut bad = tokio::net::UnixStream::connect(&env.log_channel)
        .await
        .unwrap();
    let frame = ChildFrame::LogHello {
        token: "nope".into(),
        pid: 1,
    };
    write_frame(&mut bad, &frame).await.unwrap();
    let record = ChildFrame::Log {
        level: "info".into(),
        message: "from-bad".into(),
    };
    let _ = write_frame(&mut bad, &record).await;

    let mut good = tokio::net::UnixStream::connect(&env.log_channel)
        .await
        .unwrap();
    let frame = ChildFrame::LogHello {
        token: env.token.clone(),
        pid: 1,
    };
    write_frame(&mut good, &frame).await.unwrap();
    for message in ["one", "two"] {
        let record = ChildFrame::Log {
            level: "warn".into(),
            message: message.into(),
        };
        write_frame(&mut good, &record).await.unwrap();
    }
    let mut got = Vec::new();
    within(SHOULD, "log records", async {
        while got.len() < 2 {
            let line = rx.recv().await.unwrap();
            assert_eq!(line.stream, LogStream::Channel);
            got.push(line.text().into_owned());
        }
    })
    .await;
    assert_eq!(got, vec!["warn: one", "warn: two"]);
    handle.kill().await.unwrap();
    // Nothing from the bad connection arrived before the proc ended.
    while let Ok(line) = rx.try_recv() {
        assert_ne!(line.text(), "info: from-bad");
    }
}
