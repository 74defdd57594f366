//! Output forwarding: a child's stdout or stderr read from its pipe, split
//! into lines, fed to the sinks and kept in a bounded tail.
//!
//! Lines are bytes (not assumed UTF-8), split on `\n` with a `\r` before it
//! dropped; a final line without `\n` is kept at end of stream; a line
//! longer than [`MAX_LINE_BYTES`] is cut into pieces of that size, so
//! memory stays bounded whatever the child writes. Lines are slices of the
//! read buffer (no allocation per line); only the last lines of each read,
//! the ones the tail can keep, are copied. Each read's lines go to a sink
//! as one [`LogBatch`] where the sink takes batches, else line by line.
//!
//! Reading the pipes is [`crate::outputs`]'s job.
//!
//! Sinks are called inline: a slow sink slows the reader, the pipe fills and
//! the child blocks on write. Nothing queues without bound. Where the output
//! ends up is the sinks' business ([`proc_manager_core::LogSink`]).

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use proc_manager_core::{LogBatch, LogSink, LogStream, ProcId, TailBuffer};

use crate::log_match::LineMatch;

/// How much is read from the pipe at a time.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The longest line passed on whole; longer ones are cut into pieces.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A tail shared between the forwarder and the handle.
pub(crate) type SharedTail = Arc<Mutex<TailBuffer>>;

/// Locks a shared tail (a poisoned lock still holds valid lines).
pub(crate) fn lock_tail(tail: &SharedTail) -> std::sync::MutexGuard<'_, TailBuffer> {
    tail.lock().unwrap_or_else(|p| p.into_inner())
}

/// Splits a byte stream into lines and hands them on.
pub(crate) struct LineSplitter {
    proc_id: ProcId,
    stream: LogStream,
    /// When the lines being split were read.
    read_at: SystemTime,
    sinks: Arc<[Arc<dyn LogSink>]>,
    tail: SharedTail,
    max_line: usize,
    /// Reused: the ranges of the lines the tail keeps from one chunk.
    tail_ranges: Vec<(usize, usize)>,
    /// The `LogLine` readiness watch, until a line has matched.
    watch: Option<Arc<LineMatch>>,
}

impl LineSplitter {
    pub(crate) fn new(
        proc_id: ProcId,
        stream: LogStream,
        sinks: Arc<[Arc<dyn LogSink>]>,
        tail: SharedTail,
    ) -> Self {
        Self::with_max_line(proc_id, stream, sinks, tail, MAX_LINE_BYTES)
    }

    pub(crate) fn with_max_line(
        proc_id: ProcId,
        stream: LogStream,
        sinks: Arc<[Arc<dyn LogSink>]>,
        tail: SharedTail,
        max_line: usize,
    ) -> Self {
        Self {
            proc_id,
            stream,
            read_at: SystemTime::now(),
            sinks,
            tail,
            max_line: max_line.max(2),
            tail_ranges: Vec::new(),
            watch: None,
        }
    }

    /// The stream this splitter reads.
    pub(crate) fn stream(&self) -> LogStream {
        self.stream
    }

    /// Matches every line against `watch` until one matches.
    pub(crate) fn with_watch(mut self, watch: Arc<LineMatch>) -> Self {
        self.watch = Some(watch);
        self
    }

    /// Takes every complete line (and every over-long piece) out of `buf`,
    /// leaving only a partial line shorter than the line cap.
    pub(crate) fn process(&mut self, buf: &mut BytesMut) {
        self.read_at = SystemTime::now();
        if let Some(last) = memchr::memrchr(b'\n', buf) {
            let chunk = buf.split_to(last + 1).freeze();
            self.emit_chunk(&chunk);
        }
        while buf.len() >= self.max_line {
            let mut cut = self.max_line;
            // Do not split a "\r\n" across two pieces.
            if buf[cut - 1] == b'\r' {
                cut -= 1;
            }
            let piece = buf.split_to(cut).freeze();
            self.emit_one(piece);
        }
    }

