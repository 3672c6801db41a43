//! Notices that moderation sends on the users' own topics, `user/{user}/notices`.
//!
//! The sender of a flagged message learns that it may be unlawful collection; the recipient
//! learns their rights. Notices are JSON, published by the server at QoS 1 and not stored: the
//! verdict itself is stored with the message, and a client that missed a notice finds the
//! verdict in the room's history.

use serde::Serialize;

/// The topic of a user's notices.
pub fn topic(user: &str) -> String {
    format!("user/{user}/notices")
}

/// A notice about one moderated message: to its sender (a warning, or that it is held), or to
/// the other members of the room (their rights, never the message's content).
#[derive(Debug, Serialize)]
pub struct Notice<'a> {
    /// `moderation_warning`, `moderation_held` or `rights_notice`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub topic: &'a str,
    pub sequence: u64,
    pub decision: &'a str,
    pub categories: Vec<&'a str>,
    pub rules: &'a [&'static str],
    /// For a held message: when it will be delivered, milliseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_at_ms: Option<u64>,
    pub message: String,
}

/// What the sender is told, by decision.
pub fn sender_text(decision: tallymq_ai_filter::Decision, reasons: &[String]) -> String {
    let lead = match decision {
        tallymq_ai_filter::Decision::Warn => {
            "이 메시지는 불법 채권추심 또는 괴롭힘에 해당할 수 있습니다. This message may be illegal debt collection or harassment."
        }
        tallymq_ai_filter::Decision::Hold => "이 메시지는 보류되었습니다. This message is held and not yet delivered.",
        _ => "이 메시지는 전달되지 않았습니다. This message was not delivered.",
    };
    if reasons.is_empty() {
        lead.to_owned()
    } else {
        format!("{lead} {}", reasons.join(" "))
    }
}

/// The rights of a borrower (or anyone) who received unlawful collection.
pub const RIGHTS_TEXT: &str = "채권추심법은 폭행·협박, 가족·직장 등 제3자에게 채무 사실을 알리는 행위, \
밤 9시부터 오전 8시 사이의 추심 연락, 거짓 법적 조치 언급, 다른 곳에서 빌려 갚으라는 강요를 금지합니다. \
이 대화는 증거로 보관됩니다. 도움: 금융감독원 1332, 경찰 112. \
The Fair Debt Collection Act forbids threats, telling third parties about a debt, collection contact \
between 21:00 and 08:00, false legal threats and pressure to borrow elsewhere. This conversation is kept \
as evidence. Help: Financial Supervisory Service 1332, police 112.";
