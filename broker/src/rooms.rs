//! Loan rooms: who is in which 1:1 chat, in which role, and the loan behind it.
//!
//! A room is the unit of privacy: only its members read or write `chat/{room}/...`. Access
//! control asks this registry on every check, so a membership change takes effect on the next
//! publish, delivery or history read, without touching subscriptions.
//!
//! Rooms live in memory for those checks and in the store's `rooms` column family so that
//! they survive restarts; [`crate::broker::Broker::open`] loads them. The admin API is their
//! only writer. A change is made durable first and only then shown to access control, and
//! changes are made one at a time, each in its own task, so that a caller that goes away
//! half-way (an HTTP client hanging up) cannot leave memory and disk disagreeing.

pub mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use tallymq_storage::{ops, LoanRecord, RoomRecord, RoomState, StorageError, Store};

use crate::message::now_ms;

/// A member's part in a loan: lender, borrower or guarantor.
pub use tallymq_storage::MemberRole as Role;

/// One room as access control sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: String,
    /// User id -> role.
    pub members: BTreeMap<String, Role>,
    /// A closed room keeps its history readable by its members but accepts no messages.
    pub closed: bool,
}

impl Room {
    fn of(record: &RoomRecord) -> Room {
        Room { id: record.id.clone(), members: record.members.clone(), closed: record.state == RoomState::Closed }
    }
}

/// How many rooms and members the registry accepts (`admin.max_rooms`,
/// `admin.max_members_per_room`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomLimits {
    pub max_rooms: usize,
    pub max_members: usize,
}

impl RoomLimits {
    pub fn of(config: &tallymq_config::AdminConfig) -> RoomLimits {
        RoomLimits { max_rooms: config.max_rooms as usize, max_members: config.max_members_per_room as usize }
    }
}

impl Default for RoomLimits {
    fn default() -> Self {
        RoomLimits::of(&tallymq_config::AdminConfig::default())
    }
}

/// Why a room change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("room {0:?} does not exist")]
    NotFound(String),
    #[error("room {0:?} already exists")]
    Exists(String),
    #[error("room {0:?} is closed: its members can no longer change")]
    Closed(String),
    #[error("{user:?} is not a member of room {room:?}")]
    NotMember { room: String, user: String },
    #[error("the broker holds {max} rooms, its limit (admin.max_rooms)")]
    TooManyRooms { max: usize },
    #[error("room {room:?} would have {count} members; at most {max} are allowed (admin.max_members_per_room)")]
    TooManyMembers { room: String, count: usize, max: usize },
    #[error("the room change was interrupted: {0}")]
    Interrupted(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(Debug, Clone)]
struct Entry {
    /// What access control reads.
    room: Arc<Room>,
    /// Everything, as stored.
    record: Arc<RoomRecord>,
}

impl Entry {
    fn new(record: RoomRecord) -> Entry {
        Entry { room: Arc::new(Room::of(&record)), record: Arc::new(record) }
    }
}

/// Every room, in memory, in id order (for paging).
#[derive(Debug, Default)]
pub struct Rooms {
    rooms: RwLock<BTreeMap<Arc<str>, Entry>>,
    limits: RoomLimits,
    /// Held for the whole of a change, from reading the room to showing the new version, so
    /// that changes never overwrite each other.
    changes: tokio::sync::Mutex<()>,
}

impl Rooms {
    /// An empty registry with the default limits.
    pub fn new() -> Rooms {
        Rooms::default()
    }

    /// An empty registry with `limits`.
    pub fn with_limits(limits: RoomLimits) -> Rooms {
        Rooms { limits, ..Rooms::default() }
    }

    /// Loads rooms found in the store at start-up. Rooms beyond `max_rooms` (after the limit
    /// was lowered) are kept: the limit only stops new ones.
    pub fn restore(&self, records: Vec<RoomRecord>) {
        let count = records.len();
        let mut rooms = self.rooms.write();
        for record in records {
            rooms.insert(Arc::from(record.id.as_str()), Entry::new(record));
        }
        if count > self.limits.max_rooms {
            tracing::warn!(count, max = self.limits.max_rooms, "more rooms are stored than admin.max_rooms allows; no new room can be created");
        }
        tracing::info!(rooms = count, "rooms restored");
    }

