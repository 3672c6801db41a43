//! The JSON shapes of rooms and loans, and their conversion to and from stored records.
//!
//! Requests are parsed leniently as text (roles, states, dates, rates) and then checked by
//! [`crate::rooms::validate`], so that a wrong value is answered 400 with the field and the
//! rule it breaks, rather than as a JSON type error. Answers are built from the stored
//! record, so what a caller reads back is what is stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tallymq_storage::{ContactWindow, LoanRecord, LoanState, MemberRole, Principal, RoomRecord, RoomState};

use super::error::ApiError;
use crate::rooms::validate;

/// The time zone of do-not-contact windows.
pub const TIME_ZONE: &str = "Asia/Seoul";

/// `POST /v1/rooms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    pub id: String,
    /// User id -> role.
    #[serde(default)]
    pub members: BTreeMap<String, String>,
    #[serde(default)]
    pub loan: Option<LoanJson>,
}

/// `PUT /v1/rooms/{room}/members/{user}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberJson {
    pub role: String,
}

/// A decimal number, written as a JSON string (exact) or number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Decimal {
    Text(String),
    Number(serde_json::Number),
}

impl Decimal {
    fn text(&self) -> String {
        match self {
            Decimal::Text(text) => text.clone(),
            Decimal::Number(number) => number.to_string(),
        }
    }
}

