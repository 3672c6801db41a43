//! `[admin]`: the HTTP admin API through which the application's backend manages rooms and
//! connected clients.
//!
//! It listens on its own address, separate from the MQTT listeners, so that it can stay on
//! loopback or a private network while MQTT faces the internet, and it is off by default.
//! Every call but the API document carries a bearer token read from a file or an environment
//! variable, never from this file, so that configuration can be shared without the secret.
//! The room limits live here because only the admin API creates rooms and members.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::validate::{check_all, RangeCheck};

/// `[admin]`: the HTTP admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Whether the admin API listens. Default `false`.
    pub enabled: bool,
    /// Socket address to bind, `"IP:port"`. Default `127.0.0.1:8081`.
    pub address: SocketAddr,
    /// File holding the bearer token (a trailing newline is ignored); empty: use
    /// `token_env`.
    pub token_file: PathBuf,
    /// Environment variable holding the bearer token, used when `token_file` is empty.
    /// Default `TALLYMQ_ADMIN_TOKEN`.
    pub token_env: String,
    /// Largest request body accepted, in bytes. Default 65_536.
    pub max_body_bytes: u32,
    /// Most rooms, open and closed. Default 1_000_000.
    pub max_rooms: u32,
    /// Most members of one room. Default 8.
    pub max_members_per_room: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            enabled: false,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 8081)),
            token_file: PathBuf::new(),
            token_env: "TALLYMQ_ADMIN_TOKEN".to_owned(),
            max_body_bytes: 65_536,
            max_rooms: 1_000_000,
            max_members_per_room: 8,
        }
    }
}

/// Documentation of every key of the section, in display order.
pub(crate) const DOCS: &[(&str, &str)] = &[
    (
        "admin",
        "The HTTP admin API of the application's backend: rooms, members, loans,\n\
         connected clients, room history. JSON over HTTP on its own listener; every\n\
         call but GET /openapi.json needs `Authorization: Bearer <token>`.",
    ),
    ("admin.enabled", "Run the admin API: true or false."),
    (
        "admin.address",
        "Socket address to listen on, as \"IP:port\". Keep it on loopback or a\n\
         private network: the API is plain HTTP.",
    ),
    (
        "admin.token_file",
        "File holding the bearer token (a trailing newline is ignored), at least 16\n\
         characters. Empty: the token is read from the variable named by token_env.",
    ),
    (
        "admin.token_env",
        "Environment variable holding the bearer token, used when token_file is\n\
         empty. With the API enabled and neither giving a token, start-up fails.",
    ),
    (
        "admin.max_body_bytes",
        "Largest request body accepted; larger ones are answered 413.\n\
         Range: 1024 to 16777216 bytes.",
    ),
    (
        "admin.max_rooms",
        "Most rooms, open and closed (closed rooms stay as evidence). Creating one\n\
         more is refused with 409. Range: 1 to 100000000 rooms.",
    ),
    (
        "admin.max_members_per_room",
        "Most members of one room (lender, borrower, guarantors). Adding one more is\n\
         refused with 409. Range: 2 to 1000 members.",
    ),
];

impl AdminConfig {
    /// The numeric keys with their allowed ranges.
    pub(crate) fn ranges(&self) -> Vec<RangeCheck> {
        vec![
            RangeCheck::new("admin.max_body_bytes", self.max_body_bytes, 1024, 16_777_216, "bytes"),
            RangeCheck::new("admin.max_rooms", self.max_rooms, 1, 100_000_000, "rooms"),
            RangeCheck::new("admin.max_members_per_room", self.max_members_per_room, 2, 1000, "members"),
        ]
    }

    /// Checks every value of the section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check_all(&self.ranges())?;
        if self.enabled && self.token_file.as_os_str().is_empty() && self.token_env.trim().is_empty() {
            return Err(ConfigError::invalid(
                "admin.token_file",
                "the admin API is enabled without a token: set admin.token_file or admin.token_env",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_off_and_valid() {
        let admin = AdminConfig::default();
        admin.validate().unwrap();
        assert!(!admin.enabled);
        assert_eq!(admin.address, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(admin.token_env, "TALLYMQ_ADMIN_TOKEN");
    }

    #[test]
    fn enabled_without_any_token_source_names_both_keys() {
        let admin = AdminConfig { enabled: true, token_env: String::new(), ..AdminConfig::default() };
        let error = admin.validate().unwrap_err().to_string();
        assert!(error.contains("admin.token_file") && error.contains("admin.token_env"), "{error}");
        let admin = AdminConfig { token_file: "/run/secrets/admin".into(), ..admin };
        admin.validate().unwrap();
    }

    #[test]
    fn limits_are_checked_by_name() {
        let admin = AdminConfig { max_members_per_room: 1, ..AdminConfig::default() };
        let error = admin.validate().unwrap_err().to_string();
        assert!(error.contains("admin.max_members_per_room"), "{error}");
        assert!(toml::from_str::<AdminConfig>("token = \"x\"").is_err(), "unknown keys are refused");
    }
}
