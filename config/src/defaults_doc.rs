//! The commented default configuration file ([`defaults_toml`]).
//!
//! The text is generated, not written by hand, so it cannot drift from
//! [`Config::default`]: the defaults are serialized to a [`toml::Value`], the
//! tree is walked, and each section and key is preceded by its entry from
//! [`DOCS`], the single table of explanations. `DOCS` also fixes the order in
//! which sections and keys are printed (serialization order depends on toml's
//! map type). Unit tests assert that every serialized key has an entry, that
//! every entry names a serialized key, that each range-checked key states the
//! range that validation enforces, and that the rendered text parses back to
//! exactly `Config::default()`.

use std::fmt::Write as _;

use toml::{Table, Value};

use crate::config::Config;

/// Opening comment of the rendered file.
const HEADER: &str = "\
tallymq configuration file.

Every key is optional: a file may set any subset of them and the rest keep
the defaults shown here. Unknown keys are refused. Durations are whole
seconds (keys ending in `_secs`); sizes are bytes.";

/// (dotted key, explanation) for every section and key, in display order.
/// Explanations may span several lines; each is printed as `# ` comments.
pub(crate) const DOCS: &[(&str, &str)] = &[
    (
        "listener",
        "Network listeners. Each transport can be switched off on its own.",
    ),
    ("listener.tcp", "MQTT over plain TCP."),
    (
        "listener.tcp.enabled",
        "Accept MQTT connections over plain TCP: true or false.",
    ),
    (
        "listener.tcp.address",
        "Socket address to listen on, as \"IP:port\". \"0.0.0.0:1883\" listens on all\n\
         IPv4 interfaces, \"[::]:1883\" on IPv6; port 0 lets the OS choose a port.",
    ),
    (
        "listener.ws",
        "MQTT over WebSocket (subprotocol \"mqtt\"), e.g. for browser clients.",
    ),
    (
        "listener.ws.enabled",
        "Accept MQTT connections over WebSocket: true or false.",
    ),
    (
        "listener.ws.address",
        "Socket address to listen on, as \"IP:port\". Must differ from the TCP\n\
         listener's address when both are enabled (unless the port is 0).",
    ),
    (
        "listener.ws.path",
        "HTTP request path on which WebSocket upgrades are accepted.\n\
         Must start with \"/\" and contain no whitespace.",
    ),
    (
        "storage",
        "Where broker data lives and how much is kept in memory.",
    ),
    (
        "storage.data_dir",
        "Directory for broker data files. A relative path is taken from the\n\
         broker's working directory.",
    ),
    (
        "storage.memory_log_max_messages",
        "Bound on the in-memory message log, in messages, used until durable storage\n\
         exists. When it is reached the oldest messages are dropped.\n\
         Range: 1 to 100000000 messages.",
    ),
    (
        "mqtt",
        "MQTT protocol limits and behaviour, for MQTT 3.1.1 and 5.0 clients alike.\n\
         Where MQTT 5.0 has a matching CONNACK property, the value set here is\n\
         what is advertised.",
    ),
    (
        "mqtt.max_packet_size",
        "Largest inbound packet accepted, in bytes, fixed header included; larger\n\
         packets close the connection. Advertised to 5.0 clients as Maximum Packet Size.\n\
         Range: 16 to 268435455 bytes.",
    ),
    (
        "mqtt.receive_maximum",
        "How many inbound QoS 1 and QoS 2 publishes a client may have unacknowledged\n\
         at once. Advertised to 5.0 clients as Receive Maximum.\n\
         Range: 1 to 65535 messages.",
    ),
    (
        "mqtt.max_inflight",
        "Outbound QoS 1 and QoS 2 messages awaiting acknowledgement, per client.\n\
         For a 5.0 client the smaller of this and the client's Receive Maximum is used.\n\
         Range: 1 to 65535 messages.",
    ),
    (
        "mqtt.max_queued_messages",
        "Per-session queue of messages waiting for delivery, in messages. When it is\n\
         full, new messages for that client are dropped and counted.\n\
         Range: 1 to 1000000 messages.",
    ),
    (
        "mqtt.queue_qos0_offline",
        "Queue QoS 0 messages for offline persistent sessions too: true or false.\n\
         When false, QoS 0 messages reach only connected clients.",
    ),
    (
        "mqtt.max_keep_alive_secs",
        "Largest keep alive granted, in seconds. A 5.0 client asking for more, or for\n\
         0 (no keep alive), is told Server Keep Alive = this value. A 3.1.1 client's\n\
         keep alive is accepted as asked (that protocol cannot lower it) and, like\n\
         every keep alive, enforced at 1.5 times its value.\n\
         Range: 1 to 65535 seconds.",
    ),
    (
        "mqtt.connect_timeout_secs",
        "Time allowed between accepting a network connection and receiving its\n\
         CONNECT packet, in seconds; silent connections are closed after it.\n\
         Range: 1 to 300 seconds.",
    ),
    (
        "mqtt.topic_alias_maximum",
        "Inbound topic aliases accepted from a 5.0 client, advertised as Topic Alias\n\
         Maximum; 0 accepts none.\n\
         Range: 0 to 65535 aliases.",
    ),
    (
        "mqtt.max_outbound_topic_aliases",
        "Most topic aliases the broker uses towards a 5.0 client, further bounded by\n\
         the client's own Topic Alias Maximum; 0 uses none.\n\
         Range: 0 to 65535 aliases.",
    ),
    (
        "mqtt.max_session_expiry_secs",
        "Cap on a 5.0 client's Session Expiry Interval, in seconds. Also the expiry\n\
         of 3.1.1 persistent sessions (clean session = 0). 604800 is 7 days.\n\
         Range: 0 to 4294967295 seconds.",
    ),
    (
        "mqtt.max_client_id_len",
        "Longest client identifier accepted, in bytes of UTF-8.\n\
         Range: 1 to 65535 bytes.",
    ),
    (
        "mqtt.retain_available",
        "Support retained messages: true or false. Advertised to 5.0 clients as\n\
         Retain Available.",
    ),
    (
        "mqtt.max_retained_messages",
        "Most retained topics stored. When reached, retaining on a new topic is\n\
         refused (reason code 0x97, Quota exceeded) while replacing or deleting an\n\
         existing retained message still works.\n\
         Range: 0 to 100000000 messages.",
    ),
    (
        "mqtt.max_subscriptions_per_client",
        "Most subscriptions (topic filters) one client may hold.\n\
         Range: 1 to 1000000 subscriptions.",
    ),
    (
        "mqtt.max_topic_levels",
        "Most levels (\"/\"-separated parts) in a topic name or topic filter.\n\
         Range: 1 to 1024 levels.",
    ),
    (
        "mqtt.max_topic_len",
        "Longest topic name or topic filter accepted, in bytes of UTF-8.\n\
         Range: 1 to 65535 bytes.",
    ),
    (
        "mqtt.notice_topic_prefix",
        "Prefix of the per-client topic (prefix + client id) on which refusals are\n\
         published to 3.1.1 clients, which have no reason codes. A leading \"$\" keeps\n\
         these topics out of \"#\" subscriptions. Must be non-empty and contain no\n\
         \"+\" or \"#\".",
    ),
    ("log", "Diagnostic logging of the broker process."),
    (
        "log.level",
        "A tracing filter directive, e.g. \"info\", \"warn\" or \"info,tallymq=debug\".\n\
         Must not be empty.",
    ),
];

