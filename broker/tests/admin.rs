//! The HTTP admin API against a real broker: real HTTP over TCP with reqwest, rooms stored
//! and restored, MQTT clients listed and disconnected, room history after real publishes,
//! and the OpenAPI document checked against the router and by a validator.

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;

use common::{start_with, within, Raw, TestBroker, V4, V5};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tallymq::codec::{ProtocolVersion, QoS};
use tallymq::rooms::Role;
use tallymq::server::Server;
use tallymq_config::Config;
use tokio::process::Command;

const TOKEN: &str = "admin-token-for-tests-0123456789";

/// A broker with the admin API on an ephemeral port, and an HTTP client for it.
struct Admin {
    broker: TestBroker,
    http: reqwest::Client,
    /// Holds the token file, read again at a restart.
    token_dir: tempfile::TempDir,
}

/// An answer: status and JSON body (`Null` when the body is not JSON).
struct Answer {
    status: StatusCode,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_else(|| panic!("no error code in {}", self.body))
    }

    /// Asserts the status and error code, and returns the message.
    fn error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        self.body["message"].as_str().expect("an error message").to_string()
    }

    fn ok(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }
}

async fn start_admin(adjust: impl FnOnce(&mut Config)) -> Admin {
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("admin-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let broker = start_with(|config| {
        config.admin.enabled = true;
        config.admin.address = "127.0.0.1:0".parse().unwrap();
        config.admin.token_file = token_file;
        adjust(config);
    })
    .await;
    Admin { broker, http: reqwest::Client::new(), token_dir }
}

impl Admin {
    fn url(&self, path: &str) -> String {
        let address = self.broker.server.admin_address.expect("the admin API listens");
        format!("http://{address}{path}")
    }

    /// A call with the right token.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call_as(method, path, body, Some(&format!("Bearer {TOKEN}"))).await
    }

    async fn call_as(&self, method: Method, path: &str, body: Option<Value>, authorization: Option<&str>) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = within(&format!("an answer to {path}"), request.send()).await.expect("HTTP request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("HTTP body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, body, headers }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    async fn restart(self) -> Admin {
        let Admin { broker, http, token_dir } = self;
        Admin { broker: broker.restart().await, http, token_dir }
    }

    fn rooms(&self) -> &tallymq::rooms::Rooms {
        &self.broker.server.broker.rooms
    }
}

fn loan_room(id: &str) -> Value {
    json!({
        "id": id,
        "members": {"lee": "lender", "kim": "borrower"},
        "loan": {
            "due_date": "2026-03-31",
            "state": "active",
            "annual_interest_rate": "12.5",
            "do_not_contact": [{"days": ["sat", "sun"], "start": "21:00", "end": "02:00"}],
            "principal": {"amount": "1500000", "currency": "KRW"}
        }
    })
}

/// A path of `route` with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{room}", "r1").replace("{user}", "kim").replace("{client_id}", "c1")
}

/// A body that would be accepted, so that only the token decides.
fn valid_body(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("POST", "/v1/rooms") => Some(loan_room("r1")),
        ("PUT", p) if p.ends_with("/members/{user}") => Some(json!({"role": "guarantor"})),
        ("PUT", p) if p.ends_with("/loan") => Some(loan_room("x")["loan"].clone()),
        _ => None,
    }
}

#[tokio::test]
async fn every_route_refuses_a_missing_or_wrong_token() {
    let admin = start_admin(|_| {}).await;
    admin.call(Method::POST, "/v1/rooms", Some(json!({"id": "r1", "members": {"kim": "borrower"}}))).await.ok(StatusCode::CREATED);
    let routes = tallymq::admin::routes();
    assert!(routes.iter().filter(|r| r.authenticated).count() >= 10, "{routes:?}");
    let wrong = [
        None,
        Some("Bearer not-the-admin-token-at-all".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_string()),
        Some("Bearer".to_string()),
    ];
    for route in routes.iter().filter(|r| r.authenticated) {
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let path = concrete(route.path);
        for authorization in &wrong {
            let answer = admin.call_as(method.clone(), &path, valid_body(route.method, route.path), authorization.as_deref()).await;
            answer.error(StatusCode::UNAUTHORIZED, "unauthorized");
            assert_eq!(answer.headers.get("www-authenticate").map(|v| v.to_str().unwrap()), Some("Bearer"), "{route:?}");
        }
    }
    // Nothing changed: the room still has its one member, and no other room appeared.
    let rooms = admin.get("/v1/rooms").await.ok(StatusCode::OK);
    assert_eq!(rooms["rooms"].as_array().unwrap().len(), 1, "{rooms}");
    assert_eq!(rooms["rooms"][0]["members"], json!({"kim": "borrower"}));
    // The document is public; the right token passes.
    admin.call_as(Method::GET, "/openapi.json", None, None).await.ok(StatusCode::OK);
    admin.get("/v1/clients").await.ok(StatusCode::OK);
}

