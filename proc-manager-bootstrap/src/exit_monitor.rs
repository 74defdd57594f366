//! The exit monitor of one proc: forwards its output while waiting for the
//! leader to exit, then, in this order: kills the rest of the group (by
//! default; the leader is still an unreaped zombie, so the pgid is still
//! ours), drains the output to end of stream within a deadline, reaps the
//! leader, removes it from the table, publishes the terminal status with the
//! stderr tail; its private dir and its (empty) cgroup are removed in the
//! background ([`crate::janitor`]).
//!
//! Generic over the [`ChildOs`] seam, and handed the wait for the exit as a
//! future, so the unit tests below run this very order and status mapping
//! against a fake child. The real wait (the pidfd turning readable) is in
//! [`crate::exit_watch`]; signalling and reaping rules are in
//! [`crate::group`]; reading output is in [`crate::stdio`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{LogSink, ProcId, ProcStatus};
use tokio::time::Instant;

use crate::os::{ChildOs, ExitKind};
use crate::outputs::Outputs;
use crate::pidfd::PidFd;
use crate::proc_state::ProcShared;
use crate::runtime_dir::remove_proc_dir_later;
use crate::stdio::lock_tail;
use crate::table::GroupTable;

/// How long output may still be read after the leader exited. A process
/// outside the group that holds the pipes open cannot hang the monitor.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// The same, when the proc was being stopped (the caller is waiting).
pub(crate) const STOPPING_DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the exit waits for a readiness server to read what the proc
/// sent before it exited.
const LAST_WORDS_TIMEOUT: Duration = Duration::from_millis(200);
/// Told of a proc's end, after its terminal status is published.
#[derive(Clone)]
pub(crate) struct EndHook(pub(crate) Arc<dyn Fn(&ProcId) + Send + Sync>);

impl EndHook {
    fn call(&self, proc_id: &ProcId) {
        (self.0)(proc_id);
    }
}

impl std::fmt::Debug for EndHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndHook")
    }
}

/// What the monitor owns.
pub(crate) struct Monitor<O: ChildOs = PidFd> {
    pub(crate) shared: Arc<ProcShared<O>>,
    pub(crate) table: Arc<GroupTable<O>>,
    /// The child's captured stdout and stderr, read by this same task.
    pub(crate) outputs: Outputs,
    pub(crate) sinks: Arc<[Arc<dyn LogSink>]>,
    pub(crate) proc_dir: PathBuf,
    pub(crate) kill_group_on_exit: bool,
    /// A readiness server whose last messages count for the end (notify:
    /// an `ERRNO=` sent just before exiting); awaited, briefly, before the
    /// terminal status is made.
    pub(crate) last_words: Option<tokio::task::JoinHandle<()>>,
    pub(crate) on_end: Option<EndHook>,
}

impl<O: ChildOs> Monitor<O> {
    /// Supervises the proc until its end; `exit` resolves once the leader
    /// has exited, with how (peeked, not reaped; `None` if unreadable).
    ///
    /// The guard against an abandoned proc is armed here, before the
    /// future is first polled: a runtime that shuts down before ever
    /// running the task still ends the proc (see [`Abandoned`]).
    pub(crate) fn run(
        self,
        exit: impl Future<Output = Option<ExitKind>> + Unpin,
    ) -> impl Future<Output = ()> {
        let abandoned = Abandoned {
            shared: Some(self.shared.clone()),
            table: self.table.clone(),
            on_end: self.on_end.clone(),
        };
        // An async block rather than an `async fn`: an async fn would keep
        // its argument beside the pieces moved out of it, storing each twice
        // in the task.
        let mut monitor = self;
        let mut exit = exit;
        async move {
            // Forward output while waiting for the exit, in this one task.
            let mut output_done = false;
            let peeked = loop {
                tokio::select! {
                    kind = &mut exit => break kind,
                    () = &mut monitor.outputs, if !output_done => output_done = true,
                }
            };
            // Boxed: the task is sized for its largest state, and the end's
            // timers and waits would otherwise be paid for by every live proc.
            Box::pin(
                Ending {
                    monitor,
                    output_done,
                    abandoned,
                }
                .run(peeked),
            )
            .await;
        }
    }
}

