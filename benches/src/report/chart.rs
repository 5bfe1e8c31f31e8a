//! The SVG chart of a [`Report`]: a grid of panels, one per case (hot-path
//! cases, then scrapes), each plotting throughput against threads with one
//! line per library.
//!
//! Axes are logarithmic: x at the measured thread counts (log2 spacing), y in
//! decades (log10). The coordinates are plotted as `log2(threads)` and
//! `log10(value)` on linear axes with explicit tick positions, which keeps
//! ticks readable however narrow a panel's range is. Text goes out as SVG
//! `<text>` elements (plotters' built-in size estimate lays it out; no font
//! files are needed).

use super::{Measurement, OURS, Report};
use plotters::backend::SVGBackend;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;
use std::ops::Range;
use std::path::Path;

/// Width of one panel in pixels.
const PANEL_W: u32 = 440;
/// Height of one panel in pixels.
const PANEL_H: u32 = 320;
/// Height of the caption strip.
const CAPTION_H: u32 = 44;
/// Height of one row of the legend.
const LEGEND_ROW_H: u32 = 26;
/// Font family of every label.
const FONT: &str = "sans-serif";

/// How one library is drawn, the same in every panel.
#[derive(Clone, Copy, Debug)]
struct LibStyle {
    color: RGBColor,
    width: u32,
    dashed: bool,
    marker: u32,
}

/// Colors for libraries without a fixed one, in order.
const SPARE: [RGBColor; 5] = [
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];

/// The style of `lib`; `index` (its position among the libraries without a
/// fixed color) picks a spare color.
fn lib_style(lib: &str, index: usize) -> LibStyle {
    let solid = |color| LibStyle {
        color,
        width: 2,
        dashed: false,
        marker: 3,
    };
    let limit = |color| LibStyle {
        color,
        width: 2,
        dashed: true,
        marker: 3,
    };
    match lib {
        OURS => LibStyle {
            color: RGBColor(214, 39, 40),
            width: 4,
            dashed: false,
            marker: 5,
        },
        // Our classic histogram in the native-histogram case.
        crate::native_histogram::CLASSIC => limit(RGBColor(214, 39, 40)),
        "prometheus" => solid(RGBColor(31, 119, 180)),
        "prometheus-client" => solid(RGBColor(44, 160, 44)),
        "metrics" => solid(RGBColor(255, 127, 14)),
        "measured" => solid(RGBColor(148, 103, 189)),
        "fastmetrics" => solid(RGBColor(23, 190, 207)),
        "floor" => limit(RGBColor(60, 60, 60)),
        "shared-atomic" => limit(RGBColor(160, 160, 160)),
        _ => solid(SPARE[index % SPARE.len()]),
    }
}

/// Every library of the report in order of first appearance, with its style.
fn lib_styles(report: &Report) -> Vec<(&'static str, LibStyle)> {
    let mut libs: Vec<&'static str> = Vec::new();
    for m in &report.measurements {
        if !libs.contains(&m.lib) {
            libs.push(m.lib);
        }
    }
    let mut spare = 0;
    libs.into_iter()
        .map(|lib| {
            let style = lib_style(lib, spare);
            if !is_known(lib) {
                spare += 1;
            }
            (lib, style)
        })
        .collect()
}

fn is_known(lib: &str) -> bool {
    [
        OURS,
        crate::native_histogram::CLASSIC,
        "prometheus",
        "prometheus-client",
        "metrics",
        "measured",
        "fastmetrics",
        "floor",
        "shared-atomic",
    ]
    .contains(&lib)
}

/// Scrapes and exports: per whole pass over the registry, after writers.
fn is_scrape(case: &str) -> bool {
    case.starts_with("scrape_") || case.starts_with("export_")
}

/// The cases to plot: hot-path cases in order of first appearance, then the
/// scrapes.
fn cases(report: &Report) -> Vec<&'static str> {
    let mut cases: Vec<&'static str> = Vec::new();
    for m in &report.measurements {
        if !cases.contains(&m.case) {
            cases.push(m.case);
        }
    }
    let (mut hot, scrape): (Vec<_>, Vec<_>) = cases.into_iter().partition(|c| !is_scrape(c));
    hot.extend(scrape);
    hot
}

/// Columns of the panel grid for `n` panels.
fn grid_columns(n: usize) -> usize {
    match n {
        0 => 1,
        1..=4 => n,
        5..=9 => 3,
        _ => 4,
    }
}

/// Approximate width in pixels of `text` at `size`, matching plotters'
/// estimate for SVG.
fn text_width(text: &str, size: f64) -> u32 {
    (size / 1.24 / 1.24 * 0.7 * text.chars().count() as f64).ceil() as u32
}

