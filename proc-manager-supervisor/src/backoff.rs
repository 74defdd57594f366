//! [`Backoff`]: how long to wait before restarting a child — exponential,
//! capped, with optional jitter — and [`BackoffState`], one child's place in
//! that sequence (reset once the child stayed up for its `min_uptime`).
//!
//! Checking a back-off is valid is here ([`Backoff::validate`]); the error
//! type is in [`crate::error`].

use std::time::Duration;

use crate::error::BackoffError;
use crate::random::Rng;

/// The delay before each restart of a child: `initial` before the first,
/// doubling with every restart after it, never more than `cap`; each delay
/// then moved at random by up to `jitter` of itself.
///
/// The sequence starts again at `initial` once the child stays up (Ready)
/// for its [`crate::ChildSpec::min_uptime`]. All arithmetic saturates: any
/// `Duration` is valid input.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_supervisor::Backoff;
///
/// let backoff = Backoff::exponential(Duration::from_millis(50), Duration::from_secs(5));
/// assert_eq!(backoff.base_delay(1), Duration::from_millis(50));
/// assert_eq!(backoff.base_delay(2), Duration::from_millis(100));
/// assert_eq!(backoff.base_delay(10), Duration::from_secs(5)); // capped
/// assert!(backoff.jitter(0.2).validate().is_ok());
/// assert!(backoff.jitter(1.5).validate().is_err());
/// assert_eq!(Backoff::none().base_delay(3), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::none()
    }
}

impl Backoff {
    /// No delay: restart at once, as OTP does (the default). The restart
    /// intensity is what stops a crash loop.
    pub const fn none() -> Self {
        Self {
            initial: Duration::ZERO,
            cap: Duration::ZERO,
            jitter: 0.0,
        }
    }

    /// `initial` before the first restart, doubling up to `cap`. An
    /// `initial` longer than `cap` is refused by
    /// [`crate::SupervisorBuilder::start`] (see [`Backoff::validate`]).
    pub const fn exponential(initial: Duration, cap: Duration) -> Self {
        Self {
            initial,
            cap,
            jitter: 0.0,
        }
    }

    /// Moves each delay at random within `±fraction` of itself (`0.2`: from
    /// 80 % to 120 %), so children that crashed together do not restart in
    /// lockstep. `fraction` must be within `0..=1`; anything else (NaN
    /// included) is refused by [`crate::SupervisorBuilder::start`]. A jittered
    /// delay may exceed `cap` by up to `fraction` of it.
    pub const fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// The delay before the first restart.
    pub const fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest delay before jitter.
    pub const fn cap(&self) -> Duration {
        self.cap
    }

    /// The jitter fraction.
    pub const fn jitter_fraction(&self) -> f64 {
        self.jitter
    }

    /// Checks the back-off can be used.
    pub fn validate(&self) -> Result<(), BackoffError> {
        if self.initial > self.cap {
            return Err(BackoffError::InitialExceedsCap {
                initial: self.initial,
                cap: self.cap,
            });
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(BackoffError::Jitter {
                fraction: self.jitter,
            });
        }
        Ok(())
    }

    /// The delay before restart number `attempt` since the last reset
    /// (`1` is the first; `0` is taken as `1`), before jitter:
    /// `min(cap, initial × 2^(attempt − 1))`, saturating.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1);
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.cap)
    }

    /// [`Backoff::base_delay`] moved by the jitter, `unit` being a random
    /// number in `[0, 1)`.
    fn jittered(&self, attempt: u32, unit: f64) -> Duration {
        let base = self.base_delay(attempt);
        if self.jitter == 0.0 || base.is_zero() {
            return base;
        }
        // In [1 - j, 1 + j): never negative for a valid j.
        let factor = 1.0 - self.jitter + 2.0 * self.jitter * unit;
        Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(if factor < 1.0 {
            Duration::ZERO
        } else {
            Duration::MAX
        })
    }
}

/// One child's position in its back-off sequence.
#[derive(Debug, Clone, Default)]
pub(crate) struct BackoffState {
    attempt: u32,
}

impl BackoffState {
    /// The delay before the next restart, advancing the sequence.
    pub(crate) fn next_delay(&mut self, backoff: &Backoff, rng: &mut Rng) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        backoff.jittered(self.attempt, rng.unit())
    }

    /// Starts the sequence again at `initial`.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubles_up_to_the_cap_then_resets() {
        let backoff = Backoff::exponential(10 * MS, 70 * MS);
        let mut state = BackoffState::default();
        let mut rng = Rng::seeded(1);
        let delays: Vec<_> = (0..5)
            .map(|_| state.next_delay(&backoff, &mut rng))
            .collect();
        assert_eq!(delays, [10 * MS, 20 * MS, 40 * MS, 70 * MS, 70 * MS]);
        state.reset();
        assert_eq!(state.next_delay(&backoff, &mut rng), 10 * MS);
    }

    #[test]
    fn jitter_stays_within_its_fraction_and_spreads() {
        let backoff = Backoff::exponential(100 * MS, 100 * MS).jitter(0.2);
        let mut rng = Rng::seeded(3);
        let delays: Vec<_> = (0..2_000)
            .map(|_| backoff.jittered(1, rng.unit()))
            .collect();
        assert!(delays.iter().all(|d| (80 * MS..=120 * MS).contains(d)));
        let min = delays.iter().min().copied().unwrap_or_default();
        let max = delays.iter().max().copied().unwrap_or_default();
        assert!(min < 85 * MS && max > 115 * MS, "{min:?}..{max:?}");
    }

    #[test]
    fn full_jitter_reaches_zero_without_going_negative() {
        let backoff = Backoff::exponential(MS, MS).jitter(1.0);
        assert_eq!(backoff.jittered(1, 0.0), Duration::ZERO);
        assert!(backoff.jittered(1, 0.999_999) < 2 * MS);
    }

    #[test]
    fn extreme_durations_saturate() {
        let backoff = Backoff::exponential(Duration::MAX, Duration::MAX).jitter(1.0);
        assert_eq!(backoff.base_delay(u32::MAX), Duration::MAX);
        assert_eq!(backoff.jittered(u32::MAX, 0.999), Duration::MAX);
        let tiny = Backoff::exponential(Duration::from_nanos(1), Duration::MAX);
        assert_eq!(
            tiny.base_delay(40),
            Duration::from_nanos(u64::from(u32::MAX))
        );
        assert_eq!(tiny.base_delay(0), tiny.base_delay(1));
    }

    #[test]
    fn validation() {
        assert!(Backoff::none().validate().is_ok());
        assert!(matches!(
            Backoff::exponential(2 * MS, MS).validate(),
            Err(BackoffError::InitialExceedsCap { .. })
        ));
        for bad in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
            assert!(
                matches!(
                    Backoff::none().jitter(bad).validate(),
                    Err(BackoffError::Jitter { .. })
                ),
                "{bad}"
            );
        }
        assert!(Backoff::none().jitter(0.0).validate().is_ok());
        assert!(Backoff::none().jitter(1.0).validate().is_ok());
    }
}
