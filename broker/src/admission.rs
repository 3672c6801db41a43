//! Admission: which accepted sockets the broker serves, and what it remembers per address.
//!
//! Every listener asks [`AddressTracker::admit`] right after `accept`, before any TLS or
//! WebSocket handshake and before reading a byte. A refused socket is closed at once, so a
//! flood of connections costs the broker an accept and a close, not a handshake, a task or a
//! CONNECT deadline each. The limits come from `[limits]`:
//!
//! - `max_connections`: open connections in all, over every listener;
//! - `max_connections_per_address`: open connections from one address;
//! - `connect_rate_per_address` / `connect_burst_per_address`: a token bucket per address
//!   for new connections;
//! - `max_tracked_addresses`: how many addresses are remembered at once. When the map is
//!   full, idle entries (no open connection, a full bucket, no recent authentication failure)
//!   are forgotten, since forgetting them changes no decision; if none is idle, sockets from
//!   new addresses are refused.
//!
//! An admitted socket gets a [`ConnectionPermit`] that gives its slots back when dropped, so
//! the counts stay right however a connection ends (handshake failure, panic, shutdown).
//!
//! The same per-address entries count failed authentications (`auth_failures_per_minute`),
//! so that the CONNECT code can refuse an address that keeps guessing without checking its
//! credentials: [`AddressTracker::note_auth_failure`] and [`AddressTracker::auth_blocked`].
//!
//! "Address" means an IPv4 address, or an IPv6 /64 prefix: a single IPv6 subscriber (a phone,
//! a home) is routinely handed a whole /64, so counting its addresses one by one would let
//! one host multiply every limit by 2^64. IPv4-mapped IPv6 addresses count as their IPv4
//! address.
//!
//! Refusals are counted per reason ([`AddressTracker::refusals`]) and logged at debug level,
//! at most one line per [`LOG_INTERVAL`] with the number of refusals it stands for, so an
//! attack cannot flood the log.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tallymq_config::LimitsConfig;

use crate::token_bucket::{Rate, TokenBucket};

/// The window of `limits.auth_failures_per_minute`.
pub const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Shortest time between two refusal log lines; refusals in between are counted and reported
/// with the next line.
pub const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Shortest time between two sweeps of the full address map for idle entries: a sweep walks
/// the whole map (up to `limits.max_tracked_addresses` entries), and a flood of new addresses
/// must not turn every accept into such a walk. Between sweeps, new addresses take the room
/// the last sweep made, and are refused once it is used up.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Where the tracker reads the time; tests drive it by hand.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
}

/// The monotonic system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Why a socket was refused at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// `limits.max_connections` connections are open.
    TotalLimit,
    /// `limits.max_connections_per_address` connections are open from this address.
    AddressLimit,
    /// The address opened connections faster than `limits.connect_rate_per_address` allows
    /// after its burst.
    RateLimit,
    /// `limits.max_tracked_addresses` addresses are tracked and none of them is idle.
    TooManyAddresses,
}

impl Refusal {
    const ALL: [Refusal; 4] = [Refusal::TotalLimit, Refusal::AddressLimit, Refusal::RateLimit, Refusal::TooManyAddresses];

    fn index(self) -> usize {
        match self {
            Refusal::TotalLimit => 0,
            Refusal::AddressLimit => 1,
            Refusal::RateLimit => 2,
            Refusal::TooManyAddresses => 3,
        }
    }

    /// The limit, as its configuration key.
    pub fn key(self) -> &'static str {
        match self {
            Refusal::TotalLimit => "limits.max_connections",
            Refusal::AddressLimit => "limits.max_connections_per_address",
            Refusal::RateLimit => "limits.connect_rate_per_address",
            Refusal::TooManyAddresses => "limits.max_tracked_addresses",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Refusal::TotalLimit => "too many connections in all",
            Refusal::AddressLimit => "too many connections from this address",
            Refusal::RateLimit => "connecting too fast from this address",
            Refusal::TooManyAddresses => "too many addresses tracked, none idle",
        };
        write!(f, "{text} ({})", self.key())
    }
}

