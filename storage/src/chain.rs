//! The hash chain over each topic log, and its verification.
//!
//! Every record stores the SHA-256 of the previous record of its topic and is itself hashed
//! over its canonical encoding. Editing a record changes its hash; deleting or reordering
//! records breaks the link from the next one; both are found by walking the log.

use sha2::{Digest, Sha256};

use crate::record::{self, MessageRecord, StoredMessage};

/// The hash of a record's canonical encoding.
pub fn hash(record: &MessageRecord) -> [u8; 32] {
    hash_canonical(&record::canonical(record))
}

/// The hash of a record, given its canonical encoding ([`record::canonical`]).
pub fn hash_canonical(canonical: &[u8]) -> [u8; 32] {
    Sha256::digest(canonical).into()
}

/// What a walk over a topic log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub topic: String,
    /// Records checked before the walk ended.
    pub checked: u64,
    pub first_sequence: Option<u64>,
    pub last_sequence: Option<u64>,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The sequence number at which the chain breaks (from the key when the record itself is
    /// unreadable).
    pub sequence: u64,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The stored value cannot be decoded.
    Unreadable(String),
    /// The record's content does not match its stored hash: it was edited.
    HashMismatch,
    /// The record does not point at the record before it: one was removed, inserted or
    /// moved.
    LinkMismatch,
    /// The record's own sequence number differs from its key's: it was moved.
    SequenceMismatch { in_record: u64 },
    /// Sequence numbers skip: records are missing.
    Gap { expected: u64 },
    /// The topic head disagrees with the last record.
    HeadMismatch,
}

/// Checks links between consecutive records of one topic, fed in key order.
#[derive(Default)]
pub struct ChainWalker {
    previous: Option<(u64, [u8; 32])>,
}

impl ChainWalker {
    /// Checks the next record, found under `key_sequence`. The first record of a log whose
    /// older records were removed by retention is trusted as the anchor.
    pub fn check(&mut self, key_sequence: u64, stored: &StoredMessage) -> Result<(), Problem> {
        let record = &stored.record;
        if record.sequence != key_sequence {
            return Err(Problem::SequenceMismatch { in_record: record.sequence });
        }
        if hash(record) != stored.hash {
            return Err(Problem::HashMismatch);
        }
        match self.previous {
            None if record.sequence == 1 && record.prev_hash != [0; 32] => return Err(Problem::LinkMismatch),
            None => {}
            Some((sequence, _)) if key_sequence != sequence + 1 => return Err(Problem::Gap { expected: sequence + 1 }),
            Some((_, previous_hash)) if record.prev_hash != previous_hash => return Err(Problem::LinkMismatch),
            Some(_) => {}
        }
        self.previous = Some((key_sequence, stored.hash));
        Ok(())
    }

    pub fn last(&self) -> Option<(u64, [u8; 32])> {
        self.previous
    }
}
