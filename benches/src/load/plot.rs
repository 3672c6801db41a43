//! `--plot FILE.svg`: end-to-end latency percentiles second by second, as a standalone SVG.
//!
//! Written by hand: a chart of five polylines on a log axis needs a few dozen lines of SVG,
//! not a plotting library and its font and image dependencies.

use std::fmt::Write as _;

use crate::latency::{format_us, LatencySummary};
use crate::load::result::TimelinePoint;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 140.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// A percentile drawn: its name, where to read it, its colour.
type Series = (&'static str, fn(&LatencySummary) -> f64, &'static str);

/// The percentiles drawn.
const SERIES: [Series; 5] = [
    ("p50", |l| l.p50_us, "#1f77b4"),
    ("p90", |l| l.p90_us, "#2ca02c"),
    ("p99", |l| l.p99_us, "#ff7f0e"),
    ("p99.9", |l| l.p999_us, "#d62728"),
    ("max", |l| l.max_us, "#7f7f7f"),
];

/// Escapes text for an SVG text node.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Decades (powers of ten, in microseconds) that cover `low..=high`.
fn decades(low: f64, high: f64) -> (i32, i32) {
    let low = low.max(1.0).log10().floor() as i32;
    let high = (high.max(1.0).log10().ceil() as i32).max(low + 1);
    (low, high)
}

/// Renders the timeline's latency percentiles; seconds without deliveries leave gaps.
pub fn render_svg(title: &str, timeline: &[TimelinePoint]) -> String {
    let points: Vec<&TimelinePoint> = timeline.iter().filter(|p| p.latency.count > 0).collect();
    let low = points
        .iter()
        .map(|p| p.latency.p50_us)
        .fold(f64::INFINITY, f64::min);
    let high = points.iter().map(|p| p.latency.max_us).fold(0.0, f64::max);
    let (low_decade, high_decade) = if points.is_empty() {
        (1, 4)
    } else {
        decades(low, high)
    };
    let last_second = timeline.last().map_or(1, |p| p.second + 1).max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |second: f64| LEFT + plot_w * second / last_second;
    let y = |us: f64| {
        let span = f64::from(high_decade - low_decade);
        let position = (us.max(1e-3).log10() - f64::from(low_decade)) / span;
        TOP + plot_h * (1.0 - position.clamp(0.0, 1.0))
    };

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="24" font-size="15">{}</text>"#,
        escape(title)
    );
    // Horizontal grid: one line per decade.
    for decade in low_decade..=high_decade {
        let us = 10f64.powi(decade);
        let gy = y(us);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            gy + 4.0,
            format_us(us)
        );
    }
    // Vertical ticks: about ten, on whole seconds.
    let step = ((last_second / 10.0).ceil() as u64).max(1);
    let mut second = 0;
    while (second as f64) <= last_second {
        let gx = x(second as f64);
        let _ = writeln!(
            svg,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{:.1}" stroke="#eee"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle">{second}s</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
        second += step;
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds since the start of publishing</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 10.0
    );
    // One polyline per percentile, broken where a second had no deliveries.
    for (index, (name, value, colour)) in SERIES.iter().enumerate() {
        let mut segment: Vec<String> = Vec::new();
        let mut segments: Vec<Vec<String>> = Vec::new();
        let mut previous: Option<u64> = None;
        for p in &points {
            if previous.is_some_and(|s| s + 1 != p.second) && !segment.is_empty() {
                segments.push(std::mem::take(&mut segment));
            }
            segment.push(format!(
                "{:.1},{:.1}",
                x(p.second as f64 + 0.5),
                y(value(&p.latency))
            ));
            previous = Some(p.second);
        }
        if !segment.is_empty() {
            segments.push(segment);
        }
        for segment in segments {
            if segment.len() == 1 {
                let (cx, cy) = segment[0].split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>"#
                );
            } else {
                let _ = writeln!(
                    svg,
                    r#"<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{}"/>"#,
                    segment.join(" ")
                );
            }
        }
        let ly = TOP + 10.0 + 20.0 * index as f64;
        let lx = LEFT + plot_w + 16.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0
        );
    }
    if points.is_empty() {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">no deliveries</text>"#,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(second: u64, p50_us: f64) -> TimelinePoint {
        TimelinePoint {
            second,
            sent_per_sec: 10.0,
            delivered_per_sec: 10.0,
            latency: LatencySummary {
                count: 10,
                mean_us: p50_us,
                p50_us,
                p90_us: p50_us * 2.0,
                p99_us: p50_us * 4.0,
                p999_us: p50_us * 8.0,
                max_us: p50_us * 16.0,
            },
        }
    }

    #[test]
    fn the_axis_covers_every_value_in_whole_decades() {
        assert_eq!(decades(150.0, 42_000.0), (2, 5));
        assert_eq!(decades(0.2, 0.5), (0, 1));
    }

    #[test]
    fn one_line_per_percentile_and_gaps_where_nothing_arrived() {
        let mut timeline = vec![point(0, 100.0), point(1, 120.0), point(2, 90.0)];
        let mut empty = point(3, 0.0);
        empty.latency = LatencySummary::EMPTY;
        timeline.push(empty);
        timeline.push(point(4, 300.0));
        timeline.push(point(5, 310.0));
        let svg = render_svg("p2p <tallymq>", &timeline);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("p2p &lt;tallymq&gt;"));
        // Two segments (seconds 0-2 and 4-5) for each of five percentiles.
        assert_eq!(svg.matches("<polyline").count(), 10, "{svg}");
        for name in ["p50", "p90", "p99", "p99.9", "max"] {
            assert!(svg.contains(&format!(">{name}</text>")), "{name}");
        }
    }

    #[test]
    fn an_empty_timeline_still_makes_a_valid_chart() {
        let svg = render_svg("conn", &[]);
        assert!(svg.contains("no deliveries"));
        assert_eq!(svg.matches("<polyline").count(), 0);
    }
}