/// Refusals since start, per reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refusals {
    pub total_limit: u64,
    pub address_limit: u64,
    pub rate_limit: u64,
    pub too_many_addresses: u64,
}

impl Refusals {
    pub fn sum(&self) -> u64 {
        self.total_limit + self.address_limit + self.rate_limit + self.too_many_addresses
    }
}

/// The numbers of `[limits]` the tracker applies.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_connections: u32,
    max_per_address: u32,
    /// New connections per address: `connect_rate_per_address`, `connect_burst_per_address`.
    connect_rate: Rate,
    auth_failures: u32,
    max_addresses: usize,
}

impl From<&LimitsConfig> for Limits {
    fn from(config: &LimitsConfig) -> Self {
        Limits {
            max_connections: config.max_connections,
            max_per_address: config.max_connections_per_address,
            connect_rate: Rate::new(config.connect_rate_per_address, config.connect_burst_per_address),
            auth_failures: config.auth_failures_per_minute,
            max_addresses: config.max_tracked_addresses as usize,
        }
    }
}

/// Authentication failures in the current window of [`AUTH_FAILURE_WINDOW`], which starts at
/// the first failure after the previous window ended.
#[derive(Debug, Clone, Copy)]
struct FailureWindow {
    started: Instant,
    count: u32,
}

impl FailureWindow {
    fn current(&self, now: Instant) -> u32 {
        if now.saturating_duration_since(self.started) < AUTH_FAILURE_WINDOW {
            self.count
        } else {
            0
        }
    }
}

/// What is known about one address.
#[derive(Debug, Clone, Copy)]
struct Entry {
    open: u32,
    bucket: TokenBucket,
    failures: Option<FailureWindow>,
}

impl Entry {
    fn new(now: Instant) -> Self {
        Entry { open: 0, bucket: TokenBucket::full(now), failures: None }
    }

    /// Forgetting an idle entry changes no decision: a new entry would be the same.
    fn is_idle(&self, now: Instant) -> bool {
        self.open == 0
            && self.bucket.is_full(now)
            && self.failures.is_none_or(|window| window.current(now) == 0)
    }
}

struct State {
    open: u32,
    addresses: HashMap<IpAddr, Entry>,
    /// No sweep of the full map before this ([`SWEEP_INTERVAL`] after the last one).
    next_sweep: Option<Instant>,
}

impl State {
    /// The entry of `key`, created if the map has room (after forgetting idle entries if
    /// needed and allowed); `None` if the map is full.
    fn entry(&mut self, key: IpAddr, now: Instant, limits: &Limits) -> Option<&mut Entry> {
        if !self.addresses.contains_key(&key) && self.addresses.len() >= limits.max_addresses {
            if self.next_sweep.is_some_and(|at| now < at) {
                return None;
            }
            self.addresses.retain(|_, entry| !entry.is_idle(now));
            self.next_sweep = Some(now + SWEEP_INTERVAL);
            if self.addresses.len() >= limits.max_addresses {
                return None;
            }
        }
        Some(self.addresses.entry(key).or_insert_with(|| Entry::new(now)))
    }
}

/// Refusal log lines, at most one per [`LOG_INTERVAL`].
struct LogThrottle {
    last: Option<Instant>,
    suppressed: u64,
}

/// Connection counts, connect rates and authentication failures per address; see the module
/// documentation. Shared by every listener and every connection (`Broker::admission`).
pub struct AddressTracker {
    limits: Limits,
    clock: Box<dyn Clock>,
    state: Mutex<State>,
    refused: [AtomicU64; 4],
    log: Mutex<LogThrottle>,
}

/// An admitted connection's slots (in all and for its address); given back on drop.
#[must_use = "the connection's slot is given back when the permit is dropped"]
pub struct ConnectionPermit {
    tracker: Arc<AddressTracker>,
    key: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.tracker.release(self.key);
    }
}

