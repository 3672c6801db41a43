//! Room handlers: create, read, list, members, loan, close.
//!
//! Each change goes through [`crate::rooms::Rooms`], which makes it durable before it
//! answers, so a 2xx here means the change survives a crash and access control applies it
//! from the next check on.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;

use super::error::{ApiError, Json, Path, Query};
use super::room_json::{self, LoanJson, MemberJson, NewRoom, RoomView};
use super::{AdminState, PageQuery};
use crate::message::now_ms;

/// `GET /v1/rooms`.
#[derive(Debug, Serialize)]
pub struct RoomList {
    pub rooms: Vec<RoomView>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// `POST /v1/rooms`: 201 with the room.
pub async fn create(State(state): State<AdminState>, Json(request): Json<NewRoom>) -> Result<impl IntoResponse, ApiError> {
    let broker = state.broker()?;
    let record = room_json::new_room(request, now_ms())?;
    let room = broker.rooms.create(&broker.store, record).await?;
    tracing::info!(room = %room.id, members = room.members.len(), "room created");
    let location = format!("/v1/rooms/{}", room.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(RoomView::of(&room))))
}

/// `GET /v1/rooms/{room}`.
pub async fn get(State(state): State<AdminState>, Path(room): Path<String>) -> Result<axum::Json<RoomView>, ApiError> {
    let broker = state.broker()?;
    let record = broker.rooms.record(&room).ok_or(crate::rooms::RoomError::NotFound(room))?;
    Ok(axum::Json(RoomView::of(&record)))
}

/// `GET /v1/rooms?after=&limit=`: rooms in id order.
pub async fn list(State(state): State<AdminState>, Query(page): Query<PageQuery>) -> Result<axum::Json<RoomList>, ApiError> {
    let broker = state.broker()?;
    let limit = page.limit()?;
    let (rooms, more) = broker.rooms.page(page.after.as_deref(), limit);
    let next_after = more.then(|| rooms.last().map(|r| r.id.clone())).flatten();
    Ok(axum::Json(RoomList { rooms: rooms.iter().map(|r| RoomView::of(r)).collect(), next_after }))
}

/// `PUT /v1/rooms/{room}/members/{user}`: adds a member or changes a member's role.
pub async fn put_member(
    State(state): State<AdminState>,
    Path((room, user)): Path<(String, String)>,
    Json(body): Json<MemberJson>,
) -> Result<axum::Json<RoomView>, ApiError> {
    let broker = state.broker()?;
    room_json::user("user", &user)?;
    let role = room_json::role("role", &body.role)?;
    let record = broker.rooms.set_member(&broker.store, &room, user.clone(), role).await?;
    tracing::info!(%room, %user, ?role, "room member set");
    Ok(axum::Json(RoomView::of(&record)))
}

/// `DELETE /v1/rooms/{room}/members/{user}`.
pub async fn remove_member(
    State(state): State<AdminState>,
    Path((room, user)): Path<(String, String)>,
) -> Result<axum::Json<RoomView>, ApiError> {
    let broker = state.broker()?;
    let record = broker.rooms.remove_member(&broker.store, &room, user.clone()).await?;
    tracing::info!(%room, %user, "room member removed");
    Ok(axum::Json(RoomView::of(&record)))
}

/// `PUT /v1/rooms/{room}/loan`: sets or replaces the loan metadata.
pub async fn put_loan(
    State(state): State<AdminState>,
    Path(room): Path<String>,
    Json(body): Json<LoanJson>,
) -> Result<axum::Json<RoomView>, ApiError> {
    let broker = state.broker()?;
    let loan = room_json::loan_record("", body)?;
    let record = broker.rooms.set_loan(&broker.store, &room, loan).await?;
    tracing::info!(%room, "room loan set");
    Ok(axum::Json(RoomView::of(&record)))
}

/// `POST /v1/rooms/{room}/close`: closes the room for good (idempotent).
pub async fn close(State(state): State<AdminState>, Path(room): Path<String>) -> Result<axum::Json<RoomView>, ApiError> {
    let broker = state.broker()?;
    let record = broker.rooms.close(&broker.store, &room).await?;
    tracing::info!(%room, "room closed");
    Ok(axum::Json(RoomView::of(&record)))
}