/// A loan as sent: `loan` of a new room, or the body of `PUT /v1/rooms/{room}/loan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoanJson {
    pub due_date: String,
    pub state: String,
    pub annual_interest_rate: Decimal,
    #[serde(default)]
    pub do_not_contact: Vec<WindowJson>,
    #[serde(default)]
    pub principal: Option<PrincipalJson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowJson {
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalJson {
    pub amount: Decimal,
    pub currency: String,
}

/// A room as answered.
#[derive(Debug, Serialize)]
pub struct RoomView {
    pub id: String,
    pub state: RoomState,
    pub members: BTreeMap<String, MemberRole>,
    pub created_at_ms: u64,
    pub closed_at_ms: Option<u64>,
    pub loan: Option<LoanView>,
}

#[derive(Debug, Serialize)]
pub struct LoanView {
    pub due_date: String,
    pub state: LoanState,
    pub annual_interest_rate: String,
    pub do_not_contact: Vec<WindowView>,
    pub principal: Option<PrincipalView>,
    pub time_zone: &'static str,
}

#[derive(Debug, Serialize)]
pub struct WindowView {
    pub days: Vec<&'static str>,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Serialize)]
pub struct PrincipalView {
    pub amount: String,
    pub currency: String,
}

impl RoomView {
    pub fn of(record: &RoomRecord) -> RoomView {
        RoomView {
            id: record.id.clone(),
            state: record.state,
            members: record.members.clone(),
            created_at_ms: record.created_at_ms,
            closed_at_ms: record.closed_at_ms,
            loan: record.loan.as_ref().map(LoanView::of),
        }
    }
}

impl LoanView {
    fn of(loan: &LoanRecord) -> LoanView {
        LoanView {
            due_date: loan.due_date.clone(),
            state: loan.state,
            annual_interest_rate: validate::format_interest_rate(loan.annual_interest_rate_bp),
            do_not_contact: loan
                .do_not_contact
                .iter()
                .map(|w| WindowView {
                    days: validate::weekday_names(w.days),
                    start: validate::format_time_of_day(w.start_minute),
                    end: validate::format_time_of_day(w.end_minute),
                })
                .collect(),
            principal: loan.principal.as_ref().map(|p| PrincipalView { amount: p.amount.clone(), currency: p.currency.clone() }),
            time_zone: TIME_ZONE,
        }
    }
}

/// `lender`, `borrower` or `guarantor`; `field` names the value in errors.
pub fn role(field: &str, text: &str) -> Result<MemberRole, ApiError> {
    match text {
        "lender" => Ok(MemberRole::Lender),
        "borrower" => Ok(MemberRole::Borrower),
        "guarantor" => Ok(MemberRole::Guarantor),
        other => Err(ApiError::invalid(field, format!("role must be lender, borrower or guarantor, got {other:?}"))),
    }
}

pub fn user(field: &str, id: &str) -> Result<(), ApiError> {
    validate::user_id(id).map_err(|reason| ApiError::invalid(field, format!("user id {reason}")))
}

pub fn room_id(field: &str, id: &str) -> Result<(), ApiError> {
    validate::room_id(id).map_err(|reason| ApiError::invalid(field, format!("room id {reason}")))
}

/// The record of a new room, created now.
pub fn new_room(request: NewRoom, now_ms: u64) -> Result<RoomRecord, ApiError> {
    room_id("id", &request.id)?;
    let mut members = BTreeMap::new();
    for (id, text) in &request.members {
        let field = format!("members.{id}");
        user(&field, id)?;
        members.insert(id.clone(), role(&field, text)?);
    }
    let loan = request.loan.map(|loan| loan_record("loan", loan)).transpose()?;
    Ok(RoomRecord { id: request.id, members, state: RoomState::Open, created_at_ms: now_ms, closed_at_ms: None, loan })
}

/// A checked loan; `field` is the JSON path of the loan in the request (empty: the body).
pub fn loan_record(field: &str, loan: LoanJson) -> Result<LoanRecord, ApiError> {
    let at = |name: &str| if field.is_empty() { name.to_string() } else { format!("{field}.{name}") };
    validate::date(&loan.due_date).map_err(|reason| ApiError::invalid(&at("due_date"), reason))?;
    let state = match loan.state.as_str() {
        "active" => LoanState::Active,
        "overdue" => LoanState::Overdue,
        "paused" => LoanState::Paused,
        "discharged" => LoanState::Discharged,
        "disputed" => LoanState::Disputed,
        other => {
            return Err(ApiError::invalid(
                &at("state"),
                format!("must be active, overdue, paused, discharged or disputed, got {other:?}"),
            ))
        }
    };
    let annual_interest_rate_bp = validate::interest_rate(&loan.annual_interest_rate.text())
        .map_err(|reason| ApiError::invalid(&at("annual_interest_rate"), reason))?;
    if loan.do_not_contact.len() > validate::MAX_CONTACT_WINDOWS {
        let reason = format!("at most {} windows, got {}", validate::MAX_CONTACT_WINDOWS, loan.do_not_contact.len());
        return Err(ApiError::invalid(&at("do_not_contact"), reason));
    }
    let mut do_not_contact = Vec::with_capacity(loan.do_not_contact.len());
    for (index, window) in loan.do_not_contact.iter().enumerate() {
        let here = at(&format!("do_not_contact[{index}]"));
        let mut days = 0u8;
        for day in &window.days {
            days |= validate::weekday(day).map_err(|reason| ApiError::invalid(&format!("{here}.days"), reason))?;
        }
        let start = validate::time_of_day(&window.start).map_err(|reason| ApiError::invalid(&format!("{here}.start"), reason))?;
        let end = validate::time_of_day(&window.end).map_err(|reason| ApiError::invalid(&format!("{here}.end"), reason))?;
        do_not_contact.push(ContactWindow { days, start_minute: start, end_minute: end });
    }
    validate::contact_windows(&do_not_contact).map_err(|reason| ApiError::invalid(&at("do_not_contact"), reason))?;
    let principal = match loan.principal {
        None => None,
        Some(principal) => {
            let amount = principal.amount.text();
            validate::amount(&amount).map_err(|reason| ApiError::invalid(&at("principal.amount"), reason))?;
            validate::currency(&principal.currency).map_err(|reason| ApiError::invalid(&at("principal.currency"), reason))?;
            Some(Principal { amount, currency: principal.currency })
        }
    };
    Ok(LoanRecord { due_date: loan.due_date, state, do_not_contact, annual_interest_rate_bp, principal })
}
