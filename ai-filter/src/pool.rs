//! Classifiers on their own threads, fed through a bounded queue.
//!
//! Scoring is CPU work of a few microseconds that must never run on the async runtime, where
//! it would stall every connection sharing the thread. So each classifier lives on a dedicated
//! thread; callers put a request in a bounded queue and await the answer. When the queue is
//! full a caller is told at once ([`FilterError::Overloaded`]) and decides itself whether the
//! message passes unchecked or is refused. When messages arrive faster than one at a time, a
//! worker takes everything already waiting (up to `max_batch`) into one model run, which costs
//! little more than a run for one message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::classifier::Classifier;
use crate::error::FilterError;
use crate::model::{ModelInfo, ModelSource};
use crate::scores::Scores;

/// Most worker threads a pool starts: more than the cores of any machine the broker runs on.
pub const MAX_WORKERS: usize = 64;
/// Largest queue a pool accepts: a deeper queue only adds latency before `Overloaded`.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;
/// Largest batch: beyond a few hundred messages a run is no cheaper per message.
pub const MAX_BATCH: usize = 4096;

/// How many classifiers run, how many requests may wait, how many are scored in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    pub workers: usize,
    pub queue_capacity: usize,
    pub max_batch: usize,
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig { workers: 1, queue_capacity: 1024, max_batch: 64 }
    }
}

impl PoolConfig {
    fn validate(&self) -> Result<(), FilterError> {
        let check = |name: &str, value: usize, max: usize| {
            if (1..=max).contains(&value) {
                Ok(())
            } else {
                Err(FilterError::Start(format!("{name} is {value}, it must be between 1 and {max}")))
            }
        };
        check("workers", self.workers, MAX_WORKERS)?;
        check("queue_capacity", self.queue_capacity, MAX_QUEUE_CAPACITY)?;
        check("max_batch", self.max_batch, MAX_BATCH)
    }
}

/// Counters since the pool started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Messages scored.
    pub classified: u64,
    /// Model runs (a run scores one or more messages).
    pub batches: u64,
    /// Messages whose run failed.
    pub failures: u64,
    /// Requests refused because the queue was full.
    pub overloaded: u64,
}

#[derive(Debug, Default)]
struct Counters {
    classified: AtomicU64,
    batches: AtomicU64,
    failures: AtomicU64,
    overloaded: AtomicU64,
}

type Answer = Result<Scores, FilterError>;

struct Request {
    text: String,
    reply: oneshot::Sender<Answer>,
}

/// The submitting end of the queue.
struct Queue {
    sender: SyncSender<Request>,
    counters: Arc<Counters>,
}

impl Queue {
    /// Queues `text` without waiting: a full queue is `Overloaded`, a closed one `Closed`.
    fn submit(&self, text: String) -> Result<oneshot::Receiver<Answer>, FilterError> {
        let (reply, answer) = oneshot::channel();
        match self.sender.try_send(Request { text, reply }) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_)) => {
                self.counters.overloaded.fetch_add(1, Ordering::Relaxed);
                Err(FilterError::Overloaded)
            }
            Err(TrySendError::Disconnected(_)) => Err(FilterError::Closed),
        }
    }
}

/// Classifier threads behind a bounded queue. Share it with an `Arc`; dropping the last one
/// closes the queue, lets the workers answer what is already queued and joins them.
pub struct ModerationPool {
    queue: Option<Queue>,
    workers: Vec<JoinHandle<()>>,
    info: ModelInfo,
    counters: Arc<Counters>,
    config: PoolConfig,
}

impl std::fmt::Debug for ModerationPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModerationPool").field("config", &self.config).field("info", &self.info).finish_non_exhaustive()
    }
}

