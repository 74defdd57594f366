//! The measuring harness: runs "ours" and its baseline alternately (after a
//! warm-up), keeps one ratio per round, and sums the rounds up into a
//! [`Row`] (medians, ratio median and spread, and whether the target holds).
//!
//! What is measured is the scenarios' business (`scenarios/`); how rows are
//! printed is `report.rs`'s.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;

/// Any error, as a boxed trait object: the bench reports and stops.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The bench's result type.
pub(crate) type Result<T> = std::result::Result<T, BoxError>;

/// Which way is better for a scenario's figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Better {
    /// Times, bytes: smaller is better; ratio = ours / baseline.
    Lower,
    /// Throughputs: larger is better; ratio = ours / baseline.
    Higher,
}

/// A target from DESIGN.md's "Non-functional targets".
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Target {
    /// The median ratio must be at most this.
    RatioAtMost(f64),
    /// The median ratio must be at least this.
    RatioAtLeast(f64),
    /// Our median (in the row's unit) must be at most this.
    OursAtMost(f64),
    /// Our median lines per second must be at least this.
    LinesPerSecAtLeast(f64),
    /// A further figure of the row (`extra`) must be at most this.
    ExtraAtMost(&'static str, f64),
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::RatioAtMost(x) => format!("ratio <= {x:.2}"),
            Target::RatioAtLeast(x) => format!("ratio >= {x:.2}"),
            Target::OursAtMost(x) => format!("ours <= {x} {unit}"),
            Target::LinesPerSecAtLeast(x) => format!("ours >= {:.0} M lines/s", x / 1e6),
            Target::ExtraAtMost(name, x) => format!("{name} <= {x:.2}"),
        }
    }

    fn holds(self, row: &Row) -> bool {
        match self {
            Target::RatioAtMost(x) => row.ratio <= x,
            Target::RatioAtLeast(x) => row.ratio >= x,
            Target::OursAtMost(x) => row.ours <= x,
            Target::LinesPerSecAtLeast(x) => row.ours_lines_per_s.is_some_and(|l| l >= x),
            Target::ExtraAtMost(name, x) => row.extra.get(name).is_some_and(|v| *v <= x),
        }
    }
}

/// What a scenario is and how it is judged.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The scenario's name (fixed by the issue).
    pub(crate) name: &'static str,
    /// The unit of `ours` and `baseline`.
    pub(crate) unit: &'static str,
    /// The number of procs (or bytes, or children) per round, as stated.
    pub(crate) n: usize,
    /// Which way is better.
    pub(crate) better: Better,
    /// The targets the row is checked against.
    pub(crate) targets: Vec<Target>,
    /// Free text printed under the table (sizes, settings).
    pub(crate) note: String,
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) scenario: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) n: usize,
    pub(crate) rounds: usize,
    pub(crate) better: Better,
    /// Median of our per-round figures.
    pub(crate) ours: f64,
    /// Median of the baseline's per-round figures.
    pub(crate) baseline: f64,
    /// Median of the per-round ratios ours / baseline.
    pub(crate) ratio: f64,
    pub(crate) ratio_min: f64,
    pub(crate) ratio_max: f64,
    /// Set for `log_throughput`: lines per second at the medians.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ours_lines_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) baseline_lines_per_s: Option<f64>,
    /// Further figures a scenario reports (name -> value), e.g. a second
    /// baseline for context.
    #[serde(flatten)]
    pub(crate) extra: BTreeMap<&'static str, f64>,
    /// The targets, as text.
    pub(crate) target: String,
    /// Whether every target holds.
    pub(crate) met: bool,
    pub(crate) note: String,
    /// Every round's (ours, baseline), for the record.
    pub(crate) samples: Vec<(f64, f64)>,
    #[serde(skip)]
    targets: Vec<Target>,
}

impl Row {
    /// Sets `met` from the targets (again, after a scenario adds figures).
    pub(crate) fn judge(&mut self) {
        self.met = self.targets.iter().all(|t| t.holds(self));
    }
}

/// How many rounds to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rounds {
    /// Rounds run and thrown away first.
    pub(crate) warmup: usize,
    /// Rounds kept.
    pub(crate) measured: usize,
}

/// Runs `ours` then `baseline`, round after round, and sums up.
///
/// Each closure runs one round and returns its figure in `spec.unit`.
pub(crate) async fn alternate<A, B>(
    spec: Spec,
    rounds: Rounds,
    mut ours: A,
    mut baseline: B,
) -> Result<Row>
where
    A: AsyncFnMut() -> Result<f64>,
    B: AsyncFnMut() -> Result<f64>,
{
    let mut samples = Vec::with_capacity(rounds.measured);
    for round in 0..rounds.warmup + rounds.measured {
        let a = ours().await?;
        let b = baseline().await?;
        if round >= rounds.warmup {
            samples.push((a, b));
        }
    }
    Ok(summarise(spec, samples))
}

/// Sums up per-round (ours, baseline) figures into a row.
pub(crate) fn summarise(spec: Spec, samples: Vec<(f64, f64)>) -> Row {
    let ratios: Vec<f64> = samples.iter().map(|(a, b)| a / b).collect();
    let ours = median(samples.iter().map(|s| s.0).collect());
    let baseline = median(samples.iter().map(|s| s.1).collect());
    let mut row = Row {
        scenario: spec.name,
        unit: spec.unit,
        n: spec.n,
        rounds: samples.len(),
        better: spec.better,
        ours,
        baseline,
        ratio: median(ratios.clone()),
        ratio_min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratio_max: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ours_lines_per_s: None,
        baseline_lines_per_s: None,
        extra: BTreeMap::new(),
        target: spec
            .targets
            .iter()
            .map(|t| t.describe(spec.unit))
            .collect::<Vec<_>>()
            .join(", "),
        met: false,
        note: spec.note,
        samples,
        targets: spec.targets,
    };
    row.judge();
    row
}

/// The median (mean of the middle two for an even count); NaN if empty.
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Milliseconds in a duration, as a float.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Awaits `fut`, failing with a message naming `what` after `limit`: no
/// round of the bench may hang.
pub(crate) async fn bounded<T, F>(limit: Duration, what: &str, fut: F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(format!("{what}: no result within {limit:?}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn row_ratios_and_targets() {
        let spec = Spec {
            name: "x",
            unit: "ms",
            n: 1,
            better: Better::Lower,
            targets: vec![Target::RatioAtMost(1.1)],
            note: String::new(),
        };
        let row = summarise(spec, vec![(1.0, 1.0), (1.2, 1.0), (2.0, 2.0)]);
        assert_eq!(row.ratio, 1.0);
        assert_eq!(row.ratio_min, 1.0);
        assert!((row.ratio_max - 1.2).abs() < 1e-9);
        assert!(row.met);
    }
}
