//! [`Readiness`]: how the manager learns that a proc is ready, the checks
//! made on it before anything is started (a pattern that does not compile,
//! an address no OS process can serve), and the ready-timeout rules.
//!
//! Everything here is pure. Driving each mode while the proc runs is done
//! elsewhere: the bootstrap call-back in [`crate::callback`], connection
//! probes in [`crate::connect`], the notify protocol in [`crate::notify`],
//! log-line matching in [`crate::log_match`], and the deadline shared by
//! all of them in [`crate::ready_driver`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use proc_manager_core::{ChannelAddr, ProcId, SpawnError};

/// How a bootstrap proc is known to be ready (`Ready{addr}`).
///
/// Set for every proc with
/// [`BootstrapProcManagerBuilder::readiness`](crate::BootstrapProcManagerBuilder::readiness)
/// and per spawn with
/// [`BootstrapProcConfig::readiness`](crate::BootstrapProcConfig::readiness).
/// Only [`Readiness::Callback`] puts the bootstrap protocol's variables
/// (`PROC_MANAGER_BOOTSTRAP_MODE`, `BOOTSTRAP_LOG_CHANNEL`) in the child's
/// environment; the other modes run any program unchanged.
///
/// ```
/// use proc_manager_bootstrap::{ChannelAddr, Readiness};
///
/// let web: ChannelAddr = "tcp:127.0.0.1:8080".parse()?;
/// let by_port = Readiness::Connect(web.clone());
/// let by_log = Readiness::log_line(r"listening on port \d+", web);
/// assert!(!by_port.is_callback());
/// assert!(matches!(by_log, Readiness::LogLine { .. }));
/// assert!(Readiness::default().is_callback());
/// # Ok::<(), proc_manager_bootstrap::AddrError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Readiness {
    /// The bootstrap protocol (the default): the child calls back with the
    /// address it serves on (see [`crate::child`]).
    #[default]
    Callback,
    /// `Ready{addr}` as soon as the proc runs.
    Spawned(ChannelAddr),
    /// `Ready{addr}` once a connection to `addr` (`tcp:` or `unix:`)
    /// succeeds; probed every 250 µs for the first 5 ms, every millisecond
    /// for the next 10, then with a back-off up to 50 ms.
    Connect(ChannelAddr),
    /// systemd's notify protocol: the child is given `NOTIFY_SOCKET` and is
    /// `Ready{addr}` once it sends `READY=1` (see `sd_notify(3)`). `STATUS=`
    /// is kept ([`BootstrapProcHandle::status_text`](crate::BootstrapProcHandle::status_text)),
    /// `STOPPING=1` makes it `Stopping`, `ERRNO=` and `EXIT_STATUS=` go into
    /// the reason of a failed end, `WATCHDOG=1` feeds the watchdog
    /// ([`BootstrapProcConfig::watchdog`](crate::BootstrapProcConfig::watchdog)).
    /// Datagrams from processes outside the proc are ignored.
    Notify(ChannelAddr),
    /// `Ready{addr}` when a stdout or stderr line matches the regular
    /// expression `pattern` (the `regex` crate's syntax, matched against the
    /// line's bytes). Needs captured stdio.
    LogLine {
        /// The regular expression a line must match.
        pattern: String,
        /// The address the proc is then ready at.
        addr: ChannelAddr,
    },
}

impl Readiness {
    /// The default ready timeout of [`Readiness::Callback`]; every other
    /// mode waits forever unless told otherwise.
    pub const CALLBACK_READY_TIMEOUT: Duration = Duration::from_secs(30);

    /// [`Readiness::LogLine`] with this pattern and address.
    pub fn log_line(pattern: impl Into<String>, addr: ChannelAddr) -> Self {
        Self::LogLine {
            pattern: pattern.into(),
            addr,
        }
    }

    /// Whether this is the bootstrap call-back protocol.
    pub fn is_callback(&self) -> bool {
        matches!(self, Self::Callback)
    }

    /// Whether this is the notify protocol.
    pub fn is_notify(&self) -> bool {
        matches!(self, Self::Notify(_))
    }

    /// The ready timeout of this mode when none is configured: 30 s for
    /// [`Readiness::Callback`], `None` (wait forever) for the others.
    pub fn default_ready_timeout(&self) -> Option<Duration> {
        self.is_callback().then_some(Self::CALLBACK_READY_TIMEOUT)
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Callback => "Callback",
            Self::Spawned(_) => "Spawned",
            Self::Connect(_) => "Connect",
            Self::Notify(_) => "Notify",
            Self::LogLine { .. } => "LogLine",
        }
    }
}

/// Where a [`Readiness::Connect`] probe connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProbeTarget {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A [`Readiness`] checked and prepared for one spawn.
#[derive(Debug, Clone)]
pub(crate) enum ReadyPlan {
    Callback,
    Spawned(ChannelAddr),
    Connect {
        target: ProbeTarget,
        addr: ChannelAddr,
    },
    Notify(ChannelAddr),
    LogLine {
        regex: regex::bytes::Regex,
        addr: ChannelAddr,
    },
}