impl ModerationPool {
    /// Starts `config.workers` threads named `tallymq-moderate-N`, each loading its own
    /// classifier from `source`; returns once all have loaded, or the first loading error.
    pub fn start(source: ModelSource, config: PoolConfig) -> Result<ModerationPool, FilterError> {
        config.validate()?;
        let counters = Arc::new(Counters::default());
        let (sender, receiver) = mpsc::sync_channel(config.queue_capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let (loaded_sender, loaded) = mpsc::channel::<Result<ModelInfo, FilterError>>();
        let mut pool = ModerationPool {
            queue: Some(Queue { sender, counters: counters.clone() }),
            workers: Vec::with_capacity(config.workers),
            info: ModelInfo { version: String::new(), feature_spec: 0, buckets: 0, thresholds: Default::default() },
            counters,
            config,
        };
        for number in 0..config.workers {
            let (source, receiver, counters, loaded) =
                (source.clone(), receiver.clone(), pool.counters.clone(), loaded_sender.clone());
            let spawned = std::thread::Builder::new().name(format!("tallymq-moderate-{number}")).spawn(move || {
                match Classifier::load(&source) {
                    Ok(classifier) => {
                        // The pool waits for this; if it is gone, the queue is closed too.
                        let _ = loaded.send(Ok(classifier.info().clone()));
                        drop(loaded);
                        work(classifier, &receiver, config.max_batch, &counters);
                    }
                    Err(error) => {
                        let _ = loaded.send(Err(error));
                    }
                }
            });
            match spawned {
                Ok(handle) => pool.workers.push(handle),
                // Dropping the pool closes the queue and joins the workers already started.
                Err(error) => return Err(FilterError::Start(format!("cannot start a moderation thread: {error}"))),
            }
        }
        drop(loaded_sender);
        for _ in 0..config.workers {
            match loaded.recv() {
                Ok(Ok(info)) => pool.info = info,
                Ok(Err(error)) => return Err(error),
                Err(_) => return Err(FilterError::Start("a moderation thread ended while loading the model".to_string())),
            }
        }
        tracing::info!(
            model = %source.describe(),
            version = %pool.info.version,
            workers = config.workers,
            queue_capacity = config.queue_capacity,
            max_batch = config.max_batch,
            "moderation pool started"
        );
        Ok(pool)
    }

    /// Scores `text` on a worker thread. Fails at once with `Overloaded` when the queue is full.
    pub async fn classify(&self, text: String) -> Result<Scores, FilterError> {
        let answer = self.submit(text)?;
        answer.await.map_err(|_| FilterError::Closed)?
    }

    /// Queues `text` and returns where its answer will arrive, without waiting for it (for
    /// callers that are not async: `blocking_recv` on the receiver).
    pub fn submit(&self, text: String) -> Result<oneshot::Receiver<Result<Scores, FilterError>>, FilterError> {
        self.queue.as_ref().ok_or(FilterError::Closed)?.submit(text)
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn config(&self) -> PoolConfig {
        self.config
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            classified: self.counters.classified.load(Ordering::Relaxed),
            batches: self.counters.batches.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
            overloaded: self.counters.overloaded.load(Ordering::Relaxed),
        }
    }
}

impl Drop for ModerationPool {
    fn drop(&mut self) {
        self.queue = None;
        for worker in self.workers.drain(..) {
            if worker.join().is_err() {
                tracing::error!("a moderation thread panicked");
            }
        }
    }
}

/// A worker: wait for one request, take what else is already queued, score them in one run.
fn work(mut classifier: Classifier, queue: &Mutex<Receiver<Request>>, max_batch: usize, counters: &Counters) {
    let mut batch: Vec<Request> = Vec::with_capacity(max_batch);
    loop {
        {
            // One worker waits on the queue at a time; the others wait for the lock.
            let receiver = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match receiver.recv() {
                Ok(request) => batch.push(request),
                Err(_) => return,
            }
            while batch.len() < max_batch {
                match receiver.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
        }
        // A caller that stopped waiting needs no answer.
        batch.retain(|request| !request.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let texts: Vec<&str> = batch.iter().map(|request| request.text.as_str()).collect();
        let result = classifier.classify_batch(&texts);
        drop(texts);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        let size = batch.len() as u64;
        match result {
            Ok(scores) => {
                counters.classified.fetch_add(size, Ordering::Relaxed);
                for (request, scores) in batch.drain(..).zip(scores) {
                    let _ = request.reply.send(Ok(scores));
                }
            }
            Err(error) => {
                counters.failures.fetch_add(size, Ordering::Relaxed);
                tracing::warn!(%error, messages = size, "moderation batch failed");
                for request in batch.drain(..) {
                    let _ = request.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_is_overloaded_and_a_closed_one_closed() {
        let counters = Arc::new(Counters::default());
        let (sender, receiver) = mpsc::sync_channel(2);
        let queue = Queue { sender, counters: counters.clone() };
        let first = queue.submit("one".to_string()).expect("room for one");
        let _second = queue.submit("two".to_string()).expect("room for two");
        assert!(matches!(queue.submit("three".to_string()), Err(FilterError::Overloaded)));
        assert!(matches!(queue.submit("four".to_string()), Err(FilterError::Overloaded)));
        assert_eq!(counters.overloaded.load(Ordering::Relaxed), 2);

        // Taking one request out makes room for exactly one more.
        let request = receiver.recv().expect("queued");
        assert_eq!(request.text, "one");
        let _third = queue.submit("five".to_string()).expect("room again");
        assert!(matches!(queue.submit("six".to_string()), Err(FilterError::Overloaded)));

        // The worker's answer reaches the caller.
        request.reply.send(Ok(Scores([0.5; 7]))).expect("caller waits");
        assert_eq!(first.blocking_recv().expect("answered"), Ok(Scores([0.5; 7])));

        drop(receiver);
        assert!(matches!(queue.submit("seven".to_string()), Err(FilterError::Closed)));
    }

    #[test]
    fn configs_out_of_range_are_refused() {
        for config in [
            PoolConfig { workers: 0, ..PoolConfig::default() },
            PoolConfig { queue_capacity: 0, ..PoolConfig::default() },
            PoolConfig { max_batch: MAX_BATCH + 1, ..PoolConfig::default() },
        ] {
            let error = ModerationPool::start(ModelSource::Embedded, config).expect_err("refused");
            assert!(matches!(error, FilterError::Start(_)), "{error}");
        }
    }

    #[test]
    fn the_pool_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<ModerationPool>();
    }
}