    pub fn limits(&self) -> RoomLimits {
        self.limits
    }

    /// The role of `user` in `room`; `None` if the room does not exist or `user` is not a member.
    pub fn role_of(&self, room: &str, user: &str) -> Option<Role> {
        self.rooms.read().get(room).and_then(|r| r.room.members.get(user).copied())
    }

    /// Whether `room` exists and accepts messages.
    pub fn is_open(&self, room: &str) -> bool {
        self.rooms.read().get(room).is_some_and(|r| !r.room.closed)
    }

    /// The room, as it is now.
    pub fn get(&self, room: &str) -> Option<Arc<Room>> {
        self.rooms.read().get(room).map(|r| r.room.clone())
    }

    /// Adds or replaces a room in memory only, without a loan: for tests and tools. The
    /// admin API goes through [`Rooms::create`] and the other durable changes.
    pub fn put(&self, room: Room) {
        let now = now_ms();
        let record = RoomRecord {
            id: room.id,
            members: room.members,
            state: if room.closed { RoomState::Closed } else { RoomState::Open },
            created_at_ms: now,
            closed_at_ms: room.closed.then_some(now),
            loan: None,
        };
        self.install(record);
    }

    /// Everything stored about the room.
    pub fn record(&self, room: &str) -> Option<Arc<RoomRecord>> {
        self.rooms.read().get(room).map(|r| r.record.clone())
    }

    /// Up to `limit` rooms with ids after `after` (from the first without it), in id order,
    /// and whether more follow.
    pub fn page(&self, after: Option<&str>, limit: usize) -> (Vec<Arc<RoomRecord>>, bool) {
        use std::ops::Bound;
        let rooms = self.rooms.read();
        let start = match after {
            Some(after) => Bound::Excluded(after),
            None => Bound::Unbounded,
        };
        let mut found = rooms.range::<str, _>((start, Bound::Unbounded)).map(|(_, e)| e.record.clone());
        let page: Vec<_> = found.by_ref().take(limit).collect();
        let more = found.next().is_some();
        (page, more)
    }

