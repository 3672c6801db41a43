//! The store: opening a data directory, the write API over the commit path, and reads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteOptions, DB};
use tallymq_config::{Durability, StorageConfig};
use tokio::sync::{mpsc, oneshot};

use crate::chain::{BrokenLink, ChainWalker, Problem, VerifyReport};
use crate::commit::{self, Append, Appended, CommitSettings, Op, Queued, Request};
use crate::error::StorageError;
use crate::keys;
use crate::later::{self, Deferral, LaterWrites};
use crate::record::{self, HoldRecord, QueueEntry, RoomRecord, SessionRecord, StoredMessage, TopicHead};
use crate::retention::Retention;

/// The rest of a key after its name, and the value.
type KeyValue = (Vec<u8>, Vec<u8>);

/// Schema of the data directory as a whole (column families and key layouts). Version 2
/// added the `rooms` column family, version 3 `held` and `contacts`; an older directory is
/// upgraded in place at open (the new families are created empty).
pub const SCHEMA_VERSION: u32 = 3;

/// An append on its way through the commit path.
pub struct PendingAppend(oneshot::Receiver<Result<Appended, StorageError>>);

impl PendingAppend {
    /// Waits until the append is durable (or failed).
    pub async fn wait(self) -> Result<Appended, StorageError> {
        self.0.await.map_err(|_| StorageError::Closed)?
    }
}

/// A persistent session as found on disk at start-up.
#[derive(Debug, Clone)]
pub struct RecoveredSession {
    pub client_id: String,
    pub record: SessionRecord,
    /// Queue entries by order, with the message each points to (`None` if retention
    /// removed it).
    pub queue: Vec<(u64, QueueEntry, Option<StoredMessage>)>,
    /// Inbound QoS 2 packet ids awaiting PUBREL.
    pub incoming: Vec<u16>,
}

/// Everything the broker restores at start-up; proportional to live state, not history.
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    pub sessions: Vec<RecoveredSession>,
    pub retained: Vec<StoredMessage>,
    /// Every loan chat room, open or closed.
    pub rooms: Vec<RoomRecord>,
    /// Messages held back by moderation and not expired: topic, sequence, and when to release
    /// or expire them.
    pub held: Vec<(String, u64, HoldRecord)>,
}

pub struct Store {
    db: Arc<DB>,
    path: PathBuf,
    requests: Mutex<Option<mpsc::Sender<Queued>>>,
    later: Arc<LaterWrites>,
    writer: Mutex<Option<JoinHandle<()>>>,
    retention: Arc<Retention>,
    history_max_page: usize,
    dedup_window_ms: u64,
}

impl Store {
    /// Opens (or creates) the data directory and starts the commit path.
    pub fn open(config: &StorageConfig) -> Result<Store, StorageError> {
        let path = config.data_dir.join("rocksdb");
        std::fs::create_dir_all(&path).map_err(|e| StorageError::Open { path: path.clone(), reason: e.to_string() })?;
        let retention = Arc::new(Retention::new(&config.retention, Duration::from_secs(u64::from(config.dedup_window_secs))));

        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_max_background_jobs(2);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);

        let descriptors = keys::ALL.iter().map(|name| {
            let mut cf = Options::default();
            cf.set_compression_type(rocksdb::DBCompressionType::Lz4);
            match *name {
                keys::MESSAGES => {
                    let rules = retention.clone();
                    cf.set_compaction_filter("retention", move |_level, key, value| rules.messages_decision(key, value));
                    // Old files are revisited daily, so retention also reaches quiet topics.
                    cf.set_periodic_compaction_seconds(24 * 3600);
                }
                keys::DEDUP => {
                    let rules = retention.clone();
                    cf.set_compaction_filter("dedup-window", move |_level, _key, value| rules.dedup_decision(value));
                    cf.set_periodic_compaction_seconds(24 * 3600);
                }
                _ => {}
            }
            ColumnFamilyDescriptor::new(*name, cf)
        });
        let db = DB::open_cf_descriptors(&options, &path, descriptors)
            .map_err(|e| StorageError::Open { path: path.clone(), reason: e.into_string() })?;
        check_schema(&db, &path)?;
        let db = Arc::new(db);

