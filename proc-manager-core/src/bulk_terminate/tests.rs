//! [`terminate_all`](super::terminate_all) against hand-written fake handles
//! on a paused clock: the cap, the one deadline, the sweep and the counting.

use std::future::pending;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{AFTER_KILL_BOUND, terminate_all};
use crate::{CellHandle, CellRef, ProcId, ProcStatus, StatusCell, TerminateError};

/// What a fake proc does when asked to stop.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Ends `Stopped{0}` this long after the polite request.
    Polite(Duration),
    /// Ignores the polite request; its `terminate` escalates by itself
    /// when its timeout runs out, as a real handle does.
    Stubborn,
    /// `terminate` fails at once and the proc stays alive.
    TerminateFails,
    /// Stubborn, and `kill` fails too.
    Unkillable,
    /// Stubborn, and `kill` never returns.
    KillHangs,
    /// Stubborn; ends by itself just as `kill` is called, which then says
    /// `AlreadyTerminated`.
    EndsAsKilled,
}

/// What the fakes saw, shared by all of one test's fakes.
#[derive(Debug, Default)]
struct Log {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// `(proc, timeout given, when)` for each `terminate` call.
    terminates: Mutex<Vec<(ProcId, Duration, Instant)>>,
    /// `(proc, when)` for each `kill` call.
    kills: Mutex<Vec<(ProcId, Instant)>>,
}

impl Log {
    fn terminates(&self) -> Vec<(ProcId, Duration, Instant)> {
        self.terminates.lock().expect("not poisoned").clone()
    }

    fn kills(&self) -> Vec<(ProcId, Instant)> {
        self.kills.lock().expect("not poisoned").clone()
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Counts a `terminate` in flight until dropped (also when its future is).
struct InFlight<'a>(&'a Log);

impl<'a> InFlight<'a> {
    fn enter(log: &'a Log) -> Self {
        let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        log.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(log)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone)]
struct Fake {
    cell: Arc<StatusCell>,
    behaviour: Behaviour,
    log: Arc<Log>,
}

const KILLED: ProcStatus = ProcStatus::Killed {
    signal: 9,
    core_dumped: false,
    stderr_tail: Vec::new(),
};

const STOPPED: ProcStatus = ProcStatus::Stopped {
    exit_code: 0,
    stderr_tail: Vec::new(),
};

impl Fake {
    fn new(name: &str, behaviour: Behaviour, log: &Arc<Log>) -> Self {
        let running = ProcStatus::Running {
            pid: 1,
            started_at: SystemTime::now(),
        };
        let proc_id = ProcId::new(name).expect("valid id");
        Self {
            cell: Arc::new(StatusCell::with_status(proc_id, running)),
            behaviour,
            log: log.clone(),
        }
    }

    fn many(n: usize, behaviour: Behaviour, log: &Arc<Log>) -> Vec<Self> {
        (0..n)
            .map(|i| Self::new(&format!("p{i}"), behaviour, log))
            .collect()
    }

    /// Ends the proc with `status` (a no-op if it had ended).
    fn end(&self, status: ProcStatus) -> ProcStatus {
        let ended = self
            .cell
            .transition_with(|current| current.is_alive().then_some(status));
        ended.map_or_else(|refused| refused.from, |(_, now)| now)
    }

    fn ended(&self) -> Result<(), TerminateError> {
        let status = self.cell.status();
        if status.is_exit() {
            return Err(TerminateError::AlreadyTerminated {
                proc_id: self.cell.proc_id().clone(),
                status,
            });
        }
        Ok(())
    }

    fn io(&self) -> TerminateError {
        TerminateError::Io {
            proc_id: self.cell.proc_id().clone(),
            source: io::Error::other("injected"),
        }
    }
}

impl CellHandle for Fake {
    fn cell(&self) -> CellRef<'_> {
        CellRef::new(&self.cell)
    }

    async fn terminate_proc(
        &self,
        timeout: Duration,
        _reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        self.ended()?;
        self.cell.mark_stopping();
        let proc_id = self.cell.proc_id().clone();
        let log = &self.log;
        log.terminates
            .lock()
            .expect("not poisoned")
            .push((proc_id, timeout, Instant::now()));
        let _counted = InFlight::enter(log);
        match self.behaviour {
            Behaviour::Polite(after) if after <= timeout => {
                tokio::time::sleep(after).await;
                Ok(self.end(STOPPED))
            }
            Behaviour::TerminateFails => Err(self.io()),
            _ => {
                tokio::time::sleep(timeout).await;
                Ok(self.end(KILLED))
            }
        }
    }