    /// End of stream: the partial line left in `buf`, if any, is a line.
    pub(crate) fn finish(&mut self, buf: &mut BytesMut) {
        if !buf.is_empty() {
            self.read_at = SystemTime::now();
            let rest = buf.split().freeze();
            self.emit_one(rest);
        }
    }

    /// One line without an ending (a cut piece, or the stream's last).
    fn emit_one(&mut self, line: Bytes) {
        lock_tail(&self.tail).push(&line);
        self.emit(&line);
    }

    /// `chunk` ends with `\n`.
    fn emit_chunk(&mut self, chunk: &Bytes) {
        self.emit(chunk);
        self.push_tail(chunk);
    }

    /// Hands the lines in `data` (as [`LogBatch`] reads them) to each sink,
    /// as one batch or, for a sink that does not take batches, line by
    /// line; then to the readiness watch.
    fn emit(&mut self, data: &Bytes) {
        let batch = LogBatch::at(&self.proc_id, self.stream, data, self.read_at);
        for sink in self.sinks.iter() {
            if !sink.log_batch(&batch) {
                batch.each_line(|line| sink.log(line));
            }
        }
        let matched = self
            .watch
            .as_ref()
            .is_some_and(|watch| batch.lines().any(|line| watch.check(line)));
        if matched {
            self.watch = None;
        }
    }

    /// Pushes only the lines of `chunk` the tail can keep.
    fn push_tail(&mut self, chunk: &[u8]) {
        let mut tail = lock_tail(&self.tail);
        let (max_lines, max_bytes) = (tail.max_lines(), tail.max_bytes());
        self.tail_ranges.clear();
        let mut end = chunk.len() - 1;
        let mut kept = 0usize;
        while self.tail_ranges.len() < max_lines {
            let start = memchr::memrchr(b'\n', &chunk[..end]).map_or(0, |p| p + 1);
            let trimmed = trim_cr(chunk, start, end);
            self.tail_ranges.push((start, trimmed));
            kept += trimmed - start;
            if start == 0 || kept >= max_bytes {
                break;
            }
            end = start - 1;
        }
        for &(start, end) in self.tail_ranges.iter().rev() {
            tail.push(&chunk[start..end]);
        }
    }
}

/// The end of the line `chunk[start..nl]` without a trailing `\r`.
fn trim_cr(chunk: &[u8], start: usize, nl: usize) -> usize {
    if nl > start && chunk[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    }
}

#[cfg(test)]
mod tests {
    use proc_manager_core::LogLine;

    use super::*;

