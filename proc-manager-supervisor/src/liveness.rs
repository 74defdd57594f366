//! [`Liveness`]: a periodic health check of a Ready child, and
//! [`ProbeOutcome`], what a check may return. `failures` misses in a row
//! and the child is stopped; its restart policy then applies.
//!
//! Stopping the child and reporting its end is done by the per-incarnation
//! monitor (`monitor.rs`); this file only decides when the probe has failed.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

/// The shortest interval between two checks: a zero interval is taken as
/// this, so a probe can never spin.
pub const MIN_PROBE_INTERVAL: Duration = Duration::from_millis(1);

/// What a liveness check returns: `true`/`Ok` is a pass, `false`/`Err` a
/// miss (an `Err`'s `Display` goes into the stop reason).
pub trait ProbeOutcome {
    /// The outcome as a pass or a miss with its reason.
    fn into_result(self) -> Result<(), String>;
}

impl ProbeOutcome for bool {
    fn into_result(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("the check returned false".to_owned())
        }
    }
}

impl<T, E: fmt::Display> ProbeOutcome for Result<T, E> {
    fn into_result(self) -> Result<(), String> {
        self.map(drop).map_err(|err| err.to_string())
    }
}

type Check<H> = dyn Fn(H) -> BoxFuture<'static, Result<(), String>> + Send + Sync;

/// A liveness probe for children whose handle type is `H`.
///
/// Once the child is Ready, `check(handle)` runs every `interval`; a check
/// that returns a miss, panics, or does not finish within `timeout` is a
/// miss. After `failures` misses in a row (`0` is taken as `1`) the child
/// is stopped with the reason `"liveness: …"` and its end counts as
/// abnormal (`Failed`), so [`crate::Restart`] and [`crate::Strategy`]
/// apply as for a crash. A pass resets the count.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::ProcHandle;
/// use proc_manager_local::LocalProcHandle;
/// use proc_manager_supervisor::Liveness;
///
/// let liveness = Liveness::probe(
///     Duration::from_secs(1),   // every second
///     Duration::from_millis(200), // each check answers within 200 ms
///     3,                        // three misses in a row stop the child
///     |handle: LocalProcHandle| async move { handle.status().is_ready() },
/// );
/// # let _ = liveness;
/// ```
pub struct Liveness<H> {
    interval: Duration,
    timeout: Duration,
    failures: u32,
    check: Arc<Check<H>>,
}

impl<H: Send + 'static> Liveness<H> {
    /// A probe running `check` every `interval` with `timeout`; `failures`
    /// misses in a row stop the child.
    pub fn probe<F, Fut>(interval: Duration, timeout: Duration, failures: u32, check: F) -> Self
    where
        F: Fn(H) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: ProbeOutcome,
    {
        let check = Arc::new(check);
        Self {
            interval: interval.max(MIN_PROBE_INTERVAL),
            timeout,
            failures: failures.max(1),
            check: Arc::new(move |handle: H| {
                let check = check.clone();
                // The call is inside the future so a panic in it is caught
                // with the check's own.
                async move { check(handle).await.into_result() }.boxed()
            }),
        }
    }

    /// Runs checks until `failures` misses in a row and returns the stop
    /// reason. Never returns while the checks pass.
    pub(crate) async fn until_failed(&self, handle: H) -> String
    where
        H: Clone,
    {
        let mut misses: u32 = 0;
        loop {
            tokio::time::sleep(self.interval).await;
            let check = AssertUnwindSafe((self.check)(handle.clone())).catch_unwind();
            let outcome = match tokio::time::timeout(self.timeout, check).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_panic)) => Err("the check panicked".to_owned()),
                Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            };
            match outcome {
                Ok(()) => misses = 0,
                Err(why) => {
                    misses = misses.saturating_add(1);
                    tracing::debug!(misses, failures = self.failures, %why, "liveness check missed");
                    if misses >= self.failures {
                        return format!("liveness: {misses} checks missed in a row (last: {why})");
                    }
                }
            }
        }
    }
}

impl<H> Clone for Liveness<H> {
    fn clone(&self) -> Self {
        Self {
            interval: self.interval,
            timeout: self.timeout,
            failures: self.failures,
            check: self.check.clone(),
        }
    }
}

impl<H> fmt::Debug for Liveness<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Liveness")
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn counting(answers: Vec<bool>) -> (Liveness<()>, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = calls.clone();
        let liveness = Liveness::probe(
            Duration::from_secs(1),
            Duration::from_secs(1),
            3,
            move |()| {
                let n = seen.fetch_add(1, Ordering::SeqCst) as usize;
                let answer = answers.get(n).copied().unwrap_or(false);
                async move { answer }
            },
        );
        (liveness, calls)
    }

    #[tokio::test(start_paused = true)]
    async fn fails_after_the_given_misses_in_a_row_only() {
        // Two misses, a pass (resets), then three misses.
        let (liveness, calls) = counting(vec![false, false, true, false, false, false]);
        let started = tokio::time::Instant::now();
        let reason = liveness.until_failed(()).await;
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert_eq!(started.elapsed(), Duration::from_secs(6));
        assert!(
            reason.starts_with("liveness: 3 checks missed in a row"),
            "{reason}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_or_panicking_check_is_a_miss() {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = calls.clone();
        let liveness = Liveness::probe(Duration::ZERO, Duration::from_millis(50), 2, move |()| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    std::future::pending::<()>().await;
                }
                panic!("probe bug");
                #[allow(unreachable_code)]
                true
            }
        });
        let reason = liveness.until_failed(()).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(reason.contains("the check panicked"), "{reason}");
    }

    #[test]
    fn results_and_bools_are_outcomes() {
        assert_eq!(true.into_result(), Ok(()));
        assert!(false.into_result().is_err());
        assert_eq!(Ok::<u8, String>(1).into_result(), Ok(()));
        assert_eq!(Err::<(), _>("down").into_result(), Err("down".to_owned()));
    }
}