        let mut write_options = WriteOptions::default();
        // Batches nobody waits for (`apply_later`) are logged but not synced: the next synced
        // write syncs the log they are in, and losing them costs at most a redelivery.
        let mut unawaited_write_options = WriteOptions::default();
        match config.durability {
            Durability::Fsync | Durability::Flush => {
                write_options.set_sync(config.durability == Durability::Fsync);
                unawaited_write_options.set_sync(false);
            }
            Durability::None => {
                write_options.disable_wal(true);
                unawaited_write_options.disable_wal(true);
            }
        }
        let settings = CommitSettings {
            max_batch: config.max_batch_writes as usize,
            max_cached_topics: config.max_cached_topics as usize,
            dedup_window: Duration::from_secs(u64::from(config.dedup_window_secs)),
            write_options,
            unawaited_write_options,
        };
        let (sender, receiver) = mpsc::channel(config.write_queue_capacity as usize);
        let later = Arc::new(LaterWrites::new(
            config.max_later_writes as usize,
            Duration::from_millis(u64::from(config.later_writes_delay_ms)),
        ));
        let writer_db = db.clone();
        let writer_later = later.clone();
        let writer = std::thread::Builder::new()
            .name("tallymq-commit".into())
            .spawn(move || commit::run(writer_db, receiver, settings, writer_later))
            .map_err(|e| StorageError::Open { path: path.clone(), reason: e.to_string() })?;
        tracing::info!(path = %path.display(), durability = ?config.durability, "storage opened");
        Ok(Store {
            db,
            path,
            requests: Mutex::new(Some(sender)),
            later,
            writer: Mutex::new(Some(writer)),
            retention,
            history_max_page: config.history_max_page as usize,
            dedup_window_ms: u64::from(config.dedup_window_secs) * 1_000,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sender(&self) -> Result<mpsc::Sender<Queued>, StorageError> {
        self.requests.lock().as_ref().cloned().ok_or(StorageError::Closed)
    }

    /// Sends `request` to the commit path, waiting while its queue is full.
    async fn send(&self, request: Request) -> Result<(), StorageError> {
        let sender = self.sender()?;
        let queued = Queued { ticket: self.later.ticket(), request };
        sender.send(queued).await.map_err(|_| StorageError::Closed)
    }

    /// Appends a message to its topic log; returns once it is durable.
    pub async fn append(&self, append: Append) -> Result<Appended, StorageError> {
        self.submit(append).await?.wait().await
    }

    /// Queues an append for the commit path and returns without waiting for the commit.
    /// Appends are committed in the order they are submitted.
    pub async fn submit(&self, append: Append) -> Result<PendingAppend, StorageError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Append(Box::new(append), reply)).await?;
        Ok(PendingAppend(answer))
    }

