//! A local proc's output: [`LogWriter`], the handle a proc writes lines with,
//! and the per-proc state behind it (the bounded stdout/stderr tails and the
//! sinks every line goes to).
//!
//! Where the stderr tail ends up (the terminal status) is decided in
//! [`crate::task`]; this module only keeps and forwards lines.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use proc_manager_core::{Bytes, LogLine, LogSink, LogStream, ProcId, TailBuffer};

use crate::shared::ProcShared;

/// Where a manager's procs' lines go and how much of them is kept; one per
/// manager, shared by all its procs.
pub(crate) struct LogConfig {
    pub(crate) sinks: Vec<Arc<dyn LogSink>>,
    pub(crate) max_lines: usize,
    pub(crate) max_bytes: usize,
}

impl fmt::Debug for LogConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogConfig")
            .field("sinks", &self.sinks.len())
            .field("max_lines", &self.max_lines)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

/// One proc's tails and whether its output has ended. The tails are
/// allocated on the first line, so a proc that never logs costs two words.
#[derive(Debug, Default)]
pub(crate) struct Output {
    tails: Option<Box<Tails>>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Tails {
    stdout: Option<TailBuffer>,
    stderr: Option<TailBuffer>,
}

impl Output {
    fn tail_mut(&mut self, stream: LogStream, config: &LogConfig) -> &mut TailBuffer {
        let tails = self.tails.get_or_insert_with(Box::default);
        let slot = match stream {
            LogStream::Stderr => &mut tails.stderr,
            _ => &mut tails.stdout,
        };
        slot.get_or_insert_with(|| TailBuffer::new(config.max_lines, config.max_bytes))
    }

    /// The kept lines of `stream`, oldest first.
    pub(crate) fn tail(&self, stream: LogStream) -> Vec<String> {
        let Some(tails) = &self.tails else {
            return Vec::new();
        };
        let slot = match stream {
            LogStream::Stderr => &tails.stderr,
            _ => &tails.stdout,
        };
        slot.as_ref().map(TailBuffer::lines).unwrap_or_default()
    }

    /// Ends the output: later lines are dropped. Returns the stderr tail.
    pub(crate) fn close(&mut self) -> Vec<String> {
        self.closed = true;
        self.tail(LogStream::Stderr)
    }
}

/// Locks `output`, taking over a lock poisoned by a panicking sink (the
/// tails stay consistent: a push either happened or did not).
pub(crate) fn lock(output: &Mutex<Output>) -> MutexGuard<'_, Output> {
    output.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Splits `text` into lines the way a child's stream is split: on `\n`,
/// without the terminator (and a `\r` before it), a final `\n` ending the
/// last line rather than starting an empty one.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    text.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

/// Writes lines on behalf of a local proc. They reach the manager's sinks
/// and the proc's bounded tails, exactly as a child's stdout/stderr lines
/// would; the stderr tail is carried by the proc's terminal status.
///
/// Cheap to clone, so a proc can hand it to the tasks it starts. Lines
/// written after the proc has ended are dropped. Sinks run on the writing
/// task, one line at a time per proc, and must not write to the same proc.
///
/// ```
/// # async fn example(ctx: proc_manager_local::LocalContext) {
/// let log = ctx.log();
/// log.stdout("listening");
/// log.stderr(format!("warning: {} retries", 3));
/// # }
/// ```
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<ProcShared>,
}

impl LogWriter {
    pub(crate) fn new(shared: Arc<ProcShared>) -> Self {
        Self { shared }
    }

    /// Writes `text` to the proc's stdout (one line per `\n`-separated part).
    pub fn stdout(&self, text: impl AsRef<[u8]>) {
        self.write(LogStream::Stdout, text.as_ref());
    }

    /// Writes `text` to the proc's stderr (one line per `\n`-separated part).
    pub fn stderr(&self, text: impl AsRef<[u8]>) {
        self.write(LogStream::Stderr, text.as_ref());
    }

    /// Writes `text` to `stream`.
    pub fn write(&self, stream: LogStream, text: &[u8]) {
        let shared = &self.shared;
        let mut output = lock(&shared.output);
        if output.closed {
            tracing::trace!(parent: &shared.span, %stream, "line after the proc ended dropped");
            return;
        }
        let config = &*shared.log;
        for line in lines(text) {
            output.tail_mut(stream, config).push(line);
            if !config.sinks.is_empty() {
                // Sinks run under the lock, so none sees a line after `finish`.
                let record = LogLine::new(proc_id(shared), stream, Bytes::copy_from_slice(line));
                for sink in &config.sinks {
                    sink.log(&record);
                }
            }
        }
    }
}

fn proc_id(shared: &ProcShared) -> ProcId {
    shared.cell.proc_id().clone()
}

impl fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogWriter")
            .field("proc_id", self.shared.cell.proc_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&[u8]> {
        lines(text.as_bytes()).collect()
    }

    #[test]
    fn splits_like_a_stream() {
        assert_eq!(split("a"), vec![&b"a"[..]]);
        assert_eq!(split("a\n"), vec![&b"a"[..]]);
        assert_eq!(split("a\r\nb"), vec![&b"a"[..], &b"b"[..]]);
        assert_eq!(split(""), vec![&b""[..]]);
        assert_eq!(split("a\n\nb\n"), vec![&b"a"[..], &b""[..], &b"b"[..]]);
    }

    #[test]
    fn tails_are_lazy_bounded_and_closed() {
        let config = LogConfig {
            sinks: Vec::new(),
            max_lines: 2,
            max_bytes: 1024,
        };
        let mut output = Output::default();
        assert!(output.tails.is_none());
        assert!(output.tail(LogStream::Stderr).is_empty());
        for line in ["1", "2", "3"] {
            output
                .tail_mut(LogStream::Stderr, &config)
                .push(line.as_bytes());
        }
        output.tail_mut(LogStream::Stdout, &config).push(b"out");
        assert_eq!(output.tail(LogStream::Stdout), vec!["out"]);
        assert_eq!(output.close(), vec!["2", "3"]);
        assert!(output.closed);
    }
}
