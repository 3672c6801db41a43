//! The product's topic namespace: which family a topic belongs to, and who owns it.
//!
//! ```text
//! chat/{room}/...          a loan room: its members read and write
//! user/{user}/...          a user's own inbox and notices: that user only
//! live/{stream}/donate     donations, published by users; the rest of live/{stream}/...
//! auction/{id}/bid         (rankings, auction and event state) is server-owned:
//! event/{id}/enter         readable by every signed-in user, published by the server only
//! $history/query           history requests (answered per topic, by the read rules)
//! $history/reply/{client}  3.1.1 history replies: that client only
//! {notice prefix}{client}  refusal notices for 3.1.1 clients: that client only
//! other $ topics           server-reserved
//! anything else            the static rules of [auth]
//! ```

use crate::history;

/// The family of a topic name (no wildcards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family<'a> {
    Chat { room: &'a str },
    User { user: &'a str },
    /// `live/`, `auction/`, `event/`: `action` is true for the one subtopic users publish to.
    Public { action: bool },
    HistoryQuery,
    /// A topic that belongs to one client id (notices, history replies).
    ClientOwned { client: &'a str },
    ServerReserved,
    Other,
}

/// The first levels that name a family; static rules cannot reach topics under them.
pub const FAMILY_ROOTS: [&str; 5] = ["chat", "user", "live", "auction", "event"];

/// The topic level users publish to in each public family.
fn action_of(root: &str) -> Option<&'static str> {
    match root {
        "live" => Some("donate"),
        "auction" => Some("bid"),
        "event" => Some("enter"),
        _ => None,
    }
}

/// Classifies a topic name.
pub fn classify<'a>(topic: &'a str, notice_prefix: &str) -> Family<'a> {
    if topic.starts_with('$') {
        if topic == history::QUERY_TOPIC {
            return Family::HistoryQuery;
        }
        if let Some(client) = topic.strip_prefix(history::REPLY_PREFIX) {
            return Family::ClientOwned { client };
        }
        if let Some(client) = topic.strip_prefix(notice_prefix) {
            return Family::ClientOwned { client };
        }
        return Family::ServerReserved;
    }
    let mut levels = topic.splitn(3, '/');
    let root = levels.next().unwrap_or_default();
    let second = levels.next();
    let rest = levels.next();
    match (root, second) {
        ("chat", Some(room)) if !room.is_empty() => Family::Chat { room },
        ("user", Some(user)) if !user.is_empty() => Family::User { user },
        ("live" | "auction" | "event", Some(id)) if !id.is_empty() => {
            Family::Public { action: rest.is_some() && rest == action_of(root) }
        }
        // `chat`, `chat/`, `user//x`...: inside a family root but naming no room or user.
        (root, _) if FAMILY_ROOTS.contains(&root) => Family::ServerReserved,
        _ => Family::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICE: &str = "$notice/";

    #[test]
    fn families() {
        assert_eq!(classify("chat/r1/msg", NOTICE), Family::Chat { room: "r1" });
        assert_eq!(classify("chat/r1", NOTICE), Family::Chat { room: "r1" });
        assert_eq!(classify("user/u1/inbox/x", NOTICE), Family::User { user: "u1" });
        assert_eq!(classify("live/s1/donate", NOTICE), Family::Public { action: true });
        assert_eq!(classify("live/s1/donate/x", NOTICE), Family::Public { action: false });
        assert_eq!(classify("live/s1/ranking", NOTICE), Family::Public { action: false });
        assert_eq!(classify("auction/a/bid", NOTICE), Family::Public { action: true });
        assert_eq!(classify("auction/a/donate", NOTICE), Family::Public { action: false });
        assert_eq!(classify("event/e/enter", NOTICE), Family::Public { action: true });
        assert_eq!(classify("$history/query", NOTICE), Family::HistoryQuery);
        assert_eq!(classify("$history/reply/c1", NOTICE), Family::ClientOwned { client: "c1" });
        assert_eq!(classify("$notice/c1", NOTICE), Family::ClientOwned { client: "c1" });
        assert_eq!(classify("$SYS/x", NOTICE), Family::ServerReserved);
        assert_eq!(classify("chat", NOTICE), Family::ServerReserved);
        assert_eq!(classify("chat//x", NOTICE), Family::ServerReserved);
        assert_eq!(classify("sensors/1", NOTICE), Family::Other);
        assert_eq!(classify("chatter/1", NOTICE), Family::Other);
    }
}
