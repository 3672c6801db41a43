//! Whether a message talks about repayment: the one question the legal rules ask of the text.
//!
//! While collection is stopped (paused by the borrower, the loan discharged or disputed) the
//! lender may still write — thanks, small talk — but not about repayment. The test is a fixed
//! keyword list, deliberately simple so that a lender can predict it and a court can read it,
//! run on the normalized text (FEATURES.md §1), so spacing tricks, zero-width characters,
//! fullwidth letters and leetspeak do not dodge it. A message mentions repayment when, after
//! [`FALSE_FRIENDS`] are set aside, it contains
//!
//! - a Korean stem of [`KOREAN_STEMS`] anywhere (Korean attaches endings and particles, so
//!   `갚` finds 갚아, 갚을게, 갚으라고);
//! - an English word of [`ENGLISH_WORDS`] as a whole word (so `owe` does not find "owner"),
//!   except "due to", which is about causes;
//! - an amount of money: digits before 원, "won" or "krw" (units 십 백 천 만 억, commas, dots and
//!   one space may come between: 5만원, 50,000 원, 3억원, 20000 won), or ₩ or $ before digits.

use crate::normalize::normalize;

/// Korean stems that mention repayment, matched anywhere in the normalized text.
pub const KOREAN_STEMS: &[&str] = &[
    "갚", "상환", "입금", "송금", "이체", "이자", "원금", "빚", "채무", "연체", "변제", "돈", "대출", "만원", "천원", "납부",
    "잔금", "계좌", "차용",
];

/// Normalized words that contain a stem but are not about money; removed before the stems
/// are looked for. Several come from normalization joining a one-syllable word to the next
/// ("이 자리" → 이자리).
pub const FALSE_FRIENDS: &[&str] = &[
    "이자리", // 이 자리, this seat
    "이자식", // 이 자식, an insult (the model judges it)
    "이자료", // 이 자료, this material
    "이자체", // 이 자체, this itself
    "이자세", // 이 자세, this posture
    "돈가스", // pork cutlet
    "돈까스", // pork cutlet
    "돈독",   // close (friendship)
    "돈다",   // spins; goes crazy
    "빚어",   // shapes (dumplings, pottery)
    "빚었",   // shaped
    "빚는",   // shaping
];

/// English words that mention repayment, matched as whole words (runs of ASCII letters).
#[rustfmt::skip]
pub const ENGLISH_WORDS: &[&str] = &[
    "pay", "pays", "paid", "paying", "payment", "payments", "payback", "repay", "repays", "repaid", "repaying", "repayment",
    "repayments", "owe", "owes", "owed", "owing", "debt", "debts", "money", "loan", "loans", "lend", "lent", "interest",
    "overdue", "due", "transfer", "transfers", "transferred", "transferring", "bank", "deposit", "deposited", "installment",
    "installments", "instalment", "instalments", "cash",
];

/// Number units that may stand between digits and 원 (5만원, 3억원).
const KOREAN_NUMBER_UNITS: &[char] = &['십', '백', '천', '만', '억'];

/// Whether `text` mentions repayment (see the module documentation for the exact test).
pub fn mentions_repayment(text: &str) -> bool {
    let mut normalized = normalize(text);
    for word in FALSE_FRIENDS {
        if normalized.contains(word) {
            normalized = normalized.replace(word, " ");
        }
    }
    KOREAN_STEMS.iter().any(|stem| normalized.contains(stem)) || has_english_word(&normalized) || has_amount(&normalized)
}

/// Whether a word of [`ENGLISH_WORDS`] stands in `text` ("due to" aside).
fn has_english_word(text: &str) -> bool {
    let mut words = text.split(|c: char| !c.is_ascii_lowercase()).filter(|w| !w.is_empty()).peekable();
    while let Some(word) = words.next() {
        if ENGLISH_WORDS.contains(&word) && !(word == "due" && words.peek() == Some(&"to")) {
            return true;
        }
    }
    false
}

/// Whether `text` holds an amount of money written with digits.
fn has_amount(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let digit_before = |end: usize| {
        // Back over units, separators within the number and at most one space.
        let mut at = end;
        let mut spaces = 0;
        while at > 0 {
            let c = chars[at - 1];
            if c == ' ' && spaces == 0 {
                spaces += 1;
            } else if !(KOREAN_NUMBER_UNITS.contains(&c) || c == ',' || c == '.') {
                break;
            }
            at -= 1;
        }
        at > 0 && chars[at - 1].is_ascii_digit()
    };
    let word_at = |at: usize, word: &str| {
        let end = at + word.chars().count();
        chars.len() >= end
            && chars[at..end].iter().copied().eq(word.chars())
            && chars.get(end).is_none_or(|c| !c.is_ascii_lowercase())
    };
    (0..chars.len()).any(|at| match chars[at] {
        '원' => digit_before(at),
        '₩' | '$' => chars.get(at + 1).is_some_and(char::is_ascii_digit),
        'w' | 'k' if at == 0 || !chars[at - 1].is_ascii_lowercase() => {
            (word_at(at, "won") || word_at(at, "krw")) && digit_before(at)
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_repayment_talk() {
        for text in [
            "언제 갚을 거야?",
            "이번 달 말까지 상환 부탁드립니다",
            "입금 확인 부탁해요",
            "어제 송금했어",
            "계좌로 이체해 줘",
            "이자는 빼 줄게",
            "원금만이라도 먼저",
            "빚은 빚이지",
            "채무 정리하자",
            "연체된 거 알지?",
            "변제 계획 보내 줘",
            "돈 언제 줄 거야",
            "대출 받아서라도",
            "5만원만 보내",
            "50,000원 남았어",
            "50000 원 남았어",
            "3억원",
            "5천 원만",
            "갚.아",
            "갚\u{200b}아",
            "차용증 다시 봐",
        ] {
            assert!(mentions_repayment(text), "{text}");
        }
    }

    #[test]
    fn english_repayment_talk() {
        for text in [
            "When will you pay me back?",
            "please REPAY by friday",
            "you owe me",
            "the debt is still there",
            "where is my money",
            "about the loan",
            "interest is 5%",
            "you are overdue",
            "it was due yesterday",
            "send a transfer",
            "which bank?",
            "p4y me",
            "20000 won left",
            "₩50000",
            "$500 now",
            "ｐａｙ",
        ] {
            assert!(mentions_repayment(text), "{text}");
        }
    }

    #[test]
    fn small_talk_is_not_repayment() {
        for text in [
            "고마워, 잘 지내?",
            "생일 축하해!",
            "이 자리에서 보자",
            "이 자료 좀 봐 줘",
            "점심에 돈까스 먹었어",
            "우리 사이 돈독하잖아",
            "송편 빚어 봤어?",
            "원래 그런 거야",
            "3반 친구들이랑 놀았어",
            "thanks, see you at the wedding",
            "the owner of the cafe",
            "delayed due to the rain",
            "we won the game",
            "",
        ] {
            assert!(!mentions_repayment(text), "{text}");
        }
    }
}