    fn splitter(max_line: usize) -> (LineSplitter, Arc<Mutex<Vec<Vec<u8>>>>, SharedTail) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink: Arc<dyn LogSink> = Arc::new({
            let seen = seen.clone();
            move |line: &LogLine| seen.lock().expect("lock").push(line.bytes.to_vec())
        });
        let tail = Arc::new(Mutex::new(TailBuffer::new(3, 1024)));
        let s = LineSplitter::with_max_line(
            ProcId::new("t").expect("id"),
            LogStream::Stdout,
            Arc::from(vec![sink]),
            tail.clone(),
            max_line,
        );
        (s, seen, tail)
    }

    fn feed(s: &mut LineSplitter, parts: &[&[u8]]) {
        let mut buf = BytesMut::new();
        for part in parts {
            buf.extend_from_slice(part);
            s.process(&mut buf);
        }
        s.finish(&mut buf);
    }

    #[test]
    fn splits_on_newline_strips_cr_and_keeps_final_partial() {
        let (mut s, seen, tail) = splitter(1024);
        feed(&mut s, &[b"a\r\nb", b"c\n\n", b"\xffd"]);
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(
            seen,
            vec![b"a".to_vec(), b"bc".to_vec(), vec![], b"\xffd".to_vec()]
        );
        assert_eq!(lock_tail(&tail).lines(), vec!["bc", "", "\u{fffd}d"]);
    }

    #[test]
    fn long_line_is_cut_into_bounded_pieces() {
        let (mut s, seen, _) = splitter(4);
        feed(&mut s, &[b"0123456789", b"ab\n"]);
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(
            seen,
            vec![b"0123".to_vec(), b"4567".to_vec(), b"89ab".to_vec()]
        );
    }

    #[test]
    fn cut_does_not_split_crlf() {
        let (mut s, seen, _) = splitter(4);
        feed(&mut s, &[b"abc\r\nxy"]);
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen, vec![b"abc".to_vec(), b"xy".to_vec()]);
    }

    #[test]
    fn watch_sees_whole_lines_and_is_dropped_after_a_match() {
        let (s, _, _) = splitter(8);
        let fired = Arc::new(Mutex::new(Vec::new()));
        let regex = regex::bytes::Regex::new("^ready$").expect("regex");
        let watch = Arc::new(LineMatch::new(regex, {
            let fired = fired.clone();
            move || fired.lock().expect("lock").push(())
        }));
        let mut s = s.with_watch(watch.clone());
        // Split across reads, with a CR, then a long line cut in pieces.
        feed(&mut s, &[b"not yet\nrea", b"dy\r\nready\n"]);
        assert_eq!(fired.lock().expect("lock").len(), 1);
        assert!(watch.is_spent());
        assert!(s.watch.is_none());
    }

    #[test]
    fn watch_sees_a_final_partial_line() {
        let (s, _, _) = splitter(1024);
        let regex = regex::bytes::Regex::new("up").expect("regex");
        let watch = Arc::new(LineMatch::new(regex, || {}));
        let mut s = s.with_watch(watch.clone());
        feed(&mut s, &[b"booting\nup"]);
        assert!(watch.is_spent());
    }

    #[test]
    fn tail_gets_only_last_lines_of_a_chunk() {
        let (mut s, seen, tail) = splitter(1024);
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        feed(&mut s, &[text.as_bytes()]);
        assert_eq!(seen.lock().expect("lock").len(), 1000);
        assert_eq!(
            lock_tail(&tail).lines(),
            vec!["line 997", "line 998", "line 999"]
        );
    }

    /// Takes batches, recording each batch's lines.
    #[derive(Default)]
    struct Batches(Mutex<Vec<Vec<Vec<u8>>>>);

    impl LogSink for Batches {
        fn log(&self, line: &LogLine) {
            self.0.lock().expect("lock").push(vec![line.bytes.to_vec()]);
        }
        fn log_batch(&self, batch: &LogBatch<'_>) -> bool {
            let lines = batch.lines().map(<[u8]>::to_vec).collect();
            self.0.lock().expect("lock").push(lines);
            true
        }
    }

    #[test]
    fn a_sink_that_takes_batches_gets_each_read_at_once_and_the_same_lines() {
        let batches = Arc::new(Batches::default());
        let per_line = Arc::new(Mutex::new(Vec::new()));
        let sinks: Vec<Arc<dyn LogSink>> = vec![batches.clone(), {
            let per_line = per_line.clone();
            Arc::new(move |line: &LogLine| per_line.lock().expect("lock").push(line.bytes.to_vec()))
        }];
        let mut s = LineSplitter::with_max_line(
            ProcId::new("t").expect("id"),
            LogStream::Stdout,
            Arc::from(sinks),
            Arc::new(Mutex::new(TailBuffer::new(10, 1024))),
            4,
        );
        // One read of two lines and a partial one, then a cut piece and
        // the stream's last line.
        feed(&mut s, &[b"a\r\nbb\nccc", b"cc", b"\nx"]);
        let got = batches.0.lock().expect("lock").clone();
        let b = |l: &[&[u8]]| l.iter().map(|x| x.to_vec()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![b(&[b"a", b"bb"]), b(&[b"cccc"]), b(&[b"c"]), b(&[b"x"])]
        );
        let flat: Vec<Vec<u8>> = got.into_iter().flatten().collect();
        assert_eq!(
            *per_line.lock().expect("lock"),
            flat,
            "both sinks saw the same lines"
        );
    }
}
