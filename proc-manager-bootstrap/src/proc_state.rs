//! [`ProcShared`]: the state of one proc shared by its handle and the tasks
//! that supervise it (exit monitor, callback server, output forwarders),
//! and the two ways of stopping it (polite request, forced kill).
//!
//! The public handle wrapping it is in [`crate::handle`]; the sequence that
//! combines the two ways (ask, wait, escalate) is in [`crate::stop`].

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proc_manager_core::{ProcId, ProcStatus, StatusCell};
use rustix::process::Signal;
use tokio::net::unix::OwnedWriteHalf;
use tokio::process::ChildStdin;
use tokio_util::sync::CancellationToken;

use crate::cgroup::ProcCgroup;
use crate::group::ProcessGroup;
use crate::os::ChildOs;
use crate::pidfd::PidFd;
use crate::proc_notes::ProcNotes;
use crate::protocol::{ManagerFrame, write_frame};
use crate::stdio::SharedTail;

/// How long writing a stop message may take before we fall back to the
/// stop signal.
const STOP_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// How a proc is stopped when it holds no control connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StopPolicy {
    /// The polite request (default SIGTERM).
    pub(crate) signal: crate::Signal,
    /// How long a stop the manager starts itself (not ready in time,
    /// watchdog) waits after the polite request before SIGKILL.
    pub(crate) timeout: Duration,
}

impl StopPolicy {
    /// The default stop timeout.
    pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
}

impl Default for StopPolicy {
    fn default() -> Self {
        Self {
            signal: crate::Signal::SIGTERM,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// One proc's shared state.
#[derive(Debug)]
pub(crate) struct ProcShared<O: ChildOs = PidFd> {
    pub(crate) proc_id: ProcId,
    pub(crate) cell: StatusCell,
    pub(crate) group: Arc<ProcessGroup<O>>,
    /// The write half of the child's callback connection, while it holds
    /// one: the control channel for polite stops.
    pub(crate) control: tokio::sync::Mutex<Option<OwnedWriteHalf>>,
    pub(crate) stdout_tail: SharedTail,
    pub(crate) stderr_tail: SharedTail,
    /// Set before the manager kills the proc for a reason of its own (not
    /// ready in time), or when the child reports that its code failed (an
    /// error or a panic; [`crate::control`]): the exit then maps to
    /// `Failed{reason}`. The first reason wins.
    pub(crate) fail_reason: Mutex<Option<String>>,
    /// Cancelled by the exit monitor once the leader has exited.
    pub(crate) exited: CancellationToken,
    /// Whether the polite request was already made.
    polite_sent: AtomicBool,
    pub(crate) span: tracing::Span,
    /// The stop signal and stop timeout.
    pub(crate) stop: StopPolicy,
    /// What the proc said about itself (notify protocol).
    pub(crate) notes: ProcNotes,
    /// The write end of a piped stdin, until the caller takes it.
    pub(crate) stdin: Mutex<Option<ChildStdin>>,
    /// The proc's cgroup, under cgroup containment: every kill goes to all
    /// of it, and the proc ends only once it is empty.
    pub(crate) cgroup: Option<ProcCgroup>,
}

impl<O: ChildOs> ProcShared<O> {
    pub(crate) fn new(
        proc_id: ProcId,
        cell: StatusCell,
        group: Arc<ProcessGroup<O>>,
        stdout_tail: SharedTail,
        stderr_tail: SharedTail,
        span: tracing::Span,
    ) -> Self {
        Self {
            proc_id,
            cell,
            group,
            control: tokio::sync::Mutex::new(None),
            stdout_tail,
            stderr_tail,
            fail_reason: Mutex::new(None),
            exited: CancellationToken::new(),
            polite_sent: AtomicBool::new(false),
            span,
            stop: StopPolicy::default(),
            notes: ProcNotes::default(),
            stdin: Mutex::new(None),
            cgroup: None,
        }
    }

    /// The same, with the proc's cgroup.
    pub(crate) fn with_cgroup(mut self, cgroup: Option<ProcCgroup>) -> Self {
        self.cgroup = cgroup;
        self
    }

    /// Sets the stop signal and timeout.
    /// Uses `exited` as the exit token: one made before the fork, so what
    /// was registered with it then (the log socket's entry) sees the exit.
    pub(crate) fn with_exited(mut self, exited: CancellationToken) -> Self {
        self.exited = exited;
        self
    }

    pub(crate) fn with_stop(mut self, stop: StopPolicy) -> Self {
        self.stop = stop;
        self
    }

    /// Hands over the write end of a piped stdin.
    pub(crate) fn with_stdin(self, stdin: Option<ChildStdin>) -> Self {
        *self.stdin.lock().unwrap_or_else(|p| p.into_inner()) = stdin;
        self
    }

    /// Takes the piped stdin (once).
    pub(crate) fn take_stdin(&self) -> Option<ChildStdin> {
        self.stdin.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Sends `signal` to the whole proc. `Ok(false)` when it has ended.
    pub(crate) fn signal(&self, signal: crate::Signal) -> io::Result<bool> {
        if self.cell.inspect(ProcStatus::is_exit) {
            return Ok(false);
        }
        tracing::debug!(parent: &self.span, %signal, "sending a signal to the process group");
        self.group.signal_group(crate::signal::to_os(signal)?)?;
        Ok(true)
    }

    /// Records why the manager is about to kill the proc (first reason wins).
    pub(crate) fn set_fail_reason(&self, reason: String) {
        let mut slot = self.fail_reason.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(reason);
    }

    /// The recorded failure reason, if any.
    pub(crate) fn fail_reason(&self) -> Option<String> {
        self.fail_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Asks the proc to stop, once: a stop message on the control channel if
    /// the child holds one, else the stop signal (SIGTERM by default) to its
    /// group.
    pub(crate) async fn request_stop(&self, reason: &str) -> io::Result<()> {
        if self.polite_sent.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let mut control = self.control.lock().await;
        if let Some(writer) = control.as_mut() {
            let frame = ManagerFrame::Stop {
                reason: reason.to_owned(),
            };
            match tokio::time::timeout(STOP_WRITE_TIMEOUT, write_frame(writer, &frame)).await {
                Ok(Ok(())) => {
                    tracing::debug!(parent: &self.span, reason, "sent stop message");
                    return Ok(());
                }
                Ok(Err(err)) => {
                    tracing::debug!(parent: &self.span, %err, "stop message failed; sending the stop signal")
                }
                Err(_) => {
                    tracing::debug!(parent: &self.span, "stop message timed out; sending the stop signal")
                }
            }
            *control = None;
        }
        drop(control);
        let signal = self.stop.signal;
        tracing::debug!(parent: &self.span, reason, %signal, "sending the stop signal to the process group");
        self.group.signal_group(crate::signal::to_os(signal)?)
    }

    /// SIGKILLs the proc's group now, then everything in its cgroup. The
    /// group first: one cheap signal, while a cgroup write can wait on the
    /// kernel's cgroup lock behind other procs' exits, so under a bulk kill
    /// the leaders start dying without queueing for it.
    pub(crate) fn force_kill(&self) -> io::Result<()> {
        tracing::debug!(parent: &self.span, "sending SIGKILL to the process group");
        let signalled = self.group.signal_group(Signal::KILL);
        if let Some(cgroup) = &self.cgroup {
            tracing::debug!(parent: &self.span, "killing the proc's cgroup");
            cgroup.kill()?;
        }
        signalled
    }
}
