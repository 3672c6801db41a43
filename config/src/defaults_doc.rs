//! The commented default configuration file ([`defaults_toml`]).
//!
//! The text is generated, not written by hand, so it cannot drift from
//! [`Config::default`]: the defaults are serialized to a [`toml::Value`], the
//! tree is walked, and each section and key is preceded by its entry from
//! the `DOCS` tables of explanations (one per section module, chained by
//! `docs()`). Their order also fixes the order in
//! which sections and keys are printed (serialization order depends on toml's
//! map type). A list of tables (`storage.retention`) is printed inline on one
//! line; the keys of its tables are documented as `list.key` entries, shown
//! in the list's comment, and printed in `DOCS` order. Unit tests assert that every serialized key has an entry, that
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
/// The keys of the tables in a list are entries `list.key`, e.g.
/// `storage.retention.days`. Sections defined in their own module keep their
/// entries there (a `DOCS` const beside the struct); [`docs`] chains them.
const CORE_DOCS: &[(&str, &str)] = &[
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
        "Socket address to listen on, as \"IP:port\". Must differ from every other\n\
         enabled listener's address (unless the port is 0).",
    ),
    (
        "listener.ws.path",
        "HTTP request path on which WebSocket upgrades are accepted.\n\
         Must start with \"/\" and contain no whitespace.",
    ),
    (
        "listener.tls",
        "MQTT over TLS (conventionally port 8883). Presents [listener.certificate].",
    ),
    (
        "listener.tls.enabled",
        "Accept MQTT connections over TLS: true or false. Needs\n\
         listener.certificate.chain_file and key_file.",
    ),
    (
        "listener.tls.address",
        "Socket address to listen on, as \"IP:port\". Must differ from every other\n\
         enabled listener's address (unless the port is 0).",
    ),
    (
        "listener.wss",
        "MQTT over WebSocket over TLS (wss://), e.g. for web pages served over\n\
         HTTPS. Presents [listener.certificate]; otherwise like [listener.ws].",
    ),
    (
        "listener.wss.enabled",
        "Accept MQTT connections over secure WebSocket: true or false. Needs\n\
         listener.certificate.chain_file and key_file.",
    ),
    (
        "listener.wss.address",
        "Socket address to listen on, as \"IP:port\". Must differ from every other\n\
         enabled listener's address (unless the port is 0).",
    ),
    (
        "listener.wss.path",
        "HTTP request path on which WebSocket upgrades are accepted.\n\
         Must start with \"/\" and contain no whitespace.",
    ),
    (
        "listener.certificate",
        "The certificate both TLS listeners (tls and wss) present. The files are\n\
         read at start-up (an unreadable or invalid file stops the broker, naming\n\
         it) and again on SIGHUP: new connections then get the new certificate,\n\
         open ones keep theirs, and a bad new file keeps the old certificate\n\
         (the error is logged, naming the file). The TLS handshake counts against\n\
         mqtt.connect_timeout_secs.",
    ),
    (
        "listener.certificate.chain_file",
        "PEM file with the server certificate first, then its intermediates.\n\
         Empty: none (required when a TLS listener is enabled).",
    ),
    (
        "listener.certificate.key_file",
        "PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1).\n\
         Empty: none (required when a TLS listener is enabled).",
    ),
    (
        "storage",
        "Durable message storage: where data lives, what an acknowledged write\n\
         survives, how writes are committed, and how long messages are kept.",
    ),
    (
        "storage.data_dir",
        "Directory for broker data files. A relative path is taken from the\n\
         broker's working directory.",
    ),
    (
        "storage.durability",
        "What an acknowledged write survives: \"fsync\", \"flush\" or \"none\".\n\
         \"fsync\": a write is acknowledged only after the write-ahead log is synced\n\
         to disk (fdatasync); survives power loss. The default.\n\
         \"flush\": the write-ahead log is written to the OS but not synced; survives\n\
         a broker crash (kill -9), not an OS crash or power loss.\n\
         \"none\": no write-ahead log; recent acknowledged writes are lost on any\n\
         crash. For benchmarks only.\n\
         Writes are committed in groups, so throughput is not bounded by one sync\n\
         per message.",
    ),
    (
        "storage.max_batch_writes",
        "The most writes one group commit (one WriteBatch and one sync) takes.\n\
         Range: 1 to 1000000 writes.",
    ),
    (
        "storage.write_queue_capacity",
        "Writes waiting for the commit path. When the queue is full, writers wait\n\
         (backpressure).\n\
         Range: 1 to 10000000 writes.",
    ),
    (
        "storage.max_later_writes",
        "Changes nobody waits for (a delivered message leaving a session's queue,\n\
         a session's last-seen time) that may wait for the next commit instead of\n\
         waking the commit path for one of their own; beyond it they go through the\n\
         write queue. Counts single writes. 0: never wait.\n\
         Range: 0 to 1000000 writes.",
    ),
    (
        "storage.later_writes_delay_ms",
        "The longest such changes wait for the next commit before they get one of\n\
         their own, in milliseconds. They are lost if the broker dies meanwhile;\n\
         each is safe to lose (a delivery is made again, a session keeps its\n\
         previous record).\n\
         Range: 1 to 1000 milliseconds.",
    ),
    (
        "storage.dedup_window_secs",
        "How long a client message id (the \"msg-id\" user property) is remembered,\n\
         in seconds, so that a resent message is stored once. 604800 is 7 days.\n\
         Range: 60 to 315360000 seconds.",
    ),
    (
        "storage.history_max_page",
        "The most messages one history query returns.\n\
         Range: 1 to 100000 messages.",
    ),
    (
        "storage.max_cached_topics",
        "Topic heads (last sequence number and hash) kept in memory by the commit\n\
         path; other topics' heads are read from disk on demand.\n\
         Range: 1 to 100000000 topics.",
    ),
    (
        "storage.retention",
        "Retention rules. Messages on topics starting with a rule's prefix are\n\
         deleted by compaction once older than its days; the longest matching\n\
         prefix wins. Topics matching no rule (e.g. \"chat/\") are kept forever;\n\
         an empty list keeps everything. Rules can also be written as\n\
         [[storage.retention]] tables with the keys prefix and days.",
    ),
    (
        "storage.retention.prefix",
        "Topic prefix the rule applies to. Must be non-empty, contain no \"+\",\n\
         \"#\" or NUL, and differ from every other rule's prefix.",
    ),
    (
        "storage.retention.days",
        "Age after which matching messages are deleted, in days.\n\
         Range: 1 to 36500 days.",
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

/// Every section's entries, in display order.
const SECTIONS: &[&[(&str, &str)]] = &[CORE_DOCS, crate::auth::DOCS, crate::limits::DOCS, crate::admin::DOCS, crate::moderation::DOCS];

/// Every (dotted key, explanation) entry, in display order.
fn docs() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    SECTIONS.iter().flat_map(|section| section.iter())
}

