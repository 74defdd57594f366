//! The outcome of each check ([`Outcome`], [`CheckResult`]) and of a whole
//! run ([`ConformanceReport`]).
//!
//! Producing outcomes is the checks' and the runner's job; this module only
//! holds and prints them.

use std::fmt;
use std::time::Duration;

/// What one check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The backend did what the contract says.
    Passed,
    /// The backend did not; the message says what was expected and what was
    /// seen.
    Failed {
        /// Expected versus seen.
        message: String,
    },
    /// The check could not run on this backend (a missing capability or
    /// behaviour); never counted as passed.
    Skipped {
        /// Why it did not run.
        reason: String,
    },
}

impl Outcome {
    /// Whether the check passed.
    pub fn is_passed(&self) -> bool {
        matches!(self, Self::Passed)
    }

    /// Whether the check failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }

    /// Whether the check was skipped.
    pub fn is_skipped(&self) -> bool {
        matches!(self, Self::Skipped { .. })
    }
}

/// One check's name, outcome and duration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckResult {
    /// The check's name (the `check_` function without its prefix).
    pub name: &'static str,
    /// What it concluded.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

impl CheckResult {
    /// A result.
    pub fn new(name: &'static str, outcome: Outcome, elapsed: Duration) -> Self {
        Self {
            name,
            outcome,
            elapsed,
        }
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        match &self.outcome {
            Outcome::Passed => write!(f, "PASS {} ({secs:.2}s)", self.name),
            Outcome::Failed { message } => {
                write!(f, "FAIL {} ({secs:.2}s): {message}", self.name)
            }
            Outcome::Skipped { reason } => write!(f, "SKIP {}: {reason}", self.name),
        }
    }
}

/// The results of [`super::run_all`], in the order the checks ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConformanceReport {
    /// Every check's result.
    pub results: Vec<CheckResult>,
}

impl ConformanceReport {
    /// The checks that passed.
    pub fn passed(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| r.outcome.is_passed())
    }

    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| r.outcome.is_failed())
    }

    /// The checks that were skipped.
    pub fn skipped(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| r.outcome.is_skipped())
    }

    /// The result of the check called `name`.
    pub fn get(&self, name: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.name == name)
    }

    /// Whether no check failed (skipped ones do not count as failures, nor
    /// as passes).
    pub fn no_failures(&self) -> bool {
        self.failed().next().is_none()
    }

    /// Panics with the whole report if any check failed.
    #[track_caller]
    pub fn assert_no_failures(&self) {
        assert!(self.no_failures(), "conformance failures:\n{self}");
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for result in &self.results {
            writeln!(f, "{result}")?;
        }
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed().count(),
            self.failed().count(),
            self.skipped().count()
        )
    }
}