/// The explanation for `key`, if any.
fn doc(key: &str) -> Option<&'static str> {
    DOCS.iter().find(|(k, _)| *k == key).map(|(_, d)| *d)
}

/// Position of `key` in [`DOCS`]; undocumented keys sort last.
fn order(key: &str) -> usize {
    DOCS.iter()
        .position(|(k, _)| *k == key)
        .unwrap_or(usize::MAX)
}

/// The full default configuration as TOML, each section and key preceded by
/// a comment explaining it, its unit and its allowed range. Parsing the
/// result gives back exactly [`Config::default`].
pub fn defaults_toml() -> String {
    let value =
        Value::try_from(Config::default()).expect("the default configuration serializes to TOML");
    let table = value
        .as_table()
        .expect("the configuration serializes to a TOML table");
    let mut out = String::new();
    push_comment(&mut out, HEADER);
    render_table(&mut out, "", table);
    out
}

/// Appends `text` as `#` comment lines.
fn push_comment(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Renders the table at dotted path `prefix` (empty for the root): its
/// header and plain keys first, as TOML requires, then its sub-tables.
fn render_table(out: &mut String, prefix: &str, table: &Table) {
    let mut entries: Vec<(String, &Value)> =
        table.iter().map(|(k, v)| (join(prefix, k), v)).collect();
    entries.sort_by_key(|(key, _)| order(key));

    if !prefix.is_empty() {
        out.push('\n');
        push_comment(out, doc_for(prefix));
        let _ = writeln!(out, "[{prefix}]");
    }
    for (key, value) in entries.iter().filter(|(_, v)| !v.is_table()) {
        let name = key.rsplit('.').next().unwrap_or(key);
        out.push('\n');
        push_comment(out, doc_for(key));
        let _ = writeln!(out, "{name} = {}", render_value(value));
    }
    for (key, value) in &entries {
        if let Value::Table(sub) = value {
            render_table(out, key, sub);
        }
    }
}

/// The explanation for `key`; every serialized key has one (unit-tested).
fn doc_for(key: &str) -> &'static str {
    doc(key).unwrap_or_else(|| panic!("configuration key `{key}` has no entry in DOCS"))
}

