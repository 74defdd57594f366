//! [`FakeChildScript`]: what a `fake-child` process does, as data. Built by
//! tests, carried as the payload's `config` JSON, executed by the runner.
//!
//! Only the vocabulary and its builders live here; executing a script is
//! the runner's job.

use std::time::Duration;

use proc_manager_bootstrap::BootstrapProcConfig;
use serde::{Deserialize, Serialize};

/// One of the child's standard output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// File descriptor 1.
    Stdout,
    /// File descriptor 2.
    Stderr,
}

impl Stream {
    /// `"stdout"` or `"stderr"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// One step of a script; steps run in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Step {
    /// Wait this long.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
    /// Bind an echo socket under the socket dir and report ready there
    /// (the hello with the right token; the connection stays open).
    CallBack,
    /// Connect to the callback address and send a hello with a wrong token
    /// (then hold that connection until the manager drops it).
    CallBackWrongToken,
    /// Write `count` lines `"<stream> line <i>"`, `i` from 1.
    WriteLines {
        /// Which stream.
        stream: Stream,
        /// How many lines.
        count: u64,
    },
    /// Write `text` with no newline after it (a final partial line).
    WritePartial {
        /// Which stream.
        stream: Stream,
        /// The text.
        text: String,
    },
    /// Write `bytes` bytes as fast as possible: 100-byte lines (99 `x` and a
    /// newline), or with `newlines: false` not a single newline.
    Flood {
        /// Which stream.
        stream: Stream,
        /// How many bytes in all.
        bytes: u64,
        /// Whether to end each 100 bytes with a newline.
        newlines: bool,
    },
    /// Start `count` grandchildren (`sleep <secs>`, in this process group,
    /// sharing its stdout/stderr) and print `fake-child: grandchild pid <pid>`
    /// to stderr for each.
    Fork {
        /// How many.
        count: u32,
        /// How long each sleeps, in seconds.
        sleep_secs: u64,
    },
    /// Close the stdout pipe (fd 1 is pointed at `/dev/null`, so the manager
    /// sees end of file) and keep running.
    CloseStdout,
    /// Print `fake-child: inherited fds: <fd>=<target> …` to stderr: the
    /// fds open when the process started (before its runtime opened any).
    ReportFds,
    /// Send one record on the log channel and wait until it is written.
    Log {
        /// Level name.
        level: String,
        /// Message.
        message: String,
    },
    /// Exit with this code now (remaining steps are skipped).
    Exit {
        /// The exit code.
        code: i32,
    },
    /// Die by this signal (its default action is restored first).
    Signal {
        /// The signal number, e.g. 9 for SIGKILL.
        signal: i32,
    },
    /// `abort()`: SIGABRT, after raising the core-size limit to its maximum
    /// and moving to the socket dir (where a `core` file may land). Whether a
    /// core is actually dumped depends on the system.
    Abort,
}

/// What the child does when asked to shut down (a stop message, SIGTERM, or
/// the end of its control connection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnShutdown {
    /// Print `fake-child: shutdown requested (<reason>)` to stderr, wait
    /// `after_ms`, exit with `code`, whatever step is running.
    Exit {
        /// The exit code.
        code: i32,
        /// Delay before exiting, in milliseconds.
        after_ms: u64,
    },
    /// Print `fake-child: ignoring shutdown request (<reason>)` and carry on.
    /// The process then only ends by its script, a signal, or (when the
    /// control connection ends) the child entry point's grace period.
    Ignore,
}

impl Default for OnShutdown {
    fn default() -> Self {
        Self::Exit {
            code: 0,
            after_ms: 0,
        }
    }
}

