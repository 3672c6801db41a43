//! Changes nobody waits for (`apply_later`): they join the next commit, in the order they
//! were made relative to awaited writes, get a commit of their own after the delay, and are
//! committed when the store closes.

mod common;

use std::time::{Duration, Instant};

use tallymq_config::StorageConfig;
use tallymq_storage::{keys, Op, Store};

fn config(dir: &std::path::Path, delay_ms: u32) -> StorageConfig {
    StorageConfig { later_writes_delay_ms: delay_ms, ..common::config(dir) }
}

fn put(key: &str, value: &str) -> Op {
    Op::Put { cf: keys::META, key: key.as_bytes().to_vec(), value: value.as_bytes().to_vec() }
}

fn delete(key: &str) -> Op {
    Op::Delete { cf: keys::META, key: key.as_bytes().to_vec() }
}

fn read(store: &Store, key: &str) -> Option<String> {
    let db = store.raw_db();
    let cf = db.cf_handle(keys::META).expect("meta family");
    db.get_cf(cf, key.as_bytes()).expect("read").map(|value| String::from_utf8(value).expect("utf-8"))
}

#[tokio::test]
async fn a_waiting_change_is_committed_with_the_next_awaited_write() {
    let dir = tempfile::tempdir().unwrap();
    // A delay no test waits for: only the awaited write can have committed the change.
    let store = Store::open(&config(dir.path(), 1000)).unwrap();
    store.apply_later(vec![put("later", "1")]).await.unwrap();
    store.apply(vec![put("awaited", "1")]).await.unwrap();
    assert_eq!(read(&store, "later").as_deref(), Some("1"));
    store.close();
}

#[tokio::test]
async fn a_waiting_change_keeps_its_place_before_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path(), 1000)).unwrap();
    store.apply(vec![put("key", "old")]).await.unwrap();
    // Made before the new value was written: it must not delete the new value.
    store.apply_later(vec![delete("key")]).await.unwrap();
    store.apply(vec![put("key", "new")]).await.unwrap();
    assert_eq!(read(&store, "key").as_deref(), Some("new"));
    // And after a write: it applies on top of it.
    store.apply_later(vec![put("key", "newest")]).await.unwrap();
    store.apply(vec![put("other", "1")]).await.unwrap();
    assert_eq!(read(&store, "key").as_deref(), Some("newest"));
    store.close();
}

#[tokio::test]
async fn a_waiting_change_gets_a_commit_of_its_own_after_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path(), 5)).unwrap();
    store.apply_later(vec![put("alone", "1")]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while read(&store, "alone").is_none() {
        assert!(Instant::now() < deadline, "the change was not committed within 10 s of a 5 ms delay");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    store.close();
}

#[tokio::test]
async fn closing_commits_the_waiting_changes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&config(dir.path(), 1000)).unwrap();
        store.apply_later(vec![put("at-close", "1")]).await.unwrap();
        store.close();
    }
    let store = Store::open(&config(dir.path(), 1000)).unwrap();
    assert_eq!(read(&store, "at-close").as_deref(), Some("1"));
    store.close();
}

#[tokio::test]
async fn beyond_the_bound_changes_go_through_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig { max_later_writes: 1, ..config(dir.path(), 1000) };
    let store = Store::open(&config).unwrap();
    store.apply_later(vec![put("first", "1")]).await.unwrap();
    // Two more than the bound allows: sent as a write of their own, still after the first.
    store.apply_later(vec![delete("first"), put("second", "1")]).await.unwrap();
    store.apply(vec![put("awaited", "1")]).await.unwrap();
    assert_eq!(read(&store, "first"), None);
    assert_eq!(read(&store, "second").as_deref(), Some("1"));
    store.close();
}
