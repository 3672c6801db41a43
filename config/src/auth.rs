//! `[auth]`: who may connect, and `[[auth.rules]]`: static access rules.
//!
//! Secure by default: a client proves who it is with a JWT issued by the
//! application's backend (in the CONNECT password field) or a user name and
//! password from a password file. Anonymous clients are accepted only from
//! loopback unless configured otherwise, and even then they reach only what
//! a static rule grants them. The `open` mode (anonymous, every topic) exists
//! for local experiments and protocol test suites and is announced loudly.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::validate::{check_all, check_range, RangeCheck};

/// Whether access control applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Clients authenticate (or connect anonymously where allowed) and the
    /// topic namespace, room membership and static rules decide access.
    #[default]
    Secure,
    /// Development only: every client is accepted and may use every topic.
    Open,
}

/// Where anonymous clients (no credentials) are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anonymous {
    /// Never.
    Never,
    /// Only from loopback addresses (127.0.0.0/8, ::1).
    #[default]
    Loopback,
    /// From anywhere.
    Always,
}

/// The JWT signature algorithm accepted; exactly one, so that a token signed
/// with another algorithm (HS/RS confusion, `none`) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// JWTs are not accepted.
    #[default]
    #[serde(rename = "off")]
    Off,
    /// HMAC-SHA256 with a shared secret.
    HS256,
    /// RSA PKCS#1 v1.5 with SHA-256, verified with a public key.
    RS256,
    /// ECDSA P-256 with SHA-256, verified with a public key.
    ES256,
}

/// What a static rule grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Subscribe and read history.
    Read,
    /// Publish.
    Write,
    /// Both.
    ReadWrite,
}

impl Access {
    /// Whether this grants reading.
    pub fn reads(self) -> bool {
        matches!(self, Access::Read | Access::ReadWrite)
    }

    /// Whether this grants publishing.
    pub fn writes(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }
}

/// One static access rule: `who` may `access` topics matching `topic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// "anyone" (every client, anonymous included), "authenticated",
    /// "anonymous", "user:NAME" or "role:NAME".
    pub who: String,
    /// A topic filter; `%u` stands for the user id and `%c` for the client
    /// id, each a whole topic level.
    pub topic: String,
    /// "read", "write" or "readwrite".
    pub access: Access,
}

/// `[auth.jwt]`: JSON Web Tokens in the CONNECT password field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtConfig {
    /// "off", "HS256", "RS256" or "ES256".
    pub algorithm: JwtAlgorithm,
    /// HS256: file holding the shared secret (trailing newline ignored).
    pub secret_file: PathBuf,
    /// HS256: environment variable holding the shared secret, used when
    /// `secret_file` is empty.
    pub secret_env: String,
    /// RS256/ES256: PEM file with the public key.
    pub public_key_file: PathBuf,
    /// Required `iss` claim; empty: not checked.
    pub issuer: String,
    /// Required `aud` claim; empty: not checked.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u32,
    /// Whether a connection signed in with a token is closed when the token expires.
    pub disconnect_at_expiry: bool,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            algorithm: JwtAlgorithm::Off,
            secret_file: PathBuf::new(),
            secret_env: "TALLYMQ_JWT_SECRET".to_owned(),
            public_key_file: PathBuf::new(),
            issuer: String::new(),
            audience: String::new(),
            leeway_secs: 30,
            disconnect_at_expiry: true,
        }
    }
}

/// `[auth]`: authentication and static access rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// "secure" or "open".
    pub mode: AuthMode,
    /// "never", "loopback" or "always".
    pub anonymous: Anonymous,
    /// Password file (`user:argon2-hash` lines, written by `tallymq passwd`);
    /// empty: none.
    pub password_file: PathBuf,
    /// Password checks (argon2) running at once; more wait their turn.
    pub max_concurrent_password_checks: u32,
    /// `[auth.jwt]`.
    pub jwt: JwtConfig,
    /// Static access rules, on top of the built-in namespace.
    pub rules: Vec<AccessRule>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::Secure,
            anonymous: Anonymous::Loopback,
            password_file: PathBuf::new(),
            max_concurrent_password_checks: 2,
            jwt: JwtConfig::default(),
            rules: Vec::new(),
        }
    }
}

