//! Connected clients: list them, disconnect one.
//!
//! A disconnect uses the registry's kick, the same path a takeover uses: the client's
//! connection task ends the connection (MQTT 5.0 clients get DISCONNECT 0x98, Administrative
//! action) and detaches as after any server-side disconnect, so the will is published and a
//! persistent session stays for the client's return.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::error::{ApiError, Path, Query};
use super::{AdminState, PageQuery};
use crate::broker::ConnectedClient;
use crate::codec::{ProtocolVersion, ReasonCode};

/// One connected client, as answered.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    /// The authenticated user; `null` for anonymous clients.
    pub user: Option<String>,
    /// `IP:port` the connection comes from.
    pub peer: String,
    /// `"3.1.1"` or `"5.0"`.
    pub protocol: &'static str,
    pub connected_since_ms: u64,
    pub subscriptions: usize,
    pub queued_messages: usize,
    pub inflight_messages: usize,
}

impl ClientView {
    fn of(client: ConnectedClient) -> ClientView {
        ClientView {
            client_id: client.client_id.to_string(),
            user: client.user.as_deref().map(str::to_string),
            peer: client.peer.to_string(),
            protocol: match client.protocol {
                ProtocolVersion::V311 => "3.1.1",
                ProtocolVersion::V5 => "5.0",
            },
            connected_since_ms: client.connected_since_ms,
            subscriptions: client.subscriptions,
            queued_messages: client.queued_messages,
            inflight_messages: client.inflight_messages,
        }
    }
}

/// `GET /v1/clients`.
#[derive(Debug, Serialize)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// `POST /v1/clients/{client_id}/disconnect`.
#[derive(Debug, Serialize)]
pub struct Disconnected {
    pub client_id: String,
    /// The DISCONNECT reason code MQTT 5.0 clients receive: 152 (0x98, Administrative action).
    pub reason_code: u8,
}

/// `GET /v1/clients?after=&limit=`: connected clients in client id order.
pub async fn list(State(state): State<AdminState>, Query(page): Query<PageQuery>) -> Result<axum::Json<ClientList>, ApiError> {
    let broker = state.broker()?;
    let limit = page.limit()?;
    let (clients, more) = broker.connected_clients(page.after.as_deref(), limit);
    let next_after = more.then(|| clients.last().map(|c| c.client_id.to_string())).flatten();
    Ok(axum::Json(ClientList { clients: clients.into_iter().map(ClientView::of).collect(), next_after }))
}

/// `POST /v1/clients/{client_id}/disconnect`: 202 once the connection is told to leave.
pub async fn disconnect(
    State(state): State<AdminState>,
    Path(client_id): Path<String>,
) -> Result<(StatusCode, axum::Json<Disconnected>), ApiError> {
    let broker = state.broker()?;
    let reason = ReasonCode::ADMINISTRATIVE_ACTION;
    if !broker.disconnect(&client_id, reason) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "client_not_found", format!("no client {client_id:?} is connected")));
    }
    tracing::info!(client = %client_id, "client disconnected by the admin API");
    Ok((StatusCode::ACCEPTED, axum::Json(Disconnected { client_id, reason_code: reason.0 })))
}
