//! Shared by the local-backend tests: a [`LocalProcManager`] whose procs
//! follow a per-id script of [`Act`]s (the next act each time the id is
//! spawned; `Serve` once the script runs out), a log of spawns, and bounded
//! event waits in tokio's paused time.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proc_manager_local::{ChannelAddr, LocalContext, LocalProcManager, ProcId};
use proc_manager_supervisor::SupervisorEvent;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Generous bound (virtual time) for something that should happen.
pub const SHOULD: Duration = Duration::from_secs(600);

/// What one incarnation of a proc does.
#[derive(Debug, Clone)]
pub enum Act {
    /// Ready at once; exit 0 when asked to stop.
    Serve,
    /// Ready after a delay; then as `Serve`.
    ReadyAfter(Duration),
    /// Ready at once; exit with the code after the delay (0 if asked to
    /// stop first).
    ExitAfter(Duration, i32),
    /// Exit with the code without ever being ready.
    ExitBeforeReady(i32),
    /// Ready at once; return an error after the delay.
    FailAfter(Duration),
    /// Ready at once; panic after the delay.
    PanicAfter(Duration),
    /// Ready at once; ignore every stop request.
    Hang,
}

#[derive(Clone, Default)]
pub struct Script {
    acts: Arc<Mutex<HashMap<String, VecDeque<Act>>>>,
    spawns: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl Script {
    /// Queues `acts` for the next incarnations of `name`.
    pub fn plan(&self, name: &str, acts: impl IntoIterator<Item = Act>) -> &Self {
        self.acts
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_default()
            .extend(acts);
        self
    }

    fn next_act(&self, name: &str) -> Act {
        self.spawns
            .lock()
            .unwrap()
            .push((name.to_owned(), Instant::now()));
        self.acts
            .lock()
            .unwrap()
            .get_mut(name)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Act::Serve)
    }

    /// How many times `name` was spawned.
    pub fn spawns(&self, name: &str) -> usize {
        self.spawns
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .count()
    }

    /// The ids in spawn order.
    pub fn spawn_order(&self) -> Vec<String> {
        self.spawns
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// A manager whose procs follow this script.
    pub fn manager(&self) -> LocalProcManager {
        let script = self.clone();
        LocalProcManager::new(move |ctx: LocalContext| {
            let act = script.next_act(ctx.proc_id().as_str());
            run(ctx, act)
        })
    }
}

async fn run(ctx: LocalContext, act: Act) -> Result<i32, String> {
    let addr = ChannelAddr::Local(7);
    let stop = ctx.shutdown_requested();
    match act {
        Act::Serve => {
            ctx.ready(addr).await.map_err(|e| e.to_string())?;
            stop.await;
            Ok(0)
        }
        Act::ReadyAfter(delay) => {
            tokio::time::sleep(delay).await;
            ctx.ready(addr).await.map_err(|e| e.to_string())?;
            stop.await;
            Ok(0)
        }
        Act::ExitAfter(delay, code) => {
            ctx.ready(addr).await.map_err(|e| e.to_string())?;
            tokio::select! {
                () = tokio::time::sleep(delay) => Ok(code),
                _ = stop => Ok(0),
            }
        }
        Act::ExitBeforeReady(code) => Ok(code),
        Act::FailAfter(delay) => {
            ctx.ready(addr).await.map_err(|e| e.to_string())?;
            tokio::time::sleep(delay).await;
            Err("boom".to_owned())
        }
        Act::PanicAfter(delay) => {
            ctx.ready(addr).await.map_err(|e| e.to_string())?;
            tokio::time::sleep(delay).await;
            panic!("scripted panic");
        }
        Act::Hang => {
            ctx.ready(addr).await.map_err(|e| e.to_string())?;
            std::future::pending().await
        }
    }
}

pub fn id(name: &str) -> ProcId {
    ProcId::new(name).unwrap()
}

/// The next event, within [`SHOULD`].
pub async fn next_event(rx: &mut broadcast::Receiver<SupervisorEvent>) -> SupervisorEvent {
    match tokio::time::timeout(SHOULD, rx.recv()).await {
        Ok(Ok(event)) => event,
        Ok(Err(err)) => panic!("event channel: {err}"),
        Err(_) => panic!("no event within {SHOULD:?}"),
    }
}

/// Events until (and with) the first that `stop` accepts.
pub async fn events_until(
    rx: &mut broadcast::Receiver<SupervisorEvent>,
    mut stop: impl FnMut(&SupervisorEvent) -> bool,
) -> Vec<SupervisorEvent> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(rx).await;
        let done = stop(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// Whether `event` is `Ready` for `name`.
pub fn ready_of(name: &str) -> impl Fn(&SupervisorEvent) -> bool + '_ {
    move |e| matches!(e, SupervisorEvent::Ready { proc_id, .. } if proc_id.as_str() == name)
}

/// Short text of an event, for order assertions: `"started a"`, …
pub fn brief(event: &SupervisorEvent) -> String {
    let kind = match event {
        SupervisorEvent::Started { .. } => "started",
        SupervisorEvent::Ready { .. } => "ready",
        SupervisorEvent::Exited { .. } => "exited",
        SupervisorEvent::Restarting { .. } => "restarting",
        SupervisorEvent::GaveUp { .. } => "gave-up",
        _ => "other",
    };
    format!("{kind} {}", event.proc_id())
}

/// Lets every runnable task run and virtual time pass `span`: used to show
/// that something does *not* happen (paused time only, never a real wait).
pub async fn quiet_for(span: Duration) {
    tokio::time::sleep(span).await;
}

/// Every event received so far, without waiting.
pub fn drain(rx: &mut broadcast::Receiver<SupervisorEvent>) -> Vec<SupervisorEvent> {
    let mut seen = Vec::new();
    while let Ok(event) = rx.try_recv() {
        seen.push(event);
    }
    seen
}
