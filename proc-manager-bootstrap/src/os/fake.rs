//! A hand-written [`ChildOs`] for unit tests: a child that exits on the
//! signals it is told to, records every call, and can be made to lose the
//! race between a check and a signal, fail to be signalled, or have nothing
//! to reap. Clones share one child, so a test keeps one to inspect and
//! drive while the code under test owns another.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use rustix::process::Signal;
use tokio::sync::watch;

use crate::os::{ChildOs, ExitKind};

/// One call the code under test made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    SignalLeader(Signal),
    SignalGroup(Signal),
    Peek,
    Reap,
    ReapBlocking,
}

/// The two calls one whole-group signal makes: the leader by pidfd, then
/// the group by pgid.
pub(crate) fn group_signal(signal: Signal) -> [Call; 2] {
    [Call::SignalLeader(signal), Call::SignalGroup(signal)]
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    exit: Option<ExitKind>,
    reaped: bool,
    /// Signals the child dies of (default: KILL only).
    dies_of: Vec<Signal>,
    /// Every signal fails with this errno.
    signal_errno: Option<i32>,
    /// The child exits (with this) just before the next signal reaches it.
    exit_before_next_signal: Option<ExitKind>,
    /// `reap` finds nothing even after the exit.
    reap_finds_nothing: bool,
}

#[derive(Debug)]
struct Inner {
    pid: u32,
    state: Mutex<State>,
    exited: watch::Sender<bool>,
}

/// The fake child. See the module docs.
#[derive(Debug, Clone)]
pub(crate) struct FakeChild(Arc<Inner>);

fn errno(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

impl FakeChild {
    /// A running child that dies of SIGKILL only.
    pub(crate) fn new(pid: u32) -> Self {
        let state = State {
            dies_of: vec![Signal::KILL],
            ..State::default()
        };
        Self(Arc::new(Inner {
            pid,
            state: Mutex::new(state),
            exited: watch::Sender::new(false),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Also dies of `signal`.
    pub(crate) fn dies_of(self, signal: Signal) -> Self {
        self.lock().dies_of.push(signal);
        self
    }

    /// Every signal fails with `errno`.
    pub(crate) fn signals_fail(self, code: i32) -> Self {
        self.lock().signal_errno = Some(code);
        self
    }

    /// Exits with `kind` just before the next signal reaches it.
    pub(crate) fn exits_before_next_signal(self, kind: ExitKind) -> Self {
        self.lock().exit_before_next_signal = Some(kind);
        self
    }

    /// `reap` finds nothing, ever.
    pub(crate) fn reap_finds_nothing(self) -> Self {
        self.lock().reap_finds_nothing = true;
        self
    }

    /// Makes the child exit now, as if on its own.
    pub(crate) fn exit(&self, kind: ExitKind) {
        let mut state = self.lock();
        Self::end(&self.0, &mut state, kind);
    }

    fn end(inner: &Inner, state: &mut State, kind: ExitKind) {
        if state.exit.is_none() {
            state.exit = Some(kind);
            inner.exited.send_replace(true);
        }
    }

    /// Every call so far.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Whether the child was reaped.
    pub(crate) fn reaped(&self) -> bool {
        self.lock().reaped
    }

    /// Resolves once the child has exited, with how (peeked, not reaped):
    /// the fake's stand-in for the pidfd turning readable.
    pub(crate) async fn exited(&self) -> Option<ExitKind> {
        let mut rx = self.0.exited.subscribe();
        let _ = rx.wait_for(|exited| *exited).await;
        self.lock().exit
    }

    fn signal(&self, call: Call, signal: Signal) -> io::Result<()> {
        let mut state = self.lock();
        state.calls.push(call);
        if let Some(code) = state.signal_errno {
            return Err(errno(code));
        }
        if let Some(kind) = state.exit_before_next_signal.take() {
            Self::end(&self.0, &mut state, kind);
        }
        if state.reaped {
            return Err(errno(libc::ESRCH));
        }
        if matches!(call, Call::SignalLeader(_)) && state.exit.is_some() {
            // A pidfd to an exited (zombie) child.
            return Err(errno(libc::ESRCH));
        }
        if state.dies_of.contains(&signal) {
            Self::end(
                &self.0,
                &mut state,
                ExitKind::Signal {
                    signal: signal.as_raw(),
                    core_dumped: false,
                },
            );
        }
        Ok(())
    }
}

impl ChildOs for FakeChild {
    fn pid(&self) -> u32 {
        self.0.pid
    }

    fn signal_leader(&self, signal: Signal) -> io::Result<()> {
        self.signal(Call::SignalLeader(signal), signal)
    }

    fn signal_group(&self, signal: Signal) -> io::Result<()> {
        self.signal(Call::SignalGroup(signal), signal)
    }

    fn peek_exit(&self) -> io::Result<Option<ExitKind>> {
        let mut state = self.lock();
        state.calls.push(Call::Peek);
        if state.reaped {
            return Err(errno(libc::ECHILD));
        }
        Ok(state.exit)
    }

    fn reap(&self) -> io::Result<Option<ExitKind>> {
        let mut state = self.lock();
        state.calls.push(Call::Reap);
        if state.reaped {
            return Err(errno(libc::ECHILD));
        }
        if state.reap_finds_nothing || state.exit.is_none() {
            return Ok(None);
        }
        state.reaped = true;
        Ok(state.exit)
    }

    fn reap_blocking(&self) -> io::Result<Option<ExitKind>> {
        let mut state = self.lock();
        state.calls.push(Call::ReapBlocking);
        if state.reaped {
            return Err(errno(libc::ECHILD));
        }
        let kind = ExitKind::Signal {
            signal: Signal::KILL.as_raw(),
            core_dumped: false,
        };
        Self::end(&self.0, &mut state, kind);
        state.reaped = true;
        Ok(state.exit)
    }
}
