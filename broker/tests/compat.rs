mod common;

// Third-party clients against the real broker: Debian's mosquitto command line clients and
// the Python paho-mqtt library, each over MQTT 3.1.1 and 5.0.
//
// mosquitto_sub runs with `-d`, which prints protocol events ("received SUBACK") on stdout
// next to the messages, so a test knows when a subscription is in place without sleeping.
// Messages are printed as `retain|qos|topic|payload`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const SUB: &str = "mosquitto_sub";
const PUB: &str = "mosquitto_pub";
/// The whole paho check script, both protocols, must finish within this.
const PAHO_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
enum Version {
    V311,
    V5,
}

impl Version {
    fn flag(self) -> &'static str {
        match self {
            Version::V311 => "mqttv311",
            Version::V5 => "mqttv5",
        }
    }
}

/// The path of a mosquitto client program, failing the test if it is not installed.
fn find(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{program} not found: install mosquitto-clients; scripts/test.sh does it"))
}

/// A mosquitto client command aimed at the broker, with the protocol version set.
/// mosquitto_sub block-buffers stdout when it is a pipe, so it runs under `stdbuf -oL` to
/// print each line (its SUBACK notice, each message) as it happens.
fn mosquitto(program: &str, addr: SocketAddr, version: Version) -> Command {
    let binary = find(program);
    let mut command = if program == SUB {
        let mut command = Command::new("stdbuf");
        command.arg("-oL").arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command
        .args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string(), "-V", version.flag()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

fn spawn(mut command: Command, program: &str) -> Child {
    command.spawn().unwrap_or_else(|error| panic!("cannot start {program} (through stdbuf from coreutils for {SUB}): {error}"))
}

/// A running mosquitto_sub whose stdout is read line by line.
struct Sub {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    what: String,
}

impl Sub {
    /// Starts `mosquitto_sub -d -F '%r|%q|%t|%p'` with `args` and waits for its SUBACK.
    async fn start(addr: SocketAddr, version: Version, args: &[&str]) -> Sub {
        let mut sub = Sub::spawn(addr, version, args);
        sub.wait_subscribed().await;
        sub
    }

    /// Starts mosquitto_sub like [`Sub::start`] without waiting for anything.
    fn spawn(addr: SocketAddr, version: Version, args: &[&str]) -> Sub {
        let mut command = mosquitto(SUB, addr, version);
        command.args(["-d", "-F", "%r|%q|%t|%p"]).args(args);
        let mut child = spawn(command, SUB);
        let stdout = child.stdout.take().expect("piped stdout");
        Sub { child, lines: BufReader::new(stdout).lines(), what: format!("{SUB} -V {} {}", version.flag(), args.join(" ")) }
    }

    async fn line(&mut self, waiting_for: &str) -> String {
        let what = format!("{waiting_for} from `{}`", self.what);
        match within(&what, self.lines.next_line()).await {
            Ok(Some(line)) => line,
            Ok(None) | Err(_) => {
                let stderr = self.stderr().await;
                panic!("`{}` ended while waiting for {waiting_for}; stderr: {stderr}", self.what)
            }
        }
    }

    async fn wait_subscribed(&mut self) {
        loop {
            let line = self.line("SUBACK").await;
            if line.contains("received SUBACK") {
                return;
            }
        }
    }

    /// The next message line (`retain|qos|topic|payload`), skipping `-d` protocol output.
    async fn next_message(&mut self) -> String {
        loop {
            let line = self.line("a message").await;
            if !line.starts_with("Client ") && !line.starts_with("Subscribed (mid") {
                return line;
            }
        }
    }

    /// Kills the client with SIGKILL: no DISCONNECT reaches the broker.
    async fn kill(mut self) {
        self.child.kill().await.expect("kill mosquitto_sub");
    }

    /// Waits for a client started with `-C` to exit by itself, successfully.
    async fn exits(mut self) {
        let status = within(&format!("`{}` to exit", self.what), self.child.wait()).await.expect("wait for mosquitto_sub");
        if !status.success() {
            let stderr = self.stderr().await;
            panic!("`{}` failed with {status}; stderr: {stderr}", self.what);
        }
    }

    async fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), stderr.read_to_string(&mut text)).await;
        }
        text
    }
}

