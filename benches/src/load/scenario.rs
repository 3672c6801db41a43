//! The scenarios, named after what the apps do, as plans: which connections to open, what
//! each subscribes to and publishes, and who should receive whose messages.
//!
//! A plan is plain data, so the expected deliveries of every scenario are decided here, once,
//! and the accounting at the end compares against them rather than against what happened to
//! arrive.

use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::pacing::{spread_phase, Pacing};

/// What the load looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// N publisher/subscriber pairs, each pair on its own topic.
    P2p,
    /// One publisher, N subscribers on its topic: a live stream's donation feed.
    Fanout,
    /// N publishers, one subscriber to all their topics.
    Fanin,
    /// N publishers, one shared-subscription group of M members.
    FaninShared,
    /// N 1:1 rooms, both members publishing at a human rate, persistent sessions.
    Chat,
    /// N clients connected, each publishing within one window: an auction closing.
    Spike,
    /// N idle connections held open.
    Conn,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 7] = [
        ScenarioKind::P2p,
        ScenarioKind::Fanout,
        ScenarioKind::Fanin,
        ScenarioKind::FaninShared,
        ScenarioKind::Chat,
        ScenarioKind::Spike,
        ScenarioKind::Conn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::P2p => "p2p",
            ScenarioKind::Fanout => "fanout",
            ScenarioKind::Fanin => "fanin",
            ScenarioKind::FaninShared => "fanin-shared",
            ScenarioKind::Chat => "chat",
            ScenarioKind::Spike => "spike",
            ScenarioKind::Conn => "conn",
        }
    }
}

/// The knobs of a plan.
#[derive(Debug, Clone)]
pub struct ScenarioParams {
    pub kind: ScenarioKind,
    /// Pairs (p2p), subscribers (fanout), publishers (fanin), rooms (chat), clients (spike,
    /// conn).
    pub clients: usize,
    /// Members of the shared group (fanin-shared).
    pub shared_members: usize,
    /// Messages a second per publisher; 0: as fast as the in-flight window allows.
    pub rate: f64,
    /// Messages per publisher at most.
    pub count: u64,
    /// The window in which spike clients publish their first message.
    pub spike_window: Duration,
    /// Seeds the spike clients' moments and the chat members' phases.
    pub seed: u64,
    /// Distinguishes this run's client ids and topics from any other run's.
    pub run_id: String,
}

/// One connection of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSpec {
    pub client_id: String,
    /// Keep the session (chat: apps reconnect to their rooms).
    pub persistent: bool,
    pub subscriptions: Vec<String>,
    pub publish: Option<PublishSpec>,
}

/// What a connection publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishSpec {
    /// Index into the run's publishers; stamped into every payload.
    pub publisher: u32,
    pub topic: String,
    pub pacing: Pacing,
    pub max_messages: u64,
}

/// Connections whose receipts together should contain each message of `publishers` once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSpec {
    /// Indices into [`Plan::clients`].
    pub members: Vec<usize>,
    pub publishers: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: ScenarioKind,
    pub clients: Vec<ClientSpec>,
    pub sinks: Vec<SinkSpec>,
    /// Number of publishers; publisher ids are `0..publishers`.
    pub publishers: usize,
}

/// Most connections one plan opens.
pub const MAX_CONNECTIONS: usize = 200_000;

