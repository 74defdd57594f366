//! [`LogWriter`]: structured log records from the child to the manager's
//! log channel ([`crate::protocol::LOG_CHANNEL_ENV`]), and the child's
//! [`ProcLogTarget`] behind [`ProcContext::log`](proc_manager_core::ProcContext::log):
//! stdout/stderr lines go to the process's own stdout/stderr (the manager
//! reads those pipes), records go over the log channel.
//!
//! Records are queued without blocking and sent by one background task that
//! connects on the first record. With no channel, no runtime, a failed
//! connection or a full queue, records are dropped and counted: logging never
//! stalls or fails the child. Frame encoding lives in [`crate::protocol`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use proc_manager_core::{ChannelAddr, LogStream, ProcLogTarget};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};

use super::connect::connect;
use crate::protocol::{ChildFrame, MAX_FRAME_BYTES, truncate_on_char_boundary, write_frame};

/// How many records may wait for the background task before new ones are
/// dropped.
const QUEUE: usize = 4096;

/// The longest message sent; longer ones are cut (on a char boundary).
const MAX_MESSAGE_BYTES: usize = MAX_FRAME_BYTES - 1024;

enum Command {
    Record(ChildFrame),
    Flush(oneshot::Sender<()>),
}

struct Shared {
    channel: Option<ChannelAddr>,
    token: String,
    queue: OnceLock<Option<mpsc::Sender<Command>>>,
    // Shared with the background task, which must not hold `Shared` (it
    // owns the sender: the task ends when the last writer is dropped).
    dropped: Arc<AtomicU64>,
}

/// Sends structured log records to the manager; get one from
/// [`ChildContext::log`](super::ChildContext::log). Cheap to clone; all
/// clones share one connection.
///
/// ```no_run
/// # async fn demo(ctx: proc_manager_bootstrap::child::ChildContext) {
/// let log = ctx.log();
/// log.info("loaded 3 shards");
/// log.record("trace", "fine detail");
/// log.flush().await; // the records above have been written to the channel
/// # }
/// ```
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

impl fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogWriter")
            .field("channel", &self.shared.channel)
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl LogWriter {
    /// A writer for `channel` (none: every record is dropped), presenting
    /// `token`.
    pub(crate) fn new(channel: Option<ChannelAddr>, token: String) -> Self {
        Self {
            shared: Arc::new(Shared {
                channel,
                token,
                queue: OnceLock::new(),
                dropped: Arc::new(AtomicU64::new(0)),
            }),
        }
    }

    /// The log channel address, if the manager gave one.
    pub fn channel(&self) -> Option<&ChannelAddr> {
        self.shared.channel.as_ref()
    }

    /// How many records were dropped (no channel, queue full, connection
    /// failed).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Queues one record with a free-form level name. Never blocks.
    pub fn record(&self, level: &str, message: impl Into<String>) {
        let mut message = message.into();
        truncate_on_char_boundary(&mut message, MAX_MESSAGE_BYTES);
        let frame = ChildFrame::Log {
            level: level.to_owned(),
            message,
        };
        let sent = self
            .queue()
            .is_some_and(|queue| queue.try_send(Command::Record(frame)).is_ok());
        if !sent {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues a `debug` record.
    pub fn debug(&self, message: impl Into<String>) {
        self.record("debug", message);
    }

    /// Queues an `info` record.
    pub fn info(&self, message: impl Into<String>) {
        self.record("info", message);
    }

    /// Queues a `warn` record.
    pub fn warn(&self, message: impl Into<String>) {
        self.record("warn", message);
    }

    /// Queues an `error` record.
    pub fn error(&self, message: impl Into<String>) {
        self.record("error", message);
    }

    /// Waits until every record queued before this call has been written to
    /// the channel (or dropped). Returns at once when nothing was ever
    /// logged.
    pub async fn flush(&self) {
        let Some(Some(queue)) = self.shared.queue.get() else {
            return;
        };
        let (ack, acked) = oneshot::channel();
        if queue.send(Command::Flush(ack)).await.is_ok() {
            let _ = acked.await;
        }
    }

    /// [`Self::flush`], giving up after `limit`.
    pub(crate) async fn flush_within(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.flush()).await;
    }

    /// The queue to the background task, started by the first record made
    /// inside a tokio runtime (records made before that, outside any
    /// runtime, are dropped without disabling later ones).
    fn queue(&self) -> Option<&mpsc::Sender<Command>> {
        if let Some(queue) = self.shared.queue.get() {
            return queue.as_ref();
        }
        let Some(channel) = self.shared.channel.clone() else {
            return self.shared.queue.get_or_init(|| None).as_ref();
        };
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        self.shared
            .queue
            .get_or_init(|| {
                let (tx, rx) = mpsc::channel(QUEUE);
                let token = self.shared.token.clone();
                runtime.spawn(pump(channel, token, rx, Arc::clone(&self.shared.dropped)));
                Some(tx)
            })
            .as_ref()
    }
}

/// What [`ProcContext::log`](proc_manager_core::ProcContext::log) writes
/// to in a child. Lines are written to the process's stdout or stderr at
/// once (a blocking write, as `println!`; the manager drains the pipes
/// without waiting on slow sinks), records are queued for the log channel.
impl ProcLogTarget for LogWriter {
    fn write(&self, stream: LogStream, text: &[u8]) {
        match stream {
            LogStream::Stdout => write_lines(std::io::stdout().lock(), text),
            LogStream::Stderr => write_lines(std::io::stderr().lock(), text),
            _ => self.record("info", String::from_utf8_lossy(text)),
        }
    }

    fn record(&self, level: &str, message: &str) {
        LogWriter::record(self, level, message);
    }

    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(LogWriter::flush(self))
    }
}

