//! The monitor of one Ready incarnation: a task that waits for its end, or
//! runs its liveness probe and stops it when the probe fails, and reports
//! the end (tagged with the incarnation) to the supervision loop.
//!
//! Deciding what the end means is the loop's job (`runner.rs`).

use std::time::Duration;

use proc_manager_core::{ProcHandle, ProcStatus};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::Instrument;

use crate::liveness::Liveness;
use crate::stop::stop_one;

/// An incarnation ended.
#[derive(Debug)]
pub(crate) struct End {
    /// The child's start-order position.
    pub(crate) index: usize,
    /// Which incarnation.
    pub(crate) generation: u64,
    /// How it ended (for a liveness failure, `Failed { "liveness: …" }`).
    pub(crate) status: ProcStatus,
}

/// What a monitor is given.
#[derive(Debug)]
pub(crate) struct Watch<H> {
    pub(crate) index: usize,
    pub(crate) generation: u64,
    pub(crate) handle: H,
    pub(crate) liveness: Option<Liveness<H>>,
    pub(crate) shutdown: Duration,
    /// The child's span: the probe's and the stop's logs go in it.
    pub(crate) span: tracing::Span,
}

/// Starts the monitor task; abort it once the incarnation is no longer the
/// loop's concern.
pub(crate) fn spawn<H: ProcHandle>(
    watch: Watch<H>,
    ends: mpsc::UnboundedSender<End>,
) -> AbortHandle {
    let span = watch.span.clone();
    tokio::spawn(
        async move {
            let status = watch_end(&watch.handle, watch.liveness, watch.shutdown).await;
            let _ = ends.send(End {
                index: watch.index,
                generation: watch.generation,
                status,
            });
        }
        .instrument(span),
    )
    .abort_handle()
}

async fn watch_end<H: ProcHandle>(
    handle: &H,
    liveness: Option<Liveness<H>>,
    shutdown: Duration,
) -> ProcStatus {
    let Some(liveness) = liveness else {
        return end_of(handle).await;
    };
    tokio::select! {
        status = end_of(handle) => status,
        reason = liveness.until_failed(handle.clone()) => {
            tracing::warn!(proc_id = %handle.proc_id(), %reason, "stopping child");
            let (status, _) = stop_one(handle, shutdown, &reason).await;
            ProcStatus::Failed {
                reason,
                stderr_tail: status.stderr_tail().map(<[String]>::to_vec).unwrap_or_default(),
            }
        }
    }
}

/// The terminal status of `handle`; a lost status channel is a failure.
pub(crate) async fn end_of<H: ProcHandle>(handle: &H) -> ProcStatus {
    handle
        .wait()
        .await
        .unwrap_or_else(|err| ProcStatus::Failed {
            reason: err.to_string(),
            stderr_tail: Vec::new(),
        })
}
