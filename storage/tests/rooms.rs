//! Rooms in the store: written through the commit path, recovered at open, and the topic
//! heads of a room listed by prefix.

mod common;

use std::collections::BTreeMap;

use common::config;
use tallymq_storage::{
    keys, ops, Append, Appended, ContactWindow, LoanRecord, LoanState, MemberRole, Principal, RoomRecord,
    RoomState, Store, SCHEMA_VERSION,
};

fn room(id: &str) -> RoomRecord {
    RoomRecord {
        id: id.into(),
        members: BTreeMap::from([("lee".to_string(), MemberRole::Lender), ("kim".to_string(), MemberRole::Borrower)]),
        state: RoomState::Open,
        created_at_ms: 1_700_000_000_000,
        closed_at_ms: None,
        loan: Some(LoanRecord {
            due_date: "2026-03-31".into(),
            state: LoanState::Active,
            do_not_contact: vec![ContactWindow { days: 0b0011111, start_minute: 21 * 60, end_minute: 8 * 60 }],
            annual_interest_rate_bp: 1250,
            principal: Some(Principal { amount: "1500000".into(), currency: "KRW".into() }),
        }),
    }
}

async fn store_message(store: &Store, topic: &str) -> u64 {
    match store.append(Append::new(common::message(topic, "hi"))).await.unwrap() {
        Appended::Stored { sequence, .. } => sequence,
        other => panic!("not stored: {other:?}"),
    }
}

#[tokio::test]
async fn rooms_are_recovered_after_reopening_with_their_last_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut closed = room("loan-2");
    {
        let store = Store::open(&config(dir.path())).unwrap();
        assert!(store.recover().unwrap().rooms.is_empty());
        store.apply(vec![ops::put_room(&room("loan-1")), ops::put_room(&closed)]).await.unwrap();
        closed.state = RoomState::Closed;
        closed.closed_at_ms = Some(1_700_000_100_000);
        closed.members.insert("park".into(), MemberRole::Guarantor);
        store.apply(vec![ops::put_room(&closed)]).await.unwrap();
    }
    let store = Store::open(&config(dir.path())).unwrap();
    let rooms = store.recover().unwrap().rooms;
    assert_eq!(rooms, vec![room("loan-1"), closed]);
}

#[tokio::test]
async fn topics_of_a_room_are_listed_by_prefix_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    for topic in ["chat/r1/msg", "chat/r1/msg", "chat/r1/receipts", "chat/r10/msg", "chat/r1", "chat/r0/msg"] {
        store_message(&store, topic).await;
    }
    let all = store.topics_with_prefix("chat/r1/", None, 100).unwrap();
    let names: Vec<_> = all.iter().map(|(t, h)| (t.as_str(), h.last_sequence)).collect();
    assert_eq!(names, vec![("chat/r1/msg", 2), ("chat/r1/receipts", 1)]);

    let first = store.topics_with_prefix("chat/r1/", None, 1).unwrap();
    assert_eq!(first.len(), 1);
    let next = store.topics_with_prefix("chat/r1/", Some(&first[0].0), 1).unwrap();
    assert_eq!(next[0].0, "chat/r1/receipts");
    assert!(store.topics_with_prefix("chat/r1/", Some("chat/r1/receipts"), 1).unwrap().is_empty());
    // A cursor before the prefix starts at the prefix.
    assert_eq!(store.topics_with_prefix("chat/r1/", Some("a"), 10).unwrap().len(), 2);
}

#[tokio::test]
async fn a_version_1_directory_is_upgraded_and_keeps_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&config(dir.path())).unwrap();
        store_message(&store, "chat/r1/msg").await;
        let db = store.raw_db();
        db.put_cf(db.cf_handle(keys::META).unwrap(), keys::SCHEMA_VERSION_KEY, 1u32.to_be_bytes()).unwrap();
    }
    let store = Store::open(&config(dir.path())).unwrap();
    let db = store.raw_db();
    let version = db.get_cf(db.cf_handle(keys::META).unwrap(), keys::SCHEMA_VERSION_KEY).unwrap().unwrap();
    assert_eq!(version, SCHEMA_VERSION.to_be_bytes());
    assert_eq!(store.read_after("chat/r1/msg", 0, 10).unwrap().len(), 1);
    store.apply(vec![ops::put_room(&room("loan-1"))]).await.unwrap();
    assert_eq!(store.recover().unwrap().rooms.len(), 1);
}
