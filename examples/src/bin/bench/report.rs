//! Printing results: the table on stdout (also valid Markdown, so it can be
//! pasted into BENCH.md as is) and the JSON file of `--json`.
//!
//! Measuring is the harness's and the scenarios' business.

use std::fmt::Write as _;
use std::path::Path;

use crate::harness::{Result, Row};

/// Formats a figure with about four significant digits.
fn fig(x: f64) -> String {
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

/// The results as a Markdown table, then one note per scenario.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| scenario | N | unit | ours (median) | baseline (median) | ratio | ratio min–max | rounds | target | met |\n",
    );
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---|---|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.3} | {:.3}–{:.3} | {} | {} | {} |",
            r.scenario,
            r.n,
            r.unit,
            fig(r.ours),
            fig(r.baseline),
            r.ratio,
            r.ratio_min,
            r.ratio_max,
            r.rounds,
            r.target,
            if r.met { "yes" } else { "**no**" },
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
        if !note.is_empty() {
            let _ = writeln!(out, "- `{}`: {}", r.scenario, note.trim());
        }
    }
    out
}

/// Writes the rows as a JSON list to `path`.
pub(crate) fn write_json(rows: &[Row], path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(rows)?;
    std::fs::write(path, text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