/// Legend entries laid out in rows within `width`: `(row, x)` of each.
fn legend_layout(libs: &[(&str, LibStyle)], width: u32) -> (Vec<(u32, u32)>, u32) {
    let mut pos = Vec::with_capacity(libs.len());
    let (mut row, mut x) = (0, 20);
    for (lib, _) in libs {
        let w = 44 + text_width(lib, 18.0) + 28;
        if x + w > width && x > 20 {
            row += 1;
            x = 20;
        }
        pos.push((row, x));
        x += w;
    }
    let rows = if libs.is_empty() { 0 } else { row + 1 };
    (pos, rows)
}

/// The whole picture's size.
fn dimensions(report: &Report) -> (u32, u32) {
    let n = cases(report).len().max(1);
    let cols = grid_columns(n);
    let rows = n.div_ceil(cols);
    let width = PANEL_W * cols as u32;
    let (_, legend_rows) = legend_layout(&lib_styles(report), width);
    let height = CAPTION_H + LEGEND_ROW_H * legend_rows + 8 + PANEL_H * rows as u32;
    (width, height)
}

/// Renders the chart as an SVG document (see [`chart`]).
pub fn chart_svg(report: &Report) -> Result<String, Box<dyn Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, dimensions(report)).into_drawing_area();
        draw(report, &root)?;
        root.present()?;
    }
    Ok(svg)
}

/// Writes the chart of `report` to `path` as SVG: a grid of panels, one per
/// case (hot-path cases, then scrapes), each with threads (writer threads for
/// scrapes) on a log2 x axis and Mops/s (MB/s for scrapes) on a log10 y axis,
/// one line per library in a color shared by all panels, under a legend and a
/// caption naming the machine and the date.
pub fn chart(report: &Report, path: &Path) -> Result<(), Box<dyn Error>> {
    let svg = chart_svg(report)?;
    std::fs::write(path, svg)?;
    Ok(())
}

