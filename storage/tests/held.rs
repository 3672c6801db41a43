//! Moderation's state in the store: holds written with their message, recovered at open until
//! released (deleted) or expired (marked, still withheld), and contact ledgers written in the
//! message's own batch.

mod common;

use common::config;
use tallymq_storage::{ops, Append, Appended, HoldRecord, MessageRecord, Store};

fn record(topic: &str) -> MessageRecord {
    common::message(topic, "pay me back")
}

async fn stored(store: &Store, append: Append) -> u64 {
    match store.append(append).await.unwrap() {
        Appended::Stored { sequence, .. } => sequence,
        other => panic!("not stored: {other:?}"),
    }
}

#[tokio::test]
async fn a_hold_is_recovered_until_it_is_released_and_stays_withheld_once_expired() {
    let dir = tempfile::tempdir().unwrap();
    let hold = HoldRecord { release_at_ms: Some(1_000), expires_at_ms: 2_000, expired: false };
    let (first, second) = {
        let store = Store::open(&config(dir.path())).unwrap();
        let first = stored(&store, Append { hold: Some(hold), ..Append::new(record("chat/r1/msg")) }).await;
        let second = stored(&store, Append { hold: Some(hold), ..Append::new(record("chat/r1/msg")) }).await;
        let plain = stored(&store, Append::new(record("chat/r1/msg"))).await;
        assert!(store.is_held("chat/r1/msg", first).unwrap());
        assert!(!store.is_held("chat/r1/msg", plain).unwrap());
        (first, second)
    };
    let store = Store::open(&config(dir.path())).unwrap();
    let held = store.recover().unwrap().held;
    assert_eq!(held, vec![("chat/r1/msg".to_string(), first, hold), ("chat/r1/msg".to_string(), second, hold)]);

    store.apply(vec![ops::delete_held("chat/r1/msg", first), ops::expire_held("chat/r1/msg", second, hold)]).await.unwrap();
    assert!(!store.is_held("chat/r1/msg", first).unwrap(), "released");
    assert!(store.is_held("chat/r1/msg", second).unwrap(), "expired holds stay withheld");
    assert!(store.recover().unwrap().held.is_empty(), "neither is scheduled again");
}

#[tokio::test]
async fn extra_changes_are_written_with_the_message_and_not_for_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path())).unwrap();
    assert_eq!(store.contacts::<Vec<u64>>("r1").unwrap(), None);
    let mut append = Append::new(record("chat/r1/msg"));
    append.dedup = Some(("lee-phone".into(), "m-1".into()));
    append.extra = vec![ops::put_contacts("r1", &vec![1_u64, 2])];
    stored(&store, append).await;
    assert_eq!(store.contacts::<Vec<u64>>("r1").unwrap(), Some(vec![1, 2]));

    let mut resend = Append::new(record("chat/r1/msg"));
    resend.dedup = Some(("lee-phone".into(), "m-1".into()));
    resend.extra = vec![ops::put_contacts("r1", &vec![1_u64, 2, 3])];
    assert!(matches!(store.append(resend).await.unwrap(), Appended::Duplicate(_)));
    assert_eq!(store.contacts::<Vec<u64>>("r1").unwrap(), Some(vec![1, 2]), "a duplicate changes nothing");
}