/// Most static rules.
pub const MAX_ACCESS_RULES: usize = 1_000;

/// Documentation of every key of the section, in display order.
pub(crate) const DOCS: &[(&str, &str)] = &[
    (
        "auth",
        "Who may connect and what they may touch. The built-in topic namespace\n\
         (chat/{room}/..., user/{user}/..., live/, auction/, event/, $history/) is\n\
         described in README.md; rules below grant more.",
    ),
    (
        "auth.mode",
        "\"secure\": clients authenticate and access rules apply. \"open\": every client\n\
         is accepted and may use every topic; for local experiments and protocol\n\
         test suites only (a warning is logged at start).",
    ),
    (
        "auth.anonymous",
        "Where clients without credentials are accepted: \"never\", \"loopback\" (only\n\
         from 127.0.0.0/8 and ::1; beware of a reverse proxy on the same host) or\n\
         \"always\". Anonymous clients reach only topics a rule grants to \"anyone\"\n\
         or \"anonymous\".",
    ),
    (
        "auth.password_file",
        "File of \"user:argon2-hash\" lines, written by `tallymq passwd FILE USER`;\n\
         reread on SIGHUP. Empty: no password users.",
    ),
    (
        "auth.max_concurrent_password_checks",
        "Password checks (argon2, deliberately slow) running at once; further\n\
         CONNECTs wait their turn. Range: 1 to 256 checks.",
    ),
    (
        "auth.rules",
        "Static access rules: who, topic filter, access. `who` is \"anyone\",\n\
         \"authenticated\", \"anonymous\", \"user:NAME\" or \"role:NAME\"; in `topic`,\n\
         %u stands for the user id and %c for the client id (each a whole level);\n\
         `access` is \"read\", \"write\" or \"readwrite\". Rules only grant; they cannot\n\
         open chat rooms, other users' inboxes or server-owned topics.\n\
         Example: rules = [{ who = \"role:service\", topic = \"ops/#\", access = \"readwrite\" }]",
    ),
    (
        "auth.jwt",
        "JSON Web Tokens, sent in the CONNECT password field (the user name may be\n\
         empty or must equal the token's `sub`). Claims: `sub` (user id, required),\n\
         `exp` (required), optional `roles` (list of strings), `iss`, `aud`, `nbf`.",
    ),
    (
        "auth.jwt.algorithm",
        "\"off\", \"HS256\", \"RS256\" or \"ES256\". Only this algorithm is accepted.",
    ),
    (
        "auth.jwt.secret_file",
        "HS256: file holding the shared secret (a trailing newline is ignored).",
    ),
    (
        "auth.jwt.secret_env",
        "HS256: environment variable holding the shared secret, used when\n\
         secret_file is empty.",
    ),
    (
        "auth.jwt.public_key_file",
        "RS256/ES256: PEM file with the public key that verifies tokens.",
    ),
    ("auth.jwt.issuer", "Required `iss` claim; empty: not checked."),
    ("auth.jwt.audience", "Required `aud` claim; empty: not checked."),
    (
        "auth.jwt.leeway_secs",
        "Clock skew tolerated on `exp` and `nbf`. Range: 0 to 600 seconds.",
    ),
    (
        "auth.jwt.disconnect_at_expiry",
        "Close a connection signed in with a token when the token expires (plus the\n\
         leeway); MQTT 5.0 clients get DISCONNECT 0x87 and sign in again with a fresh\n\
         token. false: a token is checked at CONNECT only.",
    ),
];

impl AuthConfig {
    /// The numeric keys with their allowed ranges.
    pub(crate) fn ranges(&self) -> Vec<RangeCheck> {
        vec![
            RangeCheck::new(
                "auth.max_concurrent_password_checks",
                self.max_concurrent_password_checks,
                1,
                256,
                "checks",
            ),
            RangeCheck::new("auth.jwt.leeway_secs", self.jwt.leeway_secs, 0, 600, "seconds"),
        ]
    }