fn draw(report: &Report, root: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn Error>> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    let caption = format!("{OURS} vs. peers: {}, {}", report.machine, report.date);
    root.draw(&Text::new(
        caption,
        (width as i32 / 2, 12),
        (FONT, 26)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;

    let styles = lib_styles(report);
    let (positions, legend_rows) = legend_layout(&styles, width);
    for ((lib, style), (row, x)) in styles.iter().zip(positions) {
        let y = (CAPTION_H + row * LEGEND_ROW_H + LEGEND_ROW_H / 2) as i32;
        let x = x as i32;
        let line = vec![(x, y), (x + 36, y)];
        let shape = style.color.stroke_width(style.width);
        if style.dashed {
            root.draw(&DashedPathElement::new(line, 6, 4, shape))?;
        } else {
            root.draw(&PathElement::new(line, shape))?;
        }
        root.draw(&Circle::new(
            (x + 18, y),
            style.marker,
            style.color.filled(),
        ))?;
        root.draw(&Text::new(
            lib.to_string(),
            (x + 44, y),
            (FONT, 18)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }

    let cases = cases(report);
    if cases.is_empty() {
        return Ok(());
    }
    let (_, body) = root.split_vertically(CAPTION_H + legend_rows * LEGEND_ROW_H + 8);
    let cols = grid_columns(cases.len());
    let rows = cases.len().div_ceil(cols);
    let panels = body.split_evenly((rows, cols));
    for (case, area) in cases.iter().zip(panels.iter()) {
        let data: Vec<&Measurement> = report
            .measurements
            .iter()
            .filter(|m| m.case == *case)
            .collect();
        panel(case, &data, &styles, area)?;
    }
    Ok(())
}

/// The base of a [`LogAxis`].
#[derive(Clone, Copy, Debug)]
enum Base {
    /// Thread counts: labels are `2^v`, rounded.
    Two,
    /// Throughput: labels are `10^v` with `k`/`M` suffixes.
    Ten,
}

/// A logarithmic axis, plotted linearly in exponent units (`log2(threads)`,
/// `log10(value)`), with ticks exactly at `ticks`.
#[derive(Clone, Debug)]
struct LogAxis {
    range: Range<f64>,
    ticks: Vec<f64>,
    base: Base,
}

impl Ranged for LogAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        if span == 0.0 || !span.is_finite() {
            return (limit.0 + limit.1) / 2;
        }
        let frac = (value - self.range.start) / span;
        limit.0 + (f64::from(limit.1 - limit.0) * frac).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

impl ValueFormatter<f64> for LogAxis {
    fn format(value: &f64) -> String {
        format!("{value}")
    }

    fn format_ext(&self, value: &f64) -> String {
        match self.base {
            Base::Two => format!("{}", 2f64.powf(*value).round()),
            Base::Ten => fmt_tick(*value),
        }
    }
}

/// Tick positions (in log10 units) for a log axis spanning `lo..=hi`: 1-2-5
/// steps, thinned to decades when there are many, filled in when few.
fn log10_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let ticks_with = |mantissas: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        let (first, last) = (lo.floor() as i32, hi.ceil() as i32);
        for exp in first..=last {
            for &m in mantissas {
                let v = m.log10() + f64::from(exp);
                if v >= lo - 1e-9 && v <= hi + 1e-9 {
                    out.push(v);
                }
            }
        }
        out
    };
    let ticks = ticks_with(&[1.0, 2.0, 5.0]);
    if ticks.len() > 8 {
        ticks_with(&[1.0])
    } else if ticks.len() < 3 {
        let dense = ticks_with(&[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        if dense.len() > 8 {
            ticks_with(&[1.0, 2.0, 3.0, 5.0, 7.0])
        } else {
            dense
        }
    } else {
        ticks
    }
}

/// A tick label for the value `10^v`.
fn fmt_tick(v: f64) -> String {
    let x = 10f64.powf(v);
    if x >= 1e6 {
        format!("{}M", trim(x / 1e6))
    } else if x >= 1e3 {
        format!("{}k", trim(x / 1e3))
    } else {
        trim(x)
    }
}

/// `x` with up to 3 significant digits and no trailing zeros.
fn trim(x: f64) -> String {
    let decimals = if x >= 100.0 {
        0
    } else {
        (2 - x.log10().floor() as i32).clamp(0, 6) as usize
    };
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn panel(
    case: &str,
    data: &[&Measurement],
    styles: &[(&'static str, LibStyle)],
    area: &DrawingArea<SVGBackend<'_>, Shift>,
) -> Result<(), Box<dyn Error>> {
    let scrape = is_scrape(case);
    let points: Vec<(&'static str, f64, f64)> = data
        .iter()
        .filter(|m| m.threads > 0 && m.mops.is_finite() && m.mops > 0.0)
        .map(|m| (m.lib, (m.threads as f64).log2(), m.mops.log10()))
        .collect();

    let mut threads: Vec<usize> = data.iter().map(|m| m.threads).filter(|&t| t > 0).collect();
    threads.sort_unstable();
    threads.dedup();
    let x_ticks: Vec<f64> = threads.iter().map(|&t| (t as f64).log2()).collect();
    let (x_lo, x_hi) = match (x_ticks.first(), x_ticks.last()) {
        (Some(&lo), Some(&hi)) if hi > lo => {
            let pad = (hi - lo) * 0.08;
            (lo - pad, hi + pad)
        }
        (Some(&lo), _) => (lo - 1.0, lo + 1.0),
        _ => (-1.0, 1.0),
    };

    let (mut y_lo, mut y_hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.2), hi.max(p.2))
        });
    if !y_lo.is_finite() {
        (y_lo, y_hi) = (0.0, 1.0);
    }
    // At least half a decade tall, then a margin so markers stay inside.
    if y_hi - y_lo < 0.5 {
        let mid = (y_hi + y_lo) / 2.0;
        (y_lo, y_hi) = (mid - 0.25, mid + 0.25);
    }
    let pad = (y_hi - y_lo) * 0.08;
    let (y_lo, y_hi) = (y_lo - pad, y_hi + pad);
    let y_ticks = log10_ticks(y_lo, y_hi);

    let mut chart = ChartBuilder::on(area)
        .caption(case, (FONT, 22).into_font().style(FontStyle::Bold))
        .margin(10)
        .margin_right(18)
        .x_label_area_size(40)
        .y_label_area_size(62)
        .build_cartesian_2d(
            LogAxis {
                range: x_lo..x_hi,
                ticks: x_ticks,
                base: Base::Two,
            },
            LogAxis {
                range: y_lo..y_hi,
                ticks: y_ticks,
                base: Base::Ten,
            },
        )?;
    chart
        .configure_mesh()
        .x_desc(if scrape { "writer threads" } else { "threads" })
        .y_desc(if scrape { "MB/s" } else { "Mops/s" })
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 15))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;

    if points.is_empty() {
        chart.plotting_area().draw(&Text::new(
            "no data",
            ((x_lo + x_hi) / 2.0, (y_lo + y_hi) / 2.0),
            (FONT, 18)
                .into_font()
                .color(&RGBColor(120, 120, 120))
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        return Ok(());
    }

    // hotmetrics last, so it sits on top of the others.
    let order = styles
        .iter()
        .filter(|(lib, _)| *lib != OURS)
        .chain(styles.iter().filter(|(lib, _)| *lib == OURS));
    for (lib, style) in order {
        let mut line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.0 == *lib)
            .map(|p| (p.1, p.2))
            .collect();
        if line.is_empty() {
            continue;
        }
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        let shape = style.color.stroke_width(style.width);
        if line.len() > 1 {
            if style.dashed {
                chart.draw_series(DashedLineSeries::new(line.clone(), 7, 5, shape))?;
            } else {
                chart.draw_series(LineSeries::new(line.clone(), shape))?;
            }
        }
        chart.draw_series(
            line.iter()
                .map(|&p| Circle::new(p, style.marker, style.color.filled())),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Memory, ScrapeCost};

    fn sample() -> Report {
        let mut measurements = Vec::new();
        for case in ["counter_inc", "histogram_observe"] {
            for (lib, ns) in [("hotmetrics", 2.0), ("prometheus", 8.0), ("floor", 0.5)] {
                for threads in [1, 2] {
                    measurements.push(Measurement {
                        case,
                        lib,
                        threads,
                        ns_per_op: ns * threads as f64,
                        mops: 1e3 / ns,
                    });
                }
            }
        }
        // A library with a single point, in a case of its own.
        measurements.push(Measurement {
            case: "gauge_set",
            lib: "shared-atomic",
            threads: 4,
            ns_per_op: 20.0,
            mops: 200.0,
        });
        for lib in ["hotmetrics", "prometheus"] {
            measurements.push(Measurement {
                case: "scrape_text",
                lib,
                threads: 2,
                ns_per_op: 1e6,
                mops: 500.0,
            });
        }
        Report {
            machine: "test <box> & co".into(),
            date: "2024-01-02".into(),
            measurements,
            memory: vec![Memory {
                kind: "counter",
                lib: "hotmetrics",
                threads: 1,
                bytes_per_series: 96.0,
            }],
            scrape_costs: vec![ScrapeCost {
                case: "scrape_text",
                lib: "hotmetrics",
                threads: 2,
                allocations: 0,
                bytes: 1000,
            }],
        }
    }

    #[test]
    fn svg_has_every_case_and_lib() {
        let svg = chart_svg(&sample()).expect("chart renders");
        assert!(svg.trim_start().starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        for name in [
            "counter_inc",
            "histogram_observe",
            "gauge_set",
            "scrape_text",
            "hotmetrics",
            "prometheus",
            "floor",
            "shared-atomic",
            "Mops/s",
            "MB/s",
            "writer threads",
        ] {
            // plotters-svg writes each label as `<text ...>\nlabel\n</text>`.
            assert!(svg.contains(&format!(">\n{name}\n</text>")), "{name}");
        }
        // The caption, escaped.
        assert!(svg.contains("test &lt;box&gt; &amp; co, 2024-01-02"));
        // hotmetrics' red, and the dashed floor line drawn as segments.
        assert!(svg.contains("#D62728"));
        assert!(svg.contains("#3C3C3C"));
    }

    #[test]
    fn chart_writes_a_file() {
        let path = std::env::temp_dir().join(format!(
            "hotmetrics-chart-test-{}-{:?}.svg",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        chart(&sample(), &path).expect("chart written");
        let svg = std::fs::read_to_string(&path).expect("chart read back");
        let _ = std::fs::remove_file(&path);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("scrape_text"));
    }

    #[test]
    fn empty_and_degenerate_reports_render() {
        let svg = chart_svg(&Report::default()).expect("empty chart");
        assert!(svg.starts_with("<svg"));
        let mut report = sample();
        report.measurements.push(Measurement {
            case: "timer_guard",
            lib: "metrics",
            threads: 1,
            ns_per_op: f64::INFINITY,
            mops: 0.0,
        });
        let svg = chart_svg(&report).expect("chart with an unplottable case");
        assert!(svg.contains("no data"));
        // The library still has its legend entry (its own `<text>`, not
        // the "hotmetrics" one).
        assert!(svg.contains(">\nmetrics\n</text>"));
    }

    #[test]
    fn ticks() {
        assert_eq!(fmt_tick(0.0), "1");
        assert_eq!(fmt_tick(2f64.log10() + 2.0), "200");
        assert_eq!(fmt_tick(3.0), "1k");
        assert_eq!(fmt_tick(0.5f64.log10()), "0.5");
        let t: Vec<String> = log10_ticks(1.0, 3.2).into_iter().map(fmt_tick).collect();
        assert_eq!(t, ["10", "20", "50", "100", "200", "500", "1k"]);
        let t: Vec<String> = log10_ticks(1.9, 2.1).into_iter().map(fmt_tick).collect();
        assert_eq!(t, ["80", "90", "100"]);
        assert_eq!(grid_columns(11), 4);
        assert_eq!(grid_columns(2), 2);
    }
}
