//! `--plot FILE.svg`: the `scale_2000` curve as a picture. Two panels, the
//! cost per child of spawn→Ready and of the bulk stop against N, each with
//! ours and the hand-written baseline (plotters, SVG backend only).
//!
//! The figures come from the scale scenario's row (`scenarios/scale.rs`),
//! of this run or of a JSON file written by `--json`.

use std::path::Path;

use plotters::prelude::*;

use crate::harness::Result;
use crate::scenarios::scale::Point;

/// The curve in a JSON file written by `--json`.
pub(crate) fn curve_from_json(path: &Path) -> Result<Vec<Point>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text)?;
    let rows = report["rows"]
        .as_array()
        .ok_or_else(|| format!("{}: no rows", path.display()))?;
    let row = rows
        .iter()
        .find(|r| r["scenario"] == "scale_2000")
        .ok_or_else(|| format!("{}: no scale_2000 row", path.display()))?;
    curve_of(&row["detail"])
}

/// The curve in a scale row's `detail`.
pub(crate) fn curve_of(detail: &serde_json::Value) -> Result<Vec<Point>> {
    Ok(serde_json::from_value(detail["curve"].clone())?)
}

/// Draws the curve to `path` (an SVG file).
pub(crate) fn draw(points: &[Point], path: &Path) -> Result<()> {
    if points.is_empty() {
        return Err("no points to plot".into());
    }
    let root = SVGBackend::new(path, (960, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(480);
    panel(&left, "spawn → Ready, all N at once", points, |p| {
        (p.ours_ready_us, p.baseline_ready_us)
    })?;
    panel(&right, "terminate_all of N", points, |p| {
        (p.ours_stop_us, p.baseline_stop_us)
    })?;
    root.present()?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    points: &[Point],
    figures: impl Fn(&Point) -> (f64, f64),
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let max_n = points.iter().map(|p| p.n).max().unwrap_or(1) as f64;
    let max_y = points
        .iter()
        .map(|p| {
            let (a, b) = figures(p);
            a.max(b)
        })
        .fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..max_n * 1.05, 0.0..max_y * 1.25)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("N (live children on one manager)")
        .y_desc("µs per child")
        .draw()?;
    let series = [("proc-manager", BLUE, 0), ("hand-written tokio", RED, 1)];
    for (label, color, side) in series {
        let line: Vec<(f64, f64)> = points
            .iter()
            .map(|p| {
                let (a, b) = figures(p);
                (p.n as f64, if side == 0 { a } else { b })
            })
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        chart.draw_series(
            line.into_iter()
                .map(|xy| Circle::new(xy, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg_with_both_series() {
        let points: Vec<Point> = [100, 500, 1000, 2000]
            .into_iter()
            .map(|n| Point {
                n,
                ours_ready_us: 1800.0 + n as f64 * 0.1,
                baseline_ready_us: 1500.0,
                ours_stop_us: 400.0,
                baseline_stop_us: 350.0,
                ours_fds: 4.0,
                baseline_fds: 3.0,
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("pm-bench-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("scale.svg");
        draw(&points, &path).expect("drawn");
        let svg = std::fs::read_to_string(&path).expect("written");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.contains("proc-manager") && svg.contains("hand-written tokio"));
        assert!(svg.contains("terminate_all of N"));
    }
}
