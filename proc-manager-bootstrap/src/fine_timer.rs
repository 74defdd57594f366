//! Sleeps shorter than a millisecond, for the first attempts of the
//! `Connect` probe ([`crate::connect`]): tokio's timer ticks in whole
//! milliseconds (a 250 µs sleep lasts 1–2 ms), so a server that starts
//! listening just after an attempt would be seen up to 2 ms late. A
//! `timerfd` polled by the runtime wakes within tens of microseconds.
//!
//! Nothing else lives here; the pacing (how long, how many) is the probe's.

use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// One `timerfd` on the monotonic clock, re-armed for every sleep.
#[derive(Debug)]
pub(crate) struct FineTimer {
    fd: AsyncFd<OwnedFd>,
}

impl FineTimer {
    /// Needs a tokio runtime with IO enabled.
    pub(crate) fn new() -> io::Result<Self> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // SAFETY: the `AsyncFd` owns the `OwnedFd`, so the descriptor stays
        // open and keeps its number for the `AsyncFd`'s whole life.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(Self { fd })
    }

    /// Sleeps for `delay` (at least 1 ns: a zero timer would be disarmed).
    pub(crate) async fn sleep(&self, delay: Duration) -> io::Result<()> {
        let value = Timespec {
            tv_sec: i64::try_from(delay.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(delay.subsec_nanos().max(u32::from(delay.is_zero()))),
        };
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        timerfd_settime(
            self.fd.get_ref(),
            TimerfdTimerFlags::empty(),
            &Itimerspec {
                it_interval: zero,
                it_value: value,
            },
        )?;
        loop {
            let mut ready = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            match rustix::io::read(self.fd.get_ref(), &mut expirations) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
                Err(err) => return Err(err.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn sleeps_at_least_the_delay_and_can_be_reused() {
        let timer = FineTimer::new().expect("timerfd");
        for delay in [
            Duration::from_micros(200),
            Duration::ZERO,
            Duration::from_millis(3),
        ] {
            let started = Instant::now();
            tokio::time::timeout(Duration::from_secs(10), timer.sleep(delay))
                .await
                .expect("the timer fires")
                .expect("timerfd");
            assert!(started.elapsed() >= delay, "{delay:?}");
        }
    }
}
