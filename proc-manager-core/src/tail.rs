//! [`TailBuffer`]: the last lines of a stream, bounded in line count and in
//! bytes.
//!
//! Splitting a byte stream into lines is the backends' job; this buffer only
//! keeps what it is given, within bounds.

use std::collections::VecDeque;

/// The last lines of a stream, holding at most `max_lines` lines and
/// `max_bytes` bytes of line content. A line longer than `max_bytes` is cut
/// to its first `max_bytes` bytes (never kept whole).
///
/// ```
/// use proc_manager_core::TailBuffer;
///
/// let mut tail = TailBuffer::new(2, 1024);
/// for line in ["one", "two", "three"] {
///     tail.push(line.as_bytes());
/// }
/// assert_eq!(tail.lines(), vec!["two".to_string(), "three".to_string()]);
///
/// let mut small = TailBuffer::new(10, 4);
/// small.push(b"abcdefgh");
/// assert_eq!(small.lines(), vec!["abcd".to_string()]);
/// ```
#[derive(Debug, Clone)]
pub struct TailBuffer {
    max_lines: usize,
    max_bytes: usize,
    lines: VecDeque<Box<[u8]>>,
    bytes: usize,
    dropped: u64,
}

impl TailBuffer {
    /// Default line bound used by the backends.
    pub const DEFAULT_MAX_LINES: usize = 100;
    /// Default byte bound used by the backends.
    pub const DEFAULT_MAX_BYTES: usize = 16 * 1024;

    /// An empty buffer with these bounds.
    pub fn new(max_lines: usize, max_bytes: usize) -> Self {
        Self {
            max_lines,
            max_bytes,
            lines: VecDeque::with_capacity(max_lines.min(16)),
            bytes: 0,
            dropped: 0,
        }
    }

    /// Keeps `line` (cut to `max_bytes`), evicting the oldest lines as needed.
    pub fn push(&mut self, line: &[u8]) {
        if self.max_lines == 0 {
            self.dropped += 1;
            return;
        }
        let line = &line[..line.len().min(self.max_bytes)];
        while self.lines.len() >= self.max_lines
            || (!self.lines.is_empty() && self.bytes + line.len() > self.max_bytes)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
                self.dropped += 1;
            }
        }
        self.bytes += line.len();
        self.lines.push_back(line.into());
    }

    /// The kept lines, oldest first, as text (invalid UTF-8 replaced).
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    /// The kept lines, oldest first, as bytes.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.lines.iter().map(|l| &l[..])
    }

    /// Number of lines kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes of line content kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Lines evicted or refused so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The line bound.
    pub fn max_lines(&self) -> usize {
        self.max_lines
    }

    /// The byte bound.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

impl Default for TailBuffer {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_LINES, Self::DEFAULT_MAX_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_last_lines_within_both_bounds() {
        let mut tail = TailBuffer::new(3, 10);
        for line in ["aaaa", "bbbb", "cccc", "ddd"] {
            tail.push(line.as_bytes());
            assert!(tail.len() <= 3 && tail.bytes() <= 10);
        }
        // 4 + 4 + 3 bytes would exceed 10, so "bbbb" goes too.
        assert_eq!(tail.lines(), vec!["cccc", "ddd"]);
        assert_eq!(tail.dropped(), 2);
    }

    #[test]
    fn long_line_is_cut() {
        let mut tail = TailBuffer::new(3, 5);
        tail.push(b"x");
        tail.push(b"0123456789");
        assert_eq!(tail.lines(), vec!["01234"]);
    }

    #[test]
    fn zero_bounds_keep_nothing_or_empty_lines() {
        let mut none = TailBuffer::new(0, 10);
        none.push(b"a");
        assert!(none.is_empty());
        let mut empty = TailBuffer::new(2, 0);
        empty.push(b"abc");
        assert_eq!(empty.lines(), vec![""]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut tail = TailBuffer::new(2, 10);
        tail.push(&[0xff, b'a']);
        assert_eq!(tail.lines(), vec!["\u{fffd}a"]);
    }
}