    /// Checks every value of the section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check_all(&self.ranges())?;
        check_range("auth.rules", self.rules.len() as u64, 0, MAX_ACCESS_RULES as u64, "rules")?;
        for (index, rule) in self.rules.iter().enumerate() {
            validate_rule(index, rule)?;
        }
        match self.jwt.algorithm {
            JwtAlgorithm::Off => {}
            JwtAlgorithm::HS256 => {
                if self.jwt.secret_file.as_os_str().is_empty() && self.jwt.secret_env.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        "auth.jwt.secret_file",
                        "HS256 needs a secret: set secret_file or secret_env",
                    ));
                }
            }
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => {
                if self.jwt.public_key_file.as_os_str().is_empty() {
                    return Err(ConfigError::invalid(
                        "auth.jwt.public_key_file",
                        "RS256 and ES256 need the PEM public key that verifies tokens",
                    ));
                }
            }
        }
        Ok(())
    }
}

fn validate_rule(index: usize, rule: &AccessRule) -> Result<(), ConfigError> {
    let who_ok = match rule.who.split_once(':') {
        None => matches!(rule.who.as_str(), "anyone" | "authenticated" | "anonymous"),
        Some(("user" | "role", name)) => !name.is_empty(),
        Some(_) => false,
    };
    if !who_ok {
        return Err(ConfigError::invalid(
            format!("auth.rules[{index}].who"),
            format!(
                "must be \"anyone\", \"authenticated\", \"anonymous\", \"user:NAME\" or \"role:NAME\", got {:?}",
                rule.who
            ),
        ));
    }
    let key = format!("auth.rules[{index}].topic");
    if rule.topic.is_empty() || rule.topic.contains('\0') {
        return Err(ConfigError::invalid(key, "must be a non-empty topic filter"));
    }
    let levels: Vec<&str> = rule.topic.split('/').collect();
    for (at, level) in levels.iter().enumerate() {
        let bad = match *level {
            "#" => at + 1 != levels.len(),
            "+" | "%u" | "%c" => false,
            other => other.contains(['+', '#']) || other.contains("%u") || other.contains("%c"),
        };
        if bad {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "{:?} is not a valid filter: '+', '#', %u and %c must be whole levels and '#' the last",
                    rule.topic
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(who: &str, topic: &str) -> AccessRule {
        AccessRule { who: who.into(), topic: topic.into(), access: Access::Read }
    }

    #[test]
    fn defaults_are_secure_and_valid() {
        let auth = AuthConfig::default();
        auth.validate().unwrap();
        assert_eq!(auth.mode, AuthMode::Secure);
        assert_eq!(auth.anonymous, Anonymous::Loopback);
        assert_eq!(auth.jwt.algorithm, JwtAlgorithm::Off);
    }

    #[test]
    fn rules_are_checked_by_index() {
        let mut auth = AuthConfig { rules: vec![rule("anyone", "sensors/%u/#"), rule("user:", "x")], ..AuthConfig::default() };
        let error = auth.validate().unwrap_err().to_string();
        assert!(error.contains("auth.rules[1].who"), "{error}");
        auth.rules = vec![rule("role:service", "a/%u-x")];
        let error = auth.validate().unwrap_err().to_string();
        assert!(error.contains("auth.rules[0].topic"), "{error}");
        auth.rules = vec![rule("authenticated", "a/#/b")];
        assert!(auth.validate().is_err());
        auth.rules = vec![rule("user:alice", "a/+/%c/#")];
        auth.validate().unwrap();
    }

    #[test]
    fn key_based_algorithms_need_their_key() {
        let mut auth = AuthConfig::default();
        auth.jwt.algorithm = JwtAlgorithm::RS256;
        let error = auth.validate().unwrap_err().to_string();
        assert!(error.contains("auth.jwt.public_key_file"), "{error}");
        auth.jwt.algorithm = JwtAlgorithm::HS256;
        auth.validate().unwrap();
        auth.jwt.secret_env = String::new();
        assert!(auth.validate().is_err());
    }

    #[test]
    fn algorithm_names_are_exact() {
        let jwt: JwtConfig = toml::from_str("algorithm = \"ES256\"").unwrap();
        assert_eq!(jwt.algorithm, JwtAlgorithm::ES256);
        assert!(toml::from_str::<JwtConfig>("algorithm = \"none\"").is_err());
        assert!(toml::from_str::<JwtConfig>("algorithm = \"hs256\"").is_err());
    }
}
