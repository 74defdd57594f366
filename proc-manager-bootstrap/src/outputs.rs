//! [`Outputs`]: the one future that reads a proc's captured stdout and
//! stderr to end of stream, handing what it reads to each stream's
//! [`LineSplitter`].
//!
//! It is polled by hand rather than written as an `async fn` per stream: a
//! waiting proc then costs its two pipes and splitters inline in the exit
//! monitor's task, with no stored readiness future, no joined-futures
//! allocation and no read buffer while the child is quiet. Splitting lines
//! is [`crate::stdio`]'s job; when to stop reading is
//! [`crate::exit_monitor`]'s.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use proc_manager_core::LogStream;
use tokio::net::unix::pipe;

use crate::stdio::{LineSplitter, READ_CHUNK};

/// One captured stream: its pipe, its splitter and the bytes of a partial
/// line.
struct Stream {
    pipe: pipe::Receiver,
    splitter: LineSplitter,
    buf: BytesMut,
}

impl Stream {
    /// Reads until the pipe would block (`Pending`) or has ended (`Ready`).
    /// tokio's cooperative budget applies to every readiness poll, so a
    /// flooding child cannot keep the monitor's task from yielding.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.pipe.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => {
                    tracing::warn!(stream = %self.splitter.stream(), %err, "waiting on child output failed");
                    return Poll::Ready(());
                }
            }
            self.buf.reserve(READ_CHUNK);
            match self.pipe.try_read_buf(&mut self.buf) {
                Ok(0) => return Poll::Ready(()),
                Ok(n) => {
                    self.splitter.process(&mut self.buf);
                    // Give the buffer back after a short read that left no
                    // partial line: an idle child holds none.
                    if n < READ_CHUNK && self.buf.is_empty() {
                        self.buf = BytesMut::new();
                    }
                }
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(err) => {
                    tracing::warn!(stream = %self.splitter.stream(), %err, "reading child output failed");
                    return Poll::Ready(());
                }
            }
        }
    }

    /// End of stream: the partial line left, if any, is a line.
    fn finish(mut self) {
        self.splitter.finish(&mut self.buf);
    }
}

/// A proc's captured streams, read until every one has ended. Resolves at
/// once when nothing is captured.
#[derive(Default)]
pub(crate) struct Outputs {
    /// Indexed by stream: stdout, then stderr.
    streams: [Option<Stream>; 2],
}

impl Outputs {
    /// Reads `pipe` for the stream of `splitter`. A stream given twice keeps
    /// only the second pipe.
    pub(crate) fn push(&mut self, pipe: pipe::Receiver, splitter: LineSplitter) {
        let slot = match splitter.stream() {
            LogStream::Stderr => 1,
            _ => 0,
        };
        debug_assert!(self.streams[slot].is_none(), "one pipe per stream");
        self.streams[slot] = Some(Stream {
            pipe,
            splitter,
            buf: BytesMut::new(),
        });
    }
}

impl Future for Outputs {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        for slot in &mut this.streams {
            if let Some(stream) = slot {
                if stream.poll_drain(cx).is_ready() {
                    if let Some(ended) = slot.take() {
                        ended.finish();
                    }
                }
            }
        }
        if this.streams.iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use proc_manager_core::{LogLine, LogSink, ProcId, TailBuffer};
    use tokio::io::AsyncWriteExt;

    use super::*;

    fn splitter(stream: LogStream, seen: &Arc<Mutex<Vec<String>>>) -> LineSplitter {
        let sink: Arc<dyn LogSink> = Arc::new({
            let seen = seen.clone();
            move |line: &LogLine| {
                seen.lock()
                    .expect("lock")
                    .push(format!("{}:{}", line.stream, line.text()))
            }
        });
        LineSplitter::new(
            ProcId::new("out").expect("id"),
            stream,
            Arc::from(vec![sink]),
            Arc::new(Mutex::new(TailBuffer::new(10, 1024))),
        )
    }

    #[tokio::test]
    async fn both_streams_are_read_to_their_end_and_the_final_partial_line_kept() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (mut out_tx, out_rx) = pipe::pipe().expect("pipe");
        let (mut err_tx, err_rx) = pipe::pipe().expect("pipe");
        let mut outputs = Outputs::default();
        outputs.push(out_rx, splitter(LogStream::Stdout, &seen));
        outputs.push(err_rx, splitter(LogStream::Stderr, &seen));
        let reader = tokio::spawn(outputs);
        out_tx.write_all(b"one\ntw").await.expect("write");
        err_tx.write_all(b"oops\n").await.expect("write");
        drop(err_tx);
        out_tx.write_all(b"o").await.expect("write");
        drop(out_tx);
        tokio::time::timeout(std::time::Duration::from_secs(10), reader)
            .await
            .expect("ends once both pipes have ended")
            .expect("task");
        let mut seen = seen.lock().expect("lock").clone();
        seen.sort();
        assert_eq!(seen, vec!["stderr:oops", "stdout:one", "stdout:two"]);
    }

    #[tokio::test]
    async fn nothing_captured_resolves_at_once() {
        Outputs::default().await;
    }

    #[test]
    fn a_flood_on_one_stream_does_not_starve_the_task() {
        // A writer that never pauses, on one thread with the reader: the
        // reader must still yield, or the timer below never fires. The
        // runtime runs on its own thread so a starved one fails the test
        // (by the bounded wait here) instead of hanging it.
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let (mut tx, rx) = pipe::pipe().expect("pipe");
                let mut outputs = Outputs::default();
                outputs.push(
                    rx,
                    LineSplitter::new(
                        ProcId::new("flood").expect("id"),
                        LogStream::Stdout,
                        Arc::from(Vec::new()),
                        Arc::new(Mutex::new(TailBuffer::new(1, 64))),
                    ),
                );
                let writer = tokio::spawn(async move {
                    let chunk = vec![b'x'; 4096];
                    while tx.write_all(&chunk).await.is_ok() {}
                });
                let reader = tokio::spawn(outputs);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                writer.abort();
                let _ = writer.await;
                reader.await.expect("reader");
            });
            let _ = done_tx.send(());
        });
        done_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the flooded reader yielded and ended with its writer");
    }
}
