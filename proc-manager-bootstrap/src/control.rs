//! What a child sends on its control connection once it is ready, read
//! without keeping a buffer while it is idle ([`ControlReader`]), and the
//! manager's answer to a failure report ([`note_failure`]), which also
//! serves a report made before any hello.
//!
//! Accepting the connection and the hello is [`crate::callback`]'s job; the
//! recorded reason becomes `Failed { reason }` in [`crate::exit_monitor`]
//! (through [`ProcShared::fail_reason`]).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWrite, BufReader};
use tokio::net::unix::OwnedReadHalf;

use crate::proc_state::ProcShared;
use crate::protocol::{ChildFrame, MAX_FRAME_BYTES, ManagerFrame, write_frame};

/// How long answering a failure report may take.
const NOTE_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Reads frames from the control connection. Unlike
/// [`crate::protocol::read_frame`] it is cancel-safe (a partial frame is
/// kept across calls, so it can sit in a `select!` beside other work) and
/// holds no buffer while the child sends nothing, which is almost always.
pub(crate) struct ControlReader {
    half: OwnedReadHalf,
    partial: Vec<u8>,
}

impl ControlReader {
    /// Reads from `half`, after `buffered`: what the hello's reader had
    /// already read past the hello (the child may send right after it).
    fn new(half: OwnedReadHalf, buffered: &[u8]) -> Self {
        Self {
            half,
            partial: buffered.to_vec(),
        }
    }

    /// Takes over the hello's reader, keeping what it buffered but not its
    /// buffer.
    pub(crate) fn new_after(reader: BufReader<OwnedReadHalf>) -> Self {
        let buffered = reader.buffer().to_vec();
        Self::new(reader.into_inner(), &buffered)
    }

    /// The next frame, `Some(Err)` for one that is not valid JSON of a
    /// [`ChildFrame`], `None` once the connection has ended (or failed, or
    /// sent a frame over [`MAX_FRAME_BYTES`]).
    pub(crate) async fn next(&mut self) -> Option<Result<ChildFrame, serde_json::Error>> {
        let mut scratch = [0u8; 64];
        loop {
            if let Some(end) = memchr::memchr(b'\n', &self.partial) {
                let frame = serde_json::from_slice(&self.partial[..end]);
                self.partial.drain(..=end);
                if self.partial.is_empty() {
                    self.partial = Vec::new();
                }
                return Some(frame);
            }
            match self.half.read(&mut scratch).await {
                Ok(0) | Err(_) => return None,
                Ok(n) if self.partial.len().saturating_add(n) > MAX_FRAME_BYTES => return None,
                Ok(n) => self.partial.extend_from_slice(&scratch[..n]),
            }
        }
    }
}

/// Records the child's failure `reason` (the exit then maps to
/// `Failed { reason }`, unless the manager already had a reason of its own)
/// and tells the child on `writer` that it may exit.
pub(crate) async fn note_failure<W>(shared: &ProcShared, reason: String, writer: &mut W)
where
    W: AsyncWrite + Unpin + Send,
{
    tracing::info!(parent: &shared.span, %reason, "the proc reported a failure");
    shared.set_fail_reason(reason);
    let answered = tokio::time::timeout(
        NOTE_WRITE_TIMEOUT,
        write_frame(writer, &ManagerFrame::FailureNoted),
    )
    .await
    .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()));
    if let Err(err) = answered {
        // The child exits anyway after its own timeout; the reason stands.
        tracing::debug!(parent: &shared.span, %err, "could not answer the failure report");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn frames_split_across_reads_and_the_end_are_seen() {
        let (a, b) = tokio::net::UnixStream::pair().expect("pair");
        let (read, _write) = a.into_split();
        let mut reader = ControlReader::new(read, br#"{"type":"failure","#);
        let mut b = b;
        b.write_all(br#""token":"t","#).await.expect("write");
        let first = tokio::spawn(async move {
            let frame = reader.next().await;
            (reader, frame)
        });
        b.write_all(b"\"reason\":\"boom\"}\nnot json\n")
            .await
            .expect("write");
        let (mut reader, frame) = first.await.expect("task");
        assert_eq!(
            frame.expect("a frame").expect("valid"),
            ChildFrame::Failure {
                token: "t".into(),
                reason: "boom".into()
            }
        );
        assert!(matches!(reader.next().await, Some(Err(_))));
        drop(b);
        assert!(reader.next().await.is_none());
        assert_eq!(reader.partial.capacity(), 0, "no buffer kept while idle");
    }
}