    async fn kill_proc(&self) -> Result<ProcStatus, TerminateError> {
        if self.behaviour_ends_as_killed() {
            self.end(STOPPED);
        }
        self.ended()?;
        let proc_id = self.cell.proc_id().clone();
        let log = &self.log;
        log.kills
            .lock()
            .expect("not poisoned")
            .push((proc_id, Instant::now()));
        match self.behaviour {
            Behaviour::Unkillable => Err(self.io()),
            Behaviour::KillHangs => pending().await,
            _ => Ok(self.end(KILLED)),
        }
    }
}

impl Fake {
    fn behaviour_ends_as_killed(&self) -> bool {
        matches!(self.behaviour, Behaviour::EndsAsKilled)
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ids(calls: &[(ProcId, Duration, Instant)]) -> Vec<String> {
    calls.iter().map(|(id, _, _)| id.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn at_most_max_in_flight_stops_at_a_time() {
    let log = Arc::new(Log::default());
    let procs = Fake::many(10, Behaviour::Polite(ms(100)), &log);
    let started = Instant::now();
    let summary = terminate_all(procs, Duration::from_secs(10), 3).await;
    assert_eq!(log.max_in_flight(), 3);
    assert_eq!(
        (summary.attempted, summary.polite, summary.killed),
        (10, 10, 0)
    );
    assert_eq!((summary.ok, summary.failed), (10, 0));
    // Four rounds of three (the last of one), each 100 ms.
    assert_eq!(started.elapsed(), ms(400));
    assert_eq!(summary.elapsed, ms(400));
    assert!(log.kills().is_empty());
}

#[tokio::test(start_paused = true)]
async fn max_in_flight_zero_is_one() {
    let log = Arc::new(Log::default());
    let procs = Fake::many(4, Behaviour::Polite(ms(10)), &log);
    let summary = terminate_all(procs, Duration::from_secs(10), 0).await;
    assert_eq!(log.max_in_flight(), 1);
    assert_eq!(summary.polite, 4);
    assert_eq!(summary.elapsed, ms(40));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_kills_asked_and_unasked_alike() {
    let log = Arc::new(Log::default());
    let procs = Fake::many(10, Behaviour::Stubborn, &log);
    let started = Instant::now();
    let summary = terminate_all(procs.clone(), Duration::from_secs(1), 2).await;
    // Only two were ever asked; all ten were killed at the one deadline.
    assert_eq!(ids(&log.terminates()), ["p0", "p1"]);
    let kills = log.kills();
    assert_eq!(kills.len(), 10);
    assert!(kills.iter().all(|(_, at)| *at == started + ms(1000)));
    assert_eq!(
        (summary.attempted, summary.polite, summary.killed),
        (10, 0, 10)
    );
    assert_eq!(summary.elapsed, ms(1000));
    assert!(procs.iter().all(|p| p.cell.status() == KILLED));
    // The pending polite stops were dropped, not left running.
    assert_eq!(log.in_flight.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn returns_at_the_deadline_whatever_the_number_of_procs() {
    let log = Arc::new(Log::default());
    let procs = Fake::many(1000, Behaviour::Stubborn, &log);
    let summary = terminate_all(procs, ms(500), 1).await;
    assert_eq!(summary.elapsed, ms(500));
    assert_eq!((summary.killed, summary.failed), (1000, 0));
    assert_eq!(log.terminates().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn each_polite_stop_gets_only_the_time_left() {
    let log = Arc::new(Log::default());
    let procs = Fake::many(3, Behaviour::Polite(ms(100)), &log);
    let summary = terminate_all(procs, Duration::from_secs(1), 1).await;
    assert_eq!(summary.polite, 3);
    let timeouts: Vec<_> = log.terminates().iter().map(|(_, t, _)| *t).collect();
    assert_eq!(timeouts, [ms(1000), ms(900), ms(800)]);
}

#[tokio::test(start_paused = true)]
async fn one_counting_rule() {
    let log = Arc::new(Log::default());
    let polite = Fake::new("polite", Behaviour::Polite(ms(100)), &log);
    let on_its_own = Fake::new("on_its_own", Behaviour::Stubborn, &log);
    let stubborn = Fake::new("stubborn", Behaviour::Stubborn, &log);
    let fails = Fake::new("fails", Behaviour::TerminateFails, &log);
    let races = Fake::new("races", Behaviour::EndsAsKilled, &log);
    let gone = Fake::new("gone", Behaviour::Stubborn, &log);
    gone.end(STOPPED);
    // `on_its_own` ends before its turn comes (the first stop takes 100 ms).
    let ender = on_its_own.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ms(50)).await;
        ender.end(ProcStatus::Stopped {
            exit_code: 3,
            stderr_tail: Vec::new(),
        });
    });
    let procs = [&polite, &on_its_own, &fails, &stubborn, &races, &gone].map(Clone::clone);
    let started = Instant::now();
    let summary = terminate_all(procs, Duration::from_secs(1), 1).await;

    // `gone` had ended: not attempted. `polite` and `on_its_own` ended by
    // themselves (the latter's terminate found it ended), `races` too (never
    // asked: `stubborn` held the one slot; its kill found it ended): polite.
    // `fails` was killed as soon as its terminate failed, `stubborn` at the
    // deadline.
    assert_eq!(summary.attempted, 5);
    assert_eq!((summary.polite, summary.killed, summary.failed), (3, 2, 0));
    assert_eq!(summary.ok, 5);
    assert_eq!(ids(&log.terminates()), ["polite", "fails", "stubborn"]);
    let kills: Vec<_> = log
        .kills()
        .iter()
        .map(|(id, at)| (id.to_string(), at.duration_since(started)))
        .collect();
    assert_eq!(
        kills,
        [
            ("fails".to_owned(), ms(100)),
            ("stubborn".to_owned(), ms(1000))
        ]
    );
    assert_eq!(races.cell.status(), STOPPED);
}

#[tokio::test(start_paused = true)]
async fn no_deadline_with_duration_max() {
    let log = Arc::new(Log::default());
    let hour = Duration::from_secs(3600);
    let procs = Fake::many(3, Behaviour::Polite(hour), &log);
    let summary = terminate_all(procs, Duration::MAX, 2).await;
    assert_eq!((summary.polite, summary.killed), (3, 0));
    assert!(log.terminates().iter().all(|(_, t, _)| *t == Duration::MAX));
    assert!(log.kills().is_empty());
    assert_eq!(summary.elapsed, 2 * hour);
}

#[tokio::test(start_paused = true)]
async fn zero_timeout_kills_at_once_and_asks_nobody() {
    let log = Arc::new(Log::default());
    let procs = Fake::many(5, Behaviour::Polite(ms(10)), &log);
    let summary = terminate_all(procs, Duration::ZERO, 5).await;
    assert!(log.terminates().is_empty());
    assert_eq!(log.kills().len(), 5);
    assert_eq!((summary.polite, summary.killed), (0, 5));
    assert_eq!(summary.elapsed, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn failures_are_named_and_bounded() {
    let log = Arc::new(Log::default());
    let unkillable = Fake::new("unkillable", Behaviour::Unkillable, &log);
    let hangs = Fake::new("hangs", Behaviour::KillHangs, &log);
    let stubborn = Fake::new("stubborn", Behaviour::Stubborn, &log);
    let procs = vec![unkillable, hangs, stubborn];
    let summary = terminate_all(procs, Duration::from_secs(1), 3).await;
    assert_eq!(summary.elapsed, Duration::from_secs(1) + AFTER_KILL_BOUND);
    assert_eq!(
        (summary.attempted, summary.killed, summary.failed),
        (3, 1, 2)
    );
    assert_eq!(summary.ok + summary.failed, summary.attempted);
    let failures: Vec<_> = summary
        .failures
        .iter()
        .map(|(id, why)| (id.as_str().to_owned(), why.clone()))
        .collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].0, "unkillable");
    assert!(failures[0].1.contains("kill failed"), "{}", failures[0].1);
    assert_eq!(failures[1].0, "hangs");
    assert!(failures[1].1.contains("still alive"), "{}", failures[1].1);
}

#[tokio::test(start_paused = true)]
async fn nothing_to_stop() {
    let summary = terminate_all(Vec::<Fake>::new(), Duration::from_secs(1), 4).await;
    assert_eq!(summary, crate::TerminateSummary::new(0, 0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn both_entry_points_count_alike() {
    let mix = [
        Behaviour::Polite(ms(10)),
        Behaviour::Stubborn,
        Behaviour::TerminateFails,
        Behaviour::Unkillable,
        Behaviour::EndsAsKilled,
    ];
    let procs = |log: &Arc<Log>| -> Vec<Fake> {
        mix.iter()
            .enumerate()
            .map(|(i, b)| Fake::new(&format!("p{i}"), *b, log))
            .collect()
    };
    let (log_a, log_b) = (Arc::new(Log::default()), Arc::new(Log::default()));
    let a = terminate_all(procs(&log_a), ms(300), 2).await;
    let b = super::terminate_all_cells(procs(&log_b), ms(300), 2).await;
    assert_eq!(a, b);
    assert_eq!((a.polite, a.killed, a.failed), (2, 2, 1), "{a}");
    assert_eq!(ids(&log_a.terminates()), ids(&log_b.terminates()));
}
