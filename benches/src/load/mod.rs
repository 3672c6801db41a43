//! The load generator behind `tallymq-bench`: scenarios named after what the apps do, run
//! against any MQTT broker, with exact accounting of every message.
//!
//! - [`scenario`]: the plans: connections, subscriptions, publishers, expected deliveries.
//! - [`client`]: one connection's task, publishing and receiving.
//! - [`run`]: one run: connect, publish, drain, account, sample the broker.
//! - [`collector`]: end-to-end latencies in total and second by second.
//! - [`result`]: what a run measured, for `--json` and the summary table.
//! - [`compare`]: the side-by-side table with ratios against a reference broker.
//! - [`plot`]: latency percentiles over time as SVG.

pub mod client;
pub mod collector;
pub mod compare;
pub mod plot;
pub mod result;
pub mod run;
pub mod scenario;
