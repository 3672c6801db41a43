//! The single commit path: group commit over one writer thread.
//!
//! Writers send requests into a bounded channel and await a reply. The writer thread takes
//! every request waiting at that moment (up to `max_batch_writes`), folds them into one
//! `WriteBatch`, writes it with one WAL sync, and only then answers them all. So a thousand
//! publishers waiting together cost one fsync, and a reply means the write is durable (per
//! the configured durability).
//!
//! Changes nobody waits for (`Store::apply_later`) do not come through the queue: they wait
//! in [`LaterWrites`] and join the next batch, ahead of any queued write sent after them.
//!
//! Sequence numbers and hash links are assigned here, by the only thread that appends to
//! topic logs, so they are gapless and follow commit order. A failed write assigns nothing:
//! the batch's topic heads are discarded and every waiter gets the error.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocksdb::{WriteBatch, WriteOptions, DB};
use tokio::sync::{mpsc, oneshot};

use crate::chain;
use crate::error::StorageError;
use crate::keys;
use crate::later::LaterWrites;
use crate::record::{self, DedupEntry, HoldRecord, MessageRecord, QueueEntry, TopicHead};

/// A message to append to its topic log, with everything that must become durable with it.
#[derive(Debug, Clone)]
pub struct Append {
    /// `sequence`, `timestamp_ms` and `prev_hash` are assigned by the commit path.
    pub record: MessageRecord,
    /// Also store (or, with an empty payload, clear) the topic's retained message.
    pub retain: bool,
    /// `(client, msg-id)`: store a resend with the same id only once.
    pub dedup: Option<(String, String)>,
    /// `(client, packet id)` of an inbound QoS 2 message, remembered until PUBREL.
    pub incoming: Option<(String, u16)>,
    /// Queue entries for persistent sessions the message is routed to.
    pub deliveries: Vec<QueuedDelivery>,
    /// Moderation holds the message back: remember it (under its sequence) until release.
    pub hold: Option<HoldRecord>,
    /// Other changes that must be durable exactly when the message is (a contact ledger).
    pub extra: Vec<Op>,
}

impl Append {
    /// An append of `record` alone: not retained, no dedup, no deliveries, no hold.
    pub fn new(record: MessageRecord) -> Append {
        Append { record, retain: false, dedup: None, incoming: None, deliveries: Vec::new(), hold: None, extra: Vec::new() }
    }
}

#[derive(Debug, Clone)]
pub struct QueuedDelivery {
    pub client: String,
    pub order: u64,
    pub qos: u8,
    pub retain: bool,
    pub subscription_ids: Vec<u32>,
}

/// The outcome of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    Stored { sequence: u64, timestamp_ms: u64, hash: [u8; 32] },
    /// A message with the same client message id was stored before; nothing was written.
    Duplicate(DedupEntry),
}