    /// Applies changes; returns once they are durable.
    pub async fn apply(&self, ops: Vec<Op>) -> Result<(), StorageError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Ops(ops, Some(reply))).await?;
        answer.await.map_err(|_| StorageError::Closed)?
    }

    /// Keeps changes for the next commit without waiting for it: they join the next batch,
    /// or get one of their own after `storage.later_writes_delay_ms` (see [`LaterWrites`]).
    /// Not synced, and lost if the process dies before that commit: only for changes that
    /// are safe to lose. Waits only when `storage.max_later_writes` are waiting and the
    /// commit queue is full. Failures are logged by the commit path.
    pub async fn apply_later(&self, ops: Vec<Op>) -> Result<(), StorageError> {
        // Deferred under the queue's lock, so `close` cannot come between: what it leaves
        // waiting, the commit thread's last batch takes.
        let deferral = {
            let requests = self.requests.lock();
            let Some(sender) = requests.as_ref() else { return Err(StorageError::Closed) };
            let deferral = self.later.defer(ops);
            if matches!(deferral, Deferral::StartTimer) {
                later::start_timer(self.later.clone(), sender.downgrade());
            }
            deferral
        };
        match deferral {
            Deferral::Waiting | Deferral::StartTimer => Ok(()),
            Deferral::Full(ops) => self.apply_unawaited(ops).await,
        }
    }

    /// Queues changes for the commit thread now, without waiting for the commit (waits only
    /// while the queue is full): they reach the write-ahead log unsynced, so a crash of the
    /// broker alone does not lose them. Failures are logged by the commit path.
    pub async fn apply_unawaited(&self, ops: Vec<Op>) -> Result<(), StorageError> {
        self.send(Request::Ops(ops, None)).await
    }

    /// Stops the commit path after the writes already queued or waiting, and waits for it.
    pub fn close(&self) {
        self.requests.lock().take();
        if let Some(writer) = self.writer.lock().take() {
            let _ = writer.join();
        }
        let _ = self.db.flush_wal(true);
    }

    fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.db.cf_handle(name).ok_or_else(|| StorageError::Read(format!("column family {name} is missing")))
    }

    /// The messages of `topic` after sequence `after`, oldest first, at most `limit` (capped
    /// by `storage.history_max_page`).
    pub fn read_after(&self, topic: &str, after: u64, limit: usize) -> Result<Vec<StoredMessage>, StorageError> {
        let limit = limit.min(self.history_max_page);
        let start = keys::numbered(topic, after.saturating_add(1));
        let end = keys::prefix_end(topic);
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(self.cf(keys::MESSAGES)?, IteratorMode::From(&start, Direction::Forward));
        for item in iter {
            if out.len() >= limit {
                break;
            }
            let (key, value) = item.map_err(StorageError::read)?;
            if *key >= *end {
                break;
            }
            out.push(record::decode_timestamped("message", &value)?);
        }
        Ok(out)
    }

    pub fn history_max_page(&self) -> usize {
        self.history_max_page
    }

    /// One message of a topic log.
    pub fn message(&self, topic: &str, sequence: u64) -> Result<Option<StoredMessage>, StorageError> {
        let bytes = self.db.get_cf(self.cf(keys::MESSAGES)?, keys::numbered(topic, sequence)).map_err(StorageError::read)?;
        bytes.map(|b| record::decode_timestamped("message", &b)).transpose()
    }

    pub fn topic_head(&self, topic: &str) -> Result<Option<TopicHead>, StorageError> {
        let bytes = self.db.get_cf(self.cf(keys::TOPICS)?, topic.as_bytes()).map_err(StorageError::read)?;
        bytes.map(|b| record::decode("topic head", &b)).transpose()
    }

    /// Walks a topic log and reports the first broken link. A topic without a retention
    /// rule must start at sequence 1.
    pub fn verify(&self, topic: &str) -> Result<VerifyReport, StorageError> {
        let mut report =
            VerifyReport { topic: topic.to_string(), checked: 0, first_sequence: None, last_sequence: None, broken: None };
        let start = keys::prefix(topic);
        let end = keys::prefix_end(topic);
        let mut walker = ChainWalker::default();
        let iter = self.db.iterator_cf(self.cf(keys::MESSAGES)?, IteratorMode::From(&start, Direction::Forward));
        for item in iter {
            let (key, value) = item.map_err(StorageError::read)?;
            if *key >= *end {
                break;
            }
            let sequence = keys::split(&key).and_then(|(_, rest)| keys::number(rest)).unwrap_or(0);
            if report.first_sequence.is_none() {
                report.first_sequence = Some(sequence);
                if sequence != 1 && !self.retention.applies_to(topic) {
                    report.broken = Some(BrokenLink { sequence, problem: Problem::Gap { expected: 1 } });
                    return Ok(report);
                }
            }
            let checked = match record::decode_timestamped::<StoredMessage>("message", &value) {
                Ok(stored) => walker.check(sequence, &stored),
                Err(error) => Err(Problem::Unreadable(error.to_string())),
            };
            if let Err(problem) = checked {
                report.broken = Some(BrokenLink { sequence, problem });
                return Ok(report);
            }
            report.checked += 1;
            report.last_sequence = Some(sequence);
        }
        let head = self.topic_head(topic)?;
        let matches_head = match (head, walker.last()) {
            (Some(head), Some((sequence, hash))) => head.last_sequence == sequence && head.last_hash == hash,
            (None, None) => true,
            _ => false,
        };
        if !matches_head {
            let sequence = head.map(|h| h.last_sequence).unwrap_or(0);
            report.broken = Some(BrokenLink { sequence, problem: Problem::HeadMismatch });
        }
        Ok(report)
    }

    /// The topics whose names start with `prefix` and sort after `after` (all of them
    /// without it), in name order, at most `limit`, with their heads: for example every
    /// topic of a room (`chat/{room}/`), read from the topic heads, not the logs.
    pub fn topics_with_prefix(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, TopicHead)>, StorageError> {
        let start = match after {
            // The first key after `after`: `after` followed by the smallest byte.
            Some(after) if after.as_bytes() >= prefix.as_bytes() => [after.as_bytes(), &[0]].concat(),
            _ => prefix.as_bytes().to_vec(),
        };
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(keys::TOPICS)?, IteratorMode::From(&start, Direction::Forward)) {
            if out.len() >= limit {
                break;
            }
            let (key, value) = item.map_err(StorageError::read)?;
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            let topic = String::from_utf8(key.to_vec())
                .map_err(|_| StorageError::Corrupt { what: "topic head key", reason: "not UTF-8".into() })?;
            out.push((topic, record::decode("topic head", &value)?));
        }
        Ok(out)
    }

    /// Whether a message with this client message id was stored within the dedup window (a
    /// resend, which the commit path will store once). Messages submitted but not yet
    /// committed are not seen.
    pub fn was_stored(&self, client: &str, message_id: &str, now_ms: u64) -> Result<bool, StorageError> {
        let key = keys::named(client, message_id);
        let Some(bytes) = self.db.get_pinned_cf(self.cf(keys::DEDUP)?, key).map_err(StorageError::read)? else {
            return Ok(false);
        };
        Ok(record::timestamp_of(&bytes).is_some_and(|at| now_ms.saturating_sub(at) <= self.dedup_window_ms))
    }

    /// Whether a message is held by moderation: not released (yet or ever, if it expired).
    pub fn is_held(&self, topic: &str, sequence: u64) -> Result<bool, StorageError> {
        Ok(self.db.get_pinned_cf(self.cf(keys::HELD)?, keys::numbered(topic, sequence)).map_err(StorageError::read)?.is_some())
    }

    /// A loan room's contact ledger, as [`ops::put_contacts`] stored it.
    pub fn contacts<T: serde::de::DeserializeOwned>(&self, room: &str) -> Result<Option<T>, StorageError> {
        match self.db.get_cf(self.cf(keys::CONTACTS)?, room.as_bytes()).map_err(StorageError::read)? {
            Some(bytes) => Ok(Some(record::decode("contact ledger", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Reads every persistent session (with its queue and inbound QoS 2 ids), every
    /// retained message and every room.
    pub fn recover(&self) -> Result<Recovered, StorageError> {
        let mut recovered = Recovered::default();
        for item in self.db.iterator_cf(self.cf(keys::ROOMS)?, IteratorMode::Start) {
            let (_, value) = item.map_err(StorageError::read)?;
            recovered.rooms.push(record::decode("room", &value)?);
        }
        for item in self.db.iterator_cf(self.cf(keys::HELD)?, IteratorMode::Start) {
            let (key, value) = item.map_err(StorageError::read)?;
            let corrupt = || StorageError::Corrupt { what: "held message key", reason: "not `topic \\0 sequence`".into() };
            let (topic, rest) = keys::split(&key).ok_or_else(corrupt)?;
            let sequence = keys::number(rest).ok_or_else(corrupt)?;
            let hold: HoldRecord = record::decode("held message", &value)?;
            if !hold.expired {
                recovered.held.push((topic.to_owned(), sequence, hold));
            }
        }

        for item in self.db.iterator_cf(self.cf(keys::RETAINED)?, IteratorMode::Start) {
            let (_, value) = item.map_err(StorageError::read)?;
            recovered.retained.push(record::decode_timestamped("retained message", &value)?);
        }
        for item in self.db.iterator_cf(self.cf(keys::SESSIONS)?, IteratorMode::Start) {
            let (key, value) = item.map_err(StorageError::read)?;
            let client_id = String::from_utf8(key.to_vec())
                .map_err(|_| StorageError::Corrupt { what: "session key", reason: "not UTF-8".into() })?;
            let record: SessionRecord = record::decode("session", &value)?;
            let queue = self.queue_of(&client_id)?;
            let incoming = self.incoming_of(&client_id)?;
            recovered.sessions.push(RecoveredSession { client_id, record, queue, incoming });
        }
        Ok(recovered)
    }

    fn queue_of(&self, client: &str) -> Result<Vec<(u64, QueueEntry, Option<StoredMessage>)>, StorageError> {
        let mut out = Vec::new();
        for (rest, value) in self.scan(keys::QUEUE, client)? {
            let Some(order) = keys::number(&rest) else { continue };
            let entry: QueueEntry = record::decode("queue entry", &value)?;
            let message = self.message(&entry.topic, entry.sequence)?;
            out.push((order, entry, message));
        }
        Ok(out)
    }

    fn incoming_of(&self, client: &str) -> Result<Vec<u16>, StorageError> {
        Ok(self
            .scan(keys::INCOMING, client)?
            .into_iter()
            .filter_map(|(rest, _)| Some(u16::from_be_bytes(rest.as_slice().try_into().ok()?)))
            .collect())
    }

    /// Every `(rest of key, value)` under `name \0` in a column family.
    fn scan(&self, cf: &'static str, name: &str) -> Result<Vec<KeyValue>, StorageError> {
        let start = keys::prefix(name);
        let end = keys::prefix_end(name);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf)?, IteratorMode::From(&start, Direction::Forward)) {
            let (key, value) = item.map_err(StorageError::read)?;
            if *key >= *end {
                break;
            }
            out.push((key[start.len()..].to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Runs compaction over the whole message log now (retention normally runs as RocksDB
    /// compacts on its own schedule).
    pub fn compact_messages(&self) -> Result<(), StorageError> {
        let cf = self.cf(keys::MESSAGES)?;
        self.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        Ok(())
    }

    /// Test and tooling access to a raw value (for evidence checks and tamper tests).
    #[doc(hidden)]
    pub fn raw_db(&self) -> &DB {
        &self.db
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn check_schema(db: &DB, path: &Path) -> Result<(), StorageError> {
    let meta = db.cf_handle(keys::META).ok_or_else(|| StorageError::Read("column family meta is missing".into()))?;
    match db.get_cf(meta, keys::SCHEMA_VERSION_KEY).map_err(StorageError::read)? {
        Some(bytes) => {
            let found = u32::from_be_bytes(bytes.as_slice().try_into().map_err(|_| StorageError::Corrupt {
                what: "schema version",
                reason: format!("{} bytes instead of 4", bytes.len()),
            })?);
            if found > SCHEMA_VERSION {
                return Err(StorageError::NewerSchema { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
            }
            if found < SCHEMA_VERSION {
                // Every change so far only added column families, which open created.
                db.put_cf(meta, keys::SCHEMA_VERSION_KEY, SCHEMA_VERSION.to_be_bytes())
                    .map_err(|e| StorageError::Write(e.into_string()))?;
                tracing::info!(path = %path.display(), from = found, to = SCHEMA_VERSION, "data directory schema upgraded");
            }
            Ok(())
        }
        None => {
            db.put_cf(meta, keys::SCHEMA_VERSION_KEY, SCHEMA_VERSION.to_be_bytes()).map_err(|e| StorageError::Write(e.into_string()))
        }
    }
}

/// Changes for the broker's session bookkeeping and its rooms, as [`Op`]s for [`Store::apply`].
pub mod ops {
    use super::*;

    pub fn put_session(client: &str, session: &SessionRecord) -> Op {
        Op::Put { cf: keys::SESSIONS, key: client.as_bytes().to_vec(), value: record::encode(session) }
    }

    /// Removes a session with its queue and inbound QoS 2 ids.
    pub fn delete_session(client: &str) -> Vec<Op> {
        vec![
            Op::Delete { cf: keys::SESSIONS, key: client.as_bytes().to_vec() },
            Op::DeleteRange { cf: keys::QUEUE, from: keys::prefix(client), to: keys::prefix_end(client) },
            Op::DeleteRange { cf: keys::INCOMING, from: keys::prefix(client), to: keys::prefix_end(client) },
        ]
    }

    pub fn put_queue_entry(client: &str, order: u64, entry: &QueueEntry) -> Op {
        Op::Put { cf: keys::QUEUE, key: keys::numbered(client, order), value: record::encode(entry) }
    }

    pub fn delete_queue_entry(client: &str, order: u64) -> Op {
        Op::Delete { cf: keys::QUEUE, key: keys::numbered(client, order) }
    }

    pub fn delete_incoming(client: &str, packet_id: u16) -> Op {
        Op::Delete { cf: keys::INCOMING, key: keys::packet(client, packet_id) }
    }

    /// Creates or replaces a room.
    pub fn put_room(room: &RoomRecord) -> Op {
        Op::Put { cf: keys::ROOMS, key: room.id.as_bytes().to_vec(), value: record::encode(room) }
    }

    /// Forgets a released message's hold.
    pub fn delete_held(topic: &str, sequence: u64) -> Op {
        Op::Delete { cf: keys::HELD, key: keys::numbered(topic, sequence) }
    }

    /// Marks a hold expired: the message stays withheld and is never released.
    pub fn expire_held(topic: &str, sequence: u64, hold: HoldRecord) -> Op {
        let expired = HoldRecord { expired: true, ..hold };
        Op::Put { cf: keys::HELD, key: keys::numbered(topic, sequence), value: record::encode(&expired) }
    }

    /// Stores a loan room's contact ledger (any serde value, versioned like every record).
    pub fn put_contacts<T: serde::Serialize>(room: &str, ledger: &T) -> Op {
        Op::Put { cf: keys::CONTACTS, key: room.as_bytes().to_vec(), value: record::encode(ledger) }
    }
}
