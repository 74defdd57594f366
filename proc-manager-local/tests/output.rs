//! A local proc's output: lines written with its log writer reach the
//! manager's sinks and the bounded tails, the stderr tail ends up in the
//! terminal status, and sinks are finished before the status is visible.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{bounded, id, start};
use proc_manager_local::{
    ChannelAddr, ChannelSink, FileSink, LocalContext, LocalProcManager, LogLine, LogSink,
    LogStream, ProcHandle, ProcLog, ProcManager, ProcStatus,
};
use tokio::sync::oneshot;

/// A sink that records every line and every `finish`.
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<(String, LogStream, String)>>,
    finished: Mutex<Vec<String>>,
}

impl LogSink for Recorder {
    fn log(&self, line: &LogLine) {
        self.lines.lock().unwrap().push((
            line.proc_id.to_string(),
            line.stream,
            line.text().into_owned(),
        ));
    }

    fn finish(&self, proc_id: &proc_manager_local::ProcId) {
        self.finished.lock().unwrap().push(proc_id.to_string());
    }
}

fn texts(lines: &[(String, LogStream, String)], stream: LogStream) -> Vec<String> {
    lines
        .iter()
        .filter(|(_, s, _)| *s == stream)
        .map(|(_, _, t)| t.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_reach_sinks_and_tails() {
    let recorder = Arc::new(Recorder::default());
    let channel = ChannelSink::new(64);
    let mut rx = channel.subscribe();
    let manager = LocalProcManager::builder(|ctx: LocalContext| async move {
        let log = ctx.log();
        log.stdout("one");
        log.stdout("two\nthree\n");
        log.stderr("warn 1");
        log.stderr(b"warn 2\r\n");
        log.stderr(String::from("warn 3"));
        Ok::<i32, String>(2)
    })
    .tail(2, 1024)
    .sink(recorder.clone())
    .sink(Arc::new(channel.clone()))
    .build();

    let handle = start(&manager, "talker").await;
    let status = bounded(handle.wait()).await.unwrap();
    // The stderr tail (bounded to two lines) is in the terminal status.
    assert_eq!(
        status,
        ProcStatus::Stopped {
            exit_code: 2,
            stderr_tail: vec!["warn 2".into(), "warn 3".into()]
        }
    );
    assert_eq!(handle.stdout_tail(), vec!["two", "three"]);
    assert_eq!(handle.stderr_tail(), vec!["warn 2", "warn 3"]);

    let lines = recorder.lines.lock().unwrap().clone();
    assert!(lines.iter().all(|(p, _, _)| p == "talker"));
    assert_eq!(
        texts(&lines, LogStream::Stdout),
        vec!["one", "two", "three"]
    );
    assert_eq!(
        texts(&lines, LogStream::Stderr),
        vec!["warn 1", "warn 2", "warn 3"]
    );
    // finish was called once, before the status was published.
    assert_eq!(*recorder.finished.lock().unwrap(), vec!["talker"]);

    let first = bounded(rx.recv()).await.unwrap();
    assert_eq!(
        (
            first.proc_id.clone(),
            first.stream,
            first.text().into_owned()
        ),
        (id("talker"), LogStream::Stdout, "one".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_panicked_procs_keep_their_stderr_tail() {
    let manager = LocalProcManager::new(|ctx: LocalContext| async move {
        ctx.log().stderr("about to go");
        if ctx.config().is_some() {
            panic!("gone");
        }
        ctx.ready(ChannelAddr::Local(1))
            .await
            .map_err(|e| e.to_string())?;
        std::future::pending::<()>().await;
        Ok::<i32, String>(0)
    });
    let hung = start(&manager, "hung").await;
    bounded(hung.ready()).await.unwrap();
    assert_eq!(
        bounded(hung.terminate(Duration::from_millis(50), "stop"))
            .await
            .unwrap(),
        ProcStatus::Killed {
            signal: 9,
            core_dumped: false,
            stderr_tail: vec!["about to go".into()]
        }
    );

    let config = proc_manager_local::LocalProcConfig::with_config(serde_json::json!(true));
    let panics = manager
        .spawn_with(id("panics"), ChannelAddr::Local(1), config)
        .await
        .unwrap();
    assert_eq!(
        bounded(panics.wait()).await.unwrap(),
        ProcStatus::Failed {
            reason: "panicked: gone".into(),
            stderr_tail: vec!["about to go".into()]
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_after_the_end_are_dropped() {
    let recorder = Arc::new(Recorder::default());
    let (tx, rx) = oneshot::channel::<ProcLog>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let manager = LocalProcManager::builder(move |ctx: LocalContext| {
        let tx = tx.lock().unwrap().take();
        async move {
            let log = ctx.log();
            log.stdout("inside");
            tx.ok_or("spawned twice")?
                .send(log)
                .map_err(|_| "test gone")?;
            Ok::<i32, &str>(0)
        }
    })
    .sink(recorder.clone())
    .build();
    let handle = start(&manager, "brief").await;
    let writer = bounded(rx).await.unwrap();
    bounded(handle.wait()).await.unwrap();

    writer.stdout("outside");
    writer.stderr("outside");
    assert_eq!(handle.stdout_tail(), vec!["inside"]);
    assert!(handle.stderr_tail().is_empty());
    let lines = recorder.lines.lock().unwrap().clone();
    assert_eq!(texts(&lines, LogStream::Stdout), vec!["inside"]);
    assert!(texts(&lines, LogStream::Stderr).is_empty());
    assert!(format!("{writer:?}").contains("brief"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sink_is_flushed_when_the_status_is_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("procs.log");
    let manager = LocalProcManager::builder(|ctx: LocalContext| async move {
        ctx.log().stdout("to the file");
        ctx.log().stderr("and this");
        Ok::<i32, String>(0)
    })
    .sink(Arc::new(FileSink::open(&path).unwrap()))
    .build();
    let handle = start(&manager, "filed").await;
    bounded(handle.wait()).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "[filed] [stdout] to the file\n[filed] [stderr] and this\n"
    );
}

/// A sink that panics on every call.
struct Panicky;

impl LogSink for Panicky {
    fn log(&self, _line: &LogLine) {
        panic!("sink log");
    }

    fn finish(&self, _proc_id: &proc_manager_local::ProcId) {
        panic!("sink finish");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_sink_cannot_keep_a_proc_from_ending() {
    let manager = LocalProcManager::builder(|ctx: LocalContext| async move {
        if ctx.config().is_some() {
            ctx.log().stdout("boom");
        }
        Ok::<i32, String>(0)
    })
    .sink(Arc::new(Panicky))
    .build();
    // Ends normally: only `finish` panics, and that is contained.
    let quiet = start(&manager, "quiet").await;
    assert_eq!(
        bounded(quiet.wait()).await.unwrap(),
        ProcStatus::Stopped {
            exit_code: 0,
            stderr_tail: vec![]
        }
    );
    // Writing a line panics inside the proc's own call: the proc fails.
    let config = proc_manager_local::LocalProcConfig::with_config(serde_json::json!(true));
    let loud = manager
        .spawn_with(id("loud"), ChannelAddr::Local(1), config)
        .await
        .unwrap();
    assert_eq!(
        bounded(loud.wait()).await.unwrap(),
        ProcStatus::Failed {
            reason: "panicked: sink log".into(),
            stderr_tail: vec![]
        }
    );
}
