//! The [`LogSink`] trait: where a proc's output lines go, one by one
//! ([`LogSink::log`]) or, as a fast path, a read's worth at once
//! ([`LogSink::log_batch`]).
//!
//! The line types are in [`crate::log`] and [`crate::log_batch`];
//! ready-made sinks are in [`crate::sink`].

use crate::id::ProcId;
use crate::log::LogLine;
use crate::log_batch::LogBatch;

/// Where output lines go. Called on the forwarding task for every line, so
/// it must not block for long: a sink that does slow work should hand lines
/// to a bounded queue and drop (and count) what does not fit.
///
/// Any `Fn(&LogLine) + Send + Sync` closure is a sink.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use proc_manager_core::{LogLine, LogSink, LogStream, ProcId};
///
/// let count = Arc::new(AtomicUsize::new(0));
/// let sink: Arc<dyn LogSink> = Arc::new({
///     let count = count.clone();
///     move |_: &LogLine| { count.fetch_add(1, Ordering::Relaxed); }
/// });
/// sink.log(&LogLine::new(ProcId::new("p")?, LogStream::Stdout, &b"hi"[..]));
/// assert_eq!(count.load(Ordering::Relaxed), 1);
/// # Ok::<(), proc_manager_core::ProcIdError>(())
/// ```
pub trait LogSink: Send + Sync + 'static {
    /// Takes one line.
    fn log(&self, line: &LogLine);

    /// Takes the lines of one read at once, as slices of one buffer (no
    /// [`LogLine`], and so no reference count, per line). Returns whether
    /// it took them: the default returns `false`, and the backend then
    /// gives each line to [`log`](Self::log).
    ///
    /// An optional fast path, like `Write::write_vectored`: a backend may
    /// call it or not (the bootstrap backend does for captured stdout and
    /// stderr), so a sink that implements it must still take every line
    /// given to `log`, and the two must agree.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use proc_manager_core::{Bytes, LogBatch, LogLine, LogSink, LogStream, ProcId};
    ///
    /// /// Counts lines, with one atomic add per read instead of per line.
    /// #[derive(Default)]
    /// struct Count(AtomicU64);
    ///
    /// impl LogSink for Count {
    ///     fn log(&self, _: &LogLine) {
    ///         self.0.fetch_add(1, Ordering::Relaxed);
    ///     }
    ///     fn log_batch(&self, batch: &LogBatch<'_>) -> bool {
    ///         self.0.fetch_add(batch.lines().count() as u64, Ordering::Relaxed);
    ///         true
    ///     }
    /// }
    ///
    /// let count = Count::default();
    /// let id = ProcId::new("p")?;
    /// let data = Bytes::from_static(b"a\nb\n");
    /// assert!(count.log_batch(&LogBatch::new(&id, LogStream::Stdout, &data)));
    /// count.log(&LogLine::new(id, LogStream::Stdout, &b"c"[..]));
    /// assert_eq!(count.0.load(Ordering::Relaxed), 3);
    /// # Ok::<(), proc_manager_core::ProcIdError>(())
    /// ```
    fn log_batch(&self, batch: &LogBatch<'_>) -> bool {
        let _ = batch;
        false
    }

    /// Called once when the proc's output has ended (both streams at EOF).
    fn finish(&self, _proc_id: &ProcId) {}
}

impl<F> LogSink for F
where
    F: Fn(&LogLine) + Send + Sync + 'static,
{
    fn log(&self, line: &LogLine) {
        self(line)
    }
}
