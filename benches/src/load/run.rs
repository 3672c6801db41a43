//! One run of a scenario against a broker: connect everyone, start the clock, publish, wait
//! for the deliveries, stop everyone, and account.
//!
//! Publishing starts only once every connection has its SUBACK, so no message can be
//! "lost" to a subscriber that was not there yet; and the run waits after the last publish
//! until every expected delivery arrived or `drain` ran out, so what is reported lost was
//! not merely late. The broker's CPU is read at the start and end of that window, its memory
//! before the first connection and once all are open.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::accounting::{tally, ReceiveLog, Sink};
use crate::latency::summarize;
use crate::load::client::{
    run_client, ClientOutcome, ClientSettings, Control, Event, RunClock, Shared,
};
use crate::load::result::{
    BrokerUsage, Connections, Counts, LoadgenUsage, RunResult, TimelinePoint, Timings,
};
use crate::load::scenario::{self, Plan, ScenarioKind, ScenarioParams};
use crate::pacing::connect_offset;
use crate::procfs::{Probe, Sample, Sampler};
use crate::stamp;

/// How often the run looks at its counters (progress, completion).
const TICK: Duration = Duration::from_millis(100);
/// How often the broker's /proc entry is sampled for the peak figures.
const SAMPLE_PERIOD: Duration = Duration::from_millis(250);
/// Between the last SUBACK and the first publish, so that every connection is waiting.
const START_LEAD: Duration = Duration::from_millis(50);
/// How long stopped connections may take to report.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub scenario: ScenarioParams,
    pub client: ClientSettings,
    pub address: SocketAddr,
    /// Publishing time (conn: how long the connections are held).
    pub duration: Duration,
    /// Connections opened per second; 0: as fast as they are accepted.
    pub connect_rate: f64,
    /// Longest wait for outstanding acknowledgements and deliveries after publishing ends.
    pub drain: Duration,
    /// Pause after the last connection before the memory reading (conn).
    pub settle: Duration,
    /// The broker process to sample.
    pub broker_pid: Option<u32>,
    /// Name of the broker in reports.
    pub label: String,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Publishing,
    Draining,
    Holding,
}

/// What the progress display shows.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub phase: Phase,
    pub connections: usize,
    pub connected: usize,
    pub failed: usize,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    /// Known once publishing ended.
    pub expected: Option<u64>,
    /// Since the phase began.
    pub elapsed: Duration,
    /// Of the phase, when it has one.
    pub planned: Option<Duration>,
}

