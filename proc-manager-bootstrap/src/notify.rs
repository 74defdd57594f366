//! [`Readiness::Notify`](crate::Readiness::Notify): systemd's notify
//! protocol (`sd_notify(3)`) served for one proc, so unmodified daemons that
//! speak it can be supervised. The manager binds a datagram socket in the
//! proc's private dir and names it in the child's `NOTIFY_SOCKET`; one task
//! per proc reads it until the proc ends.
//!
//! Each datagram is checked in order: cut (oversized), from a process
//! outside the proc ([`peer`]), or not a valid set of assignments
//! ([`message`]): ignored and logged, changing nothing. Otherwise, in this
//! order: `STATUS=` is kept, `ERRNO=`/`EXIT_STATUS=` are kept for the reason
//! of a failed end ([`crate::proc_notes`]), `READY=1` makes the proc
//! `Ready{addr}` and starts the watchdog, `WATCHDOG_USEC=`/`WATCHDOG=1`
//! feed it ([`watchdog`]), `WATCHDOG=trigger` stops the proc at once, and
//! `STOPPING=1` makes it `Stopping`. The fds a datagram carries are closed
//! once it is handled: that answers a `BARRIER=1`, which `systemd-notify`
//! waits for (so it is still alive, and checkable, while its earlier
//! datagrams are read).
//!
//! The same task enforces the ready deadline and the watchdog. When the
//! proc exits it reads what is still queued and ends; the exit monitor waits
//! for that, so an `ERRNO=` sent just before exiting is in the reason.

mod message;
pub(crate) mod peer;
mod socket;
mod watchdog;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{ChannelAddr, ProcStatus};
use tokio::time::Instant;

use crate::failure;
use crate::os::ChildOs;
use crate::proc_state::ProcShared;
use crate::ready_driver::{deadline, deadline_after, mark_ready, not_ready};

use self::message::{Message, WatchdogRequest};
use self::peer::{Member, ProcFs, Verdict};
use self::socket::{Datagram, MAX_DATAGRAM};

pub(crate) use self::socket::NotifySocket;
use self::watchdog::Watchdog;

/// The variable naming the socket, for the child.
pub(crate) const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";
/// The variable giving the watchdog period in microseconds, for the child.
pub(crate) const WATCHDOG_USEC_ENV: &str = "WATCHDOG_USEC";
/// Set by systemd to the main pid; never valid for our child, so removed.
pub(crate) const WATCHDOG_PID_ENV: &str = "WATCHDOG_PID";

/// Binds the notify socket of a proc at `path`.
pub(crate) fn bind(path: &Path) -> std::io::Result<NotifySocket> {
    NotifySocket::bind(path)
}

/// What the server of one proc needs.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) socket: NotifySocket,
    pub(crate) shared: Arc<ProcShared>,
    pub(crate) addr: ChannelAddr,
    pub(crate) ready_timeout: Option<Duration>,
    pub(crate) watchdog: Option<Duration>,
    /// The proc's cgroup, under cgroup containment.
    pub(crate) cgroup: Option<std::path::PathBuf>,
}

impl Server {
    /// Serves the socket until the proc has exited, then reads what is
    /// still queued (a proc may send `ERRNO=` and exit at once).
    pub(crate) async fn run(self) {
        let Server {
            socket,
            shared,
            addr,
            ready_timeout,
            watchdog,
            cgroup,
        } = self;
        let mut state = State {
            member: Member {
                leader: shared.group.pid(),
                cgroup,
            },
            watchdog: Watchdog::new(watchdog),
            addr,
        };
        let mut ready_at = deadline_after(ready_timeout);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let dog = state.watchdog.deadline();
            tokio::select! {
                _ = shared.exited.cancelled() => {
                    while let Ok(datagram) = socket.try_recv(&mut buf) {
                        state.handle(&shared, &buf, datagram);
                    }
                    break;
                }
                () = deadline(ready_at), if ready_at.is_some() => {
                    ready_at = None;
                    if let Some(timeout) = ready_timeout {
                        not_ready(&shared, timeout);
                    }
                }
                () = deadline(dog), if dog.is_some() => state.watchdog_expired(&shared),
                received = socket.recv(&mut buf) => match received {
                    Ok(datagram) => state.handle(&shared, &buf, datagram),
                    Err(err) => {
                        tracing::warn!(parent: &shared.span, %err, "receiving on the notify socket failed");
                        // Do not spin on a persistent error.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }
}

/// The server's state between datagrams.
struct State {
    member: Member,
    watchdog: Watchdog,
    addr: ChannelAddr,
}

impl State {
    fn handle<O: ChildOs>(&mut self, shared: &Arc<ProcShared<O>>, buf: &[u8], datagram: Datagram) {
        if datagram.truncated {
            tracing::warn!(parent: &shared.span, "ignored an oversized notify datagram");
            return;
        }
        let sender = datagram.sender.unwrap_or(0);
        if let Verdict::Refuse(why) = peer::check(sender, &self.member, &ProcFs) {
            tracing::warn!(parent: &shared.span, sender, %why, "ignored a notify datagram from outside the proc");
            return;
        }
        let bytes = buf.get(..datagram.len).unwrap_or_default();
        match Message::parse(bytes) {
            Ok(message) => self.apply(shared, message, Instant::now()),
            Err(garbage) => {
                tracing::warn!(parent: &shared.span, sender, %garbage, "ignored a malformed notify datagram")
            }
        }
        // Dropping `datagram` closes its fds: a BARRIER=1 sender goes on.
    }

    fn apply<O: ChildOs>(&mut self, shared: &Arc<ProcShared<O>>, message: Message, now: Instant) {
        if let Some(text) = message.status {
            tracing::debug!(parent: &shared.span, status = %text, "status text");
            shared.notes.set_status_text(text);
        }
        if let Some(errno) = message.errno {
            shared.notes.set_errno(errno);
        }
        if let Some(text) = message.exit_status {
            shared.notes.set_exit_status(text);
        }
        if message.ready && mark_ready(shared, &self.addr) {
            self.watchdog.on_ready(now);
        }
        if let Some(period) = message.watchdog_period {
            self.watchdog.set_period(period, now);
        }
        match message.watchdog {
            Some(WatchdogRequest::Ping) => self.watchdog.on_ping(now),
            Some(WatchdogRequest::Trigger) => {
                self.watchdog.stop();
                failure::stop_for(
                    shared,
                    "watchdog: the proc sent WATCHDOG=trigger".into(),
                    |_| true,
                );
            }
            None => {}
        }
        if message.stopping {
            self.watchdog.stop();
            if !shared.cell.mark_stopping().is_exit() {
                tracing::info!(parent: &shared.span, "the proc says it is stopping");
            }
        }
    }

    fn watchdog_expired<O: ChildOs>(&mut self, shared: &Arc<ProcShared<O>>) {
        let period = self.watchdog.period();
        self.watchdog.stop();
        // Only a proc that is up: one being stopped is on its way out.
        if let Some(period) = period {
            failure::stop_for(
                shared,
                format!("watchdog: no WATCHDOG=1 within {period:?}"),
                |s| matches!(s, ProcStatus::Ready { .. }),
            );
        }
    }
}

#[cfg(test)]
mod tests;
