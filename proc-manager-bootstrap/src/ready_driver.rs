//! Driving a proc to `Ready`, the part every readiness mode shares: the
//! `Running` → `Ready{addr}` step ([`mark_ready`]), the ready deadline
//! ([`deadline`]) and what happens when it passes ([`not_ready`]), and the
//! one task that runs a mode without a server of its own ([`start`]:
//! `Spawned`, `Connect`, `LogLine`).
//!
//! The modes' own mechanics are elsewhere: [`crate::callback`] and
//! [`crate::notify`] run their servers (and call into this module), the
//! probe is [`crate::connect`], the line watch [`crate::log_match`].

use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{ChannelAddr, ProcStatus};
use tokio::time::Instant;

use crate::connect;
use crate::failure;
use crate::os::ChildOs;
use crate::proc_state::ProcShared;
use crate::readiness::ProbeTarget;

/// Moves a `Running` proc to `Ready{addr}`; returns whether it did (not if
/// it is stopping, ended or already ready).
pub(crate) fn mark_ready<O: ChildOs>(shared: &ProcShared<O>, addr: &ChannelAddr) -> bool {
    let became = shared.cell.transition_with(|s| match s {
        ProcStatus::Running { pid, started_at } => Some(ProcStatus::Ready {
            pid: *pid,
            started_at: *started_at,
            addr: addr.clone(),
        }),
        _ => None,
    });
    let ready = matches!(
        became,
        Ok((ProcStatus::Running { .. }, ProcStatus::Ready { .. }))
    );
    if ready {
        tracing::info!(parent: &shared.span, %addr, "ready");
    }
    ready
}

/// The instant `timeout` from now (`None`: never, also for a timeout too
/// long to add).
pub(crate) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// Sleeps until `at`; never returns for `None`.
pub(crate) async fn deadline(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The ready deadline passed: a proc still `Running` is stopped politely
/// and ends `Failed{"not ready within …"}`.
pub(crate) fn not_ready<O: ChildOs>(shared: &Arc<ProcShared<O>>, timeout: Duration) {
    failure::stop_for(shared, format!("not ready within {timeout:?}"), |s| {
        matches!(s, ProcStatus::Running { .. })
    });
}

/// How a mode without a server of its own learns the proc is ready.
#[derive(Debug)]
pub(crate) enum Trigger {
    /// At once.
    Spawned,
    /// Once a connection succeeds.
    Connect(ProbeTarget),
    /// Someone else marks it ready (the line watch); only the deadline is
    /// kept here.
    External,
}

/// Starts driving the proc to `Ready{addr}` with `trigger`, bounded by
/// `timeout`. Spawns a task only when there is something to wait for.
pub(crate) fn start(
    shared: &Arc<ProcShared>,
    trigger: Trigger,
    addr: ChannelAddr,
    timeout: Option<Duration>,
) {
    let probe = match trigger {
        Trigger::Spawned => {
            mark_ready(shared, &addr);
            return;
        }
        Trigger::External if timeout.is_none() => return,
        Trigger::External => None,
        Trigger::Connect(target) => Some(target),
    };
    let at = deadline_after(timeout);
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut changes = shared.cell.watch();
        let connected = async {
            match &probe {
                Some(target) => connect::until_connectable(target).await,
                None => std::future::pending().await,
            }
        };
        let settled = changes.wait_for(|s| !matches!(s, ProcStatus::Running { .. }));
        tokio::select! {
            _ = shared.exited.cancelled() => {}
            _ = settled => {}
            () = connected => {
                mark_ready(&shared, &addr);
            }
            () = deadline(at) => {
                if let Some(timeout) = timeout {
                    not_ready(&shared, timeout);
                }
            }
        }
    });
}
