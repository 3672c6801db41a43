//! Results of a benchmark matrix: one [`Cell`] per configuration, the throughput ratio of
//! each cell against its `none` peer, and the table and JSON forms of the results.

use std::fmt::Write as _;

use serde::Serialize;

use crate::disk::SyncProbe;
use crate::latency::{format_us, LatencySummary};

/// The durability label of the reference cells: no write-ahead log.
pub const PEER_DURABILITY: &str = "none";

/// The measured outcome of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// `fsync`, `flush`, `none`, or `external` for a broker this run did not start.
    pub durability: String,
    pub publishers: usize,
    /// Unacknowledged publishes allowed per publisher.
    pub window: usize,
    pub payload_bytes: usize,
    /// PUBLISH packets sent, warm-up included.
    pub published: u64,
    /// Successful PUBACKs received, warm-up included.
    pub acked: u64,
    /// PUBACKs with an error reason code.
    pub refused: u64,
    /// Successful PUBACKs for publishes sent after the warm-up: what the figures describe.
    pub measured_acks: u64,
    /// From the end of the warm-up to the last measured PUBACK.
    pub measured_secs: f64,
    /// `measured_acks / measured_secs`.
    pub msgs_per_sec: f64,
    /// Send time to PUBACK of the measured publishes.
    pub latency: LatencySummary,
    /// `msgs_per_sec` over that of the `none` cell with the same publishers, window and
    /// payload in the same run; `None` without such a peer.
    pub ratio_vs_none: Option<f64>,
}

/// Throughput of `value` relative to `peer`; `None` when the peer measured nothing.
pub fn ratio(value: f64, peer: f64) -> Option<f64> {
    (peer > 0.0 && peer.is_finite() && value.is_finite()).then(|| value / peer)
}

/// Whether `peer` is the reference for `cell`: durability `none`, same load shape.
fn is_peer_of(peer: &Cell, cell: &Cell) -> bool {
    peer.durability == PEER_DURABILITY
        && peer.publishers == cell.publishers
        && peer.window == cell.window
        && peer.payload_bytes == cell.payload_bytes
}

/// Fills every cell's `ratio_vs_none` from the `none` cell with the same publisher count,
/// window and payload size in `cells` (the same run). Cells without a peer get `None`; a
/// `none` cell is its own peer (ratio 1).
pub fn fill_ratios(cells: &mut [Cell]) {
    let ratios: Vec<Option<f64>> = cells
        .iter()
        .map(|cell| {
            let peer = cells.iter().find(|peer| is_peer_of(peer, cell))?;
            ratio(cell.msgs_per_sec, peer.msgs_per_sec)
        })
        .collect();
    for (cell, ratio) in cells.iter_mut().zip(ratios) {
        cell.ratio_vs_none = ratio;
    }
}

/// `12345678` as `12,345,678`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const HEADERS: [&str; 10] = [
    "durability",
    "publishers",
    "window",
    "acked msgs",
    "msgs/s",
    "p50",
    "p99",
    "p99.9",
    "max",
    "vs none",
];

/// The results as a Markdown table (readable as plain text too), one row per cell.
pub fn render_table(cells: &[Cell]) -> String {
    let rows: Vec<[String; 10]> = cells
        .iter()
        .map(|c| {
            [
                c.durability.clone(),
                c.publishers.to_string(),
                c.window.to_string(),
                thousands(c.measured_acks),
                thousands(c.msgs_per_sec.round() as u64),
                format_us(c.latency.p50_us),
                format_us(c.latency.p99_us),
                format_us(c.latency.p999_us),
                format_us(c.latency.max_us),
                c.ratio_vs_none
                    .map_or_else(|| "-".to_string(), |r| format!("{r:.2}")),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.len());
        }
    }
    // Text columns left-aligned, numbers right-aligned.
    let left = |column: usize| column == 0;
    let mut out = String::new();
    let line = |out: &mut String, values: &[String]| {
        out.push('|');
        for (column, value) in values.iter().enumerate() {
            let width = widths[column];
            if left(column) {
                let _ = write!(out, " {value:<width$} |");
            } else {
                let _ = write!(out, " {value:>width$} |");
            }
        }
        out.push('\n');
    };
    line(&mut out, &HEADERS.map(String::from));
    out.push('|');
    for (column, width) in widths.iter().enumerate() {
        let dashes = "-".repeat(*width);
        if left(column) {
            let _ = write!(out, " {dashes} |");
        } else {
            let _ = write!(out, " {}: |", &dashes[1..]);
        }
    }
    out.push('\n');
    for row in &rows {
        line(&mut out, row);
    }
    out
}

