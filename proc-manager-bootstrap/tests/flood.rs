//! A child writing 1 GiB without a newline is still supervised with
//! bounded memory: every byte reaches the sink in pieces of at most
//! `MAX_LINE_BYTES`, the tail stays within its bounds, and the manager's
//! resident memory does not grow with the output. (Own test binary, so the
//! RSS reading is not disturbed by other tests.)

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapProcManager, LogLine, LogStream, MAX_LINE_BYTES, ProcHandle, ProcManager, ProcStatus,
};
use support::*;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_without_newlines_is_forwarded_with_bounded_memory() {
    const GIB: u64 = 1 << 30;
    let bytes = Arc::new(AtomicU64::new(0));
    let longest = Arc::new(AtomicUsize::new(0));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sink = {
        let (bytes, longest, peak_rss) = (bytes.clone(), longest.clone(), peak_rss.clone());
        let pieces = AtomicU64::new(0);
        Arc::new(move |line: &LogLine| {
            if line.stream != LogStream::Stdout {
                return;
            }
            bytes.fetch_add(line.bytes.len() as u64, Ordering::Relaxed);
            longest.fetch_max(line.bytes.len(), Ordering::Relaxed);
            if pieces.fetch_add(1, Ordering::Relaxed) % 512 == 0 {
                peak_rss.fetch_max(rss_kib(), Ordering::Relaxed);
            }
        })
    };
    let manager = BootstrapProcManager::builder(sh("head -c 1073741824 /dev/zero; echo done >&2"))
        .tail(50, 4096)
        .sink(sink)
        .build();
    let before = rss_kib();
    let handle = manager.spawn(id("flood"), backend()).await.unwrap();
    let status = within(Duration::from_secs(120), "flood", handle.wait())
        .await
        .unwrap();
    assert_eq!(
        status,
        ProcStatus::Stopped {
            exit_code: 0,
            stderr_tail: vec!["done".into()]
        }
    );
    assert_eq!(bytes.load(Ordering::Relaxed), GIB, "every byte forwarded");
    assert!(longest.load(Ordering::Relaxed) <= MAX_LINE_BYTES);
    let tail = handle.stdout_tail();
    assert!(tail.len() <= 50);
    assert!(tail.iter().map(String::len).sum::<usize>() <= 4096);
    let growth_kib = peak_rss
        .load(Ordering::Relaxed)
        .max(rss_kib())
        .saturating_sub(before);
    eprintln!("RSS growth while forwarding 1 GiB: {growth_kib} KiB");
    assert!(growth_kib < 64 * 1024, "RSS grew by {growth_kib} KiB");
}