impl fmt::Debug for ConnectionPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionPermit").field("address", &self.key).finish()
    }
}

/// The key an address is counted under: IPv4 as is (IPv4-mapped IPv6 included), IPv6 by its
/// /64 prefix.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

impl AddressTracker {
    /// A tracker applying `limits` on the system clock.
    pub fn new(limits: &LimitsConfig) -> Self {
        Self::with_clock(limits, SystemClock)
    }

    /// A tracker applying `limits` on `clock`.
    pub fn with_clock(limits: &LimitsConfig, clock: impl Clock) -> Self {
        let limits = Limits::from(limits);
        AddressTracker {
            limits,
            clock: Box::new(clock),
            state: Mutex::new(State {
                open: 0,
                addresses: HashMap::with_capacity(limits.max_addresses.min(1024)),
                next_sweep: None,
            }),
            refused: Default::default(),
            log: Mutex::new(LogThrottle { last: None, suppressed: 0 }),
        }
    }

    /// Admits a connection from `ip`, or says which limit refuses it. The refusal is counted
    /// and logged (throttled); the caller closes the socket.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let key = address_key(ip);
        let now = self.clock.now();
        let decision = self.try_admit(key, now);
        match decision {
            Ok(()) => Ok(ConnectionPermit { tracker: Arc::clone(self), key }),
            Err(refusal) => {
                self.refused[refusal.index()].fetch_add(1, Ordering::Relaxed);
                self.log_refusal(ip, refusal, now);
                Err(refusal)
            }
        }
    }

    fn try_admit(&self, key: IpAddr, now: Instant) -> Result<(), Refusal> {
        let limits = &self.limits;
        let mut state = self.state.lock();
        if state.open >= limits.max_connections {
            return Err(Refusal::TotalLimit);
        }
        let entry = state.entry(key, now, limits).ok_or(Refusal::TooManyAddresses)?;
        if entry.open >= limits.max_per_address {
            return Err(Refusal::AddressLimit);
        }
        if !entry.bucket.take(now, &limits.connect_rate) {
            return Err(Refusal::RateLimit);
        }
        entry.open += 1;
        state.open += 1;
        Ok(())
    }

    fn release(&self, key: IpAddr) {
        let mut state = self.state.lock();
        state.open = state.open.saturating_sub(1);
        // An entry with an open connection is never idle, so it is still there.
        if let Some(entry) = state.addresses.get_mut(&key) {
            entry.open = entry.open.saturating_sub(1);
        }
    }

    fn log_refusal(&self, ip: IpAddr, refusal: Refusal, now: Instant) {
        let mut log = self.log.lock();
        let due = log.last.is_none_or(|last| now.saturating_duration_since(last) >= LOG_INTERVAL);
        if due {
            let also = std::mem::take(&mut log.suppressed);
            log.last = Some(now);
            drop(log);
            tracing::debug!(peer = %ip, reason = %refusal, refused_since_last_line = also, "connection refused at accept");
        } else {
            log.suppressed += 1;
        }
    }

    /// Records a failed authentication from `ip`. Ignored if the address cannot be tracked
    /// (the map is full of busy addresses); an address with an open connection always is.
    pub fn note_auth_failure(&self, ip: IpAddr) {
        let now = self.clock.now();
        let mut state = self.state.lock();
        let Some(entry) = state.entry(address_key(ip), now, &self.limits) else {
            return;
        };
        let window = match entry.failures {
            Some(window) if window.current(now) > 0 => window,
            _ => FailureWindow { started: now, count: 0 },
        };
        entry.failures = Some(FailureWindow { count: window.count.saturating_add(1), ..window });
    }

    /// Whether `ip` has used up `limits.auth_failures_per_minute` in the current minute, so
    /// that its CONNECTs are refused without checking credentials.
    pub fn auth_blocked(&self, ip: IpAddr) -> bool {
        let now = self.clock.now();
        let state = self.state.lock();
        state
            .addresses
            .get(&address_key(ip))
            .and_then(|entry| entry.failures)
            .is_some_and(|window| window.current(now) >= self.limits.auth_failures)
    }

    /// Connections holding a permit, over every listener.
    pub fn open_connections(&self) -> u32 {
        self.state.lock().open
    }

    /// Connections holding a permit from `ip`'s address.
    pub fn open_connections_from(&self, ip: IpAddr) -> u32 {
        self.state.lock().addresses.get(&address_key(ip)).map_or(0, |entry| entry.open)
    }

    /// Addresses currently remembered.
    pub fn tracked_addresses(&self) -> usize {
        self.state.lock().addresses.len()
    }

    /// Refusals since start, per reason.
    pub fn refusals(&self) -> Refusals {
        let count = |refusal: Refusal| self.refused[refusal.index()].load(Ordering::Relaxed);
        debug_assert_eq!(Refusal::ALL.len(), self.refused.len());
        Refusals {
            total_limit: count(Refusal::TotalLimit),
            address_limit: count(Refusal::AddressLimit),
            rate_limit: count(Refusal::RateLimit),
            too_many_addresses: count(Refusal::TooManyAddresses),
        }
    }
}

