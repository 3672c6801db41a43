//! Static access rules from `[auth] rules`: who may read or write which topics.
//!
//! Rules only grant. A topic is readable if some rule for the principal grants read on a
//! pattern matching it; a subscription filter is allowed only if such a pattern *covers* it
//! (every topic the filter can match, the pattern matches too), so a wildcard can never reach
//! past what the rules grant. `%u` and `%c` are whole levels equal to the user and client id.

use tallymq_config::{Access, AccessRule};

use super::Principal;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Who {
    Anyone,
    Authenticated,
    Anonymous,
    User(String),
    Role(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    Literal(String),
    /// `+`
    One,
    /// `#`, always last
    Rest,
    /// `%u`
    User,
    /// `%c`
    Client,
}

#[derive(Debug, Clone)]
pub struct Rule {
    who: Who,
    levels: Vec<Level>,
    access: Access,
}

impl Rule {
    /// A rule from configuration (already validated by the config crate).
    pub fn from_config(rule: &AccessRule) -> Rule {
        let who = match rule.who.split_once(':') {
            Some(("user", name)) => Who::User(name.to_string()),
            Some(("role", name)) => Who::Role(name.to_string()),
            _ => match rule.who.as_str() {
                "anyone" => Who::Anyone,
                "anonymous" => Who::Anonymous,
                _ => Who::Authenticated,
            },
        };
        let levels = rule
            .topic
            .split('/')
            .map(|level| match level {
                "+" => Level::One,
                "#" => Level::Rest,
                "%u" => Level::User,
                "%c" => Level::Client,
                other => Level::Literal(other.to_string()),
            })
            .collect();
        Rule { who, levels, access: rule.access }
    }

    fn applies_to(&self, principal: &Principal) -> bool {
        match &self.who {
            Who::Anyone => true,
            Who::Authenticated => principal.user.is_some(),
            Who::Anonymous => principal.user.is_none(),
            Who::User(name) => principal.user == Some(name.as_str()),
            Who::Role(role) => principal.user.is_some() && principal.roles.iter().any(|r| **r == **role),
        }
    }

    /// Whether pattern level `level` matches exactly the topic level `value`.
    fn level_is(level: &Level, value: &str, principal: &Principal) -> bool {
        match level {
            Level::Literal(literal) => literal == value,
            Level::User => principal.user == Some(value),
            Level::Client => principal.client_id == value,
            Level::One | Level::Rest => true,
        }
    }

    /// Whether the pattern matches the topic name `topic` (split in levels).
    fn matches(&self, topic: &[&str], principal: &Principal) -> bool {
        let mut at = 0;
        for level in &self.levels {
            if *level == Level::Rest {
                return true;
            }
            let Some(value) = topic.get(at) else {
                return false;
            };
            if !Rule::level_is(level, value, principal) {
                return false;
            }
            at += 1;
        }
        at == topic.len()
    }

    /// Whether every topic the filter matches, the pattern matches too.
    fn covers(&self, filter: &[&str], principal: &Principal) -> bool {
        let mut at = 0;
        for level in &self.levels {
            if *level == Level::Rest {
                return true;
            }
            let Some(value) = filter.get(at) else {
                // The filter ended; it matched no deeper topics than the pattern still needs.
                return false;
            };
            let covered = match *value {
                "#" => false,
                "+" => *level == Level::One,
                literal => Rule::level_is(level, literal, principal),
            };
            if !covered {
                return false;
            }
            at += 1;
        }
        at == filter.len()
    }
}

/// All rules.
#[derive(Debug, Clone, Default)]
pub struct Rules(Vec<Rule>);

impl Rules {
    pub fn from_config(rules: &[AccessRule]) -> Rules {
        Rules(rules.iter().map(Rule::from_config).collect())
    }

    /// Whether some rule lets `principal` read `topic`.
    pub fn may_read(&self, principal: &Principal, topic: &str) -> bool {
        let levels: Vec<&str> = topic.split('/').collect();
        self.0.iter().any(|r| r.access.reads() && r.applies_to(principal) && r.matches(&levels, principal))
    }

    /// Whether some rule lets `principal` publish to `topic`.
    pub fn may_write(&self, principal: &Principal, topic: &str) -> bool {
        let levels: Vec<&str> = topic.split('/').collect();
        self.0.iter().any(|r| r.access.writes() && r.applies_to(principal) && r.matches(&levels, principal))
    }

    /// Whether some rule lets `principal` read everything `filter` matches.
    pub fn covers(&self, principal: &Principal, filter: &str) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        self.0.iter().any(|r| r.access.reads() && r.applies_to(principal) && r.covers(&levels, principal))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn rules(list: &[(&str, &str, Access)]) -> Rules {
        let config: Vec<AccessRule> = list
            .iter()
            .map(|(who, topic, access)| AccessRule { who: who.to_string(), topic: topic.to_string(), access: *access })
            .collect();
        Rules::from_config(&config)
    }

    fn alice() -> Principal<'static> {
        Principal { client_id: "phone-1", user: Some("alice"), roles: &[] }
    }

    #[test]
    fn placeholders_are_whole_levels() {
        let rules = rules(&[("authenticated", "devices/%u/%c/#", Access::ReadWrite)]);
        let p = alice();
        assert!(rules.may_write(&p, "devices/alice/phone-1/status"));
        assert!(rules.may_write(&p, "devices/alice/phone-1"));
        assert!(!rules.may_write(&p, "devices/bob/phone-1/status"));
        assert!(!rules.may_write(&p, "devices/alice/phone-2/status"));
        let anonymous = Principal { client_id: "phone-1", user: None, roles: &[] };
        assert!(!rules.may_write(&anonymous, "devices/alice/phone-1"));
    }

    #[test]
    fn filters_must_be_covered() {
        let rules = rules(&[("anyone", "news/+/headlines", Access::Read), ("anyone", "sport/#", Access::Read)]);
        let p = alice();
        assert!(rules.covers(&p, "news/kr/headlines"));
        assert!(rules.covers(&p, "news/+/headlines"));
        assert!(!rules.covers(&p, "news/#"));
        assert!(!rules.covers(&p, "news/+/+"));
        assert!(!rules.covers(&p, "news/kr"));
        assert!(rules.covers(&p, "sport/#"));
        assert!(rules.covers(&p, "sport"));
        assert!(rules.covers(&p, "sport/+/x"));
        assert!(!rules.covers(&p, "#"));
        assert!(!rules.covers(&p, "+/kr/headlines"));
        assert!(!rules.may_write(&p, "sport/x"));
    }

    #[test]
    fn a_user_named_like_a_wildcard_gets_no_more() {
        let rules = rules(&[("authenticated", "inbox/%u", Access::Read)]);
        let plus = Principal { client_id: "c", user: Some("+"), roles: &[] };
        assert!(!rules.covers(&plus, "inbox/+"));
        assert!(rules.covers(&plus, "inbox/+") == rules.covers(&alice(), "inbox/+"));
    }

    #[test]
    fn roles_and_users() {
        let rules = rules(&[("role:ops", "metrics/#", Access::Read), ("user:bob", "bob-only", Access::Write)]);
        let roles: [Arc<str>; 1] = [Arc::from("ops")];
        let ops = Principal { client_id: "c", user: Some("carol"), roles: &roles };
        assert!(rules.may_read(&ops, "metrics/cpu"));
        assert!(!rules.may_read(&alice(), "metrics/cpu"));
        let bob = Principal { client_id: "c", user: Some("bob"), roles: &[] };
        assert!(rules.may_write(&bob, "bob-only"));
        assert!(!rules.may_read(&bob, "bob-only"));
    }
}
