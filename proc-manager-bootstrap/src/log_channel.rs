//! The per-proc log socket (`BOOTSTRAP_LOG_CHANNEL`): a child connects,
//! presents its token in a `LogHello`, then sends `Log` records, which reach
//! the same sinks as its output lines, tagged [`LogStream::Channel`].
//!
//! A connection with a wrong token or a bad frame is dropped with a warning.
//! Once the proc has exited, connections get a short grace period to deliver
//! what is already buffered. The child-side writer is in [`crate::child`].

use std::io;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{LogLine, LogSink, LogStream, ProcId, ProcLog};
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::net::unix::SocketAddr;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::protocol::{ChildFrame, read_frame, tokens_match};

/// How long a connection may keep delivering after the proc exited.
const GRACE_AFTER_EXIT: Duration = Duration::from_millis(500);
/// How long a connection may take to present its token.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// What a log connection needs.
#[derive(Clone)]
pub(crate) struct LogTarget {
    pub(crate) proc_id: ProcId,
    pub(crate) token: Arc<str>,
    pub(crate) sinks: Arc<[Arc<dyn LogSink>]>,
    pub(crate) exited: CancellationToken,
}

/// Handles one accepted log connection (a task of its own), or an accept
/// error (with a short pause, so a persistent error such as running out of
/// fds does not spin).
pub(crate) async fn accepted(result: io::Result<(UnixStream, SocketAddr)>, target: &LogTarget) {
    match result {
        Ok((stream, _)) => {
            tokio::spawn(connection(stream, target.clone()).in_current_span());
        }
        Err(err) => {
            tracing::warn!(%err, "accept on log socket failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn connection(stream: UnixStream, target: LogTarget) {
    // Small: records are short lines (`read_frame` copes with long ones).
    let mut reader = BufReader::with_capacity(1024, stream);
    let mut buf = Vec::new();
    let grace = async {
        target.exited.cancelled().await;
        tokio::time::sleep(GRACE_AFTER_EXIT).await;
    };
    tokio::pin!(grace);
    let hello = tokio::select! {
        _ = &mut grace => return,
        hello = tokio::time::timeout(HELLO_TIMEOUT, read_frame::<_, ChildFrame>(&mut reader, &mut buf)) => hello,
    };
    match hello {
        Ok(Ok(Some(ChildFrame::LogHello { token, .. }))) if tokens_match(&target.token, &token) => {
        }
        Ok(Ok(None)) => return,
        other => {
            let what = match other {
                Ok(Ok(Some(ChildFrame::LogHello { .. }))) => "a wrong token".to_owned(),
                Ok(Ok(frame)) => format!("{frame:?} instead of a log hello"),
                Ok(Err(err)) => err.to_string(),
                Err(_) => format!("no log hello within {HELLO_TIMEOUT:?}"),
            };
            tracing::warn!(reason = %what, "dropped a log connection");
            return;
        }
    }
    let mut line = LogLine::new(target.proc_id.clone(), LogStream::Channel, Vec::new());
    loop {
        let frame = tokio::select! {
            _ = &mut grace => return,
            frame = read_frame::<_, ChildFrame>(&mut reader, &mut buf) => frame,
        };
        match frame {
            Ok(Some(ChildFrame::Log { level, message })) => {
                line.timestamp = std::time::SystemTime::now();
                line.bytes = ProcLog::record_text(&level, &message).into();
                for sink in target.sinks.iter() {
                    sink.log(&line);
                }
            }
            Ok(Some(other)) => tracing::debug!(frame = ?other, "ignored frame on log channel"),
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(%err, "dropped a log connection");
                return;
            }
        }
    }
}
