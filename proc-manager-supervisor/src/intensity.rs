//! [`Intensity`]: OTP's maximum restart intensity. Every restart is
//! recorded with its time; more than `max` restarts within `period` and
//! the supervisor gives up.
//!
//! Time comes from the caller (tokio's clock in the loop), so the rule is
//! tested here without waiting.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The restarts of the last `period`, and how many are allowed.
#[derive(Debug)]
pub(crate) struct Intensity {
    max: u32,
    period: Duration,
    recent: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max: u32, period: Duration) -> Self {
        Self {
            max,
            period,
            recent: VecDeque::new(),
        }
    }

    /// Records a restart at `now` and says whether it is allowed: `false`
    /// when it makes more than `max` restarts within `period` (so with
    /// `max == 0` the first restart is refused, as in OTP). A restart
    /// counts while it is at most `period` old.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        while let Some(&oldest) = self.recent.front() {
            if now.saturating_duration_since(oldest) > self.period {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        self.recent.push_back(now);
        // `max` is a u32, so this cannot overflow on any platform we build
        // for; the deque never holds more than `max + 1` entries because the
        // supervisor gives up at that point.
        self.recent.len() <= self.max as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_max_within_the_period_is_refused() {
        let t0 = Instant::now();
        let mut i = Intensity::new(2, Duration::from_secs(10));
        assert!(i.allow(t0));
        assert!(i.allow(t0 + Duration::from_secs(1)));
        assert!(!i.allow(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn restarts_older_than_the_period_no_longer_count() {
        let t0 = Instant::now();
        let mut i = Intensity::new(2, Duration::from_secs(10));
        assert!(i.allow(t0));
        assert!(i.allow(t0 + Duration::from_secs(5)));
        // t0 is 11 s old: it drops out, leaving two.
        assert!(i.allow(t0 + Duration::from_secs(11)));
        assert!(!i.allow(t0 + Duration::from_secs(12)));
    }

    #[test]
    fn exactly_period_old_still_counts() {
        let t0 = Instant::now();
        let mut i = Intensity::new(1, Duration::from_secs(10));
        assert!(i.allow(t0));
        assert!(!i.allow(t0 + Duration::from_secs(10)));
    }

    #[test]
    fn zero_means_the_first_restart_gives_up() {
        let mut i = Intensity::new(0, Duration::from_secs(10));
        assert!(!i.allow(Instant::now()));
    }

    #[test]
    fn unbounded_inputs_do_not_overflow() {
        let t0 = Instant::now();
        let mut i = Intensity::new(u32::MAX, Duration::MAX);
        for k in 0..100 {
            assert!(i.allow(t0 + Duration::from_millis(k)));
        }
    }
}
