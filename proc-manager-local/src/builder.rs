//! How a [`LocalProcManager`] is made: [`LocalProcManager::new`] and
//! [`LocalProcManager::builder`], and [`LocalProcManagerBuilder`], the
//! manager-wide settings (output tail bounds and log sinks).
//!
//! What the manager does with them is in [`crate::manager`] and
//! [`crate::output`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use proc_manager_core::{BoxError, LogSink, Retention, TailBuffer};

use crate::context::LocalContext;
use crate::manager::LocalProcManager;
use crate::output::LogConfig;
use crate::task::{Launch, launcher};

impl LocalProcManager {
    /// A manager running `f` for every proc, with default tails and no sinks.
    pub fn new<F, Fut, E>(f: F) -> Self
    where
        F: Fn(LocalContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<i32, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        Self::builder(f).build()
    }

    /// A builder for a manager running `f` for every proc.
    pub fn builder<F, Fut, E>(f: F) -> LocalProcManagerBuilder
    where
        F: Fn(LocalContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<i32, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        LocalProcManagerBuilder::new(launcher(f))
    }
}

/// Builds a [`LocalProcManager`]: output tail bounds and log sinks.
///
/// ```
/// use std::sync::Arc;
/// use proc_manager_local::{ChannelSink, LocalContext, LocalProcManager};
///
/// let lines = ChannelSink::new(1024);
/// let manager = LocalProcManager::builder(|ctx: LocalContext| async move {
///     ctx.log().stdout("hello");
///     Ok::<i32, std::io::Error>(0)
/// })
/// .tail(50, 8 * 1024)
/// .sink(Arc::new(lines.clone()))
/// .build();
/// # let _ = manager;
/// ```
pub struct LocalProcManagerBuilder {
    launch: Box<Launch>,
    log: LogConfig,
    retain_ended: usize,
}

impl LocalProcManagerBuilder {
    fn new(launch: Box<Launch>) -> Self {
        Self {
            launch,
            log: LogConfig {
                sinks: Vec::new(),
                max_lines: TailBuffer::DEFAULT_MAX_LINES,
                max_bytes: TailBuffer::DEFAULT_MAX_BYTES,
            },
            retain_ended: Retention::DEFAULT_LIMIT,
        }
    }

    /// Keeps at most `max_lines` lines and `max_bytes` bytes of each
    /// stream's tail (default [`TailBuffer::DEFAULT_MAX_LINES`] and
    /// [`TailBuffer::DEFAULT_MAX_BYTES`]).
    pub fn tail(mut self, max_lines: usize, max_bytes: usize) -> Self {
        self.log.max_lines = max_lines;
        self.log.max_bytes = max_bytes;
        self
    }

    /// Adds a sink every proc's output lines go to (the same sinks the
    /// bootstrap backend takes).
    pub fn sink(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.log.sinks.push(sink);
        self
    }

    /// How many ended procs stay known to `handle`/`proc_ids` (default
    /// 1,000; the most recent ones), the same rule as the bootstrap
    /// backend's. [`LocalProcManager::forget`] drops one at once.
    pub fn retain_ended(mut self, n: usize) -> Self {
        self.retain_ended = n;
        self
    }

    /// The manager.
    pub fn build(self) -> LocalProcManager {
        LocalProcManager::from_parts(self.launch, self.log, self.retain_ended)
    }
}

impl fmt::Debug for LocalProcManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalProcManagerBuilder")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}