/// Runs `settings.scenario` against the broker at `settings.address`.
pub async fn run(settings: &RunSettings, mut progress: impl FnMut(&Progress)) -> Result<RunResult> {
    let plan = scenario::plan(&settings.scenario).map_err(anyhow::Error::msg)?;
    let probe = match settings.broker_pid {
        Some(pid) => Some(Probe::new(pid).with_context(|| format!("--broker-pid {pid}"))?),
        None => None,
    };
    let own = Probe::new(std::process::id()).ok();
    let sampler = probe.clone().map(|p| Sampler::start(p, SAMPLE_PERIOD));
    let broker_before = sample(&probe);

    let shared = Arc::new(Shared::new(settings.client.clone(), plan.publishers));
    let (clock_tx, clock_rx) = watch::channel(None::<RunClock>);
    let (stop_tx, stop_rx) = watch::channel(false);
    // Unbounded but finite: each connection sends at most two events (ready, failed).
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut tasks = Tasks {
        handles: Vec::with_capacity(plan.clients.len()),
        stop: stop_tx,
    };

    // Connect everyone, paced.
    let connections = plan.clients.len();
    let connect_started = Instant::now();
    let mut ready = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut next_client = 0usize;
    let planned_connecting =
        (settings.connect_rate > 0.0).then(|| connect_offset(settings.connect_rate, connections));
    let mut last_report = Instant::now();
    while ready + failures.len() < connections {
        while next_client < connections
            && connect_started + connect_offset(settings.connect_rate, next_client)
                <= Instant::now()
        {
            let control = Control {
                clock: clock_rx.clone(),
                stop: stop_rx.clone(),
                events: events_tx.clone(),
            };
            let spec = plan.clients[next_client].clone();
            tasks.handles.push(tokio::spawn(run_client(
                next_client,
                spec,
                settings.address,
                shared.clone(),
                control,
            )));
            next_client += 1;
        }
        let wake = if next_client < connections {
            connect_started + connect_offset(settings.connect_rate, next_client)
        } else {
            Instant::now() + TICK
        };
        tokio::select! {
            event = events.recv() => match event {
                Some(Event::Ready { result: Ok(()), .. }) => ready += 1,
                Some(Event::Ready { result: Err(e), .. }) | Some(Event::Failed { error: e, .. }) => {
                    if plan.kind != ScenarioKind::Conn {
                        tasks.stop().await;
                        bail!("a connection failed while connecting: {e}");
                    }
                    failures.push(e);
                }
                None => bail!("every connection ended before the run started"),
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake.min(Instant::now() + TICK))) => {}
        }
        if last_report.elapsed() >= TICK {
            last_report = Instant::now();
            progress(&Progress {
                phase: Phase::Connecting,
                connections,
                connected: ready,
                failed: failures.len(),
                sent: 0,
                acked: 0,
                delivered: 0,
                expected: None,
                elapsed: connect_started.elapsed(),
                planned: planned_connecting,
            });
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    if ready == 0 {
        tasks.stop().await;
        bail!(
            "no connection succeeded: {}",
            failures.first().map_or("", String::as_str)
        );
    }
    if plan.kind == ScenarioKind::Conn {
        tokio::time::sleep(settings.settle).await;
    }
    let broker_connected = sample(&probe);

    // Publish (or hold).
    let start = Instant::now() + START_LEAD;
    let clock = RunClock {
        start,
        stop_publishing: start + settings.duration,
    };
    let _ = clock_tx.send(Some(clock));
    tokio::time::sleep_until(tokio::time::Instant::from_std(start)).await;
    let broker_start = sample(&probe);
    let own_start = sample(&own);
    let mut timeline = Timeline::default();
    let counters = &shared.counters;
    let phase = if plan.kind == ScenarioKind::Conn {
        Phase::Holding
    } else {
        Phase::Publishing
    };
    let drain_deadline = clock.stop_publishing + settings.drain;
    loop {
        if let Ok(event) = events.try_recv() {
            if let Event::Failed { error, .. } = event {
                tasks.stop().await;
                bail!("a connection failed during the run: {error}");
            }
            continue;
        }
        let now = Instant::now();
        timeline.observe(&shared, start, now);
        progress(&snapshot(
            phase,
            connections,
            ready,
            failures.len(),
            &shared,
            None,
            start,
            settings.duration,
        ));
        let publishers_done = counters.publishers_done.load(Ordering::Acquire) >= plan.publishers;
        let finished = match plan.kind {
            ScenarioKind::Conn => now >= clock.stop_publishing,
            _ => publishers_done || now >= drain_deadline,
        };
        if finished {
            break;
        }
        tokio::time::sleep(TICK).await;
    }
    let publishing_ended = Instant::now();
    // Wait for the deliveries still due; if publishers never got all their acknowledgements,
    // the drain time is already spent.
    let all_acknowledged = counters.publishers_done.load(Ordering::Acquire) >= plan.publishers;
    let drain_until = if all_acknowledged {
        publishing_ended + settings.drain
    } else {
        publishing_ended
    };
    let expected = expected_deliveries(&plan, &shared);
    let drain_started = Instant::now();
    while counters.fresh.load(Ordering::Relaxed) < expected && Instant::now() < drain_until {
        if let Ok(Event::Failed { error, .. }) = events.try_recv() {
            tasks.stop().await;
            bail!("a connection failed during the run: {error}");
        }
        timeline.observe(&shared, start, Instant::now());
        let mut p = snapshot(
            Phase::Draining,
            connections,
            ready,
            failures.len(),
            &shared,
            Some(expected),
            drain_started,
            settings.drain,
        );
        p.planned = Some(settings.drain);
        progress(&p);
        tokio::time::sleep(TICK / 4).await;
    }
    let end = Instant::now();
    timeline.observe(&shared, start, end);
    let broker_end = sample(&probe);
    let own_end = sample(&own);

    let outcomes = tasks.stop().await;
    let broker_samples = sampler.map(Sampler::finish).unwrap_or_default();
    let errors: Vec<String> = outcomes.iter().filter_map(|o| o.error.clone()).collect();
    if let Some(error) = errors.first() {
        bail!("{} connections failed, the first: {error}", errors.len());
    }

    // Account.
    let published: Vec<u64> = shared
        .published
        .iter()
        .map(|p| p.load(Ordering::Relaxed))
        .collect();
    let mut logs: Vec<Option<&ReceiveLog>> = vec![None; plan.clients.len()];
    for outcome in &outcomes {
        if let Some(slot) = logs.get_mut(outcome.index) {
            *slot = Some(&outcome.log);
        }
    }
    let empty = ReceiveLog::default();
    let sinks: Vec<Sink<'_>> = plan
        .sinks
        .iter()
        .map(|sink| Sink {
            members: sink
                .members
                .iter()
                .map(|&m| logs.get(m).copied().flatten().unwrap_or(&empty))
                .collect(),
            publishers: sink.publishers.clone(),
        })
        .collect();
    let tally = tally(&sinks, &published);

    let since_start = |nanos: u64| -> Option<f64> {
        (nanos > 0).then(|| {
            stamp::instant_of(nanos)
                .saturating_duration_since(start)
                .as_secs_f64()
        })
    };
    let last_ack = since_start(counters.last_ack_nanos.load(Ordering::Relaxed));
    let last_delivery = since_start(counters.last_delivery_nanos.load(Ordering::Relaxed));
    let acked = counters.acked.load(Ordering::Relaxed);
    let sent = counters.sent.load(Ordering::Relaxed);
    let rate = |count: u64, secs: Option<f64>| match secs {
        Some(secs) if secs > 0.0 => count as f64 / secs,
        _ => 0.0,
    };
    let publish_secs = last_ack
        .or_else(|| (sent > 0).then(|| publishing_ended.duration_since(start).as_secs_f64()));
    let delivery_latencies = shared.delivery_latencies.lock();
    let ack_latencies = shared.ack_latencies.lock();
    let window_secs = end.duration_since(start).as_secs_f64();
    let broker = match (broker_before, broker_connected, broker_start, broker_end) {
        (Some(before), Some(connected), Some(at_start), Some(at_end)) => {
            let cpu_secs = at_end.cpu_secs - at_start.cpu_secs;
            let peak = broker_samples
                .iter()
                .map(|s| s.sample.rss_kib)
                .chain([at_end.rss_kib, connected.rss_kib])
                .max()
                .unwrap_or(0);
            Some(BrokerUsage {
                pid: settings.broker_pid.unwrap_or(0),
                rss_before_kib: before.rss_kib,
                rss_connected_kib: connected.rss_kib,
                rss_end_kib: at_end.rss_kib,
                peak_rss_sampled_kib: peak,
                connect_cpu_secs: connected.cpu_secs - before.cpu_secs,
                cpu_secs,
                cpu_utilization: if window_secs > 0.0 {
                    cpu_secs / window_secs
                } else {
                    0.0
                },
                cpu_us_per_delivery: (tally.delivered > 0)
                    .then(|| cpu_secs * 1e6 / tally.delivered as f64),
                kib_per_connection: (connected.rss_kib as f64 - before.rss_kib as f64)
                    / ready as f64,
                samples: broker_samples,
            })
        }
        _ => None,
    };
    let loadgen = match (own_start, own_end) {
        (Some(a), Some(b)) => Some(LoadgenUsage {
            cpu_secs: b.cpu_secs - a.cpu_secs,
            cpu_utilization: if window_secs > 0.0 {
                (b.cpu_secs - a.cpu_secs) / window_secs
            } else {
                0.0
            },
        }),
        _ => None,
    };
    let unacked: u64 = outcomes.iter().map(|o| o.unacked).sum();
    Ok(RunResult {
        scenario: plan.kind,
        label: settings.label.clone(),
        broker: settings.address.to_string(),
        mqtt: match settings.client.connect.version {
            tallymq::codec::ProtocolVersion::V311 => "3.1.1".to_string(),
            tallymq::codec::ProtocolVersion::V5 => "5.0".to_string(),
        },
        qos: settings.client.qos as u8,
        payload_bytes: settings.client.payload_bytes.max(stamp::STAMP_LEN),
        clients: settings.scenario.clients,
        rate_per_publisher: settings.scenario.rate,
        inflight: settings.client.inflight,
        duration_secs: settings.duration.as_secs_f64(),
        connections: Connections {
            planned: connections,
            connected: ready,
            failed: failures.len(),
            first_failure: failures.first().cloned(),
            connect_secs,
        },
        counts: Counts {
            publishers: plan.publishers,
            sent,
            acked,
            refused: counters.refused.load(Ordering::Relaxed),
            unacked,
            tally,
        },
        timings: Timings {
            publish_rate: rate(acked, publish_secs),
            delivery_rate: rate(tally.delivered, last_delivery),
            last_ack_secs: last_ack,
            last_delivery_secs: last_delivery,
            window_secs,
        },
        latency: summarize(delivery_latencies.total()),
        ack_latency: summarize(ack_latencies.total()),
        timeline: timeline.finish(delivery_latencies.per_second()),
        broker_usage: broker,
        loadgen_usage: loadgen,
    })
}

/// Deliveries the plan calls for, given what each publisher sent so far.
fn expected_deliveries(plan: &Plan, shared: &Shared) -> u64 {
    plan.sinks
        .iter()
        .flat_map(|sink| sink.publishers.iter())
        .map(|&p| {
            shared
                .published
                .get(p as usize)
                .map_or(0, |c| c.load(Ordering::Relaxed))
        })
        .sum()
}

#[allow(clippy::too_many_arguments)]
fn snapshot(
    phase: Phase,
    connections: usize,
    connected: usize,
    failed: usize,
    shared: &Shared,
    expected: Option<u64>,
    since: Instant,
    planned: Duration,
) -> Progress {
    let counters = &shared.counters;
    Progress {
        phase,
        connections,
        connected,
        failed,
        sent: counters.sent.load(Ordering::Relaxed),
        acked: counters.acked.load(Ordering::Relaxed),
        delivered: counters.fresh.load(Ordering::Relaxed),
        expected,
        elapsed: Instant::now().saturating_duration_since(since),
        planned: Some(planned),
    }
}

fn sample(probe: &Option<Probe>) -> Option<Sample> {
    probe.as_ref().and_then(|p| p.sample().ok())
}

/// The spawned connections and the signal that stops them.
struct Tasks {
    handles: Vec<JoinHandle<ClientOutcome>>,
    stop: watch::Sender<bool>,
}

impl Tasks {
    /// Tells every connection to leave and collects what they saw; a connection that does
    /// not end within [`STOP_TIMEOUT`] is aborted and reported as failed.
    async fn stop(&mut self) -> Vec<ClientOutcome> {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        let mut outcomes = Vec::with_capacity(self.handles.len());
        for (index, mut handle) in self.handles.drain(..).enumerate() {
            match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(outcome)) => outcomes.push(outcome),
                Ok(Err(e)) => outcomes.push(failed_outcome(
                    index,
                    format!("connection task failed: {e}"),
                )),
                Err(_) => {
                    handle.abort();
                    outcomes.push(failed_outcome(
                        index,
                        format!("did not stop within {STOP_TIMEOUT:?}"),
                    ));
                }
            }
        }
        outcomes
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for handle in &self.handles {
            handle.abort();
        }
    }
}

