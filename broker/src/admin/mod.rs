//! The HTTP admin API: how the application's backend manages rooms, members and loans, sees
//! who is connected, disconnects a client, and reads a room's history.
//!
//! Why HTTP on its own listener rather than MQTT topics: the backend is a web service that
//! speaks JSON over HTTP already, these calls are request/response with status codes, and a
//! separate address keeps the management surface off the internet-facing MQTT ports (it
//! binds loopback by default and is off unless `admin.enabled`).
//!
//! The routes are declared once, in [`table`], which builds the router and the list of
//! routes ([`routes`]) together; a test checks that list against the OpenAPI document
//! (`openapi.json`, served without authentication at `/openapi.json`), so neither can
//! drift. Every other route sits behind the bearer token check ([`auth`]).
//!
//! Everything is bounded: request bodies (`admin.max_body_bytes`), open connections and their
//! idle time ([`listener`]), the time one request may take ([`REQUEST_TIMEOUT`]), and pages
//! ([`MAX_PAGE`], [`history::TOPICS_PER_ANSWER`], `storage.history_max_page`). The handlers
//! hold the broker weakly, so an open HTTP connection never keeps a shut-down broker (and
//! its data directory) alive.

pub mod auth;
mod clients;
mod error;
pub mod history;
pub mod listener;
mod room_json;
mod rooms;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use auth::{Token, MIN_TOKEN_LEN};
pub use error::ApiError;

use crate::broker::Broker;

/// The OpenAPI 3.1 document of the API, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");
/// Items per page of the list endpoints when `limit` is not given.
pub const DEFAULT_PAGE: usize = 100;
/// Largest `limit` of the list endpoints.
pub const MAX_PAGE: usize = 1000;
/// Longest one request may take before it is answered 503 `timeout`. A room change that
/// was already submitted still completes (it runs in its own task).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the admin API could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "the admin API is enabled (admin.enabled) but has no token: set admin.token_file, or set the environment variable named by admin.token_env ({env:?})"
    )]
    NoToken { env: String },
    #[error("cannot read the admin API token file {} (admin.token_file): {source}", path.display())]
    TokenFile { path: PathBuf, source: std::io::Error },
    #[error("the admin API token from {source_name} is {len} characters long; it must be at least {min}")]
    ShortToken { source_name: String, len: usize, min: usize },
    #[error("cannot listen for the admin API on {address}: {source}")]
    Bind { address: SocketAddr, source: std::io::Error },
}

/// What every handler gets.
#[derive(Clone)]
pub struct AdminState {
    broker: Weak<Broker>,
    token: Arc<Token>,
}

impl AdminState {
    /// The broker, unless it has shut down.
    fn broker(&self) -> Result<Arc<Broker>, ApiError> {
        self.broker.upgrade().ok_or_else(ApiError::shutting_down)
    }
}

/// `?after=&limit=` of the list endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Start after this id (the previous page's `next_after`).
    pub after: Option<String>,
    pub limit: Option<usize>,
}

impl PageQuery {
    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
            Some(limit) => Err(ApiError::invalid("limit", format!("must be 1 to {MAX_PAGE}, got {limit}"))),
        }
    }
}

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The path template, `{name}` for a parameter (the OpenAPI syntax too).
    pub path: &'static str,
    /// Whether the bearer token is required.
    pub authenticated: bool,
}

#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }
}

/// Routes being declared: the handlers by path, and the list.
#[derive(Default)]
struct Table {
    paths: BTreeMap<&'static str, (bool, MethodRouter<AdminState>)>,
    routes: Vec<Route>,
}

impl Table {
    fn add<H, T>(&mut self, verb: Verb, path: &'static str, authenticated: bool, handler: H)
    where
        H: Handler<T, AdminState>,
        T: 'static,
    {
        let (_, methods) = self.paths.remove(path).unwrap_or((authenticated, MethodRouter::new()));
        self.paths.insert(path, (authenticated, methods.on(verb.filter(), handler)));
        self.routes.push(Route { method: verb.name(), path, authenticated });
    }

    /// The routes that need the token, and those that do not.
    fn routers(self) -> (Router<AdminState>, Router<AdminState>) {
        let (mut private, mut public) = (Router::new(), Router::new());
        for (path, (authenticated, methods)) in self.paths {
            if authenticated {
                private = private.route(path, methods);
            } else {
                public = public.route(path, methods);
            }
        }
        (private, public)
    }
}

/// Every route, declared once.
fn table() -> Table {
    use Verb::{Delete, Get, Post, Put};
    let mut table = Table::default();
    table.add(Get, "/openapi.json", false, openapi);
    table.add(Post, "/v1/rooms", true, rooms::create);
    table.add(Get, "/v1/rooms", true, rooms::list);
    table.add(Get, "/v1/rooms/{room}", true, rooms::get);
    table.add(Put, "/v1/rooms/{room}/members/{user}", true, rooms::put_member);
    table.add(Delete, "/v1/rooms/{room}/members/{user}", true, rooms::remove_member);
    table.add(Put, "/v1/rooms/{room}/loan", true, rooms::put_loan);
    table.add(Post, "/v1/rooms/{room}/close", true, rooms::close);
    table.add(Get, "/v1/rooms/{room}/history", true, history::read);
    table.add(Get, "/v1/clients", true, clients::list);
    table.add(Post, "/v1/clients/{client_id}/disconnect", true, clients::disconnect);
    table
}

/// Every route of the API, as the router serves them.
pub fn routes() -> Vec<Route> {
    table().routes
}

/// The API's router for `broker`, checking `token`; request bodies up to `max_body` bytes.
pub fn router(broker: &Arc<Broker>, token: Token, max_body: usize) -> Router {
    let state = AdminState { broker: Arc::downgrade(broker), token: Arc::new(token) };
    let (private, public) = table().routers();
    private
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_token))
        .merge(public)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(deadline))
        .with_state(state)
}

/// The admin API's listener, bound, with its token read: ready to serve.
pub struct AdminListener {
    listener: TcpListener,
    token: Token,
    address: SocketAddr,
}

impl AdminListener {
    /// Reads the token and binds `admin.address`; `None` when the API is disabled. Run it
    /// before anything else starts, so that a missing token stops the broker at once.
    pub async fn bind(config: &tallymq_config::AdminConfig) -> Result<Option<AdminListener>, AdminError> {
        if !config.enabled {
            return Ok(None);
        }
        let token = Token::load(config)?;
        let address = config.address;
        let listener = TcpListener::bind(address).await.map_err(|source| AdminError::Bind { address, source })?;
        let address = listener.local_addr().map_err(|source| AdminError::Bind { address, source })?;
        Ok(Some(AdminListener { listener, token, address }))
    }

    /// The bound address (the real port when the configured one is 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }
}

/// Serves the admin API until `shutdown` turns true.
pub async fn serve(broker: Arc<Broker>, admin: AdminListener, mut shutdown: watch::Receiver<bool>) {
    let max_body = broker.config.admin.max_body_bytes as usize;
    let app = router(&broker, admin.token, max_body);
    drop(broker);
    tracing::info!(address = %admin.address, "admin API listening");
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    if let Err(error) = axum::serve(listener::LimitedListener::new(admin.listener), app).with_graceful_shutdown(stop).await {
        tracing::error!(%error, "admin API stopped");
    }
}

/// `GET /openapi.json`.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method; see /openapi.json")
}

/// Answers 503 `timeout` to a request that takes longer than [`REQUEST_TIMEOUT`].
async fn deadline(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the request took too long; a room change may still complete")
            .into_response(),
    }
}
