//! [`LogBatch`]: the lines of one read from a proc's stream, handed to a
//! sink at once ([`LogSink::log_batch`](crate::LogSink::log_batch)), each
//! line a borrowed slice of one buffer.
//!
//! A [`LogLine`] owns its bytes as a [`Bytes`], which costs a reference
//! count update per line; a sink that only looks at the bytes (counts them,
//! copies them into its own buffer) can take the batch instead and pay
//! nothing per line. Splitting the stream is the backends' job; this type
//! only describes what one split produced.

use std::ops::Range;
use std::time::SystemTime;

use bytes::Bytes;

use crate::id::ProcId;
use crate::log::{LogLine, LogStream};

/// Lines one proc wrote to one stream, read together.
///
/// `data` holds the lines, each ended by `\n` (a `\r` before it is not part
/// of the line), and at most one last line without an ending: a line cut at
/// the backend's length cap, or the last line of the stream.
///
/// ```
/// use proc_manager_core::{Bytes, LogBatch, LogStream, ProcId};
///
/// let id = ProcId::new("web")?;
/// let data = Bytes::from_static(b"GET /\r\nGET /health\nclosing");
/// let batch = LogBatch::new(&id, LogStream::Stdout, &data);
/// let lines: Vec<&[u8]> = batch.lines().collect();
/// assert_eq!(lines, [&b"GET /"[..], b"GET /health", b"closing"]);
///
/// // The same lines as owned `LogLine`s, sharing `data` (no copy).
/// let mut texts = Vec::new();
/// batch.each_line(|line| texts.push(line.text().into_owned()));
/// assert_eq!(texts, ["GET /", "GET /health", "closing"]);
/// # Ok::<(), proc_manager_core::ProcIdError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LogBatch<'a> {
    proc_id: &'a ProcId,
    stream: LogStream,
    timestamp: SystemTime,
    data: &'a Bytes,
}

impl<'a> LogBatch<'a> {
    /// The lines in `data` (see the type's docs), stamped now.
    pub fn new(proc_id: &'a ProcId, stream: LogStream, data: &'a Bytes) -> Self {
        Self::at(proc_id, stream, data, SystemTime::now())
    }

    /// The lines in `data`, read at `timestamp`.
    pub fn at(
        proc_id: &'a ProcId,
        stream: LogStream,
        data: &'a Bytes,
        timestamp: SystemTime,
    ) -> Self {
        Self {
            proc_id,
            stream,
            timestamp,
            data,
        }
    }

    /// The proc that wrote the lines.
    pub fn proc_id(&self) -> &'a ProcId {
        self.proc_id
    }

    /// The stream they came from.
    pub fn stream(&self) -> LogStream {
        self.stream
    }

    /// When the manager read them.
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }

    /// The lines, oldest first, without their endings.
    pub fn lines(&self) -> Lines<'a> {
        Lines {
            ranges: Ranges {
                data: &self.data[..],
                at: 0,
            },
        }
    }

    /// Calls `f` with each line as a [`LogLine`] whose bytes share the
    /// batch's buffer: what a sink that wants owned lines does with a batch.
    pub fn each_line(&self, mut f: impl FnMut(&LogLine)) {
        let mut line = LogLine {
            proc_id: self.proc_id.clone(),
            stream: self.stream,
            bytes: Bytes::new(),
            timestamp: self.timestamp,
        };
        for range in self.lines().ranges {
            line.bytes = self.data.slice(range);
            f(&line);
        }
    }
}

/// The lines of a [`LogBatch`], from [`LogBatch::lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    ranges: Ranges<'a>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let data = self.ranges.data;
        self.ranges.next().map(|range| &data[range])
    }
}

/// Where each line of a batch's buffer is: the one splitting rule, for
/// both the borrowed lines and the shared ones.
#[derive(Debug, Clone)]
struct Ranges<'a> {
    data: &'a [u8],
    /// Where the next line starts.
    at: usize,
}

impl Iterator for Ranges<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let rest = self.data.get(self.at..).filter(|rest| !rest.is_empty())?;
        let start = self.at;
        let range = match memchr::memchr(b'\n', rest) {
            Some(nl) => {
                self.at = start + nl + 1;
                let end = if nl > 0 && rest[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                start..start + end
            }
            None => {
                self.at = self.data.len();
                start..self.data.len()
            }
        };
        Some(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &'static [u8]) -> Vec<Vec<u8>> {
        let id = ProcId::new("t").unwrap();
        let data = Bytes::from_static(data);
        let batch = LogBatch::new(&id, LogStream::Stderr, &data);
        batch.lines().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn splits_on_newline_drops_cr_before_it_and_keeps_an_unended_last_line() {
        assert_eq!(lines(b"a\r\n\nb\n"), [&b"a"[..], b"", b"b"]);
        assert_eq!(lines(b"cut piece\r"), [&b"cut piece\r"[..]]);
        assert!(lines(b"").is_empty());
        assert_eq!(lines(b"\n"), [&b""[..]]);
    }

    #[test]
    fn each_line_shares_the_buffer_and_carries_the_batch_fields() {
        let id = ProcId::new("t").unwrap();
        let data = Bytes::from(b"one\r\ntwo".to_vec());
        let at = SystemTime::UNIX_EPOCH;
        let batch = LogBatch::at(&id, LogStream::Stderr, &data, at);
        let mut seen = Vec::new();
        batch.each_line(|line| {
            assert_eq!(line.proc_id, id);
            assert_eq!(line.stream, LogStream::Stderr);
            assert_eq!(line.timestamp, at);
            let inside = data.as_ptr_range();
            assert!(inside.contains(&line.bytes.as_ptr()), "a slice, not a copy");
            seen.push(line.bytes.clone());
        });
        assert_eq!(seen, [&b"one"[..], b"two"]);
    }
}
