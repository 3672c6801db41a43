//! Topic names, topic filters and shared-subscription syntax (MQTT 5.0 section 4.7 and 4.8).
//!
//! Validation lives here so that the router can assume every filter it stores is well formed.

/// Why a topic name or filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic is empty")]
    Empty,
    #[error("topic is {len} bytes long, the limit is {max}")]
    TooLong { len: usize, max: usize },
    #[error("topic has {levels} levels, the limit is {max}")]
    TooManyLevels { levels: usize, max: usize },
    #[error("wildcards are not allowed in a topic name")]
    WildcardInName,
    #[error("'#' must be the last level of a filter and stand alone in its level")]
    MisplacedMultiLevelWildcard,
    #[error("'+' must stand alone in its level")]
    MisplacedSingleLevelWildcard,
    #[error("a shared subscription needs the form $share/{{group}}/{{filter}}")]
    MalformedShare,
}

/// Size limits applied to names and filters.
#[derive(Debug, Clone, Copy)]
pub struct TopicLimits {
    pub max_len: usize,
    pub max_levels: usize,
}

impl Default for TopicLimits {
    fn default() -> Self {
        TopicLimits { max_len: 65_535, max_levels: usize::MAX }
    }
}

fn check_size(topic: &str, limits: TopicLimits) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.len() > limits.max_len {
        return Err(TopicError::TooLong { len: topic.len(), max: limits.max_len });
    }
    let levels = topic.split('/').count();
    if levels > limits.max_levels {
        return Err(TopicError::TooManyLevels { levels, max: limits.max_levels });
    }
    Ok(())
}

/// Checks a topic name as a PUBLISH carries it.
pub fn validate_name(name: &str, limits: TopicLimits) -> Result<(), TopicError> {
    check_size(name, limits)?;
    if name.contains(['+', '#']) {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// Checks a plain topic filter (no `$share` prefix).
pub fn validate_filter(filter: &str, limits: TopicLimits) -> Result<(), TopicError> {
    check_size(filter, limits)?;
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(TopicError::MisplacedMultiLevelWildcard);
        }
        if level.contains('+') && level != "+" {
            return Err(TopicError::MisplacedSingleLevelWildcard);
        }
    }
    Ok(())
}

/// True when a filter contains a wildcard level.
pub fn has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

/// A subscription filter split into its share group (if any) and the filter proper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFilter<'a> {
    pub share_group: Option<&'a str>,
    pub filter: &'a str,
}

const SHARE_PREFIX: &str = "$share/";

/// Splits `$share/{group}/{filter}` and validates both parts.
pub fn parse_subscription(raw: &str, limits: TopicLimits) -> Result<ParsedFilter<'_>, TopicError> {
    let Some(rest) = raw.strip_prefix(SHARE_PREFIX) else {
        validate_filter(raw, limits)?;
        return Ok(ParsedFilter { share_group: None, filter: raw });
    };
    let (group, filter) = rest.split_once('/').ok_or(TopicError::MalformedShare)?;
    if group.is_empty() || group.contains(['+', '#']) || filter.is_empty() {
        return Err(TopicError::MalformedShare);
    }
    validate_filter(filter, limits)?;
    Ok(ParsedFilter { share_group: Some(group), filter })
}

/// Splits a subscription filter that [`parse_subscription`] accepted before, without
/// checking it again: sessions keep only the filter as subscribed and split it when the
/// subscription is restored or removed.
pub fn split_subscription(raw: &str) -> ParsedFilter<'_> {
    match raw.strip_prefix(SHARE_PREFIX).and_then(|rest| rest.split_once('/')) {
        Some((group, filter)) => ParsedFilter { share_group: Some(group), filter },
        None => ParsedFilter { share_group: None, filter: raw },
    }
}

/// Whether `filter` matches the topic `name`. Both must already be valid. Names starting with
/// `$` are not matched by filters starting with a wildcard (section 4.7.2).
pub fn matches(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut name_levels = name.split('/');
    for filter_level in filter.split('/') {
        if filter_level == "#" {
            return true;
        }
        match name_levels.next() {
            Some(level) if filter_level == "+" || filter_level == level => {}
            _ => return false,
        }
    }
    name_levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: TopicLimits = TopicLimits { max_len: 64, max_levels: 8 };

    #[test]
    fn filters_follow_wildcard_placement_rules() {
        for ok in ["#", "+", "a/#", "a/+/b", "+/+", "/", "a//b", "sport/tennis/#", "+/tennis/#"] {
            assert_eq!(validate_filter(ok, L), Ok(()), "{ok}");
        }
        assert_eq!(validate_filter("a/#/b", L), Err(TopicError::MisplacedMultiLevelWildcard));
        assert_eq!(validate_filter("a#", L), Err(TopicError::MisplacedMultiLevelWildcard));
        assert_eq!(validate_filter("a+/b", L), Err(TopicError::MisplacedSingleLevelWildcard));
        assert_eq!(validate_filter("", L), Err(TopicError::Empty));
    }

    #[test]
    fn names_refuse_wildcards_and_respect_limits() {
        assert_eq!(validate_name("a/b", L), Ok(()));
        assert_eq!(validate_name("a/+", L), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("a/#", L), Err(TopicError::WildcardInName));
        assert!(matches!(validate_name(&"x".repeat(65), L), Err(TopicError::TooLong { .. })));
        assert!(matches!(validate_name("1/2/3/4/5/6/7/8/9", L), Err(TopicError::TooManyLevels { .. })));
    }

    #[test]
    fn matching_follows_the_specification_examples() {
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
        assert!(matches("sport/#", "sport"));
        assert!(matches("#", "a/b/c"));
        assert!(matches("sport/tennis/+", "sport/tennis/player1"));
        assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/b/c", "a/b"));
    }

    #[test]
    fn dollar_topics_are_not_matched_by_leading_wildcards() {
        assert!(!matches("#", "$SYS/broker"));
        assert!(!matches("+/broker", "$SYS/broker"));
        assert!(matches("$SYS/#", "$SYS/broker"));
        assert!(matches("$SYS/+", "$SYS/broker"));
    }

    #[test]
    fn shared_subscriptions_parse() {
        let parsed = parse_subscription("$share/g1/chat/#", L).unwrap();
        assert_eq!(parsed, ParsedFilter { share_group: Some("g1"), filter: "chat/#" });
        assert_eq!(parse_subscription("$share/g1", L), Err(TopicError::MalformedShare));
        assert_eq!(parse_subscription("$share//a", L), Err(TopicError::MalformedShare));
        assert_eq!(parse_subscription("$share/g+/a", L), Err(TopicError::MalformedShare));
        assert_eq!(parse_subscription("$share/g/a/#/b", L), Err(TopicError::MisplacedMultiLevelWildcard));
        assert_eq!(parse_subscription("a/b", L).unwrap().share_group, None);
    }

    #[test]
    fn an_accepted_filter_splits_again_as_it_parsed() {
        for raw in ["$share/g1/chat/#", "$share/g/a/b/c", "$share/g//", "chat/+/msg", "#", "$SYS/x", "/a"] {
            assert_eq!(split_subscription(raw), parse_subscription(raw, L).unwrap(), "{raw}");
        }
    }
}