/// Builds the plan of `params.kind`.
pub fn plan(params: &ScenarioParams) -> Result<Plan, String> {
    let n = params.clients;
    if n == 0 {
        return Err("at least one client is needed".to_string());
    }
    let pacing = |k: usize, of: usize| -> Result<Pacing, String> {
        let unspread = Pacing::per_second(params.rate, Duration::ZERO)?;
        let phase = unspread
            .interval()
            .map_or(Duration::ZERO, |i| spread_phase(i, k, of));
        Pacing::per_second(params.rate, phase)
    };
    let prefix = format!("bench/{}", params.run_id);
    let id = |role: &str, k: usize| format!("tmqb-{}-{role}-{k}", params.run_id);
    let subscriber = |client_id: String, filters: Vec<String>| ClientSpec {
        client_id,
        persistent: false,
        subscriptions: filters,
        publish: None,
    };
    let publisher =
        |client_id: String, publisher: usize, topic: String, pacing: Pacing| ClientSpec {
            client_id,
            persistent: false,
            subscriptions: Vec::new(),
            publish: Some(PublishSpec {
                publisher: publisher as u32,
                topic,
                pacing,
                max_messages: params.count,
            }),
        };
    let mut clients = Vec::new();
    let mut sinks = Vec::new();
    let publishers = match params.kind {
        ScenarioKind::P2p => {
            for k in 0..n {
                let topic = format!("{prefix}/p2p/{k}");
                clients.push(subscriber(id("sub", k), vec![topic.clone()]));
                sinks.push(SinkSpec {
                    members: vec![clients.len() - 1],
                    publishers: vec![k as u32],
                });
            }
            for k in 0..n {
                clients.push(publisher(
                    id("pub", k),
                    k,
                    format!("{prefix}/p2p/{k}"),
                    pacing(k, n)?,
                ));
            }
            n
        }
        ScenarioKind::Fanout => {
            let topic = format!("{prefix}/fanout/live");
            for k in 0..n {
                clients.push(subscriber(id("sub", k), vec![topic.clone()]));
                sinks.push(SinkSpec {
                    members: vec![k],
                    publishers: vec![0],
                });
            }
            clients.push(publisher(id("pub", 0), 0, topic, pacing(0, 1)?));
            1
        }
        ScenarioKind::Fanin | ScenarioKind::FaninShared => {
            let filter = format!("{prefix}/fanin/+");
            let members = if params.kind == ScenarioKind::Fanin {
                clients.push(subscriber(id("sub", 0), vec![filter]));
                vec![0]
            } else {
                if params.shared_members == 0 {
                    return Err("a shared group needs at least one member".to_string());
                }
                let shared = format!("$share/{}/{filter}", params.run_id);
                for m in 0..params.shared_members {
                    clients.push(subscriber(id("member", m), vec![shared.clone()]));
                }
                (0..params.shared_members).collect()
            };
            sinks.push(SinkSpec {
                members,
                publishers: (0..n as u32).collect(),
            });
            for k in 0..n {
                clients.push(publisher(
                    id("pub", k),
                    k,
                    format!("{prefix}/fanin/{k}"),
                    pacing(k, n)?,
                ));
            }
            n
        }
        ScenarioKind::Chat => {
            // Member a of room r publishes on .../r/a and listens to the other member's topic.
            let mut rng = rand::rngs::StdRng::seed_from_u64(params.seed);
            let unspread = Pacing::per_second(params.rate, Duration::ZERO)?;
            for room in 0..n {
                for member in 0..2 {
                    let k = 2 * room + member;
                    let phase = unspread
                        .interval()
                        .map_or(Duration::ZERO, |i| i.mul_f64(rng.gen_range(0.0..1.0)));
                    clients.push(ClientSpec {
                        client_id: id("chat", k),
                        persistent: true,
                        subscriptions: vec![format!("{prefix}/chat/{room}/{}", 1 - member)],
                        publish: Some(PublishSpec {
                            publisher: k as u32,
                            topic: format!("{prefix}/chat/{room}/{member}"),
                            pacing: Pacing::per_second(params.rate, phase)?,
                            max_messages: params.count,
                        }),
                    });
                    let peer = 2 * room + (1 - member);
                    sinks.push(SinkSpec {
                        members: vec![k],
                        publishers: vec![peer as u32],
                    });
                }
            }
            2 * n
        }
        ScenarioKind::Spike => {
            // Everyone bids on one topic; the auction's backend listens.
            let topic = format!("{prefix}/spike/bids");
            clients.push(subscriber(id("backend", 0), vec![topic.clone()]));
            sinks.push(SinkSpec {
                members: vec![0],
                publishers: (0..n as u32).collect(),
            });
            let mut rng = rand::rngs::StdRng::seed_from_u64(params.seed);
            for k in 0..n {
                let moment = params.spike_window.mul_f64(rng.gen_range(0.0..1.0));
                clients.push(publisher(
                    id("bidder", k),
                    k,
                    topic.clone(),
                    Pacing::per_second(params.rate, moment)?,
                ));
            }
            n
        }
        ScenarioKind::Conn => {
            // Idle apps, each subscribed to its own notification topic.
            for k in 0..n {
                clients.push(subscriber(
                    id("idle", k),
                    vec![format!("{prefix}/conn/{k}")],
                ));
            }
            0
        }
    };
    if clients.len() > MAX_CONNECTIONS {
        return Err(format!(
            "{} connections exceed the limit of {MAX_CONNECTIONS}",
            clients.len()
        ));
    }
    Ok(Plan {
        kind: params.kind,
        clients,
        sinks,
        publishers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kind: ScenarioKind, clients: usize) -> ScenarioParams {
        ScenarioParams {
            kind,
            clients,
            shared_members: 2,
            rate: 10.0,
            count: 5,
            spike_window: Duration::from_secs(1),
            seed: 7,
            run_id: "r1".to_string(),
        }
    }

    fn publisher_topics(plan: &Plan) -> Vec<(u32, String)> {
        plan.clients
            .iter()
            .filter_map(|c| c.publish.as_ref().map(|p| (p.publisher, p.topic.clone())))
            .collect()
    }

    /// Every sink member subscribes to a filter that matches the topics of exactly the
    /// publishers the sink expects.
    fn assert_sinks_match_subscriptions(plan: &Plan) {
        let topics = publisher_topics(plan);
        for sink in &plan.sinks {
            for &member in &sink.members {
                let client = &plan.clients[member];
                let heard: Vec<u32> = topics
                    .iter()
                    .filter(|(_, topic)| {
                        client.subscriptions.iter().any(|f| {
                            // `$share/{group}/{filter}` matches like its filter.
                            let f = match f.strip_prefix("$share/") {
                                Some(rest) => rest.split_once('/').map_or("", |(_, filter)| filter),
                                None => f.as_str(),
                            };
                            tallymq::topic::matches(f, topic)
                        })
                    })
                    .map(|(p, _)| *p)
                    .collect();
                assert_eq!(heard, sink.publishers, "{client:?}");
            }
        }
    }

    #[test]
    fn every_scenario_plans_consistent_sinks() {
        for kind in ScenarioKind::ALL {
            let plan = plan(&params(kind, 4)).unwrap();
            assert_sinks_match_subscriptions(&plan);
            let ids: std::collections::HashSet<&str> =
                plan.clients.iter().map(|c| c.client_id.as_str()).collect();
            assert_eq!(
                ids.len(),
                plan.clients.len(),
                "{kind:?}: client ids are unique"
            );
            assert_eq!(publisher_topics(&plan).len(), plan.publishers, "{kind:?}");
        }
    }

    #[test]
    fn connection_counts_per_scenario() {
        let count = |kind| plan(&params(kind, 10)).unwrap().clients.len();
        assert_eq!(count(ScenarioKind::P2p), 20);
        assert_eq!(count(ScenarioKind::Fanout), 11);
        assert_eq!(count(ScenarioKind::Fanin), 11);
        assert_eq!(count(ScenarioKind::FaninShared), 12);
        assert_eq!(count(ScenarioKind::Chat), 20);
        assert_eq!(count(ScenarioKind::Spike), 11);
        assert_eq!(count(ScenarioKind::Conn), 10);
    }

    #[test]
    fn chat_members_hear_each_other_on_persistent_sessions() {
        let plan = plan(&params(ScenarioKind::Chat, 3)).unwrap();
        assert!(plan.clients.iter().all(|c| c.persistent));
        assert_eq!(
            plan.sinks[0],
            SinkSpec {
                members: vec![0],
                publishers: vec![1]
            }
        );
        assert_eq!(
            plan.sinks[1],
            SinkSpec {
                members: vec![1],
                publishers: vec![0]
            }
        );
    }

    #[test]
    fn spike_moments_fall_within_the_window_and_depend_on_the_seed() {
        let moments = |seed| {
            let mut p = params(ScenarioKind::Spike, 50);
            p.seed = seed;
            plan(&p)
                .unwrap()
                .clients
                .iter()
                .filter_map(|c| c.publish.as_ref().map(|p| p.pacing.phase()))
                .collect::<Vec<_>>()
        };
        let first = moments(1);
        assert_eq!(first.len(), 50);
        assert!(first.iter().all(|m| *m < Duration::from_secs(1)));
        assert_eq!(first, moments(1));
        assert_ne!(first, moments(2));
    }

    #[test]
    fn empty_plans_are_refused() {
        assert!(plan(&params(ScenarioKind::P2p, 0)).is_err());
        let mut p = params(ScenarioKind::FaninShared, 3);
        p.shared_members = 0;
        assert!(plan(&p).is_err());
    }
}
