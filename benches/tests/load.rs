//! Every `tallymq-bench` scenario, tiny, against the in-process broker with its production
//! durability (`fsync`): every expected message is delivered exactly once and accounted so.
//! No timing is asserted.

use std::time::Duration;

use tallymq::codec::{ProtocolVersion, QoS};
use tallymq_benches::load::client::ClientSettings;
use tallymq_benches::load::result::RunResult;
use tallymq_benches::load::run::{run, RunSettings};
use tallymq_benches::load::scenario::{ScenarioKind, ScenarioParams};
use tallymq_benches::target::RunningBroker;
use tallymq_benches::wire::ConnectOptions;
use tallymq_config::Durability;

/// Long enough that message counts, not the clock, end every publishing phase.
const GENEROUS: Duration = Duration::from_secs(60);

struct Case {
    kind: ScenarioKind,
    clients: usize,
    version: ProtocolVersion,
    qos: QoS,
    rate: f64,
    count: u64,
}

fn settings(case: &Case, broker: &RunningBroker, run_id: &str) -> RunSettings {
    RunSettings {
        scenario: ScenarioParams {
            kind: case.kind,
            clients: case.clients,
            shared_members: 2,
            rate: case.rate,
            count: case.count,
            spike_window: Duration::from_millis(200),
            seed: 3,
            run_id: run_id.to_string(),
        },
        client: ClientSettings {
            connect: ConnectOptions {
                version: case.version,
                persistent: false,
                session_expiry_secs: 60,
                keep_alive_secs: 30,
                username: None,
                password: None,
            },
            qos: case.qos,
            payload_bytes: 48,
            inflight: 4,
            setup_timeout: Duration::from_secs(20),
        },
        address: broker.address,
        duration: if case.kind == ScenarioKind::Conn {
            Duration::from_millis(300)
        } else {
            GENEROUS
        },
        connect_rate: 0.0,
        drain: Duration::from_secs(20),
        settle: Duration::from_millis(50),
        broker_pid: Some(std::process::id()),
        label: "tallymq".to_string(),
    }
}