    /// Number of rooms, open and closed.
    pub fn len(&self) -> usize {
        self.rooms.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Creates a room; returns once it is durable. `record.id` and its members must have
    /// passed [`validate`].
    pub async fn create(self: &Arc<Self>, store: &Arc<Store>, record: RoomRecord) -> Result<Arc<RoomRecord>, RoomError> {
        let rooms = self.clone();
        let store = store.clone();
        Self::in_own_task(async move {
            let _turn = rooms.changes.lock().await;
            if rooms.rooms.read().contains_key(record.id.as_str()) {
                return Err(RoomError::Exists(record.id));
            }
            if rooms.len() >= rooms.limits.max_rooms {
                return Err(RoomError::TooManyRooms { max: rooms.limits.max_rooms });
            }
            rooms.check_members(&record)?;
            store.apply(vec![ops::put_room(&record)]).await?;
            Ok(rooms.install(record))
        })
        .await
    }

    /// Adds `user` to an open room with `role`, or changes the role of a member.
    pub async fn set_member(
        self: &Arc<Self>,
        store: &Arc<Store>,
        room: &str,
        user: String,
        role: Role,
    ) -> Result<Arc<RoomRecord>, RoomError> {
        self.change(store, room, move |record| {
            refuse_if_closed(record)?;
            record.members.insert(user, role);
            Ok(())
        })
        .await
    }

    /// Removes a member from an open room.
    pub async fn remove_member(self: &Arc<Self>, store: &Arc<Store>, room: &str, user: String) -> Result<Arc<RoomRecord>, RoomError> {
        self.change(store, room, move |record| {
            refuse_if_closed(record)?;
            match record.members.remove(&user) {
                Some(_) => Ok(()),
                None => Err(RoomError::NotMember { room: record.id.clone(), user }),
            }
        })
        .await
    }

    /// Sets or replaces the loan behind a room, open or closed (a loan's state goes on
    /// changing after its chat closed).
    pub async fn set_loan(self: &Arc<Self>, store: &Arc<Store>, room: &str, loan: LoanRecord) -> Result<Arc<RoomRecord>, RoomError> {
        self.change(store, room, move |record| {
            record.loan = Some(loan);
            Ok(())
        })
        .await
    }

    /// Closes a room for good. Closing a closed room changes nothing.
    pub async fn close(self: &Arc<Self>, store: &Arc<Store>, room: &str) -> Result<Arc<RoomRecord>, RoomError> {
        if let Some(record) = self.record(room).filter(|r| r.state == RoomState::Closed) {
            return Ok(record);
        }
        self.change(store, room, |record| {
            if record.state == RoomState::Open {
                record.state = RoomState::Closed;
                record.closed_at_ms = Some(now_ms());
            }
            Ok(())
        })
        .await
    }

    /// Reads a room, applies `edit`, stores the result and shows it: one change at a time.
    async fn change(
        self: &Arc<Self>,
        store: &Arc<Store>,
        room: &str,
        edit: impl FnOnce(&mut RoomRecord) -> Result<(), RoomError> + Send + 'static,
    ) -> Result<Arc<RoomRecord>, RoomError> {
        let rooms = self.clone();
        let store = store.clone();
        let room = room.to_string();
        Self::in_own_task(async move {
            let _turn = rooms.changes.lock().await;
            let current = rooms.record(&room).ok_or_else(|| RoomError::NotFound(room.clone()))?;
            let mut record = RoomRecord::clone(&current);
            edit(&mut record)?;
            if record == *current {
                return Ok(current);
            }
            rooms.check_members(&record)?;
            store.apply(vec![ops::put_room(&record)]).await?;
            Ok(rooms.install(record))
        })
        .await
    }

    /// Runs a change to its end even if the caller stops waiting for it.
    async fn in_own_task(
        change: impl std::future::Future<Output = Result<Arc<RoomRecord>, RoomError>> + Send + 'static,
    ) -> Result<Arc<RoomRecord>, RoomError> {
        tokio::spawn(change).await.map_err(|e| RoomError::Interrupted(e.to_string()))?
    }

    fn check_members(&self, record: &RoomRecord) -> Result<(), RoomError> {
        let (count, max) = (record.members.len(), self.limits.max_members);
        if count > max {
            return Err(RoomError::TooManyMembers { room: record.id.clone(), count, max });
        }
        Ok(())
    }

    fn install(&self, record: RoomRecord) -> Arc<RoomRecord> {
        let entry = Entry::new(record);
        let shown = entry.record.clone();
        self.rooms.write().insert(Arc::from(shown.id.as_str()), entry);
        shown
    }
}

fn refuse_if_closed(record: &RoomRecord) -> Result<(), RoomError> {
    match record.state {
        RoomState::Closed => Err(RoomError::Closed(record.id.clone())),
        RoomState::Open => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(id: &str, members: &[(&str, Role)], closed: bool) -> Room {
        Room { id: id.into(), members: members.iter().map(|(u, r)| (u.to_string(), *r)).collect(), closed }
    }

    #[test]
    fn unknown_rooms_and_strangers_have_no_role_and_closed_rooms_are_not_open() {
        let rooms = Rooms::new();
        rooms.put(room("r1", &[("lee", Role::Lender), ("kim", Role::Borrower)], false));
        rooms.put(room("r2", &[("lee", Role::Lender)], true));
        assert_eq!(rooms.role_of("r1", "kim"), Some(Role::Borrower));
        assert_eq!(rooms.role_of("r1", "park"), None);
        assert_eq!(rooms.role_of("r9", "kim"), None);
        assert!(rooms.is_open("r1"));
        assert!(!rooms.is_open("r2"), "closed");
        assert!(!rooms.is_open("r9"), "unknown");
        assert_eq!(rooms.role_of("r2", "lee"), Some(Role::Lender), "a closed room keeps its members");
    }

    #[test]
    fn pages_follow_id_order() {
        let rooms = Rooms::new();
        for id in ["c", "a", "d", "b"] {
            rooms.put(room(id, &[], false));
        }
        let ids = |page: &[Arc<RoomRecord>]| page.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let (first, more) = rooms.page(None, 2);
        assert_eq!((ids(&first), more), (vec!["a".to_string(), "b".to_string()], true));
        let (rest, more) = rooms.page(Some("b"), 2);
        assert_eq!((ids(&rest), more), (vec!["c".to_string(), "d".to_string()], false));
        assert!(rooms.page(Some("d"), 2).0.is_empty());
    }
}
