//! [`Watchdog`]: when a `Notify` proc must next have said `WATCHDOG=1`.
//!
//! The clock starts at `READY=1` (a proc still starting up is covered by the
//! ready timeout instead), each ping restarts it, `WATCHDOG_USEC=` changes
//! the period and restarts it (zero turns it off), and `STOPPING=1` turns it
//! off. Pure: the caller passes the time and acts on the deadline.

use std::time::Duration;

use tokio::time::Instant;

/// The watchdog of one proc.
#[derive(Debug, Clone)]
pub(crate) struct Watchdog {
    period: Option<Duration>,
    running: bool,
    deadline: Option<Instant>,
}

impl Watchdog {
    /// A watchdog with this period (`None`: no watchdog), not yet started.
    pub(crate) fn new(period: Option<Duration>) -> Self {
        Self {
            period: period.filter(|p| !p.is_zero()),
            running: false,
            deadline: None,
        }
    }

    /// The current period.
    pub(crate) fn period(&self) -> Option<Duration> {
        self.period
    }

    /// When the proc is next due, if the watchdog runs. A period too long
    /// to add to `now` is no deadline.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    fn restart(&mut self, now: Instant) {
        self.deadline = match (self.running, self.period) {
            (true, Some(period)) => now.checked_add(period),
            _ => None,
        };
    }

    /// `READY=1`: starts the clock.
    pub(crate) fn on_ready(&mut self, now: Instant) {
        if !self.running {
            self.running = true;
            self.restart(now);
        }
    }

    /// `WATCHDOG=1`: restarts the clock (before `READY=1`: nothing).
    pub(crate) fn on_ping(&mut self, now: Instant) {
        self.restart(now);
    }

    /// `WATCHDOG_USEC=`: a new period, from now.
    pub(crate) fn set_period(&mut self, period: Duration, now: Instant) {
        self.period = Some(period).filter(|p| !p.is_zero());
        self.restart(now);
    }

    /// `STOPPING=1`, or the proc is being stopped: no more deadline.
    pub(crate) fn stop(&mut self) {
        self.running = false;
        self.deadline = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn starts_at_ready_and_restarts_on_each_ping() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(Some(100 * MS));
        dog.on_ping(t0);
        assert_eq!(dog.deadline(), None, "pings before READY=1 start nothing");
        dog.on_ready(t0 + 10 * MS);
        assert_eq!(dog.deadline(), Some(t0 + 110 * MS));
        dog.on_ready(t0 + 50 * MS);
        assert_eq!(
            dog.deadline(),
            Some(t0 + 110 * MS),
            "a second READY=1 is no ping"
        );
        dog.on_ping(t0 + 60 * MS);
        assert_eq!(dog.deadline(), Some(t0 + 160 * MS));
        dog.stop();
        assert_eq!(dog.deadline(), None);
        dog.on_ping(t0 + 70 * MS);
        assert_eq!(dog.deadline(), None, "stopped stays stopped");
    }

    #[test]
    fn period_changes_and_zero_or_none_turns_it_off() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(None);
        dog.on_ready(t0);
        assert_eq!(dog.deadline(), None);
        dog.set_period(20 * MS, t0 + 5 * MS);
        assert_eq!(dog.deadline(), Some(t0 + 25 * MS));
        assert_eq!(dog.period(), Some(20 * MS));
        dog.set_period(Duration::ZERO, t0 + 6 * MS);
        assert_eq!(dog.deadline(), None);
        assert_eq!(Watchdog::new(Some(Duration::ZERO)).period(), None);
    }

    #[test]
    fn huge_period_is_no_deadline() {
        let mut dog = Watchdog::new(Some(Duration::MAX));
        dog.on_ready(Instant::now());
        assert_eq!(dog.deadline(), None);
    }
}