/// Runs mosquitto_pub to completion; it exits once its QoS flow is complete.
async fn publish(addr: SocketAddr, version: Version, args: &[&str]) {
    let mut command = mosquitto(PUB, addr, version);
    command.args(args);
    let child = spawn(command, PUB);
    let what = format!("`{PUB} -V {} {}`", version.flag(), args.join(" "));
    let output = within(&format!("{what} to finish"), child.wait_with_output()).await.expect("mosquitto_pub output");
    assert!(
        output.status.success(),
        "{what} failed with {}; stdout: {}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A payload with spaces, punctuation and multi-byte UTF-8, long enough to need a
/// two-byte remaining length.
fn payload(tag: &str) -> String {
    format!("{tag}: héllo wörld ✓ |pipes| {}", "0123456789".repeat(30))
}

async fn qos_levels(version: Version) {
    let broker = start().await;
    let mut sub = Sub::start(broker.tcp, version, &["-q", "2", "-t", "compat/qos/#"]).await;
    for qos in ["0", "1", "2"] {
        let topic = format!("compat/qos/{qos}");
        let body = payload(&format!("qos {qos}"));
        publish(broker.tcp, version, &["-q", qos, "-t", &topic, "-m", &body]).await;
        // A subscription at QoS 2 receives each message at the QoS it was published with.
        assert_eq!(sub.next_message().await, format!("0|{qos}|{topic}|{body}"), "QoS {qos} over {version:?}");
    }
    sub.kill().await;
}

async fn retained(version: Version) {
    let broker = start().await;
    let body = payload("retained");
    publish(broker.tcp, version, &["-q", "1", "-r", "-t", "compat/retained", "-m", &body]).await;
    let mut late = Sub::start(broker.tcp, version, &["-q", "1", "-C", "1", "-t", "compat/retained"]).await;
    assert_eq!(late.next_message().await, format!("1|1|compat/retained|{body}"), "retained message over {version:?}");
    late.exits().await;

    // An empty retained publish clears it: the next subscriber gets only live messages,
    // and those without the retain flag.
    publish(broker.tcp, version, &["-q", "1", "-r", "-n", "-t", "compat/retained"]).await;
    let mut after = Sub::start(broker.tcp, version, &["-q", "1", "-C", "1", "-t", "compat/retained"]).await;
    publish(broker.tcp, version, &["-q", "1", "-t", "compat/retained", "-m", "live"]).await;
    assert_eq!(after.next_message().await, "0|1|compat/retained|live", "cleared retained message over {version:?}");
    after.exits().await;
}

async fn will(version: Version) {
    let broker = start().await;
    let mut watcher = Sub::start(broker.tcp, version, &["-q", "1", "-t", "compat/will"]).await;
    let client = Sub::start(
        broker.tcp,
        version,
        &[
            "-i",
            "compat-will",
            "-t",
            "compat/will-client",
            "--will-topic",
            "compat/will",
            "--will-payload",
            "compat-will went away",
            "--will-qos",
            "1",
        ],
    )
    .await;
    client.kill().await;
    assert_eq!(watcher.next_message().await, "0|1|compat/will|compat-will went away", "will over {version:?}");
    watcher.kill().await;
}

async fn session_resume(version: Version) {
    let broker = start().await;
    let id = format!("compat-persist-{}", version.flag());
    let first = Sub::start(broker.tcp, version, &["-c", "-i", &id, "-q", "1", "-t", "compat/persist"]).await;
    first.kill().await;
    let body = payload("queued while away");
    publish(broker.tcp, version, &["-q", "1", "-t", "compat/persist", "-m", &body]).await;
    // The resumed session delivers the queued message right after CONNACK, possibly before
    // the SUBACK of the repeated subscription: no waiting for the SUBACK here.
    let mut second = Sub::spawn(broker.tcp, version, &["-c", "-i", &id, "-C", "1", "-q", "1", "-t", "compat/persist"]);
    assert_eq!(second.next_message().await, format!("0|1|compat/persist|{body}"), "queued message over {version:?}");
    second.exits().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_v311_qos_0_1_2() {
    qos_levels(Version::V311).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_v5_qos_0_1_2() {
    qos_levels(Version::V5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_v311_retained() {
    retained(Version::V311).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_v5_retained() {
    retained(Version::V5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_v311_will_on_kill() {
    will(Version::V311).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_v5_will_on_kill() {
    will(Version::V5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_v311_persistent_session() {
    session_resume(Version::V311).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_v5_persistent_session() {
    session_resume(Version::V5).await;
}

/// Runs compat/paho_check.py (both protocols) with `$TALLYMQ_PYTHON` or `python3`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_mqtt_v311_and_v5() {
    let broker = start().await;
    let python = std::env::var("TALLYMQ_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = crate_dir().join("tests/compat/paho_check.py");
    let child = Command::new(&python)
        .arg(script)
        .args(["--host", &broker.tcp.ip().to_string(), "--port", &broker.tcp.port().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {python} (set TALLYMQ_PYTHON to a Python with paho-mqtt 2.x): {error}"));
    let output = tokio::time::timeout(PAHO_TIMEOUT, child.wait_with_output())
        .await
        .expect("paho_check.py did not finish in time")
        .expect("paho_check.py output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "paho_check.py failed with {}\n--- stdout\n{stdout}--- stderr\n{stderr}", output.status);
    assert!(stdout.lines().any(|line| line.ends_with(" passed, 0 failed")), "no summary line\n--- stdout\n{stdout}--- stderr\n{stderr}");
}

/// Signing in with a password from the password file, and being refused with a wrong one,
/// as mosquitto_pub/sub do it, in both protocol versions.
async fn password_sign_in(version: Version) {
    let dir = tempfile::tempdir().expect("temp dir");
    let password_file = dir.path().join("passwords");
    let mut users = tallymq::auth::password_file::PasswordFile::default();
    users.set("alice", b"s3cret pass").expect("hash");
    users.save(&password_file).expect("write password file");
    let broker = common::start_with(|config| {
        config.auth.mode = tallymq_config::AuthMode::Secure;
        config.auth.anonymous = tallymq_config::Anonymous::Never;
        config.auth.password_file = password_file;
    })
    .await;
    let alice = ["-u", "alice", "-P", "s3cret pass"];
    let mut sub = Sub::start(broker.tcp, version, &[&alice[..], &["-q", "1", "-t", "user/alice/#"]].concat()).await;
    publish(broker.tcp, version, &[&alice[..], &["-q", "1", "-t", "user/alice/inbox", "-m", "signed in"]].concat()).await;
    assert_eq!(sub.next_message().await, "0|1|user/alice/inbox|signed in");
    sub.kill().await;

    let mut command = mosquitto(PUB, broker.tcp, version);
    command.args(["-u", "alice", "-P", "wrong", "-q", "1", "-t", "user/alice/inbox", "-m", "x"]);
    let output = within("mosquitto_pub with a wrong password", spawn(command, PUB).wait_with_output()).await.expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(!output.status.success(), "a wrong password was accepted");
    assert!(stderr.contains("bad user name or password") || stderr.contains("not authorised"), "{stderr}");
}

#[tokio::test]
async fn mosquitto_v311_password_sign_in() {
    password_sign_in(Version::V311).await;
}

#[tokio::test]
async fn mosquitto_v5_password_sign_in() {
    password_sign_in(Version::V5).await;
}

/// This crate's directory, read when the test runs: a test binary built from another checkout
/// of the same sources can be reused from a shared target directory, and `env!` would point
/// into that checkout.
fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}
