//! Splitting a child's output into bounded lines.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest line kept; the rest of a longer line is dropped.
pub(super) const MAX_LINE: usize = 16 * 1024;

/// Calls `on_line` with each line of `reader` (without its `\n`, cut to
/// [`MAX_LINE`] bytes) until EOF or a read error. A last line without a
/// newline is delivered too.
pub(super) async fn for_each_line<R: AsyncBufRead + Unpin>(
    mut reader: R,
    mut on_line: impl FnMut(&[u8]),
) {
    let mut line = Vec::new();
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let (taken, complete) = match chunk.iter().position(|b| *b == b'\n') {
            Some(end) => (&chunk[..end], Some(end + 1)),
            None => (chunk, None),
        };
        let room = MAX_LINE.saturating_sub(line.len());
        line.extend_from_slice(&taken[..taken.len().min(room)]);
        let used = complete.unwrap_or(chunk.len());
        reader.consume(used);
        if complete.is_some() {
            on_line(&line);
            line.clear();
        }
    }
    if !line.is_empty() {
        on_line(&line);
    }
}
