//! The error types of the core traits (spawn, ready, wait, terminate), one
//! `#[non_exhaustive]` enum per concern. Each variant names the proc and the
//! cause.
//!
//! Backend-private errors convert into these; nothing here is specific to
//! one backend. Errors of parsing and validation live with what they
//! validate: [`crate::ProcIdError`] in `id.rs`, [`crate::AddrError`] in
//! `addr.rs`, [`crate::IllegalTransition`] in `status.rs`.

use std::io;
use std::time::Duration;

use crate::id::ProcId;
use crate::status::ProcStatus;

/// Spawning a proc failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// A live proc with this id already exists; it was left untouched.
    #[error("proc {proc_id}: a live proc with this id already exists")]
    Duplicate {
        /// The id asked for.
        proc_id: ProcId,
    },
    /// The program could not be started (missing, not executable, …).
    #[error("proc {proc_id}: cannot start program {program:?}: {source}")]
    BadCommand {
        /// The id asked for.
        proc_id: ProcId,
        /// The program that was to run.
        program: String,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// An I/O error while setting the proc up.
    #[error("proc {proc_id}: i/o error during spawn: {source}")]
    Io {
        /// The id asked for.
        proc_id: ProcId,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The configuration cannot be used.
    #[error("proc {proc_id}: bad config: {reason}")]
    BadConfig {
        /// The id asked for.
        proc_id: ProcId,
        /// What is wrong with it.
        reason: String,
    },
    /// The manager is shutting down and takes no new procs.
    #[error("proc {proc_id}: the manager is shut down")]
    ShutDown {
        /// The id asked for.
        proc_id: ProcId,
    },
}

impl SpawnError {
    /// The proc the error is about.
    pub fn proc_id(&self) -> &ProcId {
        match self {
            Self::Duplicate { proc_id }
            | Self::BadCommand { proc_id, .. }
            | Self::Io { proc_id, .. }
            | Self::BadConfig { proc_id, .. }
            | Self::ShutDown { proc_id } => proc_id,
        }
    }
}

/// A proc did not become ready.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReadyError {
    /// The proc reached a terminal status before it was ready. The message
    /// ends with the last lines the proc wrote to stderr, which usually say
    /// why.
    #[error("proc {proc_id} ended before it was ready: {status}{}", LastStderr(.status))]
    Terminal {
        /// The proc.
        proc_id: ProcId,
        /// Its terminal status.
        status: ProcStatus,
    },
    /// The proc was not ready within the given time.
    #[error("proc {proc_id} was not ready within {timeout:?}")]
    Timeout {
        /// The proc.
        proc_id: ProcId,
        /// How long we waited.
        timeout: Duration,
    },
    /// The status channel closed before the proc was ready.
    #[error("proc {proc_id}: status channel closed before it was ready")]
    ChannelClosed {
        /// The proc.
        proc_id: ProcId,
    },
}

impl ReadyError {
    /// The terminal status, for [`ReadyError::Terminal`].
    pub fn status(&self) -> Option<&ProcStatus> {
        match self {
            Self::Terminal { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// How many stderr lines a [`ReadyError`] message quotes.
const QUOTED_STDERR_LINES: usize = 3;

/// `; stderr: "a" | "b"`: the last stderr lines of a terminal status, for
/// an error message (nothing when there are none).
struct LastStderr<'a>(&'a ProcStatus);

impl std::fmt::Display for LastStderr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tail = self.0.stderr_tail().unwrap_or_default();
        let start = tail.len().saturating_sub(QUOTED_STDERR_LINES);
        for (i, line) in tail[start..].iter().enumerate() {
            f.write_str(if i == 0 { "; stderr: " } else { " | " })?;
            write!(f, "{line:?}")?;
        }
        Ok(())
    }
}

/// Waiting for a proc to end failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The status channel closed before the proc ended.
    #[error("proc {proc_id}: status channel closed before it ended")]
    ChannelClosed {
        /// The proc.
        proc_id: ProcId,
    },
    /// The proc did not end within the given time.
    #[error("proc {proc_id} did not end within {timeout:?}")]
    Timeout {
        /// The proc.
        proc_id: ProcId,
        /// How long we waited.
        timeout: Duration,
    },
}

/// Stopping a proc failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TerminateError {
    /// The proc had already ended before this call; here is how.
    #[error("proc {proc_id} had already ended: {status}")]
    AlreadyTerminated {
        /// The proc.
        proc_id: ProcId,
        /// Its terminal status.
        status: ProcStatus,
    },
    /// The backend cannot do this.
    #[error("proc {proc_id}: {operation} is not supported by this backend")]
    Unsupported {
        /// The proc.
        proc_id: ProcId,
        /// The operation asked for.
        operation: &'static str,
    },
    /// The status channel closed before the proc ended.
    #[error("proc {proc_id}: status channel closed before it ended")]
    ChannelClosed {
        /// The proc.
        proc_id: ProcId,
    },
    /// Signalling or waiting on the proc failed.
    #[error("proc {proc_id}: i/o error while stopping: {source}")]
    Io {
        /// The proc.
        proc_id: ProcId,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl TerminateError {
    /// The proc the error is about.
    pub fn proc_id(&self) -> &ProcId {
        match self {
            Self::AlreadyTerminated { proc_id, .. }
            | Self::Unsupported { proc_id, .. }
            | Self::ChannelClosed { proc_id }
            | Self::Io { proc_id, .. } => proc_id,
        }
    }

    /// The terminal status, for [`TerminateError::AlreadyTerminated`].
    pub fn status(&self) -> Option<&ProcStatus> {
        match self {
            Self::AlreadyTerminated { status, .. } => Some(status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(stderr_tail: &[&str]) -> ReadyError {
        ReadyError::Terminal {
            proc_id: ProcId::new("web").expect("id"),
            status: ProcStatus::Stopped {
                exit_code: 1,
                stderr_tail: stderr_tail.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    #[test]
    fn ready_error_quotes_the_last_stderr_lines() {
        let err = ended(&["starting", "bind: address in use", "giving up", "bye"]);
        assert_eq!(
            err.to_string(),
            "proc web ended before it was ready: stopped (exit code 1); \
             stderr: \"bind: address in use\" | \"giving up\" | \"bye\""
        );
    }

    #[test]
    fn ready_error_without_stderr_says_only_the_status() {
        assert_eq!(
            ended(&[]).to_string(),
            "proc web ended before it was ready: stopped (exit code 1)"
        );
    }
}
