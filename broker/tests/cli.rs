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
