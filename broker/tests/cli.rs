//! The `tallymq` command line: default configuration, configuration errors, flags.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tallymq_config::Config;

fn tallymq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tallymq"))
}

#[test]
fn config_defaults_prints_every_key_commented_and_parses_back_to_the_defaults() {
    let output = tallymq().args(["config", "defaults"]).output().expect("run tallymq");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(Config::from_toml_str(&text).expect("defaults parse"), Config::default());
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let is_key = !line.starts_with('#') && line.contains(" = ");
        if is_key {
            assert!(i > 0 && lines[i - 1].starts_with('#'), "key without a comment: {line}");
        }
    }
    assert!(text.contains("max_packet_size"), "{text}");
}

#[test]
fn unknown_key_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[mqtt]\nmax_inflihgt = 5\n").unwrap();
    let output = tallymq().args(["serve", "--config"]).arg(&file).output().expect("run tallymq");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_inflihgt"), "{stderr}");
}

#[test]
fn invalid_value_is_refused_naming_the_key_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[mqtt]\nmax_packet_size = 0\n").unwrap();
    let output = tallymq().args(["config", "check"]).arg(&file).output().expect("run tallymq");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mqtt.max_packet_size") && stderr.contains("between"), "{stderr}");
}

/// `serve` with flags overriding a file: the broker comes up on the flag's address and a
/// 3.1.1 client gets a CONNACK there.
#[test]
fn serve_listens_where_the_flags_say() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let file = dir.path().join("tallymq.toml");
    std::fs::write(&file, "[listener.ws]\nenabled = false\n").unwrap();
    let mut child = tallymq()
        .args(["serve", "--config"])
        .arg(&file)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tallymq");
    // The log line "tallymq started" comes after every listener is bound.
    let stderr = child.stderr.take().unwrap();
    let started = BufReader::new(stderr).lines().map_while(Result::ok).any(|line| line.contains("tallymq started"));
    assert!(started, "tallymq did not start");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    use std::io::{Read, Write};
    // CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "cli".
    stream.write_all(&[0x10, 15, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 3, b'c', b'l', b'i']).unwrap();
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x20, 2, 0, 0]);
    assert!(dir.path().join("data").is_dir(), "data dir created");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Runs `tallymq` with `args`, `stdin` as standard input, and returns (success, stdout, stderr).
fn run_with_input(args: &[&str], stdin: &str, env_remove: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    let mut command = tallymq();
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(name) = env_remove {
        command.env_remove(name);
    }
    let mut child = command.spawn().expect("run tallymq");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let output = child.wait_with_output().expect("tallymq ends");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn moderate_scores_each_line_with_the_configured_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tallymq.toml");
    std::fs::write(&file, "[moderation]\nthresholds = [{ category = \"insult\", warn = 0.2, block = 0.3 }]\n").unwrap();
    let input = "이번 달 말까지 상환 부탁드립니다\n\n{\"id\": 7, \"text\": \"이 시발 병신 새끼야\"}\n{broken\n";
    let (ok, stdout, stderr) = run_with_input(&["moderate", "--config", file.to_str().unwrap()], input, None);
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[0]["decision"], "allow", "{}", lines[0]);
    assert_eq!(lines[0]["scores"].as_object().map(|s| s.len()), Some(7));
    assert_eq!(lines[1]["id"], 7);
    assert_eq!(lines[1]["decision"], "block", "{}", lines[1]);
    assert!(lines[1]["categories"].as_array().unwrap().iter().any(|c| c == "insult"));
    assert!(lines[2]["error"].is_string(), "{}", lines[2]);
    assert!(stderr.contains("3 messages") || stderr.contains("2 messages"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_without_the_runtime_library_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tallymq.toml");
    let missing = dir.path().join("no-such-libonnxruntime.so");
    std::fs::write(
        &file,
        format!("[listener.tcp]\naddress = \"127.0.0.1:0\"\n[listener.ws]\nenabled = false\n[storage]\ndata_dir = {:?}\n[moderation]\nruntime_library = {:?}\n", dir.path().join("data"), missing),
    )
    .unwrap();
    let (ok, _, stderr) = run_with_input(&["serve", "--config", file.to_str().unwrap()], "", None);
    assert!(!ok);
    assert!(stderr.contains("no-such-libonnxruntime.so") && stderr.contains("moderation.enabled"), "{stderr}");

    // Nothing configured and no ORT_DYLIB_PATH: the error says where to point.
    std::fs::write(
        &file,
        format!("[listener.tcp]\naddress = \"127.0.0.1:0\"\n[listener.ws]\nenabled = false\n[storage]\ndata_dir = {:?}\n", dir.path().join("data")),
    )
    .unwrap();
    let (ok, _, stderr) = run_with_input(&["serve", "--config", file.to_str().unwrap()], "", Some("ORT_DYLIB_PATH"));
    assert!(!ok);
    assert!(stderr.contains("ORT_DYLIB_PATH"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_without_the_model_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tallymq.toml");
    let missing = dir.path().join("no-such-model.onnx");
    std::fs::write(
        &file,
        format!("[listener.tcp]\naddress = \"127.0.0.1:0\"\n[listener.ws]\nenabled = false\n[storage]\ndata_dir = {:?}\n[moderation]\nmodel = {:?}\n", dir.path().join("data"), missing),
    )
    .unwrap();
    let (ok, _, stderr) = run_with_input(&["serve", "--config", file.to_str().unwrap()], "", None);
    assert!(!ok);
    assert!(stderr.contains("no-such-model.onnx"), "{stderr}");
}
