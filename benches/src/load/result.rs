//! What a run measured, as written to `--json` and printed as a table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::accounting::Tally;
use crate::latency::{format_us, LatencySummary};
use crate::load::scenario::ScenarioKind;
use crate::procfs::TimedSample;
use crate::report::thousands;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub scenario: ScenarioKind,
    /// The broker's name in reports (`tallymq`, `mosquitto`, ...).
    pub label: String,
    /// `host:port`.
    pub broker: String,
    /// `3.1.1` or `5.0`.
    pub mqtt: String,
    pub qos: u8,
    pub payload_bytes: usize,
    /// The scenario's size: pairs, subscribers, publishers, rooms or connections.
    pub clients: usize,
    /// Messages a second per publisher; 0: as fast as the window allows.
    pub rate_per_publisher: f64,
    pub inflight: usize,
    /// Publishing (or holding) time asked for.
    pub duration_secs: f64,
    pub connections: Connections,
    pub counts: Counts,
    pub timings: Timings,
    /// End-to-end: the send time stamped in the payload to its receipt, fresh deliveries only.
    pub latency: LatencySummary,
    /// Publish to PUBACK (QoS 1) or PUBCOMP (QoS 2).
    pub ack_latency: LatencySummary,
    pub timeline: Vec<TimelinePoint>,
    /// Given `--broker-pid`.
    pub broker_usage: Option<BrokerUsage>,
    /// The load generator's own CPU, to show it was not the bottleneck.
    pub loadgen_usage: Option<LoadgenUsage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Connections {
    pub planned: usize,
    pub connected: usize,
    pub failed: usize,
    pub first_failure: Option<String>,
    /// From the first connection attempt to the last SUBACK.
    pub connect_secs: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counts {
    pub publishers: usize,
    /// PUBLISH packets written.
    pub sent: u64,
    /// Successfully acknowledged (QoS 0: written).
    pub acked: u64,
    /// Acknowledged with an error reason code.
    pub refused: u64,
    /// Still unacknowledged when the run ended.
    pub unacked: u64,
    pub tally: Tally,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timings {
    /// Acknowledged publishes a second, from the start to the last acknowledgement.
    pub publish_rate: f64,
    /// Expected messages delivered a second, from the start to the last fresh delivery.
    pub delivery_rate: f64,
    /// Seconds from the start to the last acknowledgement / fresh delivery.
    pub last_ack_secs: Option<f64>,
    pub last_delivery_secs: Option<f64>,
    /// From the start to the end of the drain: the window of the CPU figures.
    pub window_secs: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub second: u64,
    pub sent_per_sec: f64,
    pub delivered_per_sec: f64,
    pub latency: LatencySummary,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerUsage {
    pub pid: u32,
    pub rss_before_kib: u64,
    /// After every connection had its SUBACK (conn: and a settle pause).
    pub rss_connected_kib: u64,
    pub rss_end_kib: u64,
    /// Highest resident set seen by the sampler during the run.
    pub peak_rss_sampled_kib: u64,
    /// Broker CPU spent while the connections were opened.
    pub connect_cpu_secs: f64,
    /// Broker CPU from the start of publishing to the end of the drain.
    pub cpu_secs: f64,
    /// `cpu_secs` over the window: 1.0 is one core busy.
    pub cpu_utilization: f64,
    pub cpu_us_per_delivery: Option<f64>,
    /// (`rss_connected` - `rss_before`) / connections.
    pub kib_per_connection: f64,
    pub samples: Vec<TimedSample>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadgenUsage {
    pub cpu_secs: f64,
    pub cpu_utilization: f64,
}

/// Seconds since the start, to the millisecond (a spike's tail is a few of them).
fn secs(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |s| format!("{s:.3}s"))
}

/// The run as a two-column Markdown table.
pub fn render_summary(r: &RunResult) -> String {
    let t = &r.counts.tally;
    let mut rows: Vec<(&str, String)> = vec![
        (
            "scenario",
            format!("{} against {} ({})", r.scenario.name(), r.label, r.broker),
        ),
        (
            "load",
            format!(
                "MQTT {} QoS {}, {} B payload, size {}, {}, in-flight {}",
                r.mqtt,
                r.qos,
                r.payload_bytes,
                r.clients,
                if r.rate_per_publisher > 0.0 {
                    format!("{} msg/s per publisher", r.rate_per_publisher)
                } else {
                    "unthrottled".to_string()
                },
                r.inflight
            ),
        ),
        (
            "connections",
            format!(
                "{} of {} in {:.1}s{}",
                thousands(r.connections.connected as u64),
                thousands(r.connections.planned as u64),
                r.connections.connect_secs,
                if r.connections.failed > 0 {
                    format!(
                        ", {} failed (first: {})",
                        r.connections.failed,
                        r.connections.first_failure.as_deref().unwrap_or("")
                    )
                } else {
                    String::new()
                }
            ),
        ),
        (
            "published",
            format!(
                "{} sent, {} acked, {} refused, {} unacked",
                thousands(r.counts.sent),
                thousands(r.counts.acked),
                thousands(r.counts.refused),
                thousands(r.counts.unacked)
            ),
        ),
        (
            "delivered",
            format!(
                "{} of {} expected: {} lost, {} duplicates, {} unexpected",
                thousands(t.delivered),
                thousands(t.expected),
                thousands(t.lost),
                thousands(t.duplicates),
                thousands(t.unexpected)
            ),
        ),
        (
            "rates",
            format!(
                "{} publishes/s acked, {} deliveries/s",
                thousands(r.timings.publish_rate.round() as u64),
                thousands(r.timings.delivery_rate.round() as u64)
            ),
        ),
        (
            "end-to-end latency",
            format!(
                "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                format_us(r.latency.p50_us),
                format_us(r.latency.p90_us),
                format_us(r.latency.p99_us),
                format_us(r.latency.p999_us),
                format_us(r.latency.max_us)
            ),
        ),
        (
            "ack latency",
            format!(
                "p50 {}  p99 {}  max {}",
                format_us(r.ack_latency.p50_us),
                format_us(r.ack_latency.p99_us),
                format_us(r.ack_latency.max_us)
            ),
        ),
        (
            "all acked / delivered after",
            format!(
                "{} / {}",
                secs(r.timings.last_ack_secs),
                secs(r.timings.last_delivery_secs)
            ),
        ),
    ];
    if let Some(b) = &r.broker_usage {
        rows.push((
            "broker CPU",
            format!(
                "{:.2}s over {:.1}s ({:.0}% of a core), {} per delivery",
                b.cpu_secs,
                r.timings.window_secs,
                b.cpu_utilization * 100.0,
                b.cpu_us_per_delivery
                    .map_or_else(|| "-".to_string(), |us| format!("{us:.1}us"))
            ),
        ));
        rows.push((
            "broker memory",
            format!(
                "RSS {} KiB before, {} connected, {} at the end, {} peak; {:.1} KiB per connection",
                thousands(b.rss_before_kib),
                thousands(b.rss_connected_kib),
                thousands(b.rss_end_kib),
                thousands(b.peak_rss_sampled_kib),
                b.kib_per_connection
            ),
        ));
    }
    if let Some(l) = &r.loadgen_usage {
        rows.push((
            "load generator CPU",
            format!(
                "{:.2}s ({:.0}% of a core)",
                l.cpu_secs,
                l.cpu_utilization * 100.0
            ),
        ));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let value_width = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(out, "| {:<width$} | {:<value_width$} |", "", "");
    let _ = writeln!(
        out,
        "| {} | {} |",
        "-".repeat(width),
        "-".repeat(value_width)
    );
    for (key, value) in rows {
        let _ = writeln!(out, "| {key:<width$} | {value:<value_width$} |");
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_result(label: &str, scenario: ScenarioKind) -> RunResult {
        RunResult {
            scenario,
            label: label.to_string(),
            broker: "127.0.0.1:1883".to_string(),
            mqtt: "5.0".to_string(),
            qos: 1,
            payload_bytes: 64,
            clients: 10,
            rate_per_publisher: 0.0,
            inflight: 10,
            duration_secs: 10.0,
            connections: Connections {
                planned: 11,
                connected: 11,
                failed: 0,
                first_failure: None,
                connect_secs: 0.1,
            },
            counts: Counts {
                publishers: 1,
                sent: 1000,
                acked: 1000,
                refused: 0,
                unacked: 0,
                tally: Tally {
                    expected: 10_000,
                    delivered: 10_000,
                    lost: 0,
                    duplicates: 0,
                    unexpected: 0,
                    received: 10_000,
                },
            },
            timings: Timings {
                publish_rate: 100.0,
                delivery_rate: 1000.0,
                last_ack_secs: Some(10.0),
                last_delivery_secs: Some(10.0),
                window_secs: 10.5,
            },
            latency: LatencySummary {
                count: 10_000,
                mean_us: 900.0,
                p50_us: 800.0,
                p90_us: 1_500.0,
                p99_us: 3_000.0,
                p999_us: 9_000.0,
                max_us: 12_000.0,
            },
            ack_latency: LatencySummary::EMPTY,
            timeline: Vec::new(),
            broker_usage: Some(BrokerUsage {
                pid: 1,
                rss_before_kib: 10_000,
                rss_connected_kib: 10_110,
                rss_end_kib: 10_200,
                peak_rss_sampled_kib: 10_300,
                connect_cpu_secs: 0.01,
                cpu_secs: 2.0,
                cpu_utilization: 0.19,
                cpu_us_per_delivery: Some(200.0),
                kib_per_connection: 10.0,
                samples: Vec::new(),
            }),
            loadgen_usage: Some(LoadgenUsage {
                cpu_secs: 1.0,
                cpu_utilization: 0.1,
            }),
        }
    }

    #[test]
    fn the_summary_names_loss_and_duplicates() {
        let mut r = sample_result("tallymq", ScenarioKind::Fanout);
        r.counts.tally.lost = 3;
        r.counts.tally.duplicates = 2;
        let table = render_summary(&r);
        assert!(table.contains("fanout against tallymq"), "{table}");
        assert!(table.contains("3 lost, 2 duplicates"), "{table}");
        assert!(table.contains("200.0us per delivery"), "{table}");
        assert!(table.contains("10.0 KiB per connection"), "{table}");
        assert!(
            table
                .lines()
                .all(|l| l.starts_with('|') && l.ends_with('|')),
            "{table}"
        );
    }

    #[test]
    fn results_round_trip_through_json() {
        let r = sample_result("mosquitto", ScenarioKind::FaninShared);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"scenario\":\"fanin-shared\""), "{json}");
        let back: RunResult = serde_json::from_str(&json).unwrap();
        assert_eq!(back.counts.tally, r.counts.tally);
        assert_eq!(back.latency, r.latency);
    }
}
