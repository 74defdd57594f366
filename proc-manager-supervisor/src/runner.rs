//! The supervision loop: one task per supervisor that starts the children
//! in order, reacts to each end by the child's restart type, the strategy
//! and the intensity, waits out back-offs, and stops everything in reverse
//! start order on `stop`, on giving up, or when every handle is gone.
//!
//! The rules it applies are pure and live elsewhere ([`crate::Restart`],
//! [`crate::Strategy`], `intensity.rs`, `backoff.rs`, `pending.rs`); the
//! per-incarnation watching is `monitor.rs`, stopping one child `stop.rs`.

use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{
    ProcHandle, ProcManager, ProcStatus, ReadyError, SpawnError, TerminateSummary,
};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::child::Child;
use crate::error::SupervisorError;
use crate::event::{SupervisorEvent, SupervisorExit};
use crate::intensity::Intensity;
use crate::monitor::{self, End, Watch};
use crate::pending::Pending;
use crate::random::Rng;
use crate::restart::Restart;
use crate::shared::{Command, Shared};
use crate::stop::{Tally, stop_one};
use crate::strategy::Strategy;

/// What the loop does next.
enum Next {
    Start(usize),
    End(End),
    /// A stop command, or `None` once every handle is dropped.
    Stop(Option<Command>),
}

/// How starting one child went.
enum Step {
    Ready,
    Ended(ProcStatus),
    SpawnFailed(SpawnError),
    Stop(Option<Command>),
}

/// Everything the loop owns.
pub(crate) struct Runner<M: ProcManager> {
    pub(crate) manager: Arc<M>,
    pub(crate) strategy: Strategy,
    pub(crate) intensity: Intensity,
    pub(crate) children: Vec<Child<M>>,
    pub(crate) shared: Arc<Shared<M::Handle>>,
    pub(crate) ends_tx: mpsc::UnboundedSender<End>,
    pub(crate) ends: mpsc::UnboundedReceiver<End>,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) pending: Pending,
    pub(crate) rng: Rng,
    /// Set until every child was Ready once: `start()` waits on it.
    pub(crate) starting: Option<oneshot::Sender<Result<(), SupervisorError>>>,
}

/// `now + delay`, or a time too far away to matter when that overflows.
fn after(now: Instant, delay: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);
    now.checked_add(delay)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