/// What the monitor does once the leader has exited.
struct Ending<O: ChildOs> {
    monitor: Monitor<O>,
    /// Whether every output stream has already ended.
    output_done: bool,
    abandoned: Abandoned<O>,
}

impl<O: ChildOs> Ending<O> {
    async fn run(self, peeked: Option<ExitKind>) {
        let Ending {
            monitor:
                Monitor {
                    shared,
                    table,
                    outputs: mut output,
                    sinks,
                    proc_dir,
                    kill_group_on_exit,
                    last_words,
                    on_end,
                },
            mut output_done,
            abandoned,
        } = self;
        let group = shared.group.clone();
        tracing::debug!(exit = ?peeked, "leader exited");
        shared.exited.cancel();
        if kill_group_on_exit {
            // The leader is a zombie, not reaped: the pgid is still ours.
            group.kill_now();
        }
        if let Some(cgroup) = &shared.cgroup {
            // The proc ends only once nothing is left in its cgroup: killed
            // now by default, else whenever the rest ends (or is stopped).
            let empty = cgroup.wait_empty(kill_group_on_exit);
            tokio::pin!(empty);
            loop {
                tokio::select! {
                    result = &mut empty => {
                        if let Err(err) = result {
                            tracing::warn!(%err, "cannot watch the proc's cgroup");
                        }
                        break;
                    }
                    () = &mut output, if !output_done => output_done = true,
                }
            }
            tracing::debug!("cgroup empty");
        }
        let exited_at = Instant::now();
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
        if let Some(cgroup) = &shared.cgroup {
            cgroup.remove_later();
        }
        remove_proc_dir_later(proc_dir);
        *shared.control.lock().await = None;
        if let Some(task) = last_words {
            if tokio::time::timeout(LAST_WORDS_TIMEOUT, task)
                .await
                .is_err()
            {
                tracing::debug!("the readiness server did not finish in time");
            }
        }
        let stderr_tail = lock_tail(&shared.stderr_tail).lines();
        let status = terminal_status(shared.fail_reason(), reaped, stderr_tail);
        let status = crate::proc_notes::explain(status, shared.notes.failure_detail());
        tracing::info!(%status, "ended");
        if let Err(err) = shared.cell.transition(status) {
            tracing::warn!(%err, "terminal status refused");
        }
        abandoned.disarm();
        if let Some(hook) = &on_end {
            hook.call(&shared.proc_id);
        }
    }
}

/// Armed while a monitor runs. Dropped armed, the monitor's task was
/// dropped unfinished: its tokio runtime shut down. The proc would then be
/// left unsupervised (a zombie, a `wait()` that never returns), so this
/// ends it at once, synchronously: SIGKILL to its group (and its cgroup),
/// a bounded wait for the cgroup to empty, the reap, and `Killed{SIGKILL}`
/// (or how it really ended, if it had exited already) for every waiter on
/// any runtime.
struct Abandoned<O: ChildOs> {
    shared: Option<Arc<ProcShared<O>>>,
    table: Arc<GroupTable<O>>,
    on_end: Option<EndHook>,
}

impl<O: ChildOs> Abandoned<O> {
    fn disarm(mut self) {
        self.shared = None;
    }
}

impl<O: ChildOs> Drop for Abandoned<O> {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        if shared.cell.inspect(ProcStatus::is_exit) {
            return;
        }
        tracing::info!(parent: &shared.span, "runtime shut down; killing the proc");
        shared.exited.cancel();
        let group = &shared.group;
        let exit = match group.reap() {
            Ok(Some(kind)) => Some(kind),
            _ => {
                let _ = shared.force_kill();
                group.kill_and_reap_blocking();
                Some(ExitKind::Signal {
                    signal: libc::SIGKILL,
                    core_dumped: false,
                })
            }
        };
        if let Some(cgroup) = &shared.cgroup {
            let _ = cgroup.kill();
            cgroup.wait_empty_blocking(crate::cgroup::TEARDOWN_WAIT);
            cgroup.remove();
        }
        self.table.remove(group.pid());
        let stderr_tail = lock_tail(&shared.stderr_tail).lines();
        let status = terminal_status(shared.fail_reason(), exit, stderr_tail);
        if let Err(err) = shared.cell.transition(status) {
            tracing::warn!(parent: &shared.span, %err, "terminal status refused");
        }
        if let Some(hook) = &self.on_end {
            hook.call(&shared.proc_id);
        }
    }
}