impl fmt::Debug for AddressTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressTracker")
            .field("open", &self.open_connections())
            .field("tracked_addresses", &self.tracked_addresses())
            .field("refusals", &self.refusals())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock that moves only when told to.
    #[derive(Clone)]
    struct ManualClock(Arc<Mutex<Instant>>);

    impl ManualClock {
        fn new() -> Self {
            ManualClock(Arc::new(Mutex::new(Instant::now())))
        }

        fn advance(&self, by: Duration) {
            *self.0.lock() += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock()
        }
    }

    /// Generous limits; each test tightens what it checks.
    fn limits() -> LimitsConfig {
        LimitsConfig {
            max_connections: 1_000,
            max_connections_per_address: 1_000,
            connect_rate_per_address: 1_000,
            connect_burst_per_address: 1_000,
            auth_failures_per_minute: 10,
            max_tracked_addresses: 1_000,
            ..LimitsConfig::default()
        }
    }

    fn tracker(limits: LimitsConfig) -> (Arc<AddressTracker>, ManualClock) {
        let clock = ManualClock::new();
        (Arc::new(AddressTracker::with_clock(&limits, clock.clone())), clock)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn burst_then_the_sustained_rate() {
        let (tracker, clock) = tracker(LimitsConfig { connect_rate_per_address: 2, connect_burst_per_address: 5, ..limits() });
        let a = ip("192.0.2.1");
        let mut permits: Vec<_> = (0..5).map(|_| tracker.admit(a).expect("within the burst")).collect();
        assert_eq!(tracker.admit(a).unwrap_err(), Refusal::RateLimit);
        // Closing connections gives back slots, not tokens.
        permits.clear();
        assert_eq!(tracker.admit(a).unwrap_err(), Refusal::RateLimit);
        // 2 per second: one token every 500 ms.
        clock.advance(Duration::from_millis(499));
        assert_eq!(tracker.admit(a).unwrap_err(), Refusal::RateLimit);
        clock.advance(Duration::from_millis(1));
        permits.push(tracker.admit(a).expect("one token after 500 ms"));
        assert_eq!(tracker.admit(a).unwrap_err(), Refusal::RateLimit);
        clock.advance(Duration::from_secs(1));
        permits.push(tracker.admit(a).unwrap());
        permits.push(tracker.admit(a).unwrap());
        assert_eq!(tracker.admit(a).unwrap_err(), Refusal::RateLimit);
        // A long pause refills up to the burst, not beyond.
        clock.advance(Duration::from_secs(3600));
        for _ in 0..5 {
            permits.push(tracker.admit(a).unwrap());
        }
        assert_eq!(tracker.admit(a).unwrap_err(), Refusal::RateLimit);
        // Another address has its own bucket.
        permits.push(tracker.admit(ip("192.0.2.2")).unwrap());
        assert_eq!(tracker.refusals(), Refusals { rate_limit: 6, ..Refusals::default() });
    }

    #[test]
    fn per_address_cap_and_release_on_drop() {
        let (tracker, _clock) = tracker(LimitsConfig { max_connections_per_address: 2, ..limits() });
        let a = ip("198.51.100.7");
        let first = tracker.admit(a).unwrap();
        let second = tracker.admit(a).unwrap();
        assert_eq!(tracker.admit(a).unwrap_err(), Refusal::AddressLimit);
        let other = tracker.admit(ip("198.51.100.8")).expect("other addresses are not affected");
        assert_eq!((tracker.open_connections(), tracker.open_connections_from(a)), (3, 2));
        drop(first);
        assert_eq!(tracker.open_connections_from(a), 1);
        let third = tracker.admit(a).expect("a slot was given back");
        drop((second, third, other));
        assert_eq!(tracker.open_connections(), 0);
        assert_eq!(tracker.refusals().address_limit, 1);
    }

    #[test]
    fn total_cap_over_all_addresses() {
        let (tracker, _clock) = tracker(LimitsConfig { max_connections: 3, ..limits() });
        let permits: Vec<_> = (1..=3).map(|n| tracker.admit(ip(&format!("203.0.113.{n}"))).unwrap()).collect();
        assert_eq!(tracker.admit(ip("203.0.113.9")).unwrap_err(), Refusal::TotalLimit);
        // A refusal at the total cap takes no token from the address.
        drop(permits);
        let _permit = tracker.admit(ip("203.0.113.9")).expect("a slot was given back");
        assert_eq!(tracker.refusals(), Refusals { total_limit: 1, ..Refusals::default() });
    }

    #[test]
    fn full_map_forgets_idle_entries_first_then_refuses_new_addresses() {
        let (tracker, clock) =
            tracker(LimitsConfig { max_tracked_addresses: 16, connect_rate_per_address: 1, connect_burst_per_address: 2, ..limits() });
        let addresses: Vec<IpAddr> = (0..16).map(|n| ip(&format!("10.0.0.{n}"))).collect();
        // Every address holds a connection: nothing is idle.
        let mut held: Vec<_> = addresses.iter().map(|&a| tracker.admit(a).unwrap()).collect();
        assert_eq!(tracker.tracked_addresses(), 16);
        let newcomer = ip("10.0.1.1");
        assert_eq!(tracker.admit(newcomer).unwrap_err(), Refusal::TooManyAddresses);
        // Known addresses are still served.
        held.push(tracker.admit(addresses[3]).unwrap());

        // Address 0 closes, but its bucket is not full yet: not idle.
        drop(held.remove(0));
        clock.advance(SWEEP_INTERVAL);
        assert_eq!(tracker.admit(newcomer).unwrap_err(), Refusal::TooManyAddresses);
        // Once its bucket has refilled it is idle and forgotten for the newcomer.
        clock.advance(Duration::from_secs(1));
        let _newcomer = tracker.admit(newcomer).expect("an idle entry made room");
        assert_eq!(tracker.tracked_addresses(), 16);
        assert_eq!(tracker.open_connections_from(addresses[0]), 0);
        assert_eq!(tracker.refusals().too_many_addresses, 2);
    }

    #[test]
    fn the_full_map_is_swept_at_most_once_per_sweep_interval() {
        let (tracker, clock) = tracker(LimitsConfig { max_tracked_addresses: 16, ..limits() });
        let mut held: Vec<_> = (0..16).map(|n| tracker.admit(ip(&format!("10.1.0.{n}"))).unwrap()).collect();
        assert_eq!(tracker.admit(ip("10.1.1.1")).unwrap_err(), Refusal::TooManyAddresses);
        // An entry turns idle (burst 1000 at 1000/s: its one token is back after 1 ms) ...
        drop(held.remove(0));
        clock.advance(Duration::from_millis(5));
        // ... but the map is not walked again until the interval has passed.
        assert_eq!(tracker.admit(ip("10.1.1.1")).unwrap_err(), Refusal::TooManyAddresses);
        clock.advance(SWEEP_INTERVAL);
        let _permit = tracker.admit(ip("10.1.1.1")).expect("swept after the interval");
    }

    #[test]
    fn ipv6_counts_per_64_prefix_and_mapped_ipv4_as_ipv4() {
        let (tracker, _clock) = tracker(LimitsConfig { max_connections_per_address: 2, ..limits() });
        let _a = tracker.admit(ip("2001:db8:1:2::1")).unwrap();
        let _b = tracker.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
        assert_eq!(tracker.admit(ip("2001:db8:1:2:abcd::1")).unwrap_err(), Refusal::AddressLimit);
        let _c = tracker.admit(ip("2001:db8:1:3::1")).expect("another /64");
        let _d = tracker.admit(ip("192.0.2.50")).unwrap();
        let _e = tracker.admit(ip("::ffff:192.0.2.50")).unwrap();
        assert_eq!(tracker.admit(ip("192.0.2.50")).unwrap_err(), Refusal::AddressLimit);
        assert_eq!(address_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
    }

    #[test]
    fn auth_failures_block_for_the_rest_of_the_minute() {
        let (tracker, clock) = tracker(LimitsConfig { auth_failures_per_minute: 3, ..limits() });
        let a = ip("192.0.2.77");
        assert!(!tracker.auth_blocked(a));
        for _ in 0..2 {
            tracker.note_auth_failure(a);
        }
        assert!(!tracker.auth_blocked(a), "two failures are within the allowance of three");
        clock.advance(Duration::from_secs(30));
        tracker.note_auth_failure(a);
        assert!(tracker.auth_blocked(a));
        assert!(!tracker.auth_blocked(ip("192.0.2.78")), "per address");
        // The window started at the first failure: blocked until 60 s after it.
        clock.advance(Duration::from_secs(29));
        assert!(tracker.auth_blocked(a));
        clock.advance(Duration::from_secs(1));
        assert!(!tracker.auth_blocked(a));
        // A new window starts with the next failure.
        tracker.note_auth_failure(a);
        assert!(!tracker.auth_blocked(a));
    }

    #[test]
    fn recent_auth_failures_keep_an_entry_from_being_forgotten() {
        let (tracker, clock) = tracker(LimitsConfig { max_tracked_addresses: 16, auth_failures_per_minute: 1, ..limits() });
        let guesser = ip("10.2.0.0");
        tracker.note_auth_failure(guesser);
        for n in 1..16 {
            drop(tracker.admit(ip(&format!("10.2.0.{n}"))).unwrap());
        }
        assert_eq!(tracker.tracked_addresses(), 16);
        clock.advance(Duration::from_secs(1));
        let _permit = tracker.admit(ip("10.2.1.1")).expect("idle entries are forgotten");
        assert!(tracker.auth_blocked(guesser), "the guesser's entry was kept");
        assert_eq!(tracker.tracked_addresses(), 2);
        // Once its window has passed, the guesser's entry is idle like any other.
        clock.advance(AUTH_FAILURE_WINDOW);
        for n in 2..16 {
            drop(tracker.admit(ip(&format!("10.2.1.{n}"))).unwrap());
        }
        clock.advance(SWEEP_INTERVAL);
        drop(tracker.admit(ip("10.2.2.1")).unwrap());
        assert_eq!(tracker.tracked_addresses(), 2, "the guesser's and the newcomers' idle entries were forgotten");
        assert!(!tracker.auth_blocked(guesser));
    }

    #[test]
    fn refusal_names_its_key() {
        for refusal in Refusal::ALL {
            assert!(refusal.to_string().contains(refusal.key()), "{refusal}");
        }
    }
}
