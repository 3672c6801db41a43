//! Access control: may this principal publish here, read there, subscribe to that filter?
//!
//! Three sources decide, in this order: the product's topic namespace ([`namespace`]: rooms,
//! inboxes, public event topics, server-owned topics), room membership ([`crate::rooms`],
//! asked on every check so a change takes effect at once), and the static rules of the
//! configuration ([`rules`]) for topics outside the namespace.
//!
//! Reads are checked twice: a subscription filter must not be able to match anything the
//! principal may not read (so `#`, `chat/#`, `chat/+/...` are refused to normal users), and
//! every delivery, retained message and history read is checked again for its concrete topic,
//! which is what stops a removed member from receiving.

pub mod namespace;
pub mod rules;

use std::sync::Arc;

use tallymq_config::AuthMode;

use crate::codec::ReasonCode;
use crate::pipeline::{ClientInfo, Refusal};
use crate::rooms::Rooms;
use namespace::{classify, Family};
use rules::Rules;

/// Who is asking: a connected client, or the owner of an offline session.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    pub client_id: &'a str,
    /// `None`: anonymous.
    pub user: Option<&'a str>,
    pub roles: &'a [Arc<str>],
}

impl<'a> Principal<'a> {
    pub fn of(client: &'a ClientInfo) -> Principal<'a> {
        Principal { client_id: &client.client_id, user: client.username.as_deref(), roles: &client.roles }
    }
}

fn denied(reason: impl Into<String>) -> Refusal {
    Refusal::new(ReasonCode::NOT_AUTHORIZED, reason)
}

/// The access decisions of one broker.
#[derive(Debug)]
pub struct AccessControl {
    open: bool,
    rules: Rules,
    rooms: Arc<Rooms>,
    notice_prefix: String,
}

impl AccessControl {
    pub fn new(config: &tallymq_config::Config, rooms: Arc<Rooms>) -> AccessControl {
        AccessControl {
            open: config.auth.mode == AuthMode::Open,
            rules: Rules::from_config(&config.auth.rules),
            rooms,
            notice_prefix: config.mqtt.notice_topic_prefix.clone(),
        }
    }

    /// Whether every client may use every topic (`auth.mode = "open"`).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Whether `principal` may publish to the topic name `topic`.
    pub fn publish(&self, principal: &Principal, topic: &str) -> Result<(), Refusal> {
        if topic.starts_with('$') && topic != crate::history::QUERY_TOPIC {
            return Err(denied("topics starting with '$' are reserved for the server"));
        }
        if self.open {
            return Ok(());
        }
        match classify(topic, &self.notice_prefix) {
            Family::HistoryQuery => Ok(()),
            Family::ClientOwned { .. } | Family::ServerReserved => Err(denied(format!("{topic} is reserved for the server"))),
            Family::Chat { room } => {
                let member = principal.user.and_then(|user| self.rooms.role_of(room, user)).is_some();
                if !member {
                    Err(denied(format!("not a member of room {room}")))
                } else if !self.rooms.is_open(room) {
                    Err(denied(format!("room {room} is closed")))
                } else {
                    Ok(())
                }
            }
            Family::User { user } if principal.user == Some(user) => Ok(()),
            Family::User { .. } => Err(denied("user/{user}/ topics belong to that user")),
            Family::Public { action: true } if principal.user.is_some() => Ok(()),
            Family::Public { action: true } => Err(denied("sign in to take part")),
            Family::Public { action: false } => Err(denied(format!("{topic} is published by the server only"))),
            Family::Other if self.rules.may_write(principal, topic) => Ok(()),
            Family::Other => Err(denied(format!("no rule lets you publish to {topic}"))),
        }
    }

    /// Whether `principal` may receive messages published to `topic` (deliveries, retained
    /// messages, history).
    pub fn may_read(&self, principal: &Principal, topic: &str) -> bool {
        if self.open {
            return true;
        }
        match classify(topic, &self.notice_prefix) {
            Family::HistoryQuery | Family::ServerReserved => false,
            Family::ClientOwned { client } => client == principal.client_id,
            Family::Chat { room } => principal.user.is_some_and(|user| self.rooms.role_of(room, user).is_some()),
            Family::User { user } => principal.user == Some(user),
            Family::Public { .. } => principal.user.is_some(),
            Family::Other => self.rules.may_read(principal, topic),
        }
    }

    /// Whether `principal` may subscribe to `filter` (share prefix removed): only if it cannot
    /// match a topic they may not read.
    pub fn subscribe(&self, principal: &Principal, filter: &str) -> Result<(), Refusal> {
        if self.open {
            return Ok(());
        }
        let has_wildcard = filter.contains(['+', '#']);
        let mut levels = filter.split('/');
        let root = levels.next().unwrap_or_default();
        let second = levels.next();
        if root.starts_with('$') {
            let own = !has_wildcard && matches!(classify(filter, &self.notice_prefix), Family::ClientOwned { client } if client == principal.client_id);
            return if own { Ok(()) } else { Err(denied("of the server's $ topics, only your own notices and replies can be subscribed")) };
        }
        match (root, second) {
            ("+" | "#", _) => Err(denied("a wildcard first level would reach other people's rooms; subscribe per room")),
            ("chat", Some(room)) if !room.contains(['+', '#']) && !room.is_empty() => {
                match principal.user.and_then(|user| self.rooms.role_of(room, user)) {
                    Some(_) => Ok(()),
                    None => Err(denied(format!("not a member of room {room}"))),
                }
            }
            ("chat", _) => Err(denied("subscribe to chat/{room}/... per room you are a member of")),
            ("user", Some(user)) if !user.contains(['+', '#']) && principal.user == Some(user) => Ok(()),
            ("user", _) => Err(denied("only your own user/{user}/ topics can be subscribed")),
            ("live" | "auction" | "event", _) if principal.user.is_some() => Ok(()),
            ("live" | "auction" | "event", _) => Err(denied("sign in to follow live events")),
            _ if self.rules.covers(principal, filter) => Ok(()),
            _ => Err(denied(format!("no rule lets you read everything {filter} matches"))),
        }
    }
}
