//! Telling the manager why the worker failed, before the process exits: a
//! [`ChildFrame::Failure`] on the control connection (after a hello) or on
//! a fresh callback connection (never ready), then a bounded wait for the
//! manager's [`ManagerFrame::FailureNoted`].
//!
//! Which connection to use is the context's decision
//! ([`super::ChildContext`]); what the process does afterwards (its exit
//! code) is the parent module's.

use std::io;
use std::time::Duration;

use proc_manager_core::ChannelAddr;
use tokio::io::BufReader;

use super::connect::connect;
use crate::protocol::{
    ChildFrame, MAX_REASON_BYTES, ManagerFrame, read_frame, truncate_on_char_boundary, write_frame,
};

/// How long the child waits for the manager to note its failure before it
/// exits anyway (the manager then sees only the exit code and the stderr
/// tail).
pub const FAILURE_REPORT_TIMEOUT: Duration = Duration::from_secs(1);

/// The failure frame for `reason` (cut to [`MAX_REASON_BYTES`]).
pub(crate) fn failure_frame(token: &str, reason: &str) -> ChildFrame {
    let mut reason = reason.to_owned();
    truncate_on_char_boundary(&mut reason, MAX_REASON_BYTES);
    ChildFrame::Failure {
        token: token.to_owned(),
        reason,
    }
}

/// Connects to the callback socket, sends `frame` as the first frame and
/// waits for the manager's note (the caller bounds the wait).
pub(crate) async fn on_fresh_connection(
    callback: &ChannelAddr,
    frame: &ChildFrame,
) -> io::Result<()> {
    let stream = connect(callback).await?;
    let (read, mut write) = tokio::io::split(stream);
    write_frame(&mut write, frame).await?;
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    loop {
        match read_frame::<_, ManagerFrame>(&mut reader, &mut buf).await {
            Ok(Some(ManagerFrame::FailureNoted)) => return Ok(()),
            Ok(Some(other)) => tracing::debug!(frame = ?other, "ignored while reporting a failure"),
            Ok(None) => {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the manager closed the connection without noting the failure",
                ));
            }
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}
