//! The side-by-side table: results of the same scenarios against several brokers in one
//! run, with each broker's figures over the reference broker's (Mosquitto).
//!
//! Ratios are only taken between results of the same invocation of the compare script, on
//! the same machine and minutes apart, because absolute figures on a shared machine move more
//! between runs than the brokers differ.

use std::fmt::Write as _;

use crate::latency::format_us;
use crate::load::result::RunResult;
use crate::load::scenario::ScenarioKind;
use crate::report::{ratio, thousands};

/// A short description of a scenario's shape: `fanout 1->10 q1`.
pub fn shape(r: &RunResult) -> String {
    let n = r.clients;
    let what = match r.scenario {
        ScenarioKind::P2p => format!("p2p {n} pairs"),
        ScenarioKind::Fanout => format!("fanout 1->{n}"),
        ScenarioKind::Fanin => format!("fanin {n}->1"),
        ScenarioKind::FaninShared => format!("fanin {n}->$share"),
        ScenarioKind::Chat => format!("chat {n} rooms"),
        ScenarioKind::Spike => format!("spike {n} in 1s"),
        ScenarioKind::Conn => format!("conn {n}"),
    };
    format!("{what} q{}", r.qos)
}

const HEADERS: [&str; 10] = [
    "scenario",
    "broker",
    "delivered/expected",
    "lost",
    "dup",
    "deliveries/s",
    "CPU us/delivery",
    "p50",
    "p99",
    "KiB/conn",
];

fn optional(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_string(), format)
}

fn times(value: Option<f64>) -> String {
    optional(value, |r| format!("{r:.2}x"))
}

/// The figures a row compares.
fn figures(r: &RunResult) -> [Option<f64>; 5] {
    let broker = r.broker_usage.as_ref();
    let latency = |v: f64| (r.latency.count > 0).then_some(v);
    [
        (r.scenario != ScenarioKind::Conn).then_some(r.timings.delivery_rate),
        broker.and_then(|b| b.cpu_us_per_delivery),
        latency(r.latency.p50_us),
        latency(r.latency.p99_us),
        (r.scenario == ScenarioKind::Conn)
            .then(|| broker.map(|b| b.kib_per_connection))
            .flatten(),
    ]
}

/// One row per result, grouped by scenario in first-seen order, each group followed by a
/// `label/reference` ratio row for every other broker of the group.
pub fn render_comparison(results: &[RunResult], reference: &str) -> String {
    let mut groups: Vec<(String, Vec<&RunResult>)> = Vec::new();
    for r in results {
        let key = shape(r);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    let mut rows: Vec<[String; 10]> = Vec::new();
    for (key, members) in &groups {
        for (i, r) in members.iter().enumerate() {
            let t = &r.counts.tally;
            let [rate, cpu, p50, p99, kib] = figures(r);
            rows.push([
                if i == 0 { key.clone() } else { String::new() },
                r.label.clone(),
                if r.scenario == ScenarioKind::Conn {
                    format!(
                        "{}/{} conn",
                        thousands(r.connections.connected as u64),
                        thousands(r.connections.planned as u64)
                    )
                } else {
                    format!("{}/{}", thousands(t.delivered), thousands(t.expected))
                },
                thousands(t.lost),
                thousands(t.duplicates),
                optional(rate, |v| thousands(v.round() as u64)),
                optional(cpu, |v| format!("{v:.1}")),
                optional(p50, format_us),
                optional(p99, format_us),
                optional(kib, |v| format!("{v:.1}")),
            ]);
        }
        let Some(base) = members.iter().find(|r| r.label == reference) else {
            continue;
        };
        let base_figures = figures(base);
        for r in members.iter().filter(|r| r.label != reference) {
            let mine = figures(r);
            let ratios: Vec<String> = mine
                .iter()
                .zip(base_figures.iter())
                .map(|(m, b)| times(m.zip(*b).and_then(|(m, b)| ratio(m, b))))
                .collect();
            rows.push([
                String::new(),
                format!("{}/{}", r.label, reference),
                String::new(),
                String::new(),
                String::new(),
                ratios[0].clone(),
                ratios[1].clone(),
                ratios[2].clone(),
                ratios[3].clone(),
                ratios[4].clone(),
            ]);
        }
    }
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.chars().count());
        }
    }
    let left = |column: usize| column < 2;
    let mut out = String::new();
    let line = |out: &mut String, values: &[String]| {
        out.push('|');
        for (column, value) in values.iter().enumerate() {
            let pad = widths[column].saturating_sub(value.chars().count());
            if left(column) {
                let _ = write!(out, " {value}{} |", " ".repeat(pad));
            } else {
                let _ = write!(out, " {}{value} |", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(&mut out, &HEADERS.map(String::from));
    out.push('|');
    for (column, width) in widths.iter().enumerate() {
        if left(column) {
            let _ = write!(out, " {} |", "-".repeat(*width));
        } else {
            let _ = write!(out, " {}: |", "-".repeat(width - 1));
        }
    }
    out.push('\n');
    for row in &rows {
        line(&mut out, row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::result::tests::sample_result;

    #[test]
    fn each_scenario_gets_a_ratio_row_against_the_reference() {
        let tallymq = sample_result("tallymq", ScenarioKind::Fanout);
        let mut mosquitto = sample_result("mosquitto", ScenarioKind::Fanout);
        mosquitto.timings.delivery_rate = 2_000.0;
        mosquitto.latency.p50_us = 400.0;
        if let Some(b) = mosquitto.broker_usage.as_mut() {
            b.cpu_us_per_delivery = Some(50.0);
        }
        let mut conn_t = sample_result("tallymq", ScenarioKind::Conn);
        conn_t.clients = 5000;
        let mut conn_m = sample_result("mosquitto", ScenarioKind::Conn);
        conn_m.clients = 5000;
        if let Some(b) = conn_m.broker_usage.as_mut() {
            b.kib_per_connection = 4.0;
        }
        let table = render_comparison(&[tallymq, mosquitto, conn_t, conn_m], "mosquitto");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2 + 3 + 3, "{table}");
        assert!(
            lines[2].contains("fanout 1->10 q1") && lines[2].contains("tallymq"),
            "{table}"
        );
        let ratio_row = lines[4];
        assert!(ratio_row.contains("tallymq/mosquitto"), "{table}");
        // deliveries/s 1000 vs 2000, CPU 200 vs 50, p50 800 vs 400, p99 equal.
        for expected in ["0.50x", "4.00x", "2.00x", "1.00x"] {
            assert!(ratio_row.contains(expected), "{expected} in {ratio_row}");
        }
        assert!(lines[7].contains("2.50x"), "KiB/conn 10 vs 4: {table}");
        assert!(lines[5].contains("conn 5000 q1"), "{table}");
    }

    #[test]
    fn without_the_reference_there_is_no_ratio_row() {
        let table = render_comparison(&[sample_result("tallymq", ScenarioKind::P2p)], "mosquitto");
        assert_eq!(table.lines().count(), 3, "{table}");
        assert!(!table.contains("/mosquitto"));
    }
}
