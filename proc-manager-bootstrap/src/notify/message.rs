//! One notify datagram parsed: newline-separated `KEY=VALUE` assignments,
//! as `sd_notify(3)` sends them, several per datagram.
//!
//! A datagram is taken whole or not at all: one line that is not an
//! assignment, a key that is not `[A-Z0-9_]+`, a value of a known key that
//! is out of range, a NUL byte or invalid UTF-8 makes it [`Garbage`], which
//! changes nothing. Keys we do not act on (`MAINPID=`, `RELOADING=1`,
//! `FDSTORE=1`, …) are valid and ignored. What the assignments do is
//! [`crate::notify`]'s business.

use std::time::Duration;

/// Why a datagram was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Garbage(pub(crate) String);

/// What a `WATCHDOG=` assignment asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatchdogRequest {
    /// `WATCHDOG=1`: the proc is alive.
    Ping,
    /// `WATCHDOG=trigger`: the proc asks to be treated as hung.
    Trigger,
}

/// The assignments of one datagram we act on (the last one of a key wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) ready: bool,
    pub(crate) stopping: bool,
    pub(crate) status: Option<String>,
    pub(crate) errno: Option<i32>,
    pub(crate) exit_status: Option<String>,
    pub(crate) watchdog: Option<WatchdogRequest>,
    /// `WATCHDOG_USEC=`: a new watchdog period (zero turns it off).
    pub(crate) watchdog_period: Option<Duration>,
    /// `BARRIER=1`: a synchronisation point; its fd is closed to answer.
    pub(crate) barrier: bool,
}

impl Message {
    /// Parses one datagram.
    pub(crate) fn parse(datagram: &[u8]) -> Result<Self, Garbage> {
        let text = std::str::from_utf8(datagram).map_err(|_| Garbage("not UTF-8".into()))?;
        if text.contains('\0') {
            return Err(Garbage("holds a NUL byte".into()));
        }
        let mut message = Message::default();
        for line in text.split('\n').filter(|line| !line.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| Garbage(format!("not an assignment: {:?}", cut(line))))?;
            if key.is_empty()
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Garbage(format!("not a variable name: {:?}", cut(key))));
            }
            message.assign(key, value)?;
        }
        Ok(message)
    }

    fn assign(&mut self, key: &str, value: &str) -> Result<(), Garbage> {
        let bad = || Garbage(format!("bad value for {key}: {:?}", cut(value)));
        match key {
            "READY" => self.ready = flag(value).ok_or_else(bad)?,
            "STOPPING" => self.stopping = flag(value).ok_or_else(bad)?,
            "BARRIER" => self.barrier = flag(value).ok_or_else(bad)?,
            "STATUS" => self.status = Some(value.to_owned()),
            "ERRNO" => {
                let errno = value.parse::<i32>().ok().filter(|n| *n >= 0);
                self.errno = Some(errno.ok_or_else(bad)?);
            }
            "EXIT_STATUS" if !value.is_empty() => self.exit_status = Some(value.to_owned()),
            "EXIT_STATUS" => return Err(bad()),
            "WATCHDOG" => {
                self.watchdog = Some(match value {
                    "1" => WatchdogRequest::Ping,
                    "trigger" => WatchdogRequest::Trigger,
                    _ => return Err(bad()),
                });
            }
            "WATCHDOG_USEC" => {
                let usec = value.parse::<u64>().map_err(|_| bad())?;
                self.watchdog_period = Some(Duration::from_micros(usec));
            }
            _ => {}
        }
        Ok(())
    }
}

/// `1` is set; `0` is a valid "not set" (systemd accepts only `1` as set).
fn flag(value: &str) -> Option<bool> {
    match value {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// A short prefix of untrusted text, for a log line.
fn cut(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_assignments_in_one_datagram() {
        let message = Message::parse(b"STATUS=warming up: 3/4\nREADY=1\nMAINPID=42\nWATCHDOG=1\n")
            .expect("valid");
        assert_eq!(
            message,
            Message {
                ready: true,
                status: Some("warming up: 3/4".into()),
                watchdog: Some(WatchdogRequest::Ping),
                ..Message::default()
            }
        );
    }

    #[test]
    fn failure_details_and_watchdog_settings() {
        let message = Message::parse(
            b"ERRNO=2\nEXIT_STATUS=3\nSTOPPING=1\nWATCHDOG=trigger\nWATCHDOG_USEC=250000",
        )
        .expect("valid");
        assert_eq!(message.errno, Some(2));
        assert_eq!(message.exit_status.as_deref(), Some("3"));
        assert!(message.stopping);
        assert_eq!(message.watchdog, Some(WatchdogRequest::Trigger));
        assert_eq!(message.watchdog_period, Some(Duration::from_millis(250)));
        assert!(Message::parse(b"BARRIER=1").expect("valid").barrier);
        assert_eq!(
            Message::parse(b"").expect("empty is valid"),
            Message::default()
        );
    }

    #[test]
    fn garbage_is_refused_whole() {
        for datagram in [
            &b"READY=1\nhello world"[..],
            b"\xff\xfeREADY=1",
            b"READY=1\0",
            b"ready=1",
            b"=1",
            b"READY=yes",
            b"READY=1\nERRNO=-4",
            b"ERRNO=ENOENT",
            b"WATCHDOG=2",
            b"WATCHDOG_USEC=soon",
            b"EXIT_STATUS=",
        ] {
            assert!(
                Message::parse(datagram).is_err(),
                "{datagram:?} was accepted"
            );
        }
    }
}
