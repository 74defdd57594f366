//! The exit monitor of one proc: forwards its output while waiting for the
//! leader to exit (its pidfd turns readable), kills the rest of the group
//! (by default), drains the output to end of stream within a deadline, reaps the leader, removes it
//! from the table, publishes the terminal status with the stderr tail, and
//! has its private dir removed (in the background).
//!
//! Signalling and reaping are in [`crate::group`]; reading output is in
//! [`crate::stdio`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{LogSink, ProcStatus};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;
use tokio::time::Instant;

use crate::group::{ExitKind, PidFdSource, ProcessGroup};
use crate::proc_state::ProcShared;
use crate::runtime_dir::remove_proc_dir_later;
use crate::stdio::{self, LineSplitter, lock_tail};
use crate::table::GroupTable;

/// How long output may still be read after the leader exited. A process
/// outside the group that holds the pipes open cannot hang the monitor.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// The same, when the proc was being stopped (the caller is waiting).
pub(crate) const STOPPING_DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// What the monitor owns.
pub(crate) struct Monitor {
    pub(crate) shared: Arc<ProcShared>,
    pub(crate) table: Arc<GroupTable>,
    /// The child's captured stdout and stderr, read by this same task.
    pub(crate) outputs: Vec<(pipe::Receiver, LineSplitter)>,
    pub(crate) sinks: Arc<[Arc<dyn LogSink>]>,
    pub(crate) proc_dir: PathBuf,
    pub(crate) kill_group_on_exit: bool,
}

impl Monitor {
    pub(crate) async fn run(self) {
        let Monitor {
            shared,
            table,
            outputs,
            sinks,
            proc_dir,
            kill_group_on_exit,
        } = self;
        let group = shared.group.clone();
        // Forward output while waiting for the exit, in this one task.
        let output = futures::future::join_all(
            outputs
                .into_iter()
                .map(|(pipe, splitter)| stdio::forward(pipe, splitter)),
        );
        tokio::pin!(output);
        let mut output_done = false;
        let exit = wait_exit(&group);
        tokio::pin!(exit);
        let peeked = loop {
            tokio::select! {
                kind = &mut exit => break kind,
                _ = &mut output, if !output_done => output_done = true,
            }
        };
        let exited_at = Instant::now();
        tracing::debug!(exit = ?peeked, "leader exited");
        shared.exited.cancel();
        if kill_group_on_exit {
            // The leader is a zombie, not reaped: the pgid is still ours.
            group.kill_now();
        }
        let drain = if shared.cell.status().is_stopping() {
            STOPPING_DRAIN_TIMEOUT
        } else {
            DRAIN_TIMEOUT
        };
        if !output_done
            && tokio::time::timeout_at(exited_at + drain, &mut output)
                .await
                .is_err()
        {
            tracing::debug!("output still open after the exit; stopped reading it");
        }
        for sink in sinks.iter() {
            sink.finish(&shared.proc_id);
        }
        let reaped = match group.reap() {
            Ok(kind) => kind.or(peeked),
            Err(err) => {
                tracing::warn!(%err, "reaping the child failed");
                peeked
            }
        };
        table.remove(group.pid());
        remove_proc_dir_later(proc_dir);
        *shared.control.lock().await = None;
        let stderr_tail = lock_tail(&shared.stderr_tail).lines();
        let status = match (shared.fail_reason(), reaped) {
            (Some(reason), _) => ProcStatus::Failed {
                reason,
                stderr_tail,
            },
            (None, Some(ExitKind::Code(exit_code))) => ProcStatus::Stopped {
                exit_code,
                stderr_tail,
            },
            (
                None,
                Some(ExitKind::Signal {
                    signal,
                    core_dumped,
                }),
            ) => ProcStatus::Killed {
                signal,
                core_dumped,
                stderr_tail,
            },
            (None, None) => ProcStatus::Failed {
                reason: "cannot read the exit status".into(),
                stderr_tail,
            },
        };
        tracing::info!(%status, "ended");
        if let Err(err) = shared.cell.transition(status) {
            tracing::warn!(%err, "terminal status refused");
        }
    }
}

/// Waits until the leader has exited; returns how (read without reaping).
async fn wait_exit(group: &Arc<ProcessGroup>) -> Option<ExitKind> {
    // SAFETY: `PidFdSource` holds the group, which owns the pidfd; only
    // `ProcessGroup::reap` closes it, and the monitor reaps only after this
    // function has returned and dropped the `AsyncFd`. So the fd stays open,
    // and `as_raw_fd` returns that same fd, for the `AsyncFd`'s whole life.
    let registered =
        unsafe { AsyncFd::register_with_interest(PidFdSource(group.clone()), Interest::READABLE) }
            .map_err(|e| e.into_parts().1);
    let afd = match registered {
        Ok(afd) => Some(afd),
        Err(err) => {
            tracing::warn!(%err, "cannot watch the pidfd; polling for the exit instead");
            None
        }
    };
    loop {
        match group.peek_exit() {
            Ok(Some(kind)) => return Some(kind),
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(%err, "waitid on the pidfd failed");
                return None;
            }
        }
        match &afd {
            Some(afd) => match afd.readable().await {
                Ok(mut guard) => guard.clear_ready(),
                Err(err) => {
                    tracing::warn!(%err, "waiting on the pidfd failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
