//! A room's history for the backend: every topic under `chat/{room}/`, or one of them.
//!
//! The backend exports chats as evidence and backfills its own views, so it reads the same
//! per-topic logs clients read through `$history/query`, in the same page shape
//! ([`crate::history::Page`]), without being a member. The topics of a room are found from
//! the topic heads (the `topics` column family), in name order; each gets one page of
//! messages after `after`. Reads run on the blocking pool, off the async workers.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, Path, Query};
use super::AdminState;
use crate::history::{self, Page};
use crate::rooms::RoomError;

/// Most topics in one answer; `next_topic_after` continues.
pub const TOPICS_PER_ANSWER: usize = 16;
/// Messages per topic page when `limit` is not given (`storage.history_max_page` caps it).
const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Only this topic (which must be under `chat/{room}/`).
    pub topic: Option<String>,
    /// Messages after this sequence number, in each topic.
    #[serde(default)]
    pub after: u64,
    /// Messages per topic.
    pub limit: Option<usize>,
    /// Topics after this name (from `next_topic_after`).
    pub topic_after: Option<String>,
}

/// `GET /v1/rooms/{room}/history`.
#[derive(Debug, Serialize)]
pub struct RoomHistory {
    pub room: String,
    /// One page per topic, in topic name order.
    pub pages: Vec<Page>,
    /// Pass as `topic_after` for the next topics; `null` when there are no more.
    pub next_topic_after: Option<String>,
}

/// `GET /v1/rooms/{room}/history?topic=&after=&limit=&topic_after=`.
pub async fn read(
    State(state): State<AdminState>,
    Path(room): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<RoomHistory>, ApiError> {
    let broker = state.broker()?;
    if broker.rooms.record(&room).is_none() {
        return Err(RoomError::NotFound(room).into());
    }
    let prefix = format!("chat/{room}/");
    if let Some(topic) = &query.topic {
        if !topic.starts_with(&prefix) || topic.len() == prefix.len() {
            return Err(ApiError::invalid("topic", format!("must be a topic under {prefix}, got {topic:?}")));
        }
    }
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(0) => return Err(ApiError::invalid("limit", "must be at least 1")),
        Some(limit) => limit,
    }
    .min(broker.store.history_max_page());
    let store = broker.store.clone();
    let answer = tokio::task::spawn_blocking(move || -> Result<RoomHistory, ApiError> {
        let (topics, next_topic_after) = match query.topic {
            Some(topic) => (vec![topic], None),
            None => {
                let found = store.topics_with_prefix(&prefix, query.topic_after.as_deref(), TOPICS_PER_ANSWER + 1)?;
                let mut topics: Vec<String> = found.into_iter().map(|(topic, _)| topic).collect();
                let more = topics.len() > TOPICS_PER_ANSWER;
                topics.truncate(TOPICS_PER_ANSWER);
                let next = more.then(|| topics.last().cloned()).flatten();
                (topics, next)
            }
        };
        let mut pages = Vec::with_capacity(topics.len());
        for topic in topics {
            let stored = store.read_after(&topic, query.after, limit)?;
            let asked = history::Query { topic, after: query.after, limit: Some(limit) };
            pages.push(history::page(&asked, limit, stored, |_| false));
        }
        Ok(RoomHistory { room, pages, next_topic_after })
    })
    .await
    .map_err(|e| ApiError::internal(format!("history read failed: {e}")))??;
    Ok(axum::Json(answer))
}
