//! Per-loan contact ledgers of the legal rules: how often the lender has made collection
//! contact in the last 7 days, and when the borrower last wrote.
//!
//! A ledger changes with the message that changes it: the moderate stage updates it under its
//! lock and hands the new value to the persist stage, which writes it in the message's batch
//! (`contacts` column family). Memory holds at most `moderation.max_tracked_loans` ledgers;
//! beyond it, ledgers not in use are dropped and read back from storage when needed.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tallymq_ai_filter::ContactLedger;
use tallymq_storage::{StorageError, Store};

pub struct Ledgers {
    store: Arc<Store>,
    ledgers: Mutex<HashMap<String, Arc<Mutex<ContactLedger>>>>,
    max: usize,
}

impl Ledgers {
    pub fn new(store: Arc<Store>, max: usize) -> Ledgers {
        Ledgers { store, ledgers: Mutex::new(HashMap::new()), max: max.max(1) }
    }

    /// The room's ledger, from memory or storage (empty for a room that never had one).
    pub fn get(&self, room: &str) -> Result<Arc<Mutex<ContactLedger>>, StorageError> {
        if let Some(ledger) = self.ledgers.lock().get(room) {
            return Ok(ledger.clone());
        }
        let stored = self.store.contacts::<ContactLedger>(room)?.unwrap_or_default();
        let mut ledgers = self.ledgers.lock();
        if let Some(ledger) = ledgers.get(room) {
            return Ok(ledger.clone());
        }
        if ledgers.len() >= self.max {
            // Drop one ledger nobody holds; its state is in storage.
            let idle = ledgers.iter().find(|(_, ledger)| Arc::strong_count(ledger) == 1).map(|(room, _)| room.clone());
            match idle {
                Some(room) => {
                    ledgers.remove(&room);
                }
                None => {
                    // Every tracked ledger is in use right now: serve this one uncached.
                    return Ok(Arc::new(Mutex::new(stored)));
                }
            }
        }
        let ledger = Arc::new(Mutex::new(stored));
        ledgers.insert(room.to_owned(), ledger.clone());
        Ok(ledger)
    }

    /// Ledgers in memory now.
    pub fn tracked(&self) -> usize {
        self.ledgers.lock().len()
    }
}