/// TOML text of a scalar; integers of five or more digits get `_` digit
/// separators (`1_048_576`) for readability.
fn render_value(value: &Value) -> String {
    match value {
        Value::Integer(n) if n.unsigned_abs() >= 10_000 => {
            let digits = n.unsigned_abs().to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push('_');
                }
                grouped.push(c);
            }
            if *n < 0 {
                format!("-{grouped}")
            } else {
                grouped
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every dotted key (sections included) in the serialized defaults.
    fn serialized_keys() -> BTreeSet<String> {
        fn walk(prefix: &str, table: &Table, keys: &mut BTreeSet<String>) {
            for (k, v) in table {
                let key = join(prefix, k);
                if let Value::Table(sub) = v {
                    walk(&key, sub, keys);
                }
                keys.insert(key);
            }
        }
        let value = Value::try_from(Config::default()).unwrap();
        let mut keys = BTreeSet::new();
        walk("", value.as_table().unwrap(), &mut keys);
        keys
    }

    #[test]
    fn every_key_is_documented_and_every_doc_names_a_key() {
        let keys = serialized_keys();
        let documented: BTreeSet<String> = DOCS.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(documented.len(), DOCS.len(), "duplicate DOCS entry");
        let undocumented: Vec<_> = keys.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&keys).collect();
        assert!(
            undocumented.is_empty(),
            "keys without DOCS entry: {undocumented:?}"
        );
        assert!(stale.is_empty(), "DOCS entries for no key: {stale:?}");
        for (key, text) in DOCS {
            assert!(!text.trim().is_empty(), "empty doc for {key}");
        }
    }

    #[test]
    fn documented_ranges_match_validation() {
        let c = Config::default();
        let checks = c.storage.ranges().into_iter().chain(c.mqtt.ranges());
        for check in checks {
            let text = doc(check.key).unwrap();
            let stated = format!("Range: {} to {} {}.", check.min, check.max, check.unit);
            assert!(
                text.contains(&stated),
                "doc of {} should state {stated:?}, is {text:?}",
                check.key
            );
        }
    }

    #[test]
    fn rendered_defaults_round_trip() {
        let text = defaults_toml();
        assert_eq!(Config::from_toml_str(&text).unwrap(), Config::default());
    }

    #[test]
    fn every_rendered_key_and_section_is_preceded_by_a_comment() {
        let text = defaults_toml();
        let lines: Vec<&str> = text.lines().collect();
        let mut assignments = 0;
        for (i, line) in lines.iter().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            assert!(
                i > 0 && lines[i - 1].starts_with("# "),
                "no comment before {line:?}"
            );
            if !line.starts_with('[') {
                assignments += 1;
            }
        }
        let leaves = serialized_keys()
            .iter()
            .filter(|k| {
                ![
                    "listener",
                    "listener.tcp",
                    "listener.ws",
                    "storage",
                    "mqtt",
                    "log",
                ]
                .contains(&k.as_str())
            })
            .count();
        assert_eq!(assignments, leaves);
    }

    #[test]
    fn rendering_follows_docs_order() {
        let text = defaults_toml();
        let tcp = text.find("[listener.tcp]").unwrap();
        let ws = text.find("[listener.ws]").unwrap();
        let mqtt = text.find("[mqtt]").unwrap();
        let log = text.find("[log]").unwrap();
        assert!(tcp < ws && ws < mqtt && mqtt < log);
        let packet = text.find("max_packet_size = 1_048_576").unwrap();
        let prefix = text.find("notice_topic_prefix = ").unwrap();
        assert!(mqtt < packet && packet < prefix);
    }

    #[test]
    fn integers_get_digit_separators() {
        assert_eq!(render_value(&Value::Integer(1000)), "1000");
        assert_eq!(render_value(&Value::Integer(65535)), "65_535");
        assert_eq!(render_value(&Value::Integer(1_048_576)), "1_048_576");
        assert_eq!(render_value(&Value::Integer(-123_456)), "-123_456");
        assert_eq!(render_value(&Value::Boolean(true)), "true");
    }
}
