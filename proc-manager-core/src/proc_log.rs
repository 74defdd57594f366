//! [`ProcLog`]: the one log writer a proc's code gets from
//! [`crate::ProcContext::log`] on every backend, and [`ProcLogTarget`], what
//! a backend implements behind it.
//!
//! A child process's target writes to its real stdout/stderr and sends
//! records over its log channel; an in-process target feeds the manager's
//! sinks directly. Both end in the same [`crate::LogSink`]s, as
//! [`crate::LogLine`]s. Sinks themselves are in [`crate::log`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::log::LogStream;

/// Where a [`ProcLog`] sends what a proc writes. Each backend implements it
/// once; a proc's code only sees [`ProcLog`].
///
/// Implementations must not block for long and must never fail the proc:
/// what cannot be delivered is dropped (and, ideally, counted).
pub trait ProcLogTarget: fmt::Debug + Send + Sync + 'static {
    /// Writes `text` to `stream`: one line per `\n`-separated part, a final
    /// `\n` ending the last line rather than starting an empty one (as a
    /// child's output stream is split).
    fn write(&self, stream: LogStream, text: &[u8]);

    /// Sends one structured record with a free-form level name; it reaches
    /// the sinks as a [`LogStream::Channel`] line
    /// ([`ProcLog::record_text`]).
    fn record(&self, level: &str, message: &str);

    /// Resolves once everything written before the call has been handed to
    /// the manager (or dropped). The default resolves at once, for targets
    /// that deliver synchronously.
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// A proc's log writer: stdout and stderr lines, and structured records.
/// Cheap to clone, so a proc can hand it to the tasks it starts.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use proc_manager_core::{LogStream, ProcLog, ProcLogTarget};
///
/// // What a backend does; a proc's code only gets the `ProcLog`.
/// #[derive(Debug, Default)]
/// struct Collect(Mutex<Vec<String>>);
/// impl ProcLogTarget for Collect {
///     fn write(&self, stream: LogStream, text: &[u8]) {
///         let text = String::from_utf8_lossy(text);
///         self.0.lock().unwrap().push(format!("{stream}: {text}"));
///     }
///     fn record(&self, level: &str, message: &str) {
///         self.0.lock().unwrap().push(ProcLog::record_text(level, message));
///     }
/// }
///
/// let target = Arc::new(Collect::default());
/// let log = ProcLog::new(target.clone());
/// log.stdout("listening");
/// log.stderr(format!("{} retries", 3));
/// log.info("loaded 3 shards");
/// assert_eq!(
///     *target.0.lock().unwrap(),
///     ["stdout: listening", "stderr: 3 retries", "info: loaded 3 shards"]
/// );
/// ```
#[derive(Clone)]
pub struct ProcLog {
    target: Arc<dyn ProcLogTarget>,
}

impl ProcLog {
    /// A writer sending to `target` (what a backend calls).
    pub fn new(target: Arc<dyn ProcLogTarget>) -> Self {
        Self { target }
    }

    /// The text a record has as a [`LogStream::Channel`] line:
    /// `<level>: <message>`. Every backend formats records with this.
    pub fn record_text(level: &str, message: &str) -> String {
        format!("{level}: {message}")
    }

    /// Writes `text` to the proc's stdout, one line per `\n`-separated part.
    pub fn stdout(&self, text: impl AsRef<[u8]>) {
        self.target.write(LogStream::Stdout, text.as_ref());
    }

    /// Writes `text` to the proc's stderr, one line per `\n`-separated part.
    /// The last lines end up in the terminal status's `stderr_tail`.
    pub fn stderr(&self, text: impl AsRef<[u8]>) {
        self.target.write(LogStream::Stderr, text.as_ref());
    }

    /// Writes `text` to `stream`.
    pub fn write(&self, stream: LogStream, text: &[u8]) {
        self.target.write(stream, text);
    }

    /// Sends a structured record with a free-form level name.
    pub fn record(&self, level: &str, message: impl AsRef<str>) {
        self.target.record(level, message.as_ref());
    }

    /// Sends a `debug` record.
    pub fn debug(&self, message: impl AsRef<str>) {
        self.record("debug", message);
    }

    /// Sends an `info` record.
    pub fn info(&self, message: impl AsRef<str>) {
        self.record("info", message);
    }

    /// Sends a `warn` record.
    pub fn warn(&self, message: impl AsRef<str>) {
        self.record("warn", message);
    }

    /// Sends an `error` record.
    pub fn error(&self, message: impl AsRef<str>) {
        self.record("error", message);
    }

    /// Waits until everything written before this call has been handed to
    /// the manager (or dropped). A backend may bound the wait; a proc's end
    /// flushes anyway.
    pub async fn flush(&self) {
        self.target.flush().await;
    }
}

impl fmt::Debug for ProcLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProcLog").field(&self.target).finish()
    }
}