fn failed_outcome(index: usize, error: String) -> ClientOutcome {
    ClientOutcome {
        index,
        log: ReceiveLog::default(),
        unacked: 0,
        error: Some(error),
    }
}

/// Sent and delivered counts at each whole second of the run.
#[derive(Default)]
struct Timeline {
    /// (second, sent, delivered) at the end of each second.
    marks: Vec<(u64, u64, u64)>,
}

impl Timeline {
    fn observe(&mut self, shared: &Shared, start: Instant, now: Instant) {
        let second = now.saturating_duration_since(start).as_secs();
        let next = self.marks.last().map_or(1, |m| m.0 + 1);
        if second >= next && self.marks.len() < crate::load::collector::MAX_SECONDS {
            let counters = &shared.counters;
            self.marks.push((
                second,
                counters.sent.load(Ordering::Relaxed),
                counters.fresh.load(Ordering::Relaxed),
            ));
        }
    }

    fn finish(self, latencies: &[hdrhistogram::Histogram<u64>]) -> Vec<TimelinePoint> {
        let mut points = Vec::new();
        let (mut sent_before, mut delivered_before, mut second_before) = (0u64, 0u64, 0u64);
        for (second, sent, delivered) in self.marks {
            let span = (second - second_before).max(1);
            for s in second_before..second {
                let latency = latencies
                    .get(s as usize)
                    .map(summarize)
                    .unwrap_or(crate::latency::LatencySummary::EMPTY);
                points.push(TimelinePoint {
                    second: s,
                    sent_per_sec: (sent - sent_before) as f64 / span as f64,
                    delivered_per_sec: (delivered - delivered_before) as f64 / span as f64,
                    latency,
                });
            }
            (sent_before, delivered_before, second_before) = (sent, delivered, second);
        }
        points
    }
}
