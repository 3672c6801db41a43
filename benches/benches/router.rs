//! Topic matching with 100,000 subscriptions in the router's trie: the lookup every publish
//! makes before fan-out, for an exact topic, a topic matched by wildcard filters, and one
//! nobody subscribed to.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tallymq::codec::{QoS, SubscriptionOptions};
use tallymq::router::{ClientKey, Router, Subscription};

/// Subscriptions in the trie.
const SUBSCRIPTIONS: usize = 100_000;

/// 100k subscriptions shaped like the apps': 1:1 loan chats (two members per room, each on
/// the other's topic), live streams' donation feeds (many viewers per stream) and a few
/// wildcard listeners (moderation backends).
fn populated() -> Router {
    let router = Router::new();
    let sub = Subscription {
        options: SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            ..Default::default()
        },
        identifier: None,
    };
    let mut count = 0;
    let mut room = 0;
    // 80k: chat rooms, two members each.
    while count < 80_000 {
        for member in 0..2 {
            let client: ClientKey = Arc::from(format!("app-{room}-{member}"));
            router.subscribe(&client, None, &format!("chat/{room}/{}", 1 - member), sub);
            count += 1;
        }
        room += 1;
    }
    // 19,900: viewers of 100 streams.
    for viewer in 0..19_900 {
        let client: ClientKey = Arc::from(format!("viewer-{viewer}"));
        router.subscribe(
            &client,
            None,
            &format!("live/{}/donations", viewer % 100),
            sub,
        );
        count += 1;
    }
    // 100 wildcard listeners.
    for backend in 0..(SUBSCRIPTIONS - count) {
        let client: ClientKey = Arc::from(format!("backend-{backend}"));
        let filter = if backend % 2 == 0 {
            "chat/+/0".to_string()
        } else {
            format!("live/{backend}/#")
        };
        router.subscribe(&client, None, &filter, sub);
    }
    assert_eq!(router.len(), SUBSCRIPTIONS);
    router
}

fn route(c: &mut Criterion) {
    let router = populated();
    let online = |_: &str| true;
    let mut group = c.benchmark_group("router/100k");
    group.bench_function("chat topic (1 subscriber + wildcards)", |b| {
        b.iter(|| black_box(router.route(black_box("chat/31337/0"), "app-31337-1", online)))
    });
    group.bench_function("live feed (199 viewers)", |b| {
        b.iter(|| black_box(router.route(black_box("live/42/donations"), "streamer", online)))
    });
    group.bench_function("no subscriber", |b| {
        b.iter(|| black_box(router.route(black_box("nobody/listens/here"), "x", online)))
    });
    group.finish();
}

criterion_group!(benches, route);
criterion_main!(benches);
