//! Printing results: one progress line per scenario as it completes, the
//! table on stdout (also valid Markdown, so it can be pasted into BENCH.md
//! as is) with the machine's header line, and the JSON file of `--json`.
//!
//! Measuring is the harness's and the scenarios' business.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::harness::{Result, Row, Spread};
use crate::machine::Machine;

/// Formats a figure with about four significant digits.
pub(crate) fn fig(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let a = x.abs();
    if a >= 1e6 {
        format!("{:.3e}", x)
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "-".into()
    }
}

fn spread(s: &Spread) -> String {
    if s.ratio_min.is_finite() {
        format!("{:.3}–{:.3}", s.ratio_min, s.ratio_max)
    } else {
        "-".into()
    }
}

/// The line printed when a scenario completes.
pub(crate) fn progress(r: &Row, took: Duration) -> String {
    let mut line = format!(
        "{:<24} n={:<6} ours {:>10.4} {:<9} baseline {:>10.4}  ratio {} [{}]",
        r.scenario,
        r.n,
        r.ours,
        r.unit,
        r.baseline,
        ratio(r.spread.ratio),
        spread(&r.spread),
    );
    if let Some(p) = &r.peer {
        let _ = write!(
            line,
            "  {} {:.4} ours/peer {} [{}]",
            p.name,
            p.median,
            ratio(p.spread.ratio),
            spread(&p.spread)
        );
    }
    let _ = write!(
        line,
        "  ({:.1}s, load {:.2})",
        took.as_secs_f64(),
        r.load_at_start
    );
    line
}

/// The header line, the results as a Markdown table, then one note per
/// scenario.
pub(crate) fn table(machine: &Machine, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "```text\n{}\n```\n", machine.header());
    out.push_str(
        "| scenario | N | unit | ours (median) | baseline (median) | ratio | ratio min–max \
         | process-wrap (median) | ours / process-wrap (min–max) | rounds | target | met |\n",
    );
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for r in rows {
        let (peer, peer_ratio) = match &r.peer {
            Some(p) => (
                fig(p.median),
                format!("{} ({})", ratio(p.spread.ratio), spread(&p.spread)),
            ),
            None => ("".into(), "".into()),
        };
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {peer} | {peer_ratio} | {} | {} | {met} |",
            r.scenario,
            r.n,
            r.unit,
            fig(r.ours),
            fig(r.baseline),
            ratio(r.spread.ratio),
            spread(&r.spread),
            r.rounds,
            r.target,
        );
    }
    out.push('\n');
    for r in rows {
        let mut note = r.note.clone();
        if let (Some(a), Some(b)) = (r.ours_lines_per_s, r.baseline_lines_per_s) {
            let _ = write!(
                note,
                " Lines/s: ours {:.2} M, baseline {:.2} M.",
                a / 1e6,
                b / 1e6
            );
        }
        for (name, value) in &r.extra {
            let _ = write!(note, " {name}: {}.", fig(*value));
        }
        if r.load_at_start.is_finite() {
            let _ = write!(note, " (Load at start: {:.2}.)", r.load_at_start);
        }
        if !note.is_empty() {
            let _ = writeln!(out, "- `{}`: {}", r.scenario, note.trim());
        }
    }
    for appendix in rows.iter().filter_map(|r| r.appendix.as_deref()) {
        let _ = write!(out, "\n{appendix}");
    }
    out
}

/// What `--json` writes.
#[derive(Debug, Serialize)]
struct Report<'a> {
    machine: &'a Machine,
    busy: bool,
    rows: &'a [Row],
}

/// Writes the machine and the rows as JSON to `path`.
pub(crate) fn write_json(machine: &Machine, rows: &[Row], path: &Path) -> Result<()> {
    let report = Report {
        machine,
        busy: machine.busy(),
        rows,
    };
    let text = serde_json::to_string_pretty(&report)?;
    std::fs::write(path, text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