#[tokio::test]
async fn rooms_are_created_read_listed_changed_and_closed() {
    let admin = start_admin(|_| {}).await;
    let created = admin.call(Method::POST, "/v1/rooms", Some(loan_room("loan-42"))).await;
    assert_eq!(created.headers.get("location").unwrap(), "/v1/rooms/loan-42");
    let room = created.ok(StatusCode::CREATED);
    assert_eq!(room["id"], "loan-42");
    assert_eq!(room["state"], "open");
    assert_eq!(room["members"], json!({"kim": "borrower", "lee": "lender"}));
    assert!(room["created_at_ms"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(room["closed_at_ms"], Value::Null);
    assert_eq!(
        room["loan"],
        json!({
            "due_date": "2026-03-31", "state": "active", "annual_interest_rate": "12.5",
            "do_not_contact": [{"days": ["sat", "sun"], "start": "21:00", "end": "02:00"}],
            "principal": {"amount": "1500000", "currency": "KRW"}, "time_zone": "Asia/Seoul"
        })
    );
    assert_eq!(admin.get("/v1/rooms/loan-42").await.ok(StatusCode::OK), room);
    // Access control sees the members at once.
    assert_eq!(admin.rooms().role_of("loan-42", "kim"), Some(Role::Borrower));
    assert!(admin.rooms().is_open("loan-42"));

    admin.call(Method::POST, "/v1/rooms", Some(loan_room("loan-42"))).await.error(StatusCode::CONFLICT, "room_exists");

    let path = "/v1/rooms/loan-42/members/park";
    let room = admin.call(Method::PUT, path, Some(json!({"role": "guarantor"}))).await.ok(StatusCode::OK);
    assert_eq!(room["members"]["park"], "guarantor");
    assert_eq!(admin.rooms().role_of("loan-42", "park"), Some(Role::Guarantor));
    let room = admin.call(Method::PUT, path, Some(json!({"role": "lender"}))).await.ok(StatusCode::OK);
    assert_eq!(room["members"]["park"], "lender");
    let room = admin.call(Method::DELETE, path, None).await.ok(StatusCode::OK);
    assert_eq!(room["members"], json!({"kim": "borrower", "lee": "lender"}));
    assert_eq!(admin.rooms().role_of("loan-42", "park"), None);
    admin.call(Method::DELETE, path, None).await.error(StatusCode::NOT_FOUND, "member_not_found");

    let loan = json!({"due_date": "2026-06-30", "state": "overdue", "annual_interest_rate": 19.99});
    let room = admin.call(Method::PUT, "/v1/rooms/loan-42/loan", Some(loan)).await.ok(StatusCode::OK);
    assert_eq!(room["loan"]["state"], "overdue");
    assert_eq!(room["loan"]["annual_interest_rate"], "19.99");
    assert_eq!(room["loan"]["do_not_contact"], json!([]));
    assert_eq!(room["loan"]["principal"], Value::Null);

    let closed = admin.call(Method::POST, "/v1/rooms/loan-42/close", None).await.ok(StatusCode::OK);
    assert_eq!(closed["state"], "closed");
    let closed_at = closed["closed_at_ms"].as_u64().expect("closed_at_ms");
    assert!(!admin.rooms().is_open("loan-42"));
    assert_eq!(admin.rooms().role_of("loan-42", "kim"), Some(Role::Borrower), "members keep their history");
    let again = admin.call(Method::POST, "/v1/rooms/loan-42/close", None).await.ok(StatusCode::OK);
    assert_eq!(again["closed_at_ms"].as_u64(), Some(closed_at), "closing twice changes nothing");
    admin.call(Method::PUT, path, Some(json!({"role": "guarantor"}))).await.error(StatusCode::CONFLICT, "room_closed");
    admin.call(Method::DELETE, "/v1/rooms/loan-42/members/kim", None).await.error(StatusCode::CONFLICT, "room_closed");
    let loan = json!({"due_date": "2026-06-30", "state": "discharged", "annual_interest_rate": "0"});
    let room = admin.call(Method::PUT, "/v1/rooms/loan-42/loan", Some(loan)).await.ok(StatusCode::OK);
    assert_eq!(room["loan"]["state"], "discharged", "a closed room's loan still changes");

    // Pages in id order.
    for id in ["b-room", "a-room", "c-room"] {
        admin.call(Method::POST, "/v1/rooms", Some(json!({"id": id}))).await.ok(StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let page = admin.get(&format!("/v1/rooms?limit=2{query}")).await.ok(StatusCode::OK);
        seen.extend(page["rooms"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()));
        match page["next_after"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["a-room", "b-room", "c-room", "loan-42"]);
}

#[tokio::test]
async fn invalid_requests_are_refused_with_the_reason() {
    let admin = start_admin(|config| {
        config.admin.max_members_per_room = 3;
        config.admin.max_rooms = 3;
        config.admin.max_body_bytes = 2048;
    })
    .await;
    let post = |body: Value| admin.call(Method::POST, "/v1/rooms", Some(body));

    let mut room = loan_room("r1");
    room["members"]["boss"] = json!("owner");
    let message = post(room).await.error(StatusCode::BAD_REQUEST, "validation_failed");
    assert!(message.contains("members.boss") && message.contains("lender, borrower or guarantor"), "{message}");

    let mut room = loan_room("r1");
    room["loan"]["due_date"] = json!("2026-02-30");
    let message = post(room).await.error(StatusCode::BAD_REQUEST, "validation_failed");
    assert!(message.contains("loan.due_date"), "{message}");

    let mut room = loan_room("r1");
    room["loan"]["annual_interest_rate"] = json!("24");
    let message = post(room).await.error(StatusCode::BAD_REQUEST, "validation_failed");
    assert!(message.contains("legal maximum"), "{message}");

    let mut room = loan_room("r1");
    room["loan"]["do_not_contact"] = json!([{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "20:00", "end": "08:00"}]);
    let message = post(room).await.error(StatusCode::BAD_REQUEST, "validation_failed");
    assert!(message.contains("28 hours"), "{message}");

    let mut room = loan_room("r1");
    room["loan"]["do_not_contact"][0]["start"] = json!("25:00");
    let message = post(room).await.error(StatusCode::BAD_REQUEST, "validation_failed");
    assert!(message.contains("loan.do_not_contact[0].start"), "{message}");

    let message = post(json!({"id": "chat/r1"})).await.error(StatusCode::BAD_REQUEST, "validation_failed");
    assert!(message.starts_with("id:"), "{message}");
    post(json!({"id": "r1", "members": {"a/b": "lender"}})).await.error(StatusCode::BAD_REQUEST, "validation_failed");

    // Shape errors are JSON errors too.
    post(json!({"id": "r1", "owner": "x"})).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json");
    post(json!({"members": {}})).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json");
    let raw = admin
        .http
        .post(admin.url("/v1/rooms"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    assert_eq!(raw.json::<Value>().await.unwrap()["code"], "malformed_json");
    let plain = admin.http.post(admin.url("/v1/rooms")).bearer_auth(TOKEN).body("{\"id\": \"r1\"}").send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut huge = loan_room("r1");
    huge["members"] = json!({ "x".repeat(3000): "lender" });
    post(huge).await.error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");

    // Unknown rooms.
    admin.get("/v1/rooms/nope").await.error(StatusCode::NOT_FOUND, "room_not_found");
    admin.call(Method::PUT, "/v1/rooms/nope/members/kim", Some(json!({"role": "lender"}))).await.error(StatusCode::NOT_FOUND, "room_not_found");
    admin.call(Method::POST, "/v1/rooms/nope/close", None).await.error(StatusCode::NOT_FOUND, "room_not_found");
    admin.get("/v1/rooms/nope/history").await.error(StatusCode::NOT_FOUND, "room_not_found");

    // Limits: members per room, rooms.
    let four = json!({"id": "r1", "members": {"a": "lender", "b": "borrower", "c": "guarantor", "d": "guarantor"}});
    let message = post(four).await.error(StatusCode::CONFLICT, "too_many_members");
    assert!(message.contains("admin.max_members_per_room"), "{message}");
    post(json!({"id": "r1", "members": {"a": "lender", "b": "borrower", "c": "guarantor"}})).await.ok(StatusCode::CREATED);
    admin.call(Method::PUT, "/v1/rooms/r1/members/d", Some(json!({"role": "guarantor"}))).await.error(StatusCode::CONFLICT, "too_many_members");
    admin.call(Method::PUT, "/v1/rooms/r1/members/c", Some(json!({"role": "lender"}))).await.ok(StatusCode::OK);
    admin.call(Method::PUT, "/v1/rooms/r1/members/c", Some(json!({"role": "chief"}))).await.error(StatusCode::BAD_REQUEST, "validation_failed");
    post(json!({"id": "r2"})).await.ok(StatusCode::CREATED);
    post(json!({"id": "r3"})).await.ok(StatusCode::CREATED);
    post(json!({"id": "r4"})).await.error(StatusCode::CONFLICT, "too_many_rooms");

    // Paging, unknown routes and methods.
    admin.get("/v1/rooms?limit=0").await.error(StatusCode::BAD_REQUEST, "validation_failed");
    admin.get("/v1/rooms?limit=lots").await.error(StatusCode::BAD_REQUEST, "invalid_query");
    admin.get("/v1/nothing").await.error(StatusCode::NOT_FOUND, "not_found");
    admin.call(Method::PATCH, "/v1/rooms/r1", None).await.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn rooms_survive_a_restart() {
    let admin = start_admin(|_| {}).await;
    admin.call(Method::POST, "/v1/rooms", Some(loan_room("loan-1"))).await.ok(StatusCode::CREATED);
    admin.call(Method::PUT, "/v1/rooms/loan-1/members/park", Some(json!({"role": "guarantor"}))).await.ok(StatusCode::OK);
    admin.call(Method::DELETE, "/v1/rooms/loan-1/members/lee", None).await.ok(StatusCode::OK);
    admin.call(Method::POST, "/v1/rooms", Some(json!({"id": "loan-2", "members": {"lee": "lender"}}))).await.ok(StatusCode::CREATED);
    admin.call(Method::POST, "/v1/rooms/loan-2/close", None).await.ok(StatusCode::OK);
    let before = admin.get("/v1/rooms").await.ok(StatusCode::OK);

    let admin = admin.restart().await;
    assert_eq!(admin.get("/v1/rooms").await.ok(StatusCode::OK), before);
    assert_eq!(admin.rooms().role_of("loan-1", "park"), Some(Role::Guarantor));
    assert_eq!(admin.rooms().role_of("loan-1", "lee"), None);
    assert!(admin.rooms().is_open("loan-1"));
    assert!(!admin.rooms().is_open("loan-2"));
    let room = admin.get("/v1/rooms/loan-1").await.ok(StatusCode::OK);
    assert_eq!(room["loan"]["annual_interest_rate"], "12.5");
    assert_eq!(room["loan"]["do_not_contact"][0]["days"], json!(["sat", "sun"]));
    admin.call(Method::POST, "/v1/rooms", Some(loan_room("loan-1"))).await.error(StatusCode::CONFLICT, "room_exists");
}

#[tokio::test]
async fn connected_clients_are_listed_and_disconnected() {
    let admin = start_admin(|_| {}).await;
    let mut options = V5::options(admin.broker.tcp, "phone-kim");
    options.set_credentials("kim", "");
    let (mut five, _) = V5::connect(options).await;
    five.client.subscribe("chat/r1/#", rumqttc::v5::mqttbytes::QoS::AtLeastOnce).await.unwrap();
    five.wait_for("SUBACK", |p| matches!(p, rumqttc::v5::Incoming::SubAck(_)).then_some(())).await;
    let (mut four, _) = V4::connect(V4::options(admin.broker.tcp, "backend-1")).await;

    let listed = admin.get("/v1/clients").await.ok(StatusCode::OK);
    let clients = listed["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 2, "{listed}");
    assert_eq!(listed["next_after"], Value::Null);
    let (first, second) = (&clients[0], &clients[1]);
    assert_eq!(first["client_id"], "backend-1");
    assert_eq!(first["protocol"], "3.1.1");
    assert_eq!(first["user"], Value::Null);
    assert_eq!(first["subscriptions"], 0);
    assert_eq!(second["client_id"], "phone-kim");
    assert_eq!(second["protocol"], "5.0");
    assert_eq!(second["user"], "kim");
    assert_eq!(second["subscriptions"], 1);
    assert_eq!(second["queued_messages"], 0);
    assert!(second["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{second}");
    assert!(second["connected_since_ms"].as_u64().unwrap() > 1_700_000_000_000);

    let page = admin.get("/v1/clients?limit=1").await.ok(StatusCode::OK);
    assert_eq!(page["clients"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_after"], "backend-1");
    let page = admin.get("/v1/clients?limit=1&after=backend-1").await.ok(StatusCode::OK);
    assert_eq!(page["clients"][0]["client_id"], "phone-kim");
    assert_eq!(page["next_after"], Value::Null);

    let answer = admin.call(Method::POST, "/v1/clients/phone-kim/disconnect", None).await.ok(StatusCode::ACCEPTED);
    assert_eq!(answer, json!({"client_id": "phone-kim", "reason_code": 152}));
    let ended = five.closed().await;
    assert!(ended.contains("AdministrativeAction"), "{ended}");
    common::wait_until("the client to leave the registry", || admin.broker.server.broker.connected_count() == 1).await;
    let listed = admin.get("/v1/clients").await.ok(StatusCode::OK);
    assert_eq!(listed["clients"].as_array().unwrap().len(), 1, "{listed}");
    admin.call(Method::POST, "/v1/clients/phone-kim/disconnect", None).await.error(StatusCode::NOT_FOUND, "client_not_found");

    // A 3.1.1 client has no DISCONNECT to read: its connection just ends.
    admin.call(Method::POST, "/v1/clients/backend-1/disconnect", None).await.ok(StatusCode::ACCEPTED);
    four.closed().await;
    common::wait_until("no client connected", || admin.broker.server.broker.connected_count() == 0).await;
}

#[tokio::test]
async fn room_history_is_read_after_publishing() {
    let admin = start_admin(|_| {}).await;
    admin.call(Method::POST, "/v1/rooms", Some(loan_room("r1"))).await.ok(StatusCode::CREATED);
    admin.call(Method::POST, "/v1/rooms", Some(json!({"id": "r10"}))).await.ok(StatusCode::CREATED);
    let (mut publisher, _) = Raw::connect(admin.broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "lee-phone")).await;
    let sent = [("chat/r1/msg", "hello"), ("chat/r1/msg", "이번 달 말까지 상환 부탁드립니다"), ("chat/r1/receipts", "read 2"), ("chat/r1/msg", "ok"), ("chat/r10/msg", "other room")];
    for (at, (topic, payload)) in sent.iter().enumerate() {
        let packet_id = at as u16 + 1;
        publisher.publish_acked(common::publish(topic, QoS::AtLeastOnce, packet_id, payload.as_bytes())).await;
    }

    let history = admin.get("/v1/rooms/r1/history").await.ok(StatusCode::OK);
    assert_eq!(history["room"], "r1");
    assert_eq!(history["next_topic_after"], Value::Null);
    let pages = history["pages"].as_array().unwrap();
    let topics: Vec<_> = pages.iter().map(|p| p["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["chat/r1/msg", "chat/r1/receipts"], "chat/r10 is another room");
    let messages = pages[0]["messages"].as_array().unwrap();
    let payloads: Vec<_> = messages.iter().map(|m| m["payload"].as_str().unwrap()).collect();
    assert_eq!(payloads, ["hello", "이번 달 말까지 상환 부탁드립니다", "ok"]);
    let sequences: Vec<_> = messages.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(sequences, [1, 2, 3]);
    assert_eq!(messages[0]["sender"], "lee-phone");
    assert_eq!(messages[0]["hash"].as_str().unwrap().len(), 64);
    assert_eq!(pages[0]["more"], false);
    assert_eq!(pages[0]["next_after"], 3);
    assert_eq!(pages[1]["messages"][0]["payload"], "read 2");

    let page = admin.get("/v1/rooms/r1/history?topic=chat/r1/msg&after=1&limit=1").await.ok(StatusCode::OK);
    let only = &page["pages"][0];
    assert_eq!(page["pages"].as_array().unwrap().len(), 1);
    assert_eq!(only["messages"].as_array().unwrap().len(), 1);
    assert_eq!(only["messages"][0]["seq"], 2);
    assert_eq!((only["after"].as_u64(), only["next_after"].as_u64(), only["more"].as_bool()), (Some(1), Some(2), Some(true)));

    let later = admin.get("/v1/rooms/r1/history?after=3").await.ok(StatusCode::OK);
    assert_eq!(later["pages"][0]["messages"], json!([]));
    let page = admin.get("/v1/rooms/r1/history?topic_after=chat/r1/msg").await.ok(StatusCode::OK);
    assert_eq!(page["pages"][0]["topic"], "chat/r1/receipts");

    let message = admin.get("/v1/rooms/r1/history?topic=chat/r10/msg").await.error(StatusCode::BAD_REQUEST, "validation_failed");
    assert!(message.contains("chat/r1/"), "{message}");
    admin.get("/v1/rooms/r1/history?limit=0").await.error(StatusCode::BAD_REQUEST, "validation_failed");
}

#[tokio::test]
async fn the_openapi_document_matches_the_router_and_is_valid() {
    let admin = start_admin(|_| {}).await;
    let answer = admin.call_as(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(answer.headers.get("content-type").unwrap(), "application/json");
    let document = answer.ok(StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");

    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (key, operation) in item.as_object().unwrap() {
            if !METHODS.contains(&key.as_str()) {
                continue;
            }
            // An operation without the document-wide bearer requirement is public.
            let public = operation.get("security") == Some(&json!([]));
            documented.insert((key.to_uppercase(), path.clone(), !public));
        }
    }
    let routed: BTreeSet<_> =
        tallymq::admin::routes().iter().map(|r| (r.method.to_string(), r.path.to_string(), r.authenticated)).collect();
    assert_eq!(documented, routed, "the document and the router disagree");

    // Every documented route is really served (not the 404 fallback).
    for route in tallymq::admin::routes() {
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let answer = admin.call(method, &concrete(route.path), valid_body(route.method, route.path)).await;
        assert_ne!(answer.body["code"], "not_found", "{route:?}");
        assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{route:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&document).unwrap()).unwrap();
    let python = std::env::var("TALLYMQ_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = "import sys\n\
                  from openapi_spec_validator import validate\n\
                  from openapi_spec_validator.readers import read_from_filename\n\
                  spec, _ = read_from_filename(sys.argv[1])\n\
                  validate(spec)\n\
                  print('openapi document valid')\n";
    let child = Command::new(&python)
        .args(["-c", script])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {python} (set TALLYMQ_PYTHON to the test venv's Python): {error}"));
    let output = within("the OpenAPI validator", child.wait_with_output()).await.expect("validator output");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the OpenAPI document is not valid ({})\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("openapi document valid"), "{stdout}\n{stderr}");

    // The validator is not a rubber stamp: a broken document fails.
    let mut broken = document.clone();
    broken["paths"]["/v1/rooms"]["get"]["responses"] = json!("none");
    std::fs::write(&file, serde_json::to_vec(&broken).unwrap()).unwrap();
    let output = within(
        "the OpenAPI validator",
        Command::new(&python).args(["-c", script]).arg(&file).stdin(Stdio::null()).output(),
    )
    .await
    .expect("validator output");
    assert!(!output.status.success(), "a broken document passed validation");
}

#[tokio::test]
async fn enabled_without_a_token_the_broker_does_not_start() {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.listener.tcp.address = "127.0.0.1:0".parse().unwrap();
    config.listener.ws.enabled = false;
    config.storage.data_dir = data.path().to_path_buf();
    config.admin.enabled = true;
    config.admin.address = "127.0.0.1:0".parse().unwrap();
    config.admin.token_env = "TALLYMQ_TEST_ADMIN_TOKEN_NEVER_SET".into();
    config.validate().unwrap();
    let error = match Server::start(config).await {
        Ok(_) => panic!("the broker started without an admin token"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("admin.token_file") && error.contains("admin.token_env"), "{error}");
}
