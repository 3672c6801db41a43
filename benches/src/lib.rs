//! Load generators and benchmarks for tallymq.
//!
//! - [`durable`]: the durable-publish matrix (durability x publisher count), run by the
//!   `durable-publish` binary.
//! - [`publisher`]: a QoS 1 publisher over raw TCP with a window of unacknowledged publishes.
//! - [`target`]: the broker under test, in this process or external.
//! - [`disk`]: the data disk's fdatasync latency, to read the `fsync` figures against.
//! - [`latency`]: HDR histograms of ack latency and their summary.
//! - [`report`]: result cells, the ratio against the `none` peer, the table and JSON.
//! - [`load`]: the `tallymq-bench` load generator (scenarios, runs, comparison table), on
//!   [`wire`] (a raw MQTT client on the broker's codec), [`stamp`] (who sent a payload, when),
//!   [`accounting`] (loss and duplicates), [`pacing`] (publish schedules) and [`procfs`]
//!   (the broker's CPU and memory).

pub mod accounting;
pub mod disk;
pub mod durable;
pub mod latency;
pub mod load;
pub mod pacing;
pub mod procfs;
pub mod publisher;
pub mod report;
pub mod stamp;
pub mod target;
pub mod wire;
