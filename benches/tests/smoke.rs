//! The durable-publish matrix with tiny counts against the in-process broker: every publish
//! is acknowledged, in every cell. No timing is asserted.

use std::time::Duration;

use tallymq::codec::ProtocolVersion;
use tallymq_benches::durable::{run_matrix, MatrixSettings, Target};
use tallymq_benches::report::Cell;
use tallymq_config::Durability;

/// Long enough that the message budget, not the clock, ends every cell.
const GENEROUS: Duration = Duration::from_secs(60);

fn settings(protocol: ProtocolVersion, window: usize, max_messages: u64) -> MatrixSettings {
    MatrixSettings {
        target: Target::InProcess {
            durabilities: vec![Durability::Fsync, Durability::Flush, Durability::None],
            data_parent: None,
        },
        publishers: vec![1, 8],
        window,
        payload_bytes: 64,
        protocol,
        warmup: Duration::ZERO,
        duration: GENEROUS,
        max_messages,
    }
}

fn assert_all_acknowledged(cells: &[Cell], max_messages: u64) {
    let shape: Vec<(&str, usize)> = cells
        .iter()
        .map(|c| (c.durability.as_str(), c.publishers))
        .collect();
    assert_eq!(
        shape,
        [
            ("fsync", 1),
            ("fsync", 8),
            ("flush", 1),
            ("flush", 8),
            ("none", 1),
            ("none", 8)
        ]
    );
    for cell in cells {
        assert_eq!(cell.published, max_messages, "{cell:?}");
        assert_eq!(cell.acked, cell.published, "{cell:?}");
        assert_eq!(cell.refused, 0, "{cell:?}");
        assert_eq!(
            cell.measured_acks, cell.acked,
            "no warm-up: every ack is measured: {cell:?}"
        );
        assert_eq!(cell.latency.count, cell.acked, "{cell:?}");
        assert!(cell.latency.max_us > 0.0, "{cell:?}");
        assert!(
            cell.ratio_vs_none.is_some(),
            "each cell has its none peer: {cell:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_acknowledges_every_publish_v5() {
    let max_messages = 200;
    let cells = run_matrix(&settings(ProtocolVersion::V5, 1, max_messages), |_| {})
        .await
        .expect("matrix runs");
    assert_all_acknowledged(&cells, max_messages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_acknowledges_every_publish_v311_with_a_window() {
    let max_messages = 300;
    let cells = run_matrix(&settings(ProtocolVersion::V311, 16, max_messages), |_| {})
        .await
        .expect("matrix runs");
    assert_all_acknowledged(&cells, max_messages);
    assert!(cells.iter().all(|c| c.window == 16));
}

#[test]
fn binary_runs_a_tiny_matrix_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("results.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_durable-publish"))
        .args([
            "--durability",
            "fsync,none",
            "--publishers",
            "1,3",
            "--window",
            "2",
        ])
        .args([
            "--warmup-secs",
            "0",
            "--duration-secs",
            "60",
            "--max-messages",
            "50",
            "--payload",
            "32",
        ])
        .arg("--data-parent")
        .arg(dir.path())
        .arg("--json")
        .arg(&json)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let table: Vec<&str> = stdout.lines().collect();
    assert_eq!(table.len(), 2 + 4, "{stdout}");
    assert!(
        table[0].contains("durability") && table[0].contains("vs none"),
        "{stdout}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["benchmark"], "durable-publish");
    assert_eq!(report["run"]["window"], 2);
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    for cell in cells {
        assert_eq!(cell["published"], 50, "{cell}");
        assert_eq!(cell["acked"], 50, "{cell}");
        assert_eq!(cell["refused"], 0, "{cell}");
    }
    assert_eq!(cells[2]["durability"], "none");
    assert_eq!(cells[2]["ratio_vs_none"], 1.0);
    // Each broker's data directory is removed when it stops.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("results.json")]);
}