/// A raw change to one column family.
#[derive(Debug, Clone)]
pub enum Op {
    Put { cf: &'static str, key: Vec<u8>, value: Vec<u8> },
    Delete { cf: &'static str, key: Vec<u8> },
    DeleteRange { cf: &'static str, from: Vec<u8>, to: Vec<u8> },
}

type Reply<T> = oneshot::Sender<Result<T, StorageError>>;

pub(crate) enum Request {
    Append(Box<Append>, Reply<Appended>),
    Ops(Vec<Op>, Option<Reply<()>>),
    /// Commit the changes waiting in [`LaterWrites`].
    Wake,
}

/// A request with its place in the order shared with waiting changes.
pub(crate) struct Queued {
    pub ticket: u64,
    pub request: Request,
}

/// Settings of the writer thread.
pub(crate) struct CommitSettings {
    pub max_batch: usize,
    pub max_cached_topics: usize,
    pub dedup_window: Duration,
    pub write_options: WriteOptions,
    /// For batches of `apply_later` changes only, which no caller waits for.
    pub unawaited_write_options: WriteOptions,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The writer thread's loop; returns when every sender is gone, after committing the
/// changes still waiting.
pub(crate) fn run(db: Arc<DB>, mut requests: mpsc::Receiver<Queued>, settings: CommitSettings, later: Arc<LaterWrites>) {
    let mut writer = Writer { db, settings, heads: HashMap::new(), failures: FailureLog::default() };
    let mut pending = Vec::new();
    while let Some(first) = requests.blocking_recv() {
        pending.push(first);
        while pending.len() < writer.settings.max_batch {
            match requests.try_recv() {
                Ok(request) => pending.push(request),
                Err(_) => break,
            }
        }
        // Taken after the requests: a change made before any of them was sent is here. One
        // made after the newest of them waits for a batch with a write sent after it.
        let newest = pending.iter().map(|queued| queued.ticket).max();
        writer.commit(&mut pending, later.take_before(newest));
    }
    writer.commit(&mut pending, later.take_before(None));
}

struct Writer {
    db: Arc<DB>,
    settings: CommitSettings,
    /// Heads of recently written topics; a miss reads the `topics` column family.
    heads: HashMap<String, TopicHead>,
    failures: FailureLog,
}

enum Outcome {
    Appended(Reply<Appended>, Appended),
    Applied(Option<Reply<()>>),
}

impl Writer {
    /// Commits `pending` and the waiting changes `later` (in ticket order) as one batch; each
    /// waiting change is staged ahead of the requests with later tickets.
    fn commit(&mut self, pending: &mut Vec<Queued>, later: Vec<(u64, Vec<Op>)>) {
        let mut batch = WriteBatch::default();
        let mut batch_heads: HashMap<String, TopicHead> = HashMap::new();
        let mut batch_dedup: HashMap<Vec<u8>, DedupEntry> = HashMap::new();
        let mut outcomes = Vec::with_capacity(pending.len());
        let timestamp_ms = now_ms();
        let mut failed: Option<StorageError> = None;

        let later_writes = later.len();
        let mut later = later.into_iter().peekable();
        for Queued { ticket, request } in pending.drain(..) {
            while let Some((_, ops)) = later.next_if(|(waiting, _)| *waiting < ticket) {
                if let Err(error) = self.stage_ops(ops, &mut batch) {
                    failed.get_or_insert(error);
                }
            }
            match request {
                Request::Append(append, reply) => {
                    match self.stage_append(*append, timestamp_ms, &mut batch, &mut batch_heads, &mut batch_dedup) {
                        Ok(appended) => outcomes.push(Outcome::Appended(reply, appended)),
                        Err(error) => {
                            let _ = reply.send(Err(error));
                        }
                    }
                }
                Request::Ops(ops, reply) => {
                    if let Err(error) = self.stage_ops(ops, &mut batch) {
                        failed.get_or_insert(error);
                    }
                    outcomes.push(Outcome::Applied(reply));
                }
                Request::Wake => {}
            }
        }
        for (_, ops) in later {
            if let Err(error) = self.stage_ops(ops, &mut batch) {
                failed.get_or_insert(error);
            }
        }

        let awaited = outcomes.iter().any(|outcome| !matches!(outcome, Outcome::Applied(None)));
        let write_options =
            if awaited { &self.settings.write_options } else { &self.settings.unawaited_write_options };
        let result = match failed {
            Some(error) => Err(error),
            None if batch.is_empty() => Ok(()),
            None => self.db.write_opt(batch, write_options).map_err(|e| StorageError::Write(e.into_string())),
        };
        match result {
            Ok(()) => {
                self.failures.recovered();
                self.remember_heads(batch_heads);
                for outcome in outcomes {
                    match outcome {
                        Outcome::Appended(reply, appended) => {
                            let _ = reply.send(Ok(appended));
                        }
                        Outcome::Applied(Some(reply)) => {
                            let _ = reply.send(Ok(()));
                        }
                        Outcome::Applied(None) => {}
                    }
                }
            }
            Err(error) => {
                self.failures.failed(&error, outcomes.len() + later_writes);
                // Every waiter gets the failure's text once, not wrapped in a second prefix.
                let text = match &error {
                    StorageError::Write(text) => text.clone(),
                    other => other.to_string(),
                };
                for outcome in outcomes {
                    match outcome {
                        Outcome::Appended(reply, _) => {
                            let _ = reply.send(Err(StorageError::Write(text.clone())));
                        }
                        Outcome::Applied(Some(reply)) => {
                            let _ = reply.send(Err(StorageError::Write(text.clone())));
                        }
                        Outcome::Applied(None) => {}
                    }
                }
            }
        }
    }

    fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.db.cf_handle(name).ok_or_else(|| StorageError::Write(format!("column family {name} is missing")))
    }

    fn stage_append(
        &mut self,
        append: Append,
        timestamp_ms: u64,
        batch: &mut WriteBatch,
        batch_heads: &mut HashMap<String, TopicHead>,
        batch_dedup: &mut HashMap<Vec<u8>, DedupEntry>,
    ) -> Result<Appended, StorageError> {
        let Append { mut record, retain, dedup, incoming, deliveries, hold, extra } = append;
        let dedup_key = dedup.as_ref().map(|(client, id)| keys::named(client, id));
        if let Some(key) = &dedup_key {
            if let Some(seen) = self.seen_before(key, batch_dedup, timestamp_ms)? {
                return Ok(Appended::Duplicate(seen));
            }
        }
        let head = match batch_heads.get(&record.topic) {
            Some(head) => *head,
            None => self.head(&record.topic)?,
        };
        record.sequence = head.last_sequence + 1;
        record.prev_hash = head.last_hash;
        record.timestamp_ms = timestamp_ms;
        // One serialization serves the hash and the stored value.
        let canonical = record::canonical(&record);
        let hash = chain::hash_canonical(&canonical);
        let sequence = record.sequence;
        let clear_retained = retain && record.payload.is_empty();
        let stored = record::encode_stored(timestamp_ms, &canonical, &hash);
        let topic = record.topic;

        let messages = self.cf(keys::MESSAGES)?;
        batch.put_cf(messages, keys::numbered(&topic, sequence), &stored);
        batch.put_cf(self.cf(keys::TOPICS)?, topic.as_bytes(), record::encode(&TopicHead { last_sequence: sequence, last_hash: hash }));
        if retain {
            let retained = self.cf(keys::RETAINED)?;
            if clear_retained {
                batch.delete_cf(retained, topic.as_bytes());
            } else {
                batch.put_cf(retained, topic.as_bytes(), &stored);
            }
        }
        if let Some(key) = dedup_key {
            let entry = DedupEntry { topic: topic.clone(), sequence };
            batch.put_cf(self.cf(keys::DEDUP)?, &key, record::encode_timestamped(timestamp_ms, &entry));
            batch_dedup.insert(key, entry);
        }
        if let Some((client, packet_id)) = incoming {
            batch.put_cf(self.cf(keys::INCOMING)?, keys::packet(&client, packet_id), record::encode(&()));
        }
        if !deliveries.is_empty() {
            let queue = self.cf(keys::QUEUE)?;
            for delivery in deliveries {
                let entry = QueueEntry {
                    topic: topic.clone(),
                    sequence,
                    qos: delivery.qos,
                    retain: delivery.retain,
                    subscription_ids: delivery.subscription_ids,
                    delivery: None,
                };
                batch.put_cf(queue, keys::numbered(&delivery.client, delivery.order), record::encode(&entry));
            }
        }
        if let Some(hold) = hold {
            batch.put_cf(self.cf(keys::HELD)?, keys::numbered(&topic, sequence), record::encode(&hold));
        }
        self.stage_ops(extra, batch)?;
        batch_heads.insert(topic, TopicHead { last_sequence: sequence, last_hash: hash });
        Ok(Appended::Stored { sequence, timestamp_ms, hash })
    }

    /// A previous message with the same client message id within the dedup window.
    fn seen_before(
        &self,
        key: &[u8],
        batch_dedup: &HashMap<Vec<u8>, DedupEntry>,
        now_ms: u64,
    ) -> Result<Option<DedupEntry>, StorageError> {
        if let Some(entry) = batch_dedup.get(key) {
            return Ok(Some(entry.clone()));
        }
        let Some(bytes) = self.db.get_cf(self.cf(keys::DEDUP)?, key).map_err(StorageError::read)? else {
            return Ok(None);
        };
        let window = self.settings.dedup_window.as_millis() as u64;
        if record::timestamp_of(&bytes).is_some_and(|at| now_ms.saturating_sub(at) > window) {
            return Ok(None);
        }
        Ok(Some(record::decode_timestamped("dedup entry", &bytes)?))
    }

    fn head(&self, topic: &str) -> Result<TopicHead, StorageError> {
        if let Some(head) = self.heads.get(topic) {
            return Ok(*head);
        }
        match self.db.get_cf(self.cf(keys::TOPICS)?, topic.as_bytes()).map_err(StorageError::read)? {
            Some(bytes) => record::decode("topic head", &bytes),
            None => Ok(TopicHead::default()),
        }
    }

    /// Keeps the heads just committed, within the cache bound (an arbitrary entry makes room).
    fn remember_heads(&mut self, committed: HashMap<String, TopicHead>) {
        for (topic, head) in committed {
            if self.heads.len() >= self.settings.max_cached_topics && !self.heads.contains_key(&topic) {
                if let Some(victim) = self.heads.keys().next().cloned() {
                    self.heads.remove(&victim);
                }
            }
            self.heads.insert(topic, head);
        }
    }

    fn stage_ops(&self, ops: Vec<Op>, batch: &mut WriteBatch) -> Result<(), StorageError> {
        for op in ops {
            match op {
                Op::Put { cf, key, value } => batch.put_cf(self.cf(cf)?, key, value),
                Op::Delete { cf, key } => batch.delete_cf(self.cf(cf)?, key),
                Op::DeleteRange { cf, from, to } => batch.delete_range_cf(self.cf(cf)?, from, to),
            }
        }
        Ok(())
    }
}

/// Logs a failing disk once per burst instead of once per write.
#[derive(Default)]
struct FailureLog {
    since: Option<Instant>,
    suppressed: u64,
    last_logged: Option<Instant>,
}

impl FailureLog {
    fn failed(&mut self, error: &StorageError, writes: usize) {
        let now = Instant::now();
        self.since.get_or_insert(now);
        if self.last_logged.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(10)) {
            tracing::error!(%error, writes, suppressed = self.suppressed, "storage write failed; writes are refused until it recovers");
            self.last_logged = Some(now);
            self.suppressed = 0;
        } else {
            self.suppressed += writes as u64;
        }
    }

    fn recovered(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::warn!(after = ?since.elapsed(), "storage writes succeed again");
            self.last_logged = None;
            self.suppressed = 0;
        }
    }
}