impl ReadyPlan {
    /// Checks `readiness` for the proc `proc_id`: a pattern that does not
    /// compile, a `local:` address (no OS process serves one), a `Connect`
    /// address with port 0, or `LogLine` without captured output is a
    /// [`SpawnError::BadConfig`] naming the proc.
    pub(crate) fn new(
        readiness: &Readiness,
        proc_id: &ProcId,
        output_captured: bool,
    ) -> Result<Self, SpawnError> {
        let bad = |reason: String| SpawnError::BadConfig {
            proc_id: proc_id.clone(),
            reason: format!("Readiness::{}: {reason}", readiness.name()),
        };
        let served = |addr: &ChannelAddr| match addr {
            ChannelAddr::Local(_) => Err(bad(format!(
                "address {addr} is in-process only; an OS process serves tcp: or unix:"
            ))),
            _ => Ok(addr.clone()),
        };
        Ok(match readiness {
            Readiness::Callback => Self::Callback,
            Readiness::Spawned(addr) => Self::Spawned(served(addr)?),
            Readiness::Notify(addr) => Self::Notify(served(addr)?),
            Readiness::Connect(addr) => {
                let target = match served(addr)? {
                    ChannelAddr::Tcp(socket) if socket.port() == 0 => {
                        return Err(bad(format!("cannot connect to {addr}: port 0")));
                    }
                    ChannelAddr::Tcp(socket) => ProbeTarget::Tcp(socket),
                    ChannelAddr::Unix(path) => ProbeTarget::Unix(path),
                    other => return Err(bad(format!("cannot connect to {other}"))),
                };
                Self::Connect {
                    target,
                    addr: addr.clone(),
                }
            }
            Readiness::LogLine { pattern, addr } => {
                if !output_captured {
                    return Err(bad(
                        "needs captured stdio (StdioMode::Captured) to see the lines".into(),
                    ));
                }
                let regex = regex::bytes::Regex::new(pattern)
                    .map_err(|err| bad(format!("invalid pattern {pattern:?}: {err}")))?;
                Self::LogLine {
                    regex,
                    addr: served(addr)?,
                }
            }
        })
    }
}

/// The ready timeout in effect for a proc: the spawn's own, else the
/// manager's, else the mode's default. `None` (or `Duration::MAX`) means no
/// deadline.
pub(crate) fn effective_ready_timeout(
    readiness: &Readiness,
    per_spawn: Option<Duration>,
    manager: Option<Duration>,
) -> Option<Duration> {
    per_spawn
        .or(manager)
        .or_else(|| readiness.default_ready_timeout())
        .filter(|timeout| *timeout != Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ProcId {
        ProcId::new("web").expect("id")
    }

    fn addr(text: &str) -> ChannelAddr {
        text.parse().expect("addr")
    }

    fn refused(readiness: Readiness, captured: bool) -> String {
        match ReadyPlan::new(&readiness, &id(), captured) {
            Err(err @ SpawnError::BadConfig { .. }) => err.to_string(),
            other => panic!("expected BadConfig, got {other:?}"),
        }
    }

    #[test]
    fn bad_pattern_is_bad_config_naming_the_proc() {
        let message = refused(
            Readiness::log_line("listening (", addr("tcp:1.2.3.4:5")),
            true,
        );
        assert!(message.starts_with("proc web: bad config: Readiness::LogLine: invalid pattern"));
    }

    #[test]
    fn local_addresses_and_port_zero_are_refused() {
        let local = addr("local:3");
        for readiness in [
            Readiness::Connect(local.clone()),
            Readiness::Notify(local.clone()),
            Readiness::Spawned(local.clone()),
            Readiness::log_line("x", local),
        ] {
            assert!(refused(readiness, true).contains("in-process only"));
        }
        assert!(refused(Readiness::Connect(addr("tcp:127.0.0.1:0")), true).contains("port 0"));
    }

    #[test]
    fn log_line_needs_captured_output() {
        let message = refused(Readiness::log_line("x", addr("tcp:127.0.0.1:1")), false);
        assert!(message.contains("captured stdio"));
    }

    #[test]
    fn good_modes_are_planned() {
        let tcp = addr("tcp:127.0.0.1:8080");
        let plan = ReadyPlan::new(&Readiness::Connect(tcp.clone()), &id(), true).expect("plan");
        assert!(matches!(
            plan,
            ReadyPlan::Connect { target: ProbeTarget::Tcp(s), .. } if s.port() == 8080
        ));
        let unix = addr("unix:/run/x.sock");
        let plan = ReadyPlan::new(&Readiness::Connect(unix), &id(), true).expect("plan");
        assert!(matches!(
            plan,
            ReadyPlan::Connect {
                target: ProbeTarget::Unix(_),
                ..
            }
        ));
        let plan = ReadyPlan::new(&Readiness::log_line(r"^up \d+$", tcp), &id(), true);
        assert!(matches!(plan, Ok(ReadyPlan::LogLine { regex, .. }) if regex.is_match(b"up 42")));
        assert!(matches!(
            ReadyPlan::new(&Readiness::Callback, &id(), false),
            Ok(ReadyPlan::Callback)
        ));
    }

    #[test]
    fn ready_timeout_rules() {
        let secs = Duration::from_secs;
        let notify = Readiness::Notify(addr("tcp:127.0.0.1:1"));
        // Defaults: 30 s for the call-back, forever for the others.
        assert_eq!(
            effective_ready_timeout(&Readiness::Callback, None, None),
            Some(secs(30))
        );
        assert_eq!(effective_ready_timeout(&notify, None, None), None);
        // The manager's setting applies to every mode; the spawn's wins.
        assert_eq!(
            effective_ready_timeout(&notify, None, Some(secs(5))),
            Some(secs(5))
        );
        assert_eq!(
            effective_ready_timeout(&Readiness::Callback, Some(secs(1)), Some(secs(5))),
            Some(secs(1))
        );
        // Duration::MAX is no deadline, ZERO is "now".
        assert_eq!(
            effective_ready_timeout(&Readiness::Callback, Some(Duration::MAX), Some(secs(5))),
            None
        );
        assert_eq!(
            effective_ready_timeout(&notify, Some(Duration::ZERO), None),
            Some(Duration::ZERO)
        );
    }
}