impl<M> Runner<M>
where
    M: ProcManager + 'static,
    M::Config: Clone,
{
    /// Supervises until the end and publishes how it ended.
    pub(crate) async fn run(mut self) {
        let exit = self.supervise().await;
        tracing::info!(%exit, "supervisor ended");
        self.shared.finish(exit);
    }

    async fn supervise(&mut self) -> SupervisorExit {
        let now = Instant::now();
        for i in 0..self.children.len() {
            self.pending.push(i, now);
        }
        loop {
            if self.pending.is_empty() {
                if let Some(starting) = self.starting.take() {
                    let _ = starting.send(Ok(()));
                }
            }
            let exit = match self.next().await {
                Next::Start(i) => {
                    self.pending.remove(i);
                    match self.start_child(i).await {
                        Step::Ready => None,
                        Step::Ended(status) => self.on_end(i, status).await,
                        Step::SpawnFailed(err) => self.on_spawn_error(i, err).await,
                        Step::Stop(command) => Some(self.stop(command).await),
                    }
                }
                Next::End(end) => {
                    let child = &self.children[end.index];
                    if child.live && child.generation == end.generation {
                        self.on_end(end.index, end.status).await
                    } else {
                        None
                    }
                }
                Next::Stop(command) => Some(self.stop(command).await),
            };
            if let Some(exit) = exit {
                return exit;
            }
        }
    }

    /// Waits for a command, an end, or the next start's due time, in that
    /// order of priority.
    async fn next(&mut self) -> Next {
        let ordered = self.strategy.ordered() || self.starting.is_some();
        let due = self.pending.next(ordered);
        if let Some((i, at)) = due {
            if at <= Instant::now() {
                // Due now: no timer (tokio rounds a deadline up to its next
                // millisecond tick), but what is already queued goes first.
                match self.commands.try_recv() {
                    Ok(command) => return Next::Stop(Some(command)),
                    Err(TryRecvError::Disconnected) => return Next::Stop(None),
                    Err(TryRecvError::Empty) => {}
                }
                if let Ok(end) = self.ends.try_recv() {
                    return Next::End(end);
                }
                return Next::Start(i);
            }
        }
        let start = async move {
            match due {
                Some((i, at)) => {
                    tokio::time::sleep_until(at).await;
                    i
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            command = self.commands.recv() => Next::Stop(command),
            Some(end) = self.ends.recv() => Next::End(end),
            i = start => Next::Start(i),
        }
    }

    /// Spawns child `i` and waits until it is Ready (or ends, or a stop
    /// command comes).
    async fn start_child(&mut self, i: usize) -> Step {
        let child = &mut self.children[i];
        let proc_id = child.spec.proc_id.clone();
        let backend_addr = child.spec.backend_addr.clone();
        let config = child.spec.config.clone().unwrap_or_default();
        child.ready_at = None;
        let spawned = self
            .manager
            .spawn_with(proc_id.clone(), backend_addr, config)
            .await;
        let handle = match spawned {
            Ok(handle) => handle,
            Err(err) => return Step::SpawnFailed(err),
        };
        let child = &mut self.children[i];
        child.incarnate(handle.clone());
        self.shared.set_handle(i, handle.clone());
        self.shared.emit(SupervisorEvent::Started {
            proc_id: proc_id.clone(),
        });
        let ready = tokio::select! {
            biased;
            command = self.commands.recv() => return Step::Stop(command),
            ready = handle.ready() => ready,
        };
        let child = &mut self.children[i];
        match ready {
            Ok(addr) => {
                child.ready_at = Some(Instant::now());
                self.shared.emit(SupervisorEvent::Ready { proc_id, addr });
                let watch = Watch {
                    index: i,
                    generation: child.generation,
                    handle,
                    liveness: child.spec.liveness.clone(),
                    shutdown: child.spec.shutdown,
                    span: child.span.clone(),
                };
                child.set_monitor(monitor::spawn(watch, self.ends_tx.clone()));
                Step::Ready
            }
            Err(ReadyError::Terminal { status, .. }) => Step::Ended(status),
            Err(err) => {
                let shutdown = child.spec.shutdown;
                let (status, _) = stop_one(&handle, shutdown, "not ready").await;
                Step::Ended(ProcStatus::Failed {
                    reason: err.to_string(),
                    stderr_tail: status
                        .stderr_tail()
                        .map(<[String]>::to_vec)
                        .unwrap_or_default(),
                })
            }
        }
    }

    /// Child `i`'s incarnation ended with `status`: restart what its type
    /// and the strategy say, within the intensity.
    async fn on_end(&mut self, i: usize, status: ProcStatus) -> Option<SupervisorExit> {
        let now = Instant::now();
        let child = &mut self.children[i];
        let uptime = child.ended(now);
        let proc_id = child.spec.proc_id.clone();
        self.shared.emit(SupervisorEvent::Exited {
            proc_id: proc_id.clone(),
            status: status.clone(),
        });
        if uptime >= child.spec.min_uptime {
            child.backoff.reset();
        }
        if !child.spec.restart.restarts_after(&status) {
            child.removed = child.spec.restart == Restart::Temporary;
            return None;
        }
        if !self.intensity.allow(now) {
            return Some(self.give_up(proc_id, status).await);
        }
        let group = self.strategy.group(i, self.children.len());
        for j in group.clone().rev() {
            if j != i && self.children[j].live {
                let reason = format!("restarting with {proc_id}");
                self.stop_child(j, &reason).await;
            }
        }
        let child = &mut self.children[i];
        let delay = child.backoff.next_delay(&child.spec.backoff, &mut self.rng);
        let due = after(Instant::now(), delay);
        for j in group {
            let child = &mut self.children[j];
            if child.removed {
                continue;
            }
            if !self.pending.contains(j) && child.generation > 0 {
                child.restarts = child.restarts.saturating_add(1);
                self.shared.set_restarts(j, child.restarts);
                self.shared.emit(SupervisorEvent::Restarting {
                    proc_id: child.spec.proc_id.clone(),
                    attempt: child.restarts,
                    delay,
                });
            }
            self.pending.push(j, due);
        }
        None
    }

    /// A spawn failed: during the first start that fails `start()`; later
    /// it is an end like a crash.
    async fn on_spawn_error(&mut self, i: usize, err: SpawnError) -> Option<SupervisorExit> {
        if let Some(starting) = self.starting.take() {
            tracing::warn!(%err, "spawn failed during start; stopping");
            self.pending.clear();
            self.stop_all(Duration::MAX).await;
            let _ = starting.send(Err(SupervisorError::Spawn {
                proc_id: self.children[i].spec.proc_id.clone(),
                source: err,
            }));
            return Some(SupervisorExit::Stopped);
        }
        let status = ProcStatus::Failed {
            reason: format!("spawn failed: {err}"),
            stderr_tail: Vec::new(),
        };
        self.on_end(i, status).await
    }

    /// Stops child `j` (being restarted with a sibling) and reports its end.
    async fn stop_child(&mut self, j: usize, reason: &str) {
        let child = &mut self.children[j];
        child.ended(Instant::now());
        let Some(handle) = child.handle.clone() else {
            return;
        };
        let (status, _) = stop_one(&handle, child.spec.shutdown, reason).await;
        child.removed = child.spec.restart == Restart::Temporary;
        self.shared.emit(SupervisorEvent::Exited {
            proc_id: child.spec.proc_id.clone(),
            status,
        });
    }

    /// Stops every live child in reverse start order, all within `timeout`
    /// (each also within its own shutdown timeout). Ends during the stop are
    /// not acted on.
    async fn stop_all(&mut self, timeout: Duration) -> TerminateSummary {
        let deadline = Instant::now().checked_add(timeout);
        let mut tally = Tally::new();
        for child in self.children.iter_mut().rev() {
            if !child.live {
                continue;
            }
            child.ended(Instant::now());
            let Some(handle) = child.handle.clone() else {
                continue;
            };
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            let (status, outcome) = stop_one(
                &handle,
                left.min(child.spec.shutdown),
                "supervisor stopping",
            )
            .await;
            tally.add(&child.spec.proc_id, outcome);
            self.shared.emit(SupervisorEvent::Exited {
                proc_id: child.spec.proc_id.clone(),
                status,
            });
        }
        tally.finish()
    }

    /// `stop` was asked for (or every handle is gone): stop everything and
    /// answer every stop request with the one summary.
    async fn stop(&mut self, command: Option<Command>) -> SupervisorExit {
        let (timeout, reply) = match command {
            Some(Command::Stop { timeout, reply }) => (timeout, Some(reply)),
            None => (Duration::MAX, None),
        };
        tracing::info!(?timeout, "supervisor stopping");
        self.pending.clear();
        let summary = self.stop_all(timeout).await;
        // Published before the reply, so `wait()` after `stop()` is prompt.
        self.shared.finish(SupervisorExit::Stopped);
        if let Some(reply) = reply {
            let _ = reply.send(summary.clone());
        }
        self.commands.close();
        while let Ok(Command::Stop { reply, .. }) = self.commands.try_recv() {
            let _ = reply.send(summary.clone());
        }
        SupervisorExit::Stopped
    }

    /// The intensity ran out on `proc_id`'s end: stop everything.
    async fn give_up(
        &mut self,
        proc_id: proc_manager_core::ProcId,
        last_status: ProcStatus,
    ) -> SupervisorExit {
        tracing::warn!(%proc_id, %last_status, "restart intensity exceeded; giving up");
        self.pending.clear();
        self.stop_all(Duration::MAX).await;
        self.shared.emit(SupervisorEvent::GaveUp {
            proc_id: proc_id.clone(),
            last_status: last_status.clone(),
        });
        if let Some(starting) = self.starting.take() {
            let _ = starting.send(Err(SupervisorError::GaveUp {
                proc_id: proc_id.clone(),
                last_status: last_status.clone(),
            }));
        }
        SupervisorExit::GaveUp {
            proc_id,
            last_status,
        }
    }
}

impl<M: ProcManager> Drop for Runner<M> {
    fn drop(&mut self) {
        // Only reached without an exit when the task is torn down (runtime
        // shutdown, a panic in a backend): waiters must still return.
        self.shared.finish(SupervisorExit::Stopped);
    }
}
