//! The per-proc callback socket: waits for the child's hello (right token →
//! `Ready{addr}`), enforces the ready timeout, then keeps the connection as
//! the control channel until the child closes it or exits, noting a failure
//! report the child sends on it ([`crate::control`]) — or as the first frame
//! of another connection, before any hello. It also holds the proc's
//! registration with the manager's log socket ([`crate::log_channel`]), so
//! the proc's log connections are accepted exactly as long as it is served.
//!
//! A connection with a wrong token, a malformed or oversized frame, or no
//! frame in time is dropped with a warning and changes nothing; the server
//! keeps accepting until a valid hello or the proc's end. Sending stop
//! messages on the control channel is [`crate::proc_state`]'s job.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use proc_manager_core::ChannelAddr;
use tokio::io::BufReader;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tracing::Instrument as _;

use crate::control::{ControlReader, note_failure};
use crate::log_channel::LogRegistration;
use crate::proc_state::ProcShared;
use crate::protocol::{ChildFrame, FrameError, read_frame, tokens_match};
use crate::ready_driver;

/// How long one connection may take to send its hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The read buffer while waiting for a hello.
const HELLO_BUFFER: usize = 512;
/// Connections waiting for a hello at once; more are refused.
const MAX_PENDING: usize = 64;

type Hello = (BufReader<OwnedReadHalf>, OwnedWriteHalf, u32, ChannelAddr);

/// What the first frame of a callback connection with the right token was.
enum First {
    /// The hello: the connection becomes the control channel.
    Hello(Hello),
    /// A failure report from a child that never became ready; answered on
    /// this writer.
    Failure(String, OwnedWriteHalf),
}

async fn read_hello(stream: UnixStream, token: Arc<str>) -> Result<First, String> {
    let (read, write) = stream.into_split();
    // Small: a hello is one short line (`read_frame` copes with more).
    let mut reader = BufReader::with_capacity(HELLO_BUFFER, read);
    let mut buf = Vec::new();
    let frame = tokio::time::timeout(
        HELLO_TIMEOUT,
        read_frame::<_, ChildFrame>(&mut reader, &mut buf),
    )
    .await
    .map_err(|_| format!("no hello within {HELLO_TIMEOUT:?}"))?;
    match frame {
        Ok(Some(ChildFrame::Hello {
            token: presented,
            pid,
            addr,
        })) => {
            if tokens_match(&token, &presented) {
                Ok(First::Hello((reader, write, pid, addr)))
            } else {
                Err("hello with a wrong token".into())
            }
        }
        Ok(Some(ChildFrame::Failure {
            token: presented,
            reason,
        })) => {
            if tokens_match(&token, &presented) {
                Ok(First::Failure(reason, write))
            } else {
                Err("failure report with a wrong token".into())
            }
        }
        Ok(Some(other)) => Err(format!("expected a hello, got {other:?}")),
        Ok(None) => Err("connection closed before a hello".into()),
        Err(FrameError::TooLong) => Err("oversized frame".into()),
        Err(err) => Err(err.to_string()),
    }
}

/// Serves the callback socket of one proc until it is ready (then holds the
/// control channel) or has ended. Not ready within `ready_timeout` (`None`:
/// no deadline): the proc is stopped and ends `Failed{"not ready within …"}`
/// ([`ready_driver::not_ready`]).
///
/// Holds `log` (the proc's registration with the log socket) until the proc
/// ends.
pub(crate) async fn serve(
    listener: UnixListener,
    log: LogRegistration,
    shared: Arc<ProcShared>,
    token: String,
    ready_timeout: Option<Duration>,
) {
    let token: Arc<str> = Arc::from(token);
    let mut deadline = ready_driver::deadline_after(ready_timeout);
    let mut pending = FuturesUnordered::new();
    let hello = loop {
        tokio::select! {
            _ = shared.exited.cancelled() => return,
            () = ready_driver::deadline(deadline), if deadline.is_some() => {
                deadline = None;
                if let Some(timeout) = ready_timeout {
                    ready_driver::not_ready(&shared, timeout);
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if pending.len() < MAX_PENDING => {
                    pending.push(read_hello(stream, token.clone()));
                }
                Ok(_) => tracing::warn!(parent: &shared.span, "too many pending callback connections; dropped one"),
                Err(err) => {
                    tracing::warn!(parent: &shared.span, %err, "accept on callback socket failed");
                    // Do not spin on a persistent error (e.g. out of fds).
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(result) = pending.next(), if !pending.is_empty() => match result {
                Ok(First::Hello(hello)) => break hello,
                Ok(First::Failure(reason, mut write)) => note_failure(&shared, reason, &mut write).await,
                Err(reason) => tracing::warn!(parent: &shared.span, %reason, "dropped a callback connection"),
            },
        }
    };
    drop(pending);
    drop(listener);
    let (reader, writer, pid, addr) = hello;
    // Keep no buffer while holding the control channel for its whole life.
    let reader = ControlReader::new_after(reader);
    if pid != shared.group.pid() {
        tracing::debug!(parent: &shared.span, hello_pid = pid, "hello from a pid other than the leader");
    }
    *shared.control.lock().await = Some(writer);
    ready_driver::mark_ready(&shared, &addr);
    // The rest of the proc's life needs only the control reader: a task of
    // its own, sized for that, while this one (sized for accepting and
    // reading hellos) is freed.
    tokio::spawn(hold_control(reader, shared, log).in_current_span());
}

/// Holds the control channel (noting a failure report; anything else the
/// child sends on it is ignored) and the log registration until the proc
/// ends.
async fn hold_control(mut reader: ControlReader, shared: Arc<ProcShared>, log: LogRegistration) {
    let mut control_open = true;
    loop {
        tokio::select! {
            _ = shared.exited.cancelled() => break,
            frame = reader.next(), if control_open => match frame {
                Some(Ok(ChildFrame::Failure { reason, .. })) => {
                    // Boxed: rare, and its timer would enlarge every idle task.
                    Box::pin(note_reported_failure(&shared, reason)).await;
                }
                Some(Ok(other)) => tracing::debug!(parent: &shared.span, frame = ?other, "ignored a frame on the control connection"),
                Some(Err(err)) => tracing::warn!(parent: &shared.span, %err, "ignored a malformed frame on the control connection"),
                None => {
                    tracing::debug!(parent: &shared.span, "child closed its control connection");
                    control_open = false;
                    *shared.control.lock().await = None;
                }
            },
        }
    }
    *shared.control.lock().await = None;
    drop(log);
}

/// Notes a failure report that came on the control connection, answering
/// on it.
async fn note_reported_failure(shared: &ProcShared, reason: String) {
    if let Some(writer) = shared.control.lock().await.as_mut() {
        note_failure(shared, reason, writer).await;
    }
}
