//! The store against a real RocksDB in a temporary directory.

mod common;

use std::sync::Arc;

use common::{config, message};
use tallymq_config::StorageConfig;
use tallymq_storage::{
    keys, ops, record, Append, Appended, Delivery, DeliveryStage, MessageRecord, Problem, QueueEntry, QueuedDelivery,
    SessionRecord, Store, StorageError, StoredMessage, SubscriptionRecord,
};

fn append(record: MessageRecord) -> Append {
    Append::new(record)
}

async fn stored_sequence(store: &Store, append: Append) -> u64 {
    match store.append(append).await.expect("append") {
        Appended::Stored { sequence, .. } => sequence,
        other => panic!("expected a stored message, got {other:?}"),
    }
}

#[tokio::test]
async fn sequences_are_per_topic_gapless_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&config(dir.path())).unwrap();
        for (topic, expected) in [("chat/1", 1), ("chat/2", 1), ("chat/1", 2), ("chat/1", 3)] {
            assert_eq!(stored_sequence(&store, append(message(topic, "m"))).await, expected);
        }
    }
    let store = Store::open(&config(dir.path())).unwrap();
    assert_eq!(stored_sequence(&store, append(message("chat/1", "after restart"))).await, 4);
    let page = store.read_after("chat/1", 2, 10).unwrap();
    let seqs: Vec<u64> = page.iter().map(|m| m.record.sequence).collect();
    assert_eq!(seqs, [3, 4]);
    assert_eq!(page[1].record.payload, b"after restart");
    assert!(store.verify("chat/1").unwrap().is_intact());
}

#[tokio::test]
async fn concurrent_appends_are_grouped_and_stay_gapless() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&config(dir.path())).unwrap());
    let mut tasks = Vec::new();
    for publisher in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..20 {
                seqs.push(stored_sequence(&store, append(message("live/1/donations", &format!("{publisher}-{i}")))).await);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let seqs = task.await.unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "one publisher's messages keep their order");
        all.extend(seqs);
    }
    all.sort();
    assert_eq!(all, (1..=1000).collect::<Vec<u64>>());
    let report = store.verify("live/1/donations").unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.checked, 1000);
}

#[tokio::test]
async fn paging_is_bounded_by_the_configured_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StorageConfig { history_max_page: 3, ..config(dir.path()) }).unwrap();
    for i in 0..5 {
        stored_sequence(&store, append(message("chat/p", &i.to_string()))).await;
    }
    assert_eq!(store.read_after("chat/p", 0, 100).unwrap().len(), 3);
    assert_eq!(store.read_after("chat/p", 3, 100).unwrap().len(), 2);
    assert!(store.read_after("chat/p", 5, 100).unwrap().is_empty());
    assert!(store.read_after("chat/other", 0, 100).unwrap().is_empty(), "other topics are not read");
}

#[tokio::test]
async fn a_resend_with_the_same_client_message_id_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    let with_id = |payload: &str| {
        let mut a = append(message("chat/d", payload));
        a.dedup = Some(("phone".into(), "m-1".into()));
        a
    };
    assert_eq!(stored_sequence(&store, with_id("hello")).await, 1);
    match store.append(with_id("hello")).await.unwrap() {
        Appended::Duplicate(first) => assert_eq!((first.topic.as_str(), first.sequence), ("chat/d", 1)),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    // The same id from another client is another message.
    let mut other = append(message("chat/d", "hello"));
    other.dedup = Some(("tablet".into(), "m-1".into()));
    assert_eq!(stored_sequence(&store, other).await, 2);
    assert_eq!(store.read_after("chat/d", 0, 10).unwrap().len(), 2);
}

/// Three stored records, then the helper rewrites the raw value of one.
async fn tampered(change: impl FnOnce(&Store)) -> tallymq_storage::VerifyReport {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    for text in ["borrowed 100", "repay by May", "ok"] {
        stored_sequence(&store, append(message("chat/evidence", text))).await;
    }
    assert!(store.verify("chat/evidence").unwrap().is_intact());
    change(&store);
    store.verify("chat/evidence").unwrap()
}

fn raw_get(store: &Store, sequence: u64) -> Vec<u8> {
    let db = store.raw_db();
    db.get_cf(db.cf_handle(keys::MESSAGES).unwrap(), keys::numbered("chat/evidence", sequence)).unwrap().unwrap()
}

fn raw_put(store: &Store, sequence: u64, value: &[u8]) {
    let db = store.raw_db();
    db.put_cf(db.cf_handle(keys::MESSAGES).unwrap(), keys::numbered("chat/evidence", sequence), value).unwrap();
}

fn decoded(bytes: &[u8]) -> StoredMessage {
    record::decode_timestamped("message", bytes).unwrap()
}

