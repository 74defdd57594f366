//! Ready-made [`LogSink`]s every backend can offer: a prefixed tee to this
//! process's stdout/stderr, `tracing` events, a broadcast channel that users
//! subscribe to, and a file.
//!
//! The trait itself is in [`crate::log_sink`]. The tee and the file take
//! a read's lines at once ([`LogSink::log_batch`]): one lock per read, not
//! per line.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;

use crate::id::ProcId;
use crate::log::{LogLine, LogStream};
use crate::log_batch::LogBatch;
use crate::log_sink::LogSink;

/// Writes each line to this process's stdout (for a proc's stdout and log
/// channel) or stderr (for its stderr), prefixed with `[proc_id] `.
///
/// ```
/// use std::sync::Arc;
/// use proc_manager_core::{LogSink, TeeSink};
/// let sink: Arc<dyn LogSink> = Arc::new(TeeSink::new());
/// # let _ = sink;
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct TeeSink {
    _private: (),
}

impl TeeSink {
    /// A tee to this process's stdout and stderr.
    pub fn new() -> Self {
        Self::default()
    }
}

fn write_prefixed<'a>(
    mut out: impl Write,
    proc_id: &ProcId,
    lines: impl Iterator<Item = &'a [u8]>,
) -> io::Result<()> {
    for line in lines {
        out.write_all(b"[")?;
        out.write_all(proc_id.as_str().as_bytes())?;
        out.write_all(b"] ")?;
        out.write_all(line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

impl TeeSink {
    fn write<'a>(
        &self,
        proc_id: &ProcId,
        stream: LogStream,
        lines: impl Iterator<Item = &'a [u8]>,
    ) {
        // A closed or broken stdio of our own is not the proc's problem.
        let _ = match stream {
            LogStream::Stderr => write_prefixed(io::stderr().lock(), proc_id, lines),
            _ => write_prefixed(io::stdout().lock(), proc_id, lines),
        };
    }
}

impl LogSink for TeeSink {
    fn log(&self, line: &LogLine) {
        self.write(&line.proc_id, line.stream, std::iter::once(&line.bytes[..]));
    }

    fn log_batch(&self, batch: &LogBatch<'_>) -> bool {
        self.write(batch.proc_id(), batch.stream(), batch.lines());
        true
    }
}

/// Emits each line as a `tracing` event at INFO (stdout, channel) or WARN
/// (stderr), with `proc_id` and `stream` fields, target `proc_manager::output`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingSink {
    _private: (),
}

impl TracingSink {
    /// A sink that emits `tracing` events.
    pub fn new() -> Self {
        Self::default()
    }
}

impl LogSink for TracingSink {
    fn log(&self, line: &LogLine) {
        match line.stream {
            LogStream::Stderr => tracing::warn!(
                target: "proc_manager::output",
                proc_id = %line.proc_id,
                stream = %line.stream,
                "{}",
                line.text()
            ),
            _ => tracing::info!(
                target: "proc_manager::output",
                proc_id = %line.proc_id,
                stream = %line.stream,
                "{}",
                line.text()
            ),
        }
    }
}

/// Publishes lines to any number of subscribers over a bounded broadcast
/// channel. Sending never blocks: a subscriber that falls more than
/// `capacity` lines behind loses the oldest ones (and is told how many).
///
/// ```
/// use proc_manager_core::{ChannelSink, LogLine, LogSink, LogStream, ProcId};
///
/// let sink = ChannelSink::new(1024);
/// let mut rx = sink.subscribe();
/// sink.log(&LogLine::new(ProcId::new("p")?, LogStream::Stdout, &b"hello"[..]));
/// assert_eq!(rx.try_recv()?.text(), "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChannelSink {
    tx: broadcast::Sender<LogLine>,
}

impl ChannelSink {
    /// A channel holding up to `capacity` lines per subscriber (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }

    /// A new subscriber; it sees lines sent after this call.
    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.tx.subscribe()
    }
}

impl LogSink for ChannelSink {
    fn log(&self, line: &LogLine) {
        if self.tx.receiver_count() > 0 {
            // No subscriber is not an error.
            let _ = self.tx.send(line.clone());
        }
    }
}

/// Appends `[proc_id] [stream] line` records to a file (buffered; flushed
/// when a proc's output ends and when the sink is dropped).
#[derive(Debug)]
pub struct FileSink {
    out: Mutex<BufWriter<File>>,
    errors: AtomicU64,
}

impl FileSink {
    /// Opens (creating or appending to) the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            out: Mutex::new(BufWriter::new(file)),
            errors: AtomicU64::new(0),
        })
    }

    /// How many writes failed so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn with_out(&self, f: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) {
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if f(&mut out).is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Writes `[proc_id] [stream] line` records.
fn write_records<'a>(
    out: &mut impl Write,
    proc_id: &ProcId,
    stream: LogStream,
    lines: impl Iterator<Item = &'a [u8]>,
) -> io::Result<()> {
    for line in lines {
        write!(out, "[{proc_id}] [{stream}] ")?;
        out.write_all(line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

impl LogSink for FileSink {
    fn log(&self, line: &LogLine) {
        let one = std::iter::once(&line.bytes[..]);
        self.with_out(|out| write_records(out, &line.proc_id, line.stream, one));
    }

    fn log_batch(&self, batch: &LogBatch<'_>) -> bool {
        self.with_out(|out| write_records(out, batch.proc_id(), batch.stream(), batch.lines()));
        true
    }

    fn finish(&self, _proc_id: &ProcId) {
        self.with_out(|out| out.flush());
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        self.with_out(|out| out.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> LogLine {
        LogLine::new(
            ProcId::new("p").expect("valid"),
            LogStream::Stdout,
            text.as_bytes().to_vec(),
        )
    }

    #[test]
    fn channel_sink_is_bounded_and_lossy() {
        let sink = ChannelSink::new(2);
        let mut rx = sink.subscribe();
        for i in 0..5 {
            sink.log(&line(&i.to_string()));
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(3))
        ));
        assert_eq!(rx.try_recv().expect("kept").text(), "3");
    }

    #[test]
    fn file_sink_writes_records() {
        let dir = std::env::temp_dir().join(format!("pm-core-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("out.log");
        let sink = FileSink::open(&path).expect("open");
        sink.log(&line("hello"));
        let id = ProcId::new("p").expect("valid");
        let data = bytes::Bytes::from_static(b"two\r\nthree\n");
        assert!(sink.log_batch(&LogBatch::new(&id, LogStream::Stderr, &data)));
        sink.finish(&id);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text, "[p] [stdout] hello\n[p] [stderr] two\n[p] [stderr] three\n",
            "a batch writes the same records as its lines one by one"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn tee_prefix_format() {
        let mut out = Vec::new();
        let id = ProcId::new("p").expect("valid");
        write_prefixed(&mut out, &id, [&b"x"[..], b"y"].into_iter()).expect("write");
        assert_eq!(out, b"[p] x\n[p] y\n");
    }
}