async fn run_case(case: Case, expected: u64) -> RunResult {
    let broker = RunningBroker::start(Durability::Fsync, None)
        .await
        .expect("broker starts");
    let run_id = format!("t{}", case.kind.name());
    let result = run(&settings(&case, &broker, &run_id), |_| {})
        .await
        .expect("the run completes");
    broker.stop().await;
    let t = &result.counts.tally;
    assert_eq!(t.expected, expected, "{:?}: {t:?}", case.kind);
    assert_eq!(t.delivered, t.expected, "{:?}: {t:?}", case.kind);
    assert!(t.is_exact(), "{:?}: {t:?}", case.kind);
    assert_eq!(t.received, t.expected, "{:?}: {t:?}", case.kind);
    assert_eq!(result.counts.unacked, 0, "{:?}", result.counts);
    assert_eq!(result.counts.refused, 0, "{:?}", result.counts);
    assert_eq!(
        result.counts.acked, result.counts.sent,
        "{:?}",
        result.counts
    );
    assert_eq!(
        result.latency.count, t.delivered,
        "one latency per delivery"
    );
    if case.qos != QoS::AtMostOnce {
        assert_eq!(
            result.ack_latency.count, result.counts.acked,
            "one ack latency per acknowledged publish"
        );
    }
    assert_eq!(result.connections.failed, 0);
    assert_eq!(result.connections.connected, result.connections.planned);
    let usage = result
        .broker_usage
        .as_ref()
        .expect("the broker (this process) is sampled");
    assert!(
        usage.rss_before_kib > 0 && usage.cpu_secs >= 0.0,
        "{usage:?}"
    );
    if t.delivered > 0 {
        assert!(usage.cpu_us_per_delivery.is_some());
        assert!(result.timings.last_delivery_secs.is_some());
    }
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2p_pairs_each_get_their_partners_messages_v311_qos2() {
    let case = Case {
        kind: ScenarioKind::P2p,
        clients: 3,
        version: ProtocolVersion::V311,
        qos: QoS::ExactlyOnce,
        rate: 0.0,
        count: 20,
    };
    let result = run_case(case, 3 * 20).await;
    assert_eq!(result.counts.sent, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_reaches_every_subscriber_v5_qos1() {
    let case = Case {
        kind: ScenarioKind::Fanout,
        clients: 4,
        version: ProtocolVersion::V5,
        qos: QoS::AtLeastOnce,
        rate: 0.0,
        count: 30,
    };
    run_case(case, 4 * 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanin_collects_every_publisher_v5_qos0() {
    let case = Case {
        kind: ScenarioKind::Fanin,
        clients: 4,
        version: ProtocolVersion::V5,
        qos: QoS::AtMostOnce,
        rate: 200.0,
        count: 10,
    };
    run_case(case, 4 * 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanin_through_a_shared_group_delivers_each_message_once() {
    let case = Case {
        kind: ScenarioKind::FaninShared,
        clients: 4,
        version: ProtocolVersion::V5,
        qos: QoS::AtLeastOnce,
        rate: 0.0,
        count: 10,
    };
    run_case(case, 4 * 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_rooms_on_persistent_sessions_v5() {
    let case = Case {
        kind: ScenarioKind::Chat,
        clients: 3,
        version: ProtocolVersion::V5,
        qos: QoS::AtLeastOnce,
        rate: 50.0,
        count: 5,
    };
    let result = run_case(case, 2 * 3 * 5).await;
    assert_eq!(result.counts.publishers, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_rooms_on_persistent_sessions_v311() {
    let case = Case {
        kind: ScenarioKind::Chat,
        clients: 2,
        version: ProtocolVersion::V311,
        qos: QoS::AtLeastOnce,
        rate: 50.0,
        count: 3,
    };
    run_case(case, 2 * 2 * 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spike_bids_all_reach_the_backend() {
    let case = Case {
        kind: ScenarioKind::Spike,
        clients: 20,
        version: ProtocolVersion::V5,
        qos: QoS::AtLeastOnce,
        rate: 0.0,
        count: 1,
    };
    let result = run_case(case, 20).await;
    assert!(result.timings.last_ack_secs.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conn_holds_idle_connections_and_measures_memory() {
    let case = Case {
        kind: ScenarioKind::Conn,
        clients: 30,
        version: ProtocolVersion::V5,
        qos: QoS::AtLeastOnce,
        rate: 0.0,
        count: 1,
    };
    let result = run_case(case, 0).await;
    assert_eq!(result.connections.connected, 30);
    assert_eq!(result.counts.sent, 0);
    let usage = result.broker_usage.expect("sampled");
    assert!(usage.kib_per_connection.is_finite(), "{usage:?}");
}

/// The binary against a broker it did not start: a run with `--json` and `--plot`, then the
/// comparison table of two result files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_writes_json_plot_and_the_comparison_table() {
    let broker = RunningBroker::start(Durability::Fsync, None)
        .await
        .expect("broker starts");
    let port = broker.address.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        let bench = env!("CARGO_BIN_EXE_tallymq-bench");
        let mut outputs = Vec::new();
        for label in ["tallymq", "mosquitto"] {
            let json = dir_path.join(format!("{label}.json"));
            let output = std::process::Command::new(bench)
                .args([
                    "fanout",
                    "--port",
                    &port,
                    "--clients",
                    "3",
                    "--count",
                    "25",
                    "--duration-secs",
                    "60",
                ])
                .args([
                    "--label",
                    label,
                    "--strict",
                    "--broker-pid",
                    &std::process::id().to_string(),
                ])
                .arg("--json")
                .arg(&json)
                .arg("--plot")
                .arg(dir_path.join(format!("{label}.svg")))
                .output()
                .expect("the binary runs");
            outputs.push(output);
        }
        let table = std::process::Command::new(bench)
            .arg("table")
            .arg(dir_path.join("tallymq.json"))
            .arg(dir_path.join("mosquitto.json"))
            .output()
            .expect("the binary runs");
        outputs.push(table);
        outputs
    })
    .await
    .unwrap();
    broker.stop().await;
    for o in &output {
        assert!(
            o.status.success(),
            "stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let summary = String::from_utf8_lossy(&output[0].stdout);
    assert!(
        summary.contains("75 of 75 expected: 0 lost, 0 duplicates"),
        "{summary}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tallymq.json")).unwrap())
            .unwrap();
    assert_eq!(report["scenario"], "fanout");
    assert_eq!(report["counts"]["tally"]["delivered"], 75);
    let svg = std::fs::read_to_string(dir.path().join("tallymq.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    let table = String::from_utf8_lossy(&output[2].stdout);
    assert!(table.contains("fanout 1->3 q1"), "{table}");
    assert!(table.contains("tallymq/mosquitto"), "{table}");
}