#[tokio::test]
async fn verify_detects_an_edited_record() {
    let report = tampered(|store| {
        let mut stored = decoded(&raw_get(store, 2));
        stored.record.payload = b"repay by December".to_vec();
        raw_put(store, 2, &record::encode_timestamped(stored.record.timestamp_ms, &stored));
    })
    .await;
    let broken = report.broken.expect("broken");
    assert_eq!((broken.sequence, broken.problem), (2, Problem::HashMismatch));
}

#[tokio::test]
async fn verify_detects_an_edited_record_with_a_recomputed_hash() {
    let report = tampered(|store| {
        let mut stored = decoded(&raw_get(store, 2));
        stored.record.payload = b"repay by December".to_vec();
        stored.hash = tallymq_storage::chain::hash(&stored.record);
        raw_put(store, 2, &record::encode_timestamped(stored.record.timestamp_ms, &stored));
    })
    .await;
    let broken = report.broken.expect("broken");
    assert_eq!((broken.sequence, broken.problem), (3, Problem::LinkMismatch));
}

#[tokio::test]
async fn verify_detects_a_deleted_record() {
    let report = tampered(|store| {
        let db = store.raw_db();
        db.delete_cf(db.cf_handle(keys::MESSAGES).unwrap(), keys::numbered("chat/evidence", 2)).unwrap();
    })
    .await;
    let broken = report.broken.expect("broken");
    assert_eq!((broken.sequence, broken.problem), (3, Problem::Gap { expected: 2 }));
}

#[tokio::test]
async fn verify_detects_a_deleted_first_record_of_a_log_without_retention() {
    let report = tampered(|store| {
        let db = store.raw_db();
        db.delete_cf(db.cf_handle(keys::MESSAGES).unwrap(), keys::numbered("chat/evidence", 1)).unwrap();
    })
    .await;
    let broken = report.broken.expect("broken");
    assert_eq!((broken.sequence, broken.problem), (2, Problem::Gap { expected: 1 }));
}

#[tokio::test]
async fn verify_detects_a_deleted_last_record() {
    let report = tampered(|store| {
        let db = store.raw_db();
        db.delete_cf(db.cf_handle(keys::MESSAGES).unwrap(), keys::numbered("chat/evidence", 3)).unwrap();
    })
    .await;
    assert_eq!(report.broken.expect("broken").problem, Problem::HeadMismatch);
}

#[tokio::test]
async fn verify_detects_swapped_records() {
    let report = tampered(|store| {
        let (two, three) = (raw_get(store, 2), raw_get(store, 3));
        raw_put(store, 2, &three);
        raw_put(store, 3, &two);
    })
    .await;
    let broken = report.broken.expect("broken");
    assert_eq!((broken.sequence, broken.problem), (2, Problem::SequenceMismatch { in_record: 3 }));
}

#[tokio::test]
async fn verify_detects_swapped_and_renumbered_records() {
    let report = tampered(|store| {
        let (mut two, mut three) = (decoded(&raw_get(store, 2)), decoded(&raw_get(store, 3)));
        std::mem::swap(&mut two.record.sequence, &mut three.record.sequence);
        for stored in [&mut two, &mut three] {
            stored.hash = tallymq_storage::chain::hash(&stored.record);
        }
        raw_put(store, 2, &record::encode_timestamped(three.record.timestamp_ms, &three));
        raw_put(store, 3, &record::encode_timestamped(two.record.timestamp_ms, &two));
    })
    .await;
    let broken = report.broken.expect("broken");
    assert_eq!((broken.sequence, broken.problem), (2, Problem::LinkMismatch));
}