/// The explanation for `key`, if any.
fn doc(key: &str) -> Option<&'static str> {
    docs().find(|(k, _)| *k == key).map(|(_, d)| *d)
}

/// Position of `key` in the entries; undocumented keys sort last.
fn order(key: &str) -> usize {
    docs().position(|(k, _)| *k == key).unwrap_or(usize::MAX)
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
        for (field, text) in element_docs(key) {
            let mut lines = text.lines();
            push_comment(out, &format!("{field}: {}", lines.next().unwrap_or("")));
            for line in lines {
                push_comment(out, &format!("  {line}"));
            }
        }
        let _ = writeln!(out, "{name} = {}", render_value(key, value));
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

/// (key, explanation) of the keys of the tables in the list `key`: the
/// `DOCS` entries `key.name`, in `DOCS` order. Empty for other keys.
fn element_docs(key: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    docs().filter_map(move |(k, d)| {
        let field = k.strip_prefix(key)?.strip_prefix('.')?;
        (!field.contains('.')).then_some((field, *d))
    })
}

/// TOML text of the value of dotted key `key`, on one line: integers of five
/// or more digits get `_` digit separators (`1_048_576`) for readability,
/// and tables inside a list are inline tables with their keys in `DOCS`
/// order.
fn render_value(key: &str, value: &Value) -> String {
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
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| render_value(key, v)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Table(table) if table.is_empty() => "{}".to_owned(),
        Value::Table(table) => {
            let mut fields: Vec<(&String, &Value)> = table.iter().collect();
            fields.sort_by_key(|(name, _)| order(&join(key, name)));
            let fields: Vec<String> = fields
                .into_iter()
                .map(|(name, v)| {
                    let sub = join(key, name);
                    format!("{} = {}", render_key(name), render_value(&sub, v))
                })
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

/// A key as TOML text: bare if it may be, otherwise quoted.
fn render_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        Value::String(name.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::storage::{RETENTION_DAYS_MAX, RETENTION_DAYS_MIN};

    /// What a dotted key names in the serialized defaults.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        /// A table, printed as a `[section]` header.
        Section,
        /// A value, printed as `name = value`.
        Key,
        /// A key of the tables in a list, printed inside the list's value.
        ElementKey,
    }

    /// Every dotted key (sections and keys of list elements included) in the
    /// serialized defaults.
    fn serialized_keys() -> BTreeMap<String, Kind> {
        fn walk(prefix: &str, table: &Table, kind: Kind, keys: &mut BTreeMap<String, Kind>) {
            for (k, v) in table {
                let key = join(prefix, k);
                match v {
                    Value::Table(sub) => {
                        walk(&key, sub, kind, keys);
                        keys.insert(key, Kind::Section);
                    }
                    Value::Array(items) => {
                        for item in items {
                            if let Value::Table(sub) = item {
                                walk(&key, sub, Kind::ElementKey, keys);
                            }
                        }
                        keys.insert(key, kind);
                    }
                    _ => {
                        keys.insert(key, kind);
                    }
                }
            }
        }
        // Optional fields that the defaults leave out are keys too.
        let mut config = Config::default();
        config.moderation.thresholds.push(crate::CategoryThresholds {
            category: "insult".into(),
            warn: Some(0.5),
            hold: Some(0.7),
            block: Some(0.9),
        });
        let value = Value::try_from(config).unwrap();
        let mut keys = BTreeMap::new();
        walk("", value.as_table().unwrap(), Kind::Key, &mut keys);
        keys
    }

    #[test]
    fn every_key_is_documented_and_every_doc_names_a_key() {
        let keys: BTreeSet<String> = serialized_keys().into_keys().collect();
        let documented: BTreeSet<String> = docs().map(|(k, _)| k.to_string()).collect();
        assert_eq!(documented.len(), docs().count(), "duplicate DOCS entry");
        let undocumented: Vec<_> = keys.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&keys).collect();
        assert!(
            undocumented.is_empty(),
            "keys without DOCS entry: {undocumented:?}"
        );
        assert!(stale.is_empty(), "DOCS entries for no key: {stale:?}");
        for (key, text) in docs() {
            assert!(!text.trim().is_empty(), "empty doc for {key}");
        }
    }

    #[test]
    fn documented_ranges_match_validation() {
        let c = Config::default();
        let checks = c.storage.ranges().into_iter().chain(c.mqtt.ranges()).chain(c.auth.ranges()).chain(c.limits.ranges()).chain(c.admin.ranges()).chain(c.moderation.ranges());
        let mut stated: Vec<(&str, String)> = checks
            .map(|check| {
                let range = format!("Range: {} to {} {}.", check.min, check.max, check.unit);
                (check.key, range)
            })
            .collect();
        stated.push((
            "storage.retention.days",
            format!("Range: {RETENTION_DAYS_MIN} to {RETENTION_DAYS_MAX} days."),
        ));
        for (key, range) in stated {
            let text = doc(key).unwrap();
            assert!(
                text.contains(&range),
                "doc of {key} should state {range:?}, is {text:?}"
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
            .values()
            .filter(|kind| **kind == Kind::Key)
            .count();
        assert_eq!(assignments, leaves);
    }

    #[test]
    fn lists_of_tables_render_inline_with_their_keys_documented() {
        let text = defaults_toml();
        let line = "retention = [{ prefix = \"live/\", days = 30 }, \
                    { prefix = \"auction/\", days = 30 }, { prefix = \"event/\", days = 30 }]";
        let at = text.find(line).expect("retention rendered on one line");
        let before = &text[..at];
        let prefix_doc = before.rfind("# prefix: Topic prefix").unwrap();
        let days_doc = before.rfind("# days: Age after which").unwrap();
        let retention_doc = before.rfind("# Retention rules.").unwrap();
        assert!(retention_doc < prefix_doc && prefix_doc < days_doc);
        assert!(
            before.ends_with("#   Range: 1 to 36500 days.\n"),
            "{before}"
        );
        assert!(text.contains("\ndurability = \"fsync\"\n"));
        let storage = text.find("[storage]").unwrap();
        let mqtt = text.find("[mqtt]").unwrap();
        assert!(storage < at && at < mqtt);
    }

    #[test]
    fn inline_tables_quote_keys_that_are_not_bare() {
        let mut table = Table::new();
        table.insert("a b".into(), Value::Integer(12_345));
        table.insert("ok_key-1".into(), Value::Boolean(false));
        let list = Value::Array(vec![Value::Table(table), Value::Table(Table::new())]);
        assert_eq!(
            render_value("x", &list),
            "[{ \"a b\" = 12_345, ok_key-1 = false }, {}]"
        );
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
        assert_eq!(render_value("k", &Value::Integer(1000)), "1000");
        assert_eq!(render_value("k", &Value::Integer(65535)), "65_535");
        assert_eq!(render_value("k", &Value::Integer(1_048_576)), "1_048_576");
        assert_eq!(render_value("k", &Value::Integer(-123_456)), "-123_456");
        assert_eq!(render_value("k", &Value::Boolean(true)), "true");
        assert_eq!(
            render_value("k", &Value::Array(vec![Value::Integer(10_000)])),
            "[10_000]"
        );
    }
}
