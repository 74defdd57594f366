//! [`LogLine`] and [`LogStream`]: one line of a proc's output.
//!
//! Where lines go is [`crate::log_sink`]; several lines read at once are
//! [`crate::log_batch`]; the bounded tail is in [`crate::tail`].

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::id::ProcId;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogStream {
    /// The proc's standard output.
    Stdout,
    /// The proc's standard error.
    Stderr,
    /// A structured record the proc sent over its log channel.
    Channel,
}

impl LogStream {
    /// `"stdout"`, `"stderr"` or `"channel"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
            Self::Channel => "channel",
        }
    }
}

impl fmt::Display for LogStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line a proc wrote, without its line terminator. The bytes are not
/// assumed to be UTF-8.
///
/// ```
/// use std::time::SystemTime;
/// use proc_manager_core::{LogLine, LogStream, ProcId};
///
/// let line = LogLine::new(ProcId::new("p")?, LogStream::Stderr, &b"oops"[..]);
/// assert_eq!(line.text(), "oops");
/// # Ok::<(), proc_manager_core::ProcIdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The proc that wrote it.
    pub proc_id: ProcId,
    /// The stream it came from.
    pub stream: LogStream,
    /// The line, without `\n` or `\r\n`.
    pub bytes: Bytes,
    /// When the manager read it.
    pub timestamp: SystemTime,
}

impl LogLine {
    /// A line stamped now.
    pub fn new(proc_id: ProcId, stream: LogStream, bytes: impl Into<Bytes>) -> Self {
        Self {
            proc_id,
            stream,
            bytes: bytes.into(),
            timestamp: SystemTime::now(),
        }
    }

    /// The line as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}
