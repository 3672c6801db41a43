//! The subscription trie: which sessions want a message published on a topic.
//!
//! Filters are stored level by level, so routing a message costs the depth of the topic times
//! the few branches (`exact`, `+`, `#`) it can follow, not the number of subscriptions. One
//! read-write lock guards the trie: routing takes the read side, so publishers never wait on
//! each other; shared-subscription round robin uses atomics to stay on the read side too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::codec::{QoS, SubscriptionOptions};
use crate::hashing::{HashMap, SharedRandomState};
use crate::small_map::SmallMap;

/// Sessions are keyed by client identifier.
pub type ClientKey = Arc<str>;

/// What one session asked for with one filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    pub options: SubscriptionOptions,
    pub identifier: Option<u32>,
}

/// One copy of a message to deliver to one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub client: ClientKey,
    /// The maximum QoS over the matching subscriptions (the message's QoS caps it later).
    pub qos: QoS,
    /// Keep the RETAIN flag as published (5.0 Retain As Published).
    pub retain_as_published: bool,
    /// Identifiers of every matching subscription that has one.
    pub subscription_ids: Vec<u32>,
}

#[derive(Default)]
struct SharedGroup {
    members: Vec<(ClientKey, Subscription)>,
    next: AtomicUsize,
}

/// One level of the trie.
///
/// Most nodes are leaves with a subscriber or two (a user's inbox, a loan room), and a node
/// lives in its parent's hash table, which keeps spare room for about as many nodes again.
/// So what few nodes have, children and shared groups, is boxed and made when first needed:
/// a leaf's node is its subscribers and two empty pointers.
#[derive(Default)]
struct Node {
    children: Option<Box<HashMap<Box<str>, Node>>>,
    subscribers: SmallMap<ClientKey, Subscription>,
    shared: Option<Box<HashMap<Box<str>, SharedGroup>>>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_none() && self.subscribers.is_empty() && self.shared.is_none()
    }

    fn child(&self, level: &str) -> Option<&Node> {
        self.children.as_ref()?.get(level)
    }

    fn shared_groups(&self) -> impl Iterator<Item = &SharedGroup> {
        self.shared.iter().flat_map(|shared| shared.values())
    }
}

/// The subscription trie shared by every connection.
#[derive(Default)]
pub struct Router {
    root: RwLock<Node>,
    count: AtomicUsize,
}

impl Router {
    pub fn new() -> Router {
        Router::default()
    }

    /// Number of stored subscriptions (shared memberships included).
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces a subscription; returns true when one with the same filter and group
    /// already existed for this client.
    pub fn subscribe(&self, client: &ClientKey, group: Option<&str>, filter: &str, sub: Subscription) -> bool {
        let mut root = self.root.write();
        let mut node = &mut *root;
        for level in filter.split('/') {
            node = node.children.get_or_insert_default().entry(level.into()).or_default();
        }
        let existed = match group {
            None => node.subscribers.insert(client.clone(), sub).is_some(),
            Some(group) => {
                let members = &mut node.shared.get_or_insert_default().entry(group.into()).or_default().members;
                match members.iter_mut().find(|(member, _)| member == client) {
                    Some(slot) => {
                        slot.1 = sub;
                        true
                    }
                    None => {
                        members.push((client.clone(), sub));
                        false
                    }
                }
            }
        };
        if !existed {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        existed
    }

    /// Removes a subscription; returns true when it existed.
    pub fn unsubscribe(&self, client: &str, group: Option<&str>, filter: &str) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        let removed = remove(&mut self.root.write(), &levels, client, group);
        if removed {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Every session that should receive a message published on `topic` by `publisher`.
    /// Non-shared subscriptions of one session fold into one route at their maximum QoS;
    /// each shared group adds one route to one member, preferring members `is_online` says
    /// are connected.
    pub fn route(&self, topic: &str, publisher: &str, is_online: impl Fn(&str) -> bool) -> Vec<Route> {
        self.route_with(topic, publisher, is_online, Some)
    }

    /// Like [`Router::route`], and maps each route with `resolve` while the subscriptions
    /// are still locked: a subscription removed concurrently either is seen together with
    /// what `resolve` finds for its client, or not at all.
    /// Every `is_online` call happens before the first `resolve` call.
    pub fn route_with<T>(
        &self,
        topic: &str,
        publisher: &str,
        is_online: impl Fn(&str) -> bool,
        resolve: impl FnMut(Route) -> Option<T>,
    ) -> Vec<T> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut direct: Vec<(&ClientKey, &Subscription)> = Vec::new();
        let mut groups: Vec<&SharedGroup> = Vec::new();
        let root = self.root.read();
        let skip_wildcards_at_root = topic.starts_with('$');
        collect(&root, &levels, skip_wildcards_at_root, &mut direct, &mut groups);

        let mut routes: Vec<Route> = Vec::with_capacity(direct.len() + groups.len());
        let mut index: HashMap<&str, usize> = HashMap::with_capacity_and_hasher(direct.len(), SharedRandomState);
        for (client, sub) in direct {
            if sub.options.no_local && &**client == publisher {
                continue;
            }
            match index.get(&**client) {
                Some(&at) => {
                    let route = &mut routes[at];
                    route.qos = route.qos.max(sub.options.qos);
                    route.retain_as_published |= sub.options.retain_as_published;
                    route.subscription_ids.extend(sub.identifier);
                }
                None => {
                    index.insert(client, routes.len());
                    routes.push(Route {
                        client: client.clone(),
                        qos: sub.options.qos,
                        retain_as_published: sub.options.retain_as_published,
                        subscription_ids: sub.identifier.into_iter().collect(),
                    });
                }
            }
        }
        for group in groups {
            if let Some((client, sub)) = pick_member(group, &is_online) {
                routes.push(Route {
                    client: client.clone(),
                    qos: sub.options.qos,
                    retain_as_published: sub.options.retain_as_published,
                    subscription_ids: sub.identifier.into_iter().collect(),
                });
            }
        }
        routes.into_iter().filter_map(resolve).collect()
    }
}

fn collect<'a>(
    node: &'a Node,
    levels: &[&str],
    skip_wildcards: bool,
    direct: &mut Vec<(&'a ClientKey, &'a Subscription)>,
    groups: &mut Vec<&'a SharedGroup>,
) {
    let mut take = |n: &'a Node| {
        direct.extend(n.subscribers.iter());
        groups.extend(n.shared_groups());
    };
    if !skip_wildcards {
        // `#` matches this level and everything below, including the parent level itself.
        if let Some(hash) = node.child("#") {
            take(hash);
        }
    }
    let Some((first, rest)) = levels.split_first() else {
        take(node);
        return;
    };
    if let Some(child) = node.child(first) {
        collect(child, rest, false, direct, groups);
    }
    if !skip_wildcards {
        if let Some(plus) = node.child("+") {
            collect(plus, rest, false, direct, groups);
        }
    }
}