/// The behaviour of one `fake-child` process: steps run in order; at the
/// end the child waits, and a shutdown request is handled by
/// [`OnShutdown`] at any time.
///
/// With no config at all, a fake child behaves like
/// [`FakeChildScript::serving`].
///
/// ```
/// use std::time::Duration;
/// use proc_manager_fake_child::{FakeChildScript, OnShutdown};
///
/// // Write two stderr lines, then exit 3 without ever calling back.
/// let crash = FakeChildScript::new().stderr_lines(2).exit(3);
///
/// // Ready after 50 ms, then ignore every polite request.
/// let stubborn = FakeChildScript::new()
///     .call_back_after(Duration::from_millis(50))
///     .ignore_shutdown();
/// assert_eq!(stubborn.on_shutdown, OnShutdown::Ignore);
///
/// let config = crash.to_config();
/// assert_eq!(FakeChildScript::from_config(Some(&config))?, crash);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FakeChildScript {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The reaction to a shutdown request.
    pub on_shutdown: OnShutdown,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl FakeChildScript {
    /// An empty script: never calls back, waits, exits 0 on shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// A well-behaved child: calls back at once, exits 0 on shutdown.
    pub fn serving() -> Self {
        Self::new().call_back()
    }

    /// Appends a step.
    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Waits `duration`.
    pub fn sleep(self, duration: Duration) -> Self {
        self.step(Step::Sleep {
            ms: millis(duration),
        })
    }

    /// Calls back (reports ready) now.
    pub fn call_back(self) -> Self {
        self.step(Step::CallBack)
    }

    /// Calls back after `delay`.
    pub fn call_back_after(self, delay: Duration) -> Self {
        self.sleep(delay).call_back()
    }

    /// Calls back with a wrong token.
    pub fn call_back_with_wrong_token(self) -> Self {
        self.step(Step::CallBackWrongToken)
    }

    /// Writes `count` lines `"<stream> line <i>"`.
    pub fn lines(self, stream: Stream, count: u64) -> Self {
        self.step(Step::WriteLines { stream, count })
    }

    /// Writes `count` lines `"stdout line <i>"` to stdout.
    pub fn stdout_lines(self, count: u64) -> Self {
        self.lines(Stream::Stdout, count)
    }

    /// Writes `count` lines `"stderr line <i>"` to stderr.
    pub fn stderr_lines(self, count: u64) -> Self {
        self.lines(Stream::Stderr, count)
    }

    /// Writes `text` without a newline.
    pub fn partial_line(self, stream: Stream, text: impl Into<String>) -> Self {
        self.step(Step::WritePartial {
            stream,
            text: text.into(),
        })
    }

    /// Writes `bytes` bytes of 100-byte lines to stdout at full speed.
    pub fn flood_stdout(self, bytes: u64) -> Self {
        self.step(Step::Flood {
            stream: Stream::Stdout,
            bytes,
            newlines: true,
        })
    }

    /// Writes `bytes` bytes without a single newline.
    pub fn flood_without_newlines(self, stream: Stream, bytes: u64) -> Self {
        self.step(Step::Flood {
            stream,
            bytes,
            newlines: false,
        })
    }

    /// Starts `count` grandchildren that sleep for `sleep`.
    pub fn fork_grandchildren(self, count: u32, sleep: Duration) -> Self {
        self.step(Step::Fork {
            count,
            sleep_secs: sleep.as_secs().max(1),
        })
    }

    /// Closes stdout and keeps running.
    pub fn close_stdout(self) -> Self {
        self.step(Step::CloseStdout)
    }

    /// Reports the fds open at start to stderr.
    pub fn report_fds(self) -> Self {
        self.step(Step::ReportFds)
    }

    /// Sends a record on the log channel.
    pub fn log(self, level: impl Into<String>, message: impl Into<String>) -> Self {
        self.step(Step::Log {
            level: level.into(),
            message: message.into(),
        })
    }

    /// Exits with `code` now.
    pub fn exit(self, code: i32) -> Self {
        self.step(Step::Exit { code })
    }

    /// Exits with `code` after `delay`.
    pub fn exit_after(self, code: i32, delay: Duration) -> Self {
        self.sleep(delay).exit(code)
    }

    /// Dies by `signal` (a number such as `libc::SIGKILL`).
    pub fn die_by_signal(self, signal: i32) -> Self {
        self.step(Step::Signal { signal })
    }

    /// Aborts (SIGABRT), dumping core where the system allows it.
    pub fn abort_with_core_dump(self) -> Self {
        self.step(Step::Abort)
    }

    /// Ignores shutdown requests.
    pub fn ignore_shutdown(mut self) -> Self {
        self.on_shutdown = OnShutdown::Ignore;
        self
    }

    /// On a shutdown request, exits with `code` after `delay`.
    pub fn exit_on_shutdown(mut self, code: i32, delay: Duration) -> Self {
        self.on_shutdown = OnShutdown::Exit {
            code,
            after_ms: millis(delay),
        };
        self
    }

    /// The script as the JSON `config` of a bootstrap payload.
    pub fn to_config(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The script as the per-proc config of a
    /// [`BootstrapProcManager`](proc_manager_bootstrap::BootstrapProcManager)
    /// spawn (`spawn_with(id, addr, script.into_config())`).
    pub fn into_config(self) -> BootstrapProcConfig {
        BootstrapProcConfig::with_config(self.to_config())
    }

    /// The script in a payload's `config`; none means
    /// [`FakeChildScript::serving`].
    pub fn from_config(config: Option<&serde_json::Value>) -> Result<Self, serde_json::Error> {
        match config {
            None | Some(serde_json::Value::Null) => Ok(Self::serving()),
            Some(value) => Self::deserialize(value),
        }
    }
}
