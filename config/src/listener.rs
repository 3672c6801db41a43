//! `[listener.tcp]` and `[listener.ws]`: where the broker accepts clients.
//!
//! Each transport has its own switch so a deployment can offer only plain
//! TCP, only WebSocket (e.g. behind a browser-facing proxy), or both.
//! Addresses are full socket addresses written as strings (`"IP:port"`),
//! which keeps IPv6 (`"[::1]:1883"`) and port 0 (OS-chosen, handy in tests)
//! expressible without extra keys.

use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// `[listener]`: all network listeners.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerConfig {
    /// `[listener.tcp]`: MQTT over plain TCP.
    pub tcp: TcpListenerConfig,
    /// `[listener.ws]`: MQTT over WebSocket.
    pub ws: WsListenerConfig,
}

/// `[listener.tcp]`: MQTT over plain TCP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpListenerConfig {
    /// Whether the TCP listener runs. Default `true`.
    pub enabled: bool,
    /// Socket address to bind, written `"IP:port"`. Default `127.0.0.1:1883`.
    pub address: SocketAddr,
}

/// `[listener.ws]`: MQTT over WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WsListenerConfig {
    /// Whether the WebSocket listener runs. Default `true`.
    pub enabled: bool,
    /// Socket address to bind, written `"IP:port"`. Default `127.0.0.1:8083`.
    pub address: SocketAddr,
    /// HTTP request path on which WebSocket upgrades are accepted; must start
    /// with `/`. Default `/mqtt`.
    pub path: String,
}

impl Default for TcpListenerConfig {
    fn default() -> Self {
        TcpListenerConfig {
            enabled: true,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 1883)),
        }
    }
}

impl Default for WsListenerConfig {
    fn default() -> Self {
        WsListenerConfig {
            enabled: true,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 8083)),
            path: "/mqtt".to_owned(),
        }
    }
}

impl ListenerConfig {
    /// Checks the WebSocket path and that two enabled listeners do not ask
    /// for the very same fixed address (port 0 is exempt: each bind gets its
    /// own OS-chosen port).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let path = &self.ws.path;
        if !path.starts_with('/') {
            return Err(ConfigError::invalid(
                "listener.ws.path",
                format!("must start with '/', got {path:?}"),
            ));
        }
        if path.chars().any(char::is_whitespace) {
            return Err(ConfigError::invalid(
                "listener.ws.path",
                format!("must not contain whitespace, got {path:?}"),
            ));
        }
        if self.tcp.enabled
            && self.ws.enabled
            && self.tcp.address == self.ws.address
            && self.tcp.address.port() != 0
        {
            return Err(ConfigError::invalid(
                "listener.ws.address",
                format!(
                    "must differ from listener.tcp.address when both listeners are enabled, \
                     both are {}",
                    self.ws.address
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_path_must_start_with_slash() {
        let mut l = ListenerConfig::default();
        l.ws.path = "/".into();
        assert!(l.validate().is_ok());
        l.ws.path = "mqtt".into();
        let err = l.validate().unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, .. } if key == "listener.ws.path"),
            "{err}"
        );
        l.ws.path = String::new();
        assert!(l.validate().is_err());
        l.ws.path = "/m qtt".into();
        assert!(l.validate().is_err());
    }

    #[test]
    fn same_fixed_address_twice_is_refused_unless_one_is_disabled() {
        let mut l = ListenerConfig::default();
        l.ws.address = l.tcp.address;
        let err = l.validate().unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, .. } if key == "listener.ws.address"),
            "{err}"
        );
        l.ws.enabled = false;
        assert!(l.validate().is_ok());
    }

    #[test]
    fn port_zero_may_be_shared() {
        let mut l = ListenerConfig::default();
        l.tcp.address = "127.0.0.1:0".parse().unwrap();
        l.ws.address = "127.0.0.1:0".parse().unwrap();
        assert!(l.validate().is_ok());
    }
}
