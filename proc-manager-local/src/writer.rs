//! [`LogWriter`]: the handle a local proc writes its stdout/stderr lines
//! with.
//!
//! What happens to a line (the tails, the sinks) is in [`crate::output`].

use std::fmt;
use std::sync::Arc;

use proc_manager_core::LogStream;

use crate::output::lock;
use crate::shared::ProcShared;

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
        let written = lock(&shared.output).write(&shared.log, shared.cell.proc_id(), stream, text);
        if !written {
            tracing::trace!(parent: &shared.span, %stream, "line after the proc ended dropped");
        }
    }
}

impl fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogWriter")
            .field("proc_id", self.shared.cell.proc_id())
            .finish_non_exhaustive()
    }
}
