//! The measuring harness: runs "ours", its baseline and optionally a peer
//! library alternately (after a warm-up), keeps one ratio per round and
//! side, and sums the rounds up into a [`Row`] (medians, each ratio's median
//! and min–max over the rounds, and whether the targets hold).
//!
//! What is measured is the scenarios' business (`scenarios/`); how rows are
//! printed is `report.rs`'s.

use std::collections::BTreeMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;

/// Any error, as a boxed trait object: the bench reports and stops.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The bench's result type.
pub(crate) type Result<T> = std::result::Result<T, BoxError>;

/// Which side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Ours,
    Baseline,
    Peer,
}

impl FromStr for Side {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "ours" => Ok(Side::Ours),
            "baseline" => Ok(Side::Baseline),
            "peer" => Ok(Side::Peer),
            other => Err(format!("unknown side {other:?} (ours, baseline or peer)")),
        }
    }
}

impl Side {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Baseline => "baseline",
            Side::Peer => "peer",
        }
    }
}

/// `--side`: run only this side of every comparison (for profiling one
/// side under callgrind or perf); the others' figures are NaN.
static ONLY_SIDE: OnceLock<Side> = OnceLock::new();

/// Restricts every later round to `side` (once, before any scenario).
pub(crate) fn only_side(side: Side) {
    let _ = ONLY_SIDE.set(side);
}