/// The terminal status for an exit: a reason the manager recorded before
/// killing the proc wins; else how the leader ended; else `Failed`.
fn terminal_status(
    fail_reason: Option<String>,
    exit: Option<ExitKind>,
    stderr_tail: Vec<String>,
) -> ProcStatus {
    match (fail_reason, exit) {
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
    }
}

/// A `Running` proc over `fake`, in a table, and a real monitor for it
/// reading `outputs`: for unit tests of what sits on top.
#[cfg(test)]
pub(crate) fn fake_monitor(
    fake: crate::os::fake::FakeChild,
    kill_group_on_exit: bool,
    outputs: Outputs,
) -> (
    Arc<ProcShared<crate::os::fake::FakeChild>>,
    Monitor<crate::os::fake::FakeChild>,
) {
    use std::sync::Mutex;

    use proc_manager_core::{ProcId, StatusCell, TailBuffer};

    use crate::group::ProcessGroup;

    let proc_id = ProcId::new(format!("fake-{}", fake.pid())).expect("valid id");
    let cell = StatusCell::new(proc_id.clone());
    cell.transition(ProcStatus::Running {
        pid: fake.pid(),
        started_at: std::time::SystemTime::now(),
    })
    .expect("starting -> running");
    let tail = || Arc::new(Mutex::new(TailBuffer::new(10, 1024)));
    let group = Arc::new(ProcessGroup::new(fake));
    let table = Arc::new(GroupTable::default());
    table.insert(group.clone());
    let shared = Arc::new(ProcShared::new(
        proc_id,
        cell,
        group,
        tail(),
        tail(),
        tracing::Span::none(),
    ));
    let monitor = Monitor {
        shared: shared.clone(),
        table,
        outputs,
        sinks: Arc::from(Vec::new()),
        proc_dir: std::env::temp_dir().join("proc-manager-no-such-dir"),
        kill_group_on_exit,
        last_words: None,
        on_end: None,
    };
    (shared, monitor)
}

/// [`fake_monitor`] without output, already running on its own task, its
/// exit wait the fake's.
#[cfg(test)]
pub(crate) fn supervise_fake(
    fake: crate::os::fake::FakeChild,
    kill_group_on_exit: bool,
) -> (
    Arc<ProcShared<crate::os::fake::FakeChild>>,
    tokio::task::JoinHandle<()>,
) {
    let (shared, monitor) = fake_monitor(fake.clone(), kill_group_on_exit, Outputs::default());
    let exit = async move { fake.exited().await };
    (shared, tokio::spawn(monitor.run(Box::pin(exit))))
}

#[cfg(test)]
mod tests {
    use rustix::process::Signal;

    use tokio::net::unix::pipe;

    use super::*;
    use crate::os::fake::{Call, FakeChild, group_signal};
    use crate::stdio::LineSplitter;

