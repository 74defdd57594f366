//! `log_throughput`: one child floods stdout with 100-byte lines; ours
//! forwards them line by line (tail on, a counting sink), the baseline reads
//! the same pipe raw.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcManager, ProcHandle as _, StdioMode, TailBuffer,
};
use tokio::io::AsyncReadExt as _;

use crate::baseline::drain;
use crate::harness::{Better, Result, Rounds, Row, Spec, Target, alternate, bounded};
use crate::mode::{LINE_LEN, Mode};
use crate::scenarios::{Ctx, ours};

/// Baseline: the same child, its stdout read raw through a 64 KiB buffer
/// (bytes counted, nothing else) on a tokio worker like our forwarder, stderr
/// drained, then `wait`. Returns GB/s.
async fn raw_read(ctx: &Ctx, bytes: u64) -> Result<f64> {
    let started = Instant::now();
    let mut child = ctx.hand.spawn_raw(Mode::Flood { bytes })?;
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let err = child.stderr.take().ok_or("no stderr")?;
    let task = tokio::spawn(async move {
        let read = async {
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = out.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<u64, std::io::Error>(total);
                }
                total += n as u64;
            }
        };
        let (total, ()) = tokio::join!(read, drain(err));
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((total?, status))
    });
    let (total, status) = task.await??;
    let elapsed = started.elapsed();
    let expected = bytes / LINE_LEN as u64 * LINE_LEN as u64;
    if total != expected || !status.success() {
        return Err(format!("raw read got {total} of {expected} bytes, child {status}").into());
    }
    Ok(total as f64 / elapsed.as_secs_f64() / 1e9)
}

/// Ours: the child's output captured by the manager with the default tail
/// and a counting sink (taking batches, or line by line); timed from spawn
/// to the exit status. Returns GB/s.
async fn forwarded(ctx: &Ctx, bytes: u64, batches: bool) -> Result<f64> {
    let sink = Arc::new(ours::CountingSink {
        batches,
        ..Default::default()
    });
    let manager = BootstrapProcManager::builder(BootstrapCommand::new(&ctx.exe))
        .stdio(StdioMode::Captured)
        .tail(TailBuffer::DEFAULT_MAX_LINES, TailBuffer::DEFAULT_MAX_BYTES)
        .sink(sink.clone())
        .build();
    let started = Instant::now();
    let handle = ours::spawn(&manager, ours::id("flood", 0)?, Mode::Flood { bytes }).await?;
    let status = handle.wait().await?;
    let elapsed = started.elapsed();
    ours::expect_clean_exit(&status)?;
    let lines = sink.lines.load(Ordering::Relaxed);
    let content = sink.bytes.load(Ordering::Relaxed);
    let expected = bytes / LINE_LEN as u64;
    if lines != expected || content != expected * (LINE_LEN as u64 - 1) {
        return Err(
            format!("sink saw {lines} lines ({content} bytes), expected {expected}").into(),
        );
    }
    Ok((lines * LINE_LEN as u64) as f64 / elapsed.as_secs_f64() / 1e9)
}

pub(crate) async fn log_throughput(ctx: &Ctx) -> Result<Row> {
    let mib: u64 = ctx.pick(64, 512);
    let bytes = mib << 20;
    let rounds = Rounds {
        warmup: 1,
        measured: ctx.pick(3, 7),
    };
    let spec = Spec {
        name: "log_throughput",
        unit: "GB/s",
        n: bytes as usize,
        better: Better::Higher,
        targets: vec![Target::RatioAtLeast(0.90), Target::LinesPerSecAtLeast(15e6)],
        note: format!(
            "one child (mode flood) writes {mib} MiB of {LINE_LEN}-byte lines to stdout in 64 KiB \
             writes; ours = captured stdio with the default tail (100 lines / 16 KiB) and a sink \
             counting lines and bytes that takes each read's lines at once (LogSink::log_batch), \
             timed from spawn to the exit status with every line counted; \
             baseline = the same child, its stdout pipe read raw through a 64 KiB buffer \
             (bytes counted only) in a tokio task, timed from spawn to wait. N is in bytes. \
             per_line_sink_*: the same with a sink taking lines one by one (LogSink::log), in \
             rounds of its own against the same baseline."
        ),
    };
    let limit = Duration::from_secs(120);
    let mut row = alternate(
        spec,
        rounds,
        async || bounded(limit, "ours", forwarded(ctx, bytes, true)).await,
        async || bounded(limit, "baseline", raw_read(ctx, bytes)).await,
    )
    .await?;
    // For context: the same with a sink that takes lines one by one (a
    // `LogLine`, so a reference count, per line), in rounds of its own.
    let per_line = alternate(
        Spec {
            name: "log_throughput_per_line",
            unit: "GB/s",
            n: bytes as usize,
            better: Better::Higher,
            targets: Vec::new(),
            note: String::new(),
        },
        Rounds {
            warmup: 0,
            measured: ctx.pick(2, 3),
        },
        async || bounded(limit, "ours", forwarded(ctx, bytes, false)).await,
        async || bounded(limit, "baseline", raw_read(ctx, bytes)).await,
    )
    .await?;
    row.extra.insert("per_line_sink_ratio", per_line.ratio());
    row.extra.insert(
        "per_line_sink_m_lines_per_s",
        per_line.ours * 1e3 / LINE_LEN as f64,
    );
    row.ours_lines_per_s = Some(row.ours * 1e9 / LINE_LEN as f64);
    row.baseline_lines_per_s = Some(row.baseline * 1e9 / LINE_LEN as f64);
    row.judge();
    Ok(row)
}