fn pick_member<'a>(group: &'a SharedGroup, is_online: &impl Fn(&str) -> bool) -> Option<&'a (ClientKey, Subscription)> {
    let len = group.members.len();
    if len == 0 {
        return None;
    }
    let start = group.next.fetch_add(1, Ordering::Relaxed) % len;
    let online = (0..len).map(|i| &group.members[(start + i) % len]).find(|(client, _)| is_online(client));
    online.or(group.members.get(start))
}

fn remove(node: &mut Node, levels: &[&str], client: &str, group: Option<&str>) -> bool {
    let Some((first, rest)) = levels.split_first() else {
        return match group {
            None => node.subscribers.remove(client).is_some(),
            Some(group) => {
                let Some(groups) = node.shared.as_mut() else { return false };
                let Some(shared) = groups.get_mut(group) else { return false };
                let before = shared.members.len();
                shared.members.retain(|(member, _)| &**member != client);
                let removed = shared.members.len() != before;
                if shared.members.is_empty() {
                    groups.remove(group);
                    if groups.is_empty() {
                        node.shared = None;
                    }
                }
                removed
            }
        };
    };
    let Some(children) = node.children.as_mut() else { return false };
    let Some(child) = children.get_mut(*first) else { return false };
    let removed = remove(child, rest, client, group);
    if child.is_empty() {
        children.remove(*first);
        if children.is_empty() {
            node.children = None;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(qos: QoS) -> Subscription {
        Subscription { options: SubscriptionOptions { qos, ..Default::default() }, identifier: None }
    }

    fn key(s: &str) -> ClientKey {
        Arc::from(s)
    }

    fn clients(routes: &[Route]) -> Vec<String> {
        let mut names: Vec<String> = routes.iter().map(|r| r.client.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn routes_exact_and_wildcard_filters() {
        let router = Router::new();
        router.subscribe(&key("a"), None, "chat/1/msg", sub(QoS::AtMostOnce));
        router.subscribe(&key("b"), None, "chat/+/msg", sub(QoS::AtMostOnce));
        router.subscribe(&key("c"), None, "chat/#", sub(QoS::AtMostOnce));
        router.subscribe(&key("d"), None, "live/#", sub(QoS::AtMostOnce));
        assert_eq!(clients(&router.route("chat/1/msg", "x", |_| true)), ["a", "b", "c"]);
        assert_eq!(clients(&router.route("chat", "x", |_| true)), ["c"]);
        assert_eq!(clients(&router.route("chat/2/other", "x", |_| true)), ["c"]);
        assert!(router.route("other", "x", |_| true).is_empty());
    }

    #[test]
    fn overlapping_subscriptions_fold_to_max_qos_with_all_identifiers() {
        let router = Router::new();
        let a = key("a");
        let mut s1 = sub(QoS::AtMostOnce);
        s1.identifier = Some(7);
        let mut s2 = sub(QoS::ExactlyOnce);
        s2.identifier = Some(9);
        router.subscribe(&a, None, "t/#", s1);
        router.subscribe(&a, None, "t/+", s2);
        router.subscribe(&a, None, "t/x", sub(QoS::AtLeastOnce));
        let routes = router.route("t/x", "p", |_| true);
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].qos, QoS::ExactlyOnce);
        let mut ids = routes[0].subscription_ids.clone();
        ids.sort();
        assert_eq!(ids, [7, 9]);
    }

    #[test]
    fn no_local_skips_the_publisher() {
        let router = Router::new();
        let mut s = sub(QoS::AtMostOnce);
        s.options.no_local = true;
        router.subscribe(&key("me"), None, "t", s);
        assert!(router.route("t", "me", |_| true).is_empty());
        assert_eq!(router.route("t", "other", |_| true).len(), 1);
    }

    #[test]
    fn dollar_topics_skip_root_wildcards() {
        let router = Router::new();
        router.subscribe(&key("a"), None, "#", sub(QoS::AtMostOnce));
        router.subscribe(&key("b"), None, "+/x", sub(QoS::AtMostOnce));
        router.subscribe(&key("c"), None, "$SYS/#", sub(QoS::AtMostOnce));
        assert_eq!(clients(&router.route("$SYS/x", "p", |_| true)), ["c"]);
        assert_eq!(clients(&router.route("a/x", "p", |_| true)), ["a", "b"]);
    }

    #[test]
    fn shared_group_gives_each_message_to_one_member_in_turn() {
        let router = Router::new();
        for c in ["a", "b", "c"] {
            router.subscribe(&key(c), Some("g"), "jobs/#", sub(QoS::AtLeastOnce));
        }
        let mut seen = Vec::new();
        for _ in 0..6 {
            let routes = router.route("jobs/1", "p", |_| true);
            assert_eq!(routes.len(), 1);
            seen.push(routes[0].client.to_string());
        }
        seen.sort();
        assert_eq!(seen, ["a", "a", "b", "b", "c", "c"]);
    }

    #[test]
    fn shared_group_prefers_online_members() {
        let router = Router::new();
        router.subscribe(&key("off"), Some("g"), "t", sub(QoS::AtLeastOnce));
        router.subscribe(&key("on"), Some("g"), "t", sub(QoS::AtLeastOnce));
        for _ in 0..4 {
            assert_eq!(&*router.route("t", "p", |c| c == "on")[0].client, "on");
        }
    }

    #[test]
    fn unsubscribe_removes_and_prunes() {
        let router = Router::new();
        let a = key("a");
        assert!(!router.subscribe(&a, None, "x/y/z", sub(QoS::AtMostOnce)));
        assert!(router.subscribe(&a, None, "x/y/z", sub(QoS::AtLeastOnce)));
        router.subscribe(&a, Some("g"), "x/#", sub(QoS::AtMostOnce));
        assert_eq!(router.len(), 2);
        assert!(router.unsubscribe("a", None, "x/y/z"));
        assert!(!router.unsubscribe("a", None, "x/y/z"));
        assert!(router.unsubscribe("a", Some("g"), "x/#"));
        assert!(router.is_empty());
        assert!(router.root.read().is_empty());
    }

    #[test]
    fn a_leaf_is_its_subscribers_and_two_pointers() {
        // A node is stored in its parent's hash table, spare room included: its size counts
        // about twice for every topic with subscribers.
        assert_eq!(std::mem::size_of::<Node>(), std::mem::size_of::<SmallMap<ClientKey, Subscription>>() + 16);
        let router = Router::new();
        router.subscribe(&key("a"), None, "inbox/a", sub(QoS::AtLeastOnce));
        let root = router.root.read();
        let leaf = root.child("inbox").and_then(|inbox| inbox.child("a")).expect("the leaf");
        assert!(leaf.children.is_none() && leaf.shared.is_none());
        drop(root);
        router.subscribe(&key("b"), Some("g"), "inbox/a", sub(QoS::AtLeastOnce));
        assert!(router.unsubscribe("b", Some("g"), "inbox/a"));
        let root = router.root.read();
        assert!(root.child("inbox").and_then(|inbox| inbox.child("a")).is_some_and(|leaf| leaf.shared.is_none()));
    }

    #[test]
    fn hundred_thousand_subscriptions_route_without_scanning() {
        let router = Router::new();
        for i in 0..100_000 {
            router.subscribe(&key(&format!("c{i}")), None, &format!("chat/{i}/msg"), sub(QoS::AtLeastOnce));
        }
        let routes = router.route("chat/4242/msg", "p", |_| true);
        assert_eq!(clients(&routes), ["c4242"]);
    }
}