/// The settings a run used, reported with its results.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// The command line as given.
    pub command: String,
    /// `in-process` or `host:port`.
    pub broker: String,
    /// `5.0` or `3.1.1`.
    pub protocol: String,
    pub qos: u8,
    pub payload_bytes: usize,
    pub window: usize,
    pub warmup_secs: f64,
    pub duration_secs: f64,
    pub max_messages_per_cell: u64,
    /// Where the in-process brokers kept their data.
    pub data_parent: Option<String>,
    /// CPUs available to this process.
    pub cpus: usize,
    /// fdatasync latency of the data disk, probed before and after the matrix.
    pub disk_sync_before: Option<SyncProbe>,
    pub disk_sync_after: Option<SyncProbe>,
}

/// What `--json` writes.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub benchmark: &'static str,
    pub run: RunInfo,
    /// What the ratio column compares against.
    pub ratio_reference: &'static str,
    pub cells: Vec<Cell>,
}

impl Report {
    pub fn new(benchmark: &'static str, run: RunInfo, cells: Vec<Cell>) -> Report {
        Report {
            benchmark,
            run,
            ratio_reference: "msgs/s of the durability \"none\" cell with the same publishers, window and payload, measured in the same run",
            cells,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(durability: &str, publishers: usize, msgs_per_sec: f64) -> Cell {
        Cell {
            durability: durability.to_string(),
            publishers,
            window: 1,
            payload_bytes: 256,
            published: 10,
            acked: 10,
            refused: 0,
            measured_acks: 10,
            measured_secs: 1.0,
            msgs_per_sec,
            latency: LatencySummary::EMPTY,
            ratio_vs_none: None,
        }
    }

    #[test]
    fn ratio_needs_a_peer_that_measured_something() {
        assert_eq!(ratio(50.0, 100.0), Some(0.5));
        assert_eq!(ratio(0.0, 100.0), Some(0.0));
        assert_eq!(ratio(50.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 100.0), None);
        assert_eq!(ratio(50.0, f64::INFINITY), None);
    }

    #[test]
    fn each_cell_is_compared_with_none_at_the_same_publisher_count() {
        let mut cells = vec![
            cell("fsync", 1, 1_000.0),
            cell("fsync", 100, 30_000.0),
            cell("flush", 1, 4_000.0),
            cell("flush", 100, 45_000.0),
            cell("none", 1, 5_000.0),
            cell("none", 100, 60_000.0),
        ];
        fill_ratios(&mut cells);
        let ratios: Vec<Option<f64>> = cells.iter().map(|c| c.ratio_vs_none).collect();
        assert_eq!(
            ratios,
            [
                Some(0.2),
                Some(0.5),
                Some(0.8),
                Some(0.75),
                Some(1.0),
                Some(1.0)
            ]
        );
    }

    #[test]
    fn the_peer_must_match_window_and_payload_too() {
        let mut other_window = cell("none", 1, 9_000.0);
        other_window.window = 8;
        let mut other_payload = cell("none", 1, 9_000.0);
        other_payload.payload_bytes = 4096;
        let mut cells = vec![cell("fsync", 1, 900.0), other_window, other_payload];
        fill_ratios(&mut cells);
        assert_eq!(cells[0].ratio_vs_none, None);
        assert_eq!(cells[1].ratio_vs_none, Some(1.0));
        assert_eq!(cells[2].ratio_vs_none, Some(1.0));
    }

    #[test]
    fn cells_without_a_none_peer_have_no_ratio() {
        let mut cells = vec![
            cell("fsync", 1, 1_000.0),
            cell("none", 100, 60_000.0),
            cell("external", 1, 7.0),
        ];
        fill_ratios(&mut cells);
        assert_eq!(cells[0].ratio_vs_none, None);
        assert_eq!(cells[1].ratio_vs_none, Some(1.0));
        assert_eq!(cells[2].ratio_vs_none, None);
    }

    #[test]
    fn a_peer_that_measured_nothing_gives_no_ratio() {
        let mut cells = vec![cell("fsync", 1, 1_000.0), cell("none", 1, 0.0)];
        fill_ratios(&mut cells);
        assert_eq!(cells[0].ratio_vs_none, None);
        assert_eq!(cells[1].ratio_vs_none, None);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn table_has_a_header_a_rule_and_one_row_per_cell() {
        let mut cells = vec![cell("fsync", 100, 51_234.4), cell("none", 100, 102_468.8)];
        cells[0].latency.p50_us = 1_500.0;
        cells[0].measured_acks = 409_875;
        fill_ratios(&mut cells);
        let table = render_table(&cells);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("| durability |"), "{table}");
        assert!(lines[0].contains("| vs none |"), "{table}");
        assert!(lines[1].starts_with("| ---------- | ---------:"), "{table}");
        assert!(lines[2].contains(" 409,875 |"), "{table}");
        assert!(lines[2].contains(" 51,234 |"), "{table}");
        assert!(lines[2].contains(" 1.50ms |"), "{table}");
        assert!(lines[2].ends_with(" 0.50 |"), "{table}");
        assert!(lines[3].ends_with(" 1.00 |"), "{table}");
        let widths: Vec<usize> = lines.iter().map(|l| l.len()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{table}");
    }
}