/// Writes `text` as lines: a final `\n` is added unless it ends with one,
/// so the manager splits it exactly as the in-process backend does. A
/// closed stdio is not the proc's problem.
fn write_lines(mut out: impl std::io::Write, text: &[u8]) {
    let _ = out.write_all(text);
    if !text.ends_with(b"\n") {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// The background task: connects, says hello, then writes records in
/// batches, flushing whenever the queue runs dry or a flush is asked for.
async fn pump(
    channel: ChannelAddr,
    token: String,
    mut rx: mpsc::Receiver<Command>,
    dropped: Arc<AtomicU64>,
) {
    let hello = ChildFrame::LogHello {
        token,
        pid: std::process::id(),
    };
    let mut writer = match connect(&channel).await {
        Ok(stream) => {
            let mut writer = BufWriter::new(stream);
            match write_frame(&mut writer, &hello).await {
                Ok(()) => Some(writer),
                Err(e) => {
                    tracing::debug!(%channel, error = %e, "log channel hello failed; dropping records");
                    None
                }
            }
        }
        Err(e) => {
            tracing::debug!(%channel, error = %e, "cannot connect to the log channel; dropping records");
            None
        }
    };
    let mut line = Vec::with_capacity(256);
    while let Some(command) = rx.recv().await {
        match command {
            Command::Record(frame) => {
                let Some(w) = writer.as_mut() else {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                line.clear();
                let written = match serde_json::to_writer(&mut line, &frame) {
                    Ok(()) => {
                        line.push(b'\n');
                        w.write_all(&line).await
                    }
                    Err(e) => Err(std::io::Error::other(e)),
                };
                let written = match written {
                    Ok(()) if rx.is_empty() => w.flush().await,
                    other => other,
                };
                if written.is_err() {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    writer = None;
                }
            }
            Command::Flush(ack) => {
                if let Some(w) = writer.as_mut() {
                    if w.flush().await.is_err() {
                        writer = None;
                    }
                }
                let _ = ack.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::read_frame;

    #[test]
    fn lines_always_end_with_a_newline() {
        let mut out = Vec::new();
        write_lines(&mut out, b"a\nb");
        write_lines(&mut out, b"c\n");
        write_lines(&mut out, b"");
        assert_eq!(out, b"a\nb\nc\n\n");
    }

    #[tokio::test]
    async fn without_a_channel_records_are_dropped_and_counted() {
        let log = LogWriter::new(None, "t".into());
        log.info("a");
        log.warn("b");
        log.flush().await;
        assert_eq!(log.dropped(), 2);
    }

    #[tokio::test]
    async fn records_arrive_in_order_after_the_hello_and_flush_waits_for_them() {
        let dir = std::env::temp_dir().join(format!("pm-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        let log = LogWriter::new(Some(ChannelAddr::unix(&path).expect("addr")), "tok".into());
        let long = "é".repeat(MAX_FRAME_BYTES);
        log.debug("one");
        log.error("two");
        log.record("custom", long);
        log.flush().await;
        let (stream, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("connected in time")
            .expect("accept");
        let mut reader = tokio::io::BufReader::new(stream);
        let mut buf = Vec::new();
        let mut frames = Vec::new();
        for _ in 0..4 {
            let frame: Option<ChildFrame> = read_frame(&mut reader, &mut buf).await.expect("frame");
            frames.push(frame.expect("not the end"));
        }
        assert_eq!(
            frames[0],
            ChildFrame::LogHello {
                token: "tok".into(),
                pid: std::process::id()
            }
        );
        assert_eq!(
            frames[1],
            ChildFrame::Log {
                level: "debug".into(),
                message: "one".into()
            }
        );
        assert!(matches!(&frames[2], ChildFrame::Log { level, .. } if level == "error"));
        let ChildFrame::Log { message, .. } = &frames[3] else {
            panic!("expected a record, got {:?}", frames[3]);
        };
        assert!(message.len() <= MAX_MESSAGE_BYTES && message.chars().all(|c| c == 'é'));
        assert_eq!(log.dropped(), 0);
        drop(log);
        let end: Option<ChildFrame> =
            tokio::time::timeout(Duration::from_secs(10), read_frame(&mut reader, &mut buf))
                .await
                .expect("the connection closes once the last writer is gone")
                .expect("clean end");
        assert_eq!(end, None);
        std::fs::remove_dir_all(&dir).ok();
    }
}