    #[test]
    fn the_status_maps_the_exit_and_a_recorded_reason_wins() {
        let tail = || vec!["last words".to_owned()];
        assert!(matches!(
            terminal_status(None, Some(ExitKind::Code(3)), tail()),
            ProcStatus::Stopped { exit_code: 3, stderr_tail } if stderr_tail == tail()
        ));
        let dumped = ExitKind::Signal {
            signal: 11,
            core_dumped: true,
        };
        assert!(matches!(
            terminal_status(None, Some(dumped), tail()),
            ProcStatus::Killed {
                signal: 11,
                core_dumped: true,
                ..
            }
        ));
        assert!(matches!(
            terminal_status(Some("not ready".into()), Some(ExitKind::Code(0)), tail()),
            ProcStatus::Failed { reason, .. } if reason == "not ready"
        ));
        assert!(matches!(
            terminal_status(None, None, tail()),
            ProcStatus::Failed { reason, .. } if reason.contains("exit status")
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_exit_it_sweeps_the_group_before_the_reap() {
        let fake = FakeChild::new(9);
        let (shared, monitor) = supervise_fake(fake.clone(), true);
        fake.exit(ExitKind::Code(4));
        monitor.await.unwrap();
        assert!(matches!(
            shared.cell.status(),
            ProcStatus::Stopped { exit_code: 4, .. }
        ));
        assert!(shared.exited.is_cancelled());
        // The leader is gone (pidfd: ESRCH), the pgid is still ours: swept,
        // then reaped; nothing after the reap.
        assert_eq!(
            fake.calls(),
            [group_signal(Signal::KILL).as_slice(), &[Call::Reap]].concat()
        );
        assert!(fake.reaped());
    }

    #[tokio::test(start_paused = true)]
    async fn a_monitor_dropped_unfinished_kills_reaps_and_publishes_killed() {
        let fake = FakeChild::new(9);
        let (shared, monitor) = fake_monitor(fake.clone(), true, Outputs::default());
        // Never polled, as when its runtime shuts down first.
        drop(monitor.run(std::future::pending()));
        assert!(
            matches!(shared.cell.status(), ProcStatus::Killed { signal, .. } if signal == libc::SIGKILL),
            "{:?}",
            shared.cell.status()
        );
        assert!(fake.reaped());
        assert!(fake.calls().contains(&Call::SignalLeader(Signal::KILL)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_monitor_dropped_after_the_exit_reports_the_real_exit() {
        let fake = FakeChild::new(9);
        let (shared, monitor) = fake_monitor(fake.clone(), true, Outputs::default());
        fake.exit(ExitKind::Code(6));
        drop(monitor.run(std::future::pending()));
        assert!(matches!(
            shared.cell.status(),
            ProcStatus::Stopped { exit_code: 6, .. }
        ));
        assert!(fake.reaped());
    }

    #[tokio::test(start_paused = true)]
    async fn without_group_kill_it_only_reaps() {
        let fake = FakeChild::new(9);
        let (shared, monitor) = supervise_fake(fake.clone(), false);
        fake.exit(ExitKind::Signal {
            signal: libc::SIGTERM,
            core_dumped: false,
        });
        monitor.await.unwrap();
        assert!(matches!(
            shared.cell.status(),
            ProcStatus::Killed { signal, .. } if signal == libc::SIGTERM
        ));
        assert_eq!(fake.calls(), [Call::Reap]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reap_that_finds_nothing_reports_the_peeked_exit() {
        let fake = FakeChild::new(9).reap_finds_nothing();
        let (shared, monitor) = supervise_fake(fake.clone(), true);
        fake.exit(ExitKind::Code(2));
        monitor.await.unwrap();
        assert!(matches!(
            shared.cell.status(),
            ProcStatus::Stopped { exit_code: 2, .. }
        ));
        assert!(!fake.reaped());
    }

    #[tokio::test(start_paused = true)]
    async fn a_recorded_fail_reason_wins_over_the_exit() {
        let fake = FakeChild::new(9);
        let (shared, monitor) = supervise_fake(fake.clone(), true);
        shared.set_fail_reason("not ready within 1s".into());
        shared.force_kill().unwrap();
        monitor.await.unwrap();
        assert!(matches!(
            shared.cell.status(),
            ProcStatus::Failed { reason, .. } if reason == "not ready within 1s"
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_pipe_cannot_hold_the_monitor_past_the_drain_deadline() {
        use std::sync::Mutex;

        use proc_manager_core::{LogStream, ProcId, TailBuffer};

        // The write end stays open, as if a process outside the group held it.
        let (tx, rx) = pipe::pipe().unwrap();
        let splitter = LineSplitter::new(
            ProcId::new("drain").unwrap(),
            LogStream::Stdout,
            Arc::from(Vec::new()),
            Arc::new(Mutex::new(TailBuffer::new(10, 1024))),
        );
        let fake = FakeChild::new(9);
        let mut outputs = Outputs::default();
        outputs.push(rx, splitter);
        let (shared, monitor) = fake_monitor(fake.clone(), true, outputs);
        let exit = {
            let fake = fake.clone();
            async move { fake.exited().await }
        };
        let task = tokio::spawn(monitor.run(Box::pin(exit)));
        fake.exit(ExitKind::Code(0));
        let exited_at = Instant::now();
        task.await.unwrap();
        assert_eq!(exited_at.elapsed(), DRAIN_TIMEOUT);
        assert!(matches!(
            shared.cell.status(),
            ProcStatus::Stopped { exit_code: 0, .. }
        ));
        drop(tx);
    }
}