/// Runs `side`'s round unless `--side` picked another side.
async fn run_side<F: AsyncFnMut() -> Result<f64>>(side: Side, f: &mut F) -> Result<f64> {
    match ONLY_SIDE.get() {
        Some(only) if *only != side => Ok(f64::NAN),
        _ => f().await,
    }
}

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
    /// The median ratio ours / peer must be at most this.
    PeerRatioAtMost(f64),
    /// The named extra figure (see [`Row::extra`]) must be at most this.
    ExtraAtMost(&'static str, f64),
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::RatioAtMost(x) => format!("ratio <= {x:.2}"),
            Target::RatioAtLeast(x) => format!("ratio >= {x:.2}"),
            Target::OursAtMost(x) => format!("ours <= {x} {unit}"),
            Target::LinesPerSecAtLeast(x) => format!("ours >= {:.0} M lines/s", x / 1e6),
            Target::PeerRatioAtMost(x) => format!("ours/peer <= {x:.2}"),
            Target::ExtraAtMost(name, x) => format!("{name} <= {x}"),
        }
    }

    fn holds(self, row: &Row) -> bool {
        match self {
            Target::RatioAtMost(x) => row.ratio() <= x,
            Target::RatioAtLeast(x) => row.ratio() >= x,
            Target::OursAtMost(x) => row.ours <= x,
            Target::LinesPerSecAtLeast(x) => row.ours_lines_per_s.is_some_and(|l| l >= x),
            Target::PeerRatioAtMost(x) => row.peer.as_ref().is_some_and(|p| p.spread.ratio <= x),
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

/// A ratio's median and spread over the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Spread {
    /// Median of the per-round ratios.
    pub(crate) ratio: f64,
    pub(crate) ratio_min: f64,
    pub(crate) ratio_max: f64,
}

impl Spread {
    /// The median, min and max of `ratios` (NaN for none).
    pub(crate) fn of(ratios: &[f64]) -> Self {
        if ratios.is_empty() {
            return Self {
                ratio: f64::NAN,
                ratio_min: f64::NAN,
                ratio_max: f64::NAN,
            };
        }
        Self {
            ratio: median(ratios.to_vec()),
            ratio_min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratio_max: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// The peer library's figures in a row (same unit as ours).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Peer {
    /// The peer's name, e.g. `process-wrap`.
    pub(crate) name: &'static str,
    /// Median of the peer's per-round figures.
    pub(crate) median: f64,
    /// Ours / peer, per round: median and spread.
    #[serde(flatten)]
    pub(crate) spread: Spread,
}

/// One round's figures: ours, the baseline's, and the peer's if any.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Sample {
    pub(crate) ours: f64,
    pub(crate) baseline: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) peer: Option<f64>,
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
    /// Ours / baseline per round: median (`ratio`), `ratio_min`, `ratio_max`.
    #[serde(flatten)]
    pub(crate) spread: Spread,
    /// The peer library, measured in the same rounds, if the scenario has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) peer: Option<Peer>,
    /// Set for `log_throughput`: lines per second at the medians.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ours_lines_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) baseline_lines_per_s: Option<f64>,
    /// Further figures a scenario reports (name -> value), e.g. a second
    /// baseline for context; [`Target::ExtraAtMost`] can judge them.
    #[serde(flatten)]
    pub(crate) extra: BTreeMap<&'static str, f64>,
    /// Structured detail a scenario wants in the JSON (e.g. a curve).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<serde_json::Value>,
    /// Markdown printed after the table's notes (e.g. the curve as a table).
    #[serde(skip)]
    pub(crate) appendix: Option<String>,
    /// The targets, as text.
    pub(crate) target: String,
    /// Whether every target holds (`None`: the scenario was not measured).
    pub(crate) met: Option<bool>,
    pub(crate) note: String,
    /// The 1-minute load average when the scenario started.
    pub(crate) load_at_start: f64,
    /// Every round's figures, for the record.
    pub(crate) samples: Vec<Sample>,
    #[serde(skip)]
    targets: Vec<Target>,
}

impl Row {
    /// Sets `met` from the targets (again, after a scenario adds figures).
    pub(crate) fn judge(&mut self) {
        self.met = Some(self.targets.iter().all(|t| t.holds(self)));
    }

    /// A placeholder for a scenario DESIGN.md requires but this build does
    /// not register: every figure NaN (`null` in the JSON), `met` unknown.
    pub(crate) fn not_measured(name: &'static str, why: &str) -> Self {
        Self {
            scenario: name,
            unit: "-",
            n: 0,
            rounds: 0,
            better: Better::Lower,
            ours: f64::NAN,
            baseline: f64::NAN,
            spread: Spread::of(&[]),
            peer: None,
            ours_lines_per_s: None,
            baseline_lines_per_s: None,
            extra: BTreeMap::new(),
            detail: None,
            appendix: None,
            target: "-".into(),
            met: None,
            note: why.into(),
            load_at_start: f64::NAN,
            samples: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// The median ratio ours / baseline.
    pub(crate) fn ratio(&self) -> f64 {
        self.spread.ratio
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

/// The type of "no peer" for [`alternate_with_peer`].
type NoPeer = fn() -> std::future::Ready<Result<f64>>;

/// Runs `ours` then `baseline`, round after round, and sums up.
///
/// Each closure runs one round and returns its figure in `spec.unit`.
pub(crate) async fn alternate<A, B>(spec: Spec, rounds: Rounds, ours: A, baseline: B) -> Result<Row>
where
    A: AsyncFnMut() -> Result<f64>,
    B: AsyncFnMut() -> Result<f64>,
{
    alternate_with_peer(spec, rounds, ours, baseline, None::<(&'static str, NoPeer)>).await
}

/// Runs `ours`, `baseline` and the peer library `(name, peer)` if given,
/// in that order, round after round, and sums up: one ratio per round and
/// side, so a burst of load hits the sides of one round alike.
pub(crate) async fn alternate_with_peer<A, B, C>(
    spec: Spec,
    rounds: Rounds,
    mut ours: A,
    mut baseline: B,
    mut peer: Option<(&'static str, C)>,
) -> Result<Row>
where
    A: AsyncFnMut() -> Result<f64>,
    B: AsyncFnMut() -> Result<f64>,
    C: AsyncFnMut() -> Result<f64>,
{
    let mut samples = Vec::with_capacity(rounds.measured);
    for round in 0..rounds.warmup + rounds.measured {
        let ours = run_side(Side::Ours, &mut ours).await?;
        let baseline = run_side(Side::Baseline, &mut baseline).await?;
        let peer = match &mut peer {
            Some((_, run)) => Some(run_side(Side::Peer, run).await?),
            None => None,
        };
        if round >= rounds.warmup {
            samples.push(Sample {
                ours,
                baseline,
                peer,
            });
        }
    }
    let mut row = summarise(spec, samples);
    if let (Some(peer), Some((name, _))) = (&mut row.peer, &peer) {
        peer.name = name;
    }
    Ok(row)
}

/// [`alternate_with_peer`], with the peer compared not with `ours` but with
/// `same_job`: ours set up to do the job the peer does (its containment),
/// run in the same rounds right after it. The row's peer column is then
/// same_job / peer; `ours` / peer goes into the extras as
/// `default_over_peer` (min and max beside it), and same_job's median as
/// `same_job_ms`.
pub(crate) async fn alternate_with_peer_same_job<A, B, C, D>(
    spec: Spec,
    rounds: Rounds,
    mut ours: A,
    mut baseline: B,
    (name, mut peer): (&'static str, C),
    mut same_job: D,
) -> Result<Row>
where
    A: AsyncFnMut() -> Result<f64>,
    B: AsyncFnMut() -> Result<f64>,
    C: AsyncFnMut() -> Result<f64>,
    D: AsyncFnMut() -> Result<f64>,
{
    let mut samples = Vec::with_capacity(rounds.measured);
    let mut same = Vec::with_capacity(rounds.measured);
    for round in 0..rounds.warmup + rounds.measured {
        let ours = run_side(Side::Ours, &mut ours).await?;
        let baseline = run_side(Side::Baseline, &mut baseline).await?;
        let peer = run_side(Side::Peer, &mut peer).await?;
        let same_job = run_side(Side::Ours, &mut same_job).await?;
        if round >= rounds.warmup {
            samples.push(Sample {
                ours,
                baseline,
                peer: Some(peer),
            });
            same.push(same_job);
        }
    }
    let same_over_peer: Vec<f64> = samples
        .iter()
        .zip(&same)
        .filter_map(|(s, same)| s.peer.map(|p| same / p))
        .collect();
    let mut row = summarise(spec, samples);
    // `summarise` made the peer's spread of ours / peer: kept as the
    // default's, replaced by the same job's.
    let default = row.peer.as_mut().map(|peer| {
        peer.name = name;
        std::mem::replace(&mut peer.spread, Spread::of(&same_over_peer))
    });
    if let Some(default) = default {
        row.extra.insert("default_over_peer", default.ratio);
        row.extra.insert("default_over_peer_min", default.ratio_min);
        row.extra.insert("default_over_peer_max", default.ratio_max);
    }
    row.extra.insert("same_job_ms", median(same));
    row.judge();
    Ok(row)
}

/// Sums up per-round figures into a row (the peer, if the samples have
/// one, is named later by the caller).
pub(crate) fn summarise(spec: Spec, samples: Vec<Sample>) -> Row {
    let ratios: Vec<f64> = samples.iter().map(|s| s.ours / s.baseline).collect();
    let peer_ratios: Vec<f64> = samples
        .iter()
        .filter_map(|s| s.peer.map(|p| s.ours / p))
        .collect();
    let peer = (!peer_ratios.is_empty()).then(|| Peer {
        name: "peer",
        median: median(samples.iter().filter_map(|s| s.peer).collect()),
        spread: Spread::of(&peer_ratios),
    });
    let mut row = Row {
        scenario: spec.name,
        unit: spec.unit,
        n: spec.n,
        rounds: samples.len(),
        better: spec.better,
        ours: median(samples.iter().map(|s| s.ours).collect()),
        baseline: median(samples.iter().map(|s| s.baseline).collect()),
        spread: Spread::of(&ratios),
        peer,
        ours_lines_per_s: None,
        baseline_lines_per_s: None,
        extra: BTreeMap::new(),
        detail: None,
        appendix: None,
        target: spec
            .targets
            .iter()
            .map(|t| t.describe(spec.unit))
            .collect::<Vec<_>>()
            .join(", "),
        met: None,
        note: spec.note,
        load_at_start: f64::NAN,
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

/// Runs `make(i)` for `i` in `0..n` all at once, one tokio task each;
/// returns what succeeded and the first error, if any (the caller tears
/// down the successes).
pub(crate) async fn all_at_once<T, F, Fut>(n: usize, mut make: F) -> (Vec<T>, Option<BoxError>)
where
    T: Send + 'static,
    F: FnMut(usize) -> Result<Fut>,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let mut set = JoinSet::new();
    let mut first_error = None;
    for i in 0..n {
        match make(i) {
            Ok(fut) => {
                set.spawn(fut);
            }
            Err(e) => {
                first_error = Some(e);
                break;
            }
        }
    }
    let mut done = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(t)) => done.push(t),
            Ok(Err(e)) => first_error = first_error.or(Some(e)),
            Err(e) => first_error = first_error.or(Some(e.into())),
        }
    }
    (done, first_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(targets: Vec<Target>) -> Spec {
        Spec {
            name: "x",
            unit: "ms",
            n: 1,
            better: Better::Lower,
            targets,
            note: String::new(),
        }
    }

    fn sample(ours: f64, baseline: f64, peer: Option<f64>) -> Sample {
        Sample {
            ours,
            baseline,
            peer,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn row_ratio_is_the_median_of_the_rounds_ratios() {
        // Medians of the figures would give 1.2 / 1.0; the rounds' ratios
        // are 1.0, 1.2, 1.0.
        let samples = vec![
            sample(1.0, 1.0, None),
            sample(1.2, 1.0, None),
            sample(2.0, 2.0, None),
        ];
        let row = summarise(spec(vec![Target::RatioAtMost(1.1)]), samples);
        assert_eq!(row.ratio(), 1.0);
        assert_eq!(row.spread.ratio_min, 1.0);
        assert!((row.spread.ratio_max - 1.2).abs() < 1e-9);
        assert!(row.peer.is_none());
        assert_eq!(row.met, Some(true));
    }

    #[test]
    fn peer_ratio_and_its_target() {
        let samples = vec![sample(1.0, 1.0, Some(0.5)), sample(1.0, 1.0, Some(2.0))];
        let row = summarise(
            spec(vec![Target::RatioAtMost(1.1), Target::PeerRatioAtMost(1.0)]),
            samples,
        );
        let peer = row.peer.as_ref().expect("a peer");
        assert_eq!(peer.spread.ratio_min, 0.5);
        assert_eq!(peer.spread.ratio_max, 2.0);
        assert_eq!(peer.spread.ratio, 1.25);
        assert_eq!(row.met, Some(false));
    }

    #[test]
    fn extra_targets_fail_when_missing_or_too_high() {
        let mut row = summarise(
            spec(vec![Target::ExtraAtMost("fds", 4.0)]),
            vec![sample(1.0, 1.0, None)],
        );
        assert_eq!(row.met, Some(false));
        row.extra.insert("fds", 5.0);
        row.judge();
        assert_eq!(row.met, Some(false));
        row.extra.insert("fds", 4.0);
        row.judge();
        assert_eq!(row.met, Some(true));
    }

    #[tokio::test]
    async fn alternate_runs_the_sides_in_turn() {
        let order = std::cell::RefCell::new(Vec::new());
        let rounds = Rounds {
            warmup: 1,
            measured: 2,
        };
        let row = alternate_with_peer(
            spec(vec![]),
            rounds,
            async || {
                order.borrow_mut().push('a');
                Ok(2.0)
            },
            async || {
                order.borrow_mut().push('b');
                Ok(1.0)
            },
            Some(("p", async || {
                order.borrow_mut().push('c');
                Ok(4.0)
            })),
        )
        .await
        .expect("a row");
        assert_eq!(order.into_inner(), "abcabcabc".chars().collect::<Vec<_>>());
        assert_eq!(row.rounds, 2);
        assert_eq!(row.ratio(), 2.0);
        let peer = row.peer.expect("a peer");
        assert_eq!((peer.name, peer.spread.ratio), ("p", 0.5));
    }

    #[tokio::test]
    async fn the_peer_is_judged_against_ours_doing_the_same_job() {
        let order = std::cell::RefCell::new(Vec::new());
        let rounds = Rounds {
            warmup: 1,
            measured: 2,
        };
        let side = |name: char, figure: f64| {
            let order = &order;
            async move || {
                order.borrow_mut().push(name);
                Ok(figure)
            }
        };
        let row = alternate_with_peer_same_job(
            spec(vec![Target::PeerRatioAtMost(1.0)]),
            rounds,
            side('a', 2.0),
            side('b', 1.0),
            ("p", side('c', 1.6)),
            side('d', 1.2),
        )
        .await
        .expect("a row");
        assert_eq!(
            order.into_inner(),
            "abcdabcdabcd".chars().collect::<Vec<_>>()
        );
        assert_eq!(row.ratio(), 2.0, "ours against the baseline");
        let peer = row.peer.as_ref().expect("a peer");
        assert_eq!(peer.name, "p");
        assert!((peer.spread.ratio - 0.75).abs() < 1e-9, "same job / peer");
        assert_eq!(row.extra["default_over_peer"], 1.25);
        assert_eq!(row.extra["same_job_ms"], 1.2);
        assert_eq!(row.met, Some(true), "judged on the same job");
    }
}