#[tokio::test]
async fn sessions_queues_and_incoming_ids_are_recovered() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&config(dir.path())).unwrap();
        let session = SessionRecord {
            protocol: 5,
            expiry_secs: 3600,
            disconnected_at_ms: Some(1_000),
            will: None,
            user: Some("borrower".into()),
            roles: vec!["tester".into()],
            subscriptions: vec![SubscriptionRecord {
                raw_filter: "chat/1/#".into(),
                share_group: None,
                filter: "chat/1/#".into(),
                qos: 1,
                no_local: false,
                retain_as_published: false,
                retain_handling: 0,
                identifier: Some(7),
            }],
            first_order: 1,
        };
        store.apply(vec![ops::put_session("phone", &session)]).await.unwrap();
        let mut first = append(message("chat/1/msg", "one"));
        first.deliveries = vec![QueuedDelivery { client: "phone".into(), order: 1, qos: 1, retain: false, subscription_ids: vec![7] }];
        first.incoming = Some(("phone".into(), 42));
        stored_sequence(&store, first).await;
        let mut second = append(message("chat/1/msg", "two"));
        second.deliveries = vec![QueuedDelivery { client: "phone".into(), order: 2, qos: 2, retain: false, subscription_ids: vec![] }];
        stored_sequence(&store, second).await;
        let in_flight = QueueEntry {
            topic: "chat/1/msg".into(),
            sequence: 2,
            qos: 2,
            retain: false,
            subscription_ids: vec![],
            delivery: Some(Delivery { packet_id: 9, stage: DeliveryStage::AwaitingComp }),
        };
        store.apply(vec![ops::put_queue_entry("phone", 2, &in_flight)]).await.unwrap();
        // Another client's session and its removal do not touch this one.
        store.apply(vec![ops::put_session("other", &session)]).await.unwrap();
        store.apply(ops::delete_session("other")).await.unwrap();
    }
    let store = Store::open(&config(dir.path())).unwrap();
    let recovered = store.recover().unwrap();
    assert_eq!(recovered.sessions.len(), 1);
    let session = &recovered.sessions[0];
    assert_eq!(session.client_id, "phone");
    assert_eq!(session.record.user.as_deref(), Some("borrower"));
    assert_eq!(session.record.subscriptions[0].identifier, Some(7));
    assert_eq!(session.incoming, [42]);
    let queue: Vec<(u64, Option<Delivery>, Vec<u8>)> = session
        .queue
        .iter()
        .map(|(order, entry, message)| (*order, entry.delivery, message.as_ref().unwrap().record.payload.clone()))
        .collect();
    assert_eq!(
        queue,
        [
            (1, None, b"one".to_vec()),
            (2, Some(Delivery { packet_id: 9, stage: DeliveryStage::AwaitingComp }), b"two".to_vec())
        ]
    );
    store.apply(vec![ops::delete_queue_entry("phone", 1), ops::delete_incoming("phone", 42)]).await.unwrap();
    let again = store.recover().unwrap();
    assert_eq!(again.sessions[0].queue.len(), 1);
    assert!(again.sessions[0].incoming.is_empty());
}

#[tokio::test]
async fn retained_messages_are_stored_replaced_and_cleared_with_their_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    let retained = |payload: &str| {
        let mut a = append(message("live/1/rank", payload));
        a.record.retain = true;
        a.retain = true;
        a
    };
    stored_sequence(&store, retained("first")).await;
    stored_sequence(&store, retained("second")).await;
    let found = store.recover().unwrap().retained;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].record.payload, b"second");
    stored_sequence(&store, retained("")).await;
    assert!(store.recover().unwrap().retained.is_empty());
    assert_eq!(store.read_after("live/1/rank", 0, 10).unwrap().len(), 3, "the log keeps every publish");
}

#[tokio::test]
async fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&config(dir.path())).unwrap();
        let db = store.raw_db();
        db.put_cf(db.cf_handle(keys::META).unwrap(), keys::SCHEMA_VERSION_KEY, 99u32.to_be_bytes()).unwrap();
    }
    match Store::open(&config(dir.path())) {
        Err(error @ StorageError::NewerSchema { found: 99, .. }) => {
            let text = error.to_string();
            assert!(text.contains("schema version 99") && text.contains("upgrade tallymq"), "{text}");
        }
        Err(other) => panic!("expected NewerSchema, got {other}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

/// Rewrites the stored timestamp prefix of a record, as if it had been written long ago.
fn age_record(store: &Store, topic: &str, sequence: u64, days: u64) {
    let db = store.raw_db();
    let cf = db.cf_handle(keys::MESSAGES).unwrap();
    let key = keys::numbered(topic, sequence);
    let stored: StoredMessage = record::decode_timestamped("message", &db.get_cf(cf, &key).unwrap().unwrap()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    db.put_cf(cf, &key, record::encode_timestamped(now - days * 24 * 3600 * 1000, &stored)).unwrap();
}

#[tokio::test]
async fn retention_drops_old_records_from_the_front_of_ruled_topics_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    for topic in ["live/7/donations", "chat/7/msg"] {
        for i in 0..3 {
            stored_sequence(&store, append(message(topic, &i.to_string()))).await;
        }
        // The first two records are older than the default 30-day rule for live/.
        age_record(&store, topic, 1, 40);
        age_record(&store, topic, 2, 31);
    }
    store.compact_messages().unwrap();

    let live: Vec<u64> = store.read_after("live/7/donations", 0, 10).unwrap().iter().map(|m| m.record.sequence).collect();
    assert_eq!(live, [3], "records past retention are gone");
    let report = store.verify("live/7/donations").unwrap();
    assert!(report.is_intact(), "the remaining chain verifies from its new first record: {report:?}");
    assert_eq!(report.first_sequence, Some(3));

    let chat: Vec<u64> = store.read_after("chat/7/msg", 0, 10).unwrap().iter().map(|m| m.record.sequence).collect();
    assert_eq!(chat, [1, 2, 3], "topics without a rule are kept forever");
    assert_eq!(stored_sequence(&store, append(message("live/7/donations", "next"))).await, 4, "numbering goes on");
}
