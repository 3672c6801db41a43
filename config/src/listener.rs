//! `[listener.*]`: where the broker accepts clients, and the certificate it
//! presents on its TLS listeners.
//!
//! Each transport has its own switch so a deployment can offer any mix of
//! plain TCP, WebSocket (e.g. behind a browser-facing proxy), MQTT over TLS
//! and WebSocket over TLS. Addresses are full socket addresses written as
//! strings (`"IP:port"`), which keeps IPv6 (`"[::1]:1883"`) and port 0
//! (OS-chosen, handy in tests) expressible without extra keys.
//!
//! Both TLS listeners present one certificate, `[listener.certificate]`: the
//! broker answers for one host name (or one set of names in a single
//! certificate), and one pair of files is what an operator renews and
//! reloads. The files themselves are read when the broker starts (and on
//! SIGHUP), not here: configuration loading checks only that they are named.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

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
    /// `[listener.tls]`: MQTT over TLS.
    pub tls: TlsListenerConfig,
    /// `[listener.wss]`: MQTT over WebSocket over TLS.
    pub wss: WssListenerConfig,
    /// `[listener.certificate]`: what both TLS listeners present.
    pub certificate: CertificateConfig,
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

/// `[listener.tls]`: MQTT over TLS (conventionally port 8883).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsListenerConfig {
    /// Whether the TLS listener runs. Default `false`.
    pub enabled: bool,
    /// Socket address to bind, written `"IP:port"`. Default `127.0.0.1:8883`.
    pub address: SocketAddr,
}

/// `[listener.wss]`: MQTT over WebSocket over TLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WssListenerConfig {
    /// Whether the secure WebSocket listener runs. Default `false`.
    pub enabled: bool,
    /// Socket address to bind, written `"IP:port"`. Default `127.0.0.1:8084`.
    pub address: SocketAddr,
    /// HTTP request path on which WebSocket upgrades are accepted; must start
    /// with `/`. Default `/mqtt`.
    pub path: String,
}

/// `[listener.certificate]`: the certificate chain and private key (PEM
/// files) that the TLS listeners present. Empty paths: none configured,
/// which is an error only when a TLS listener is enabled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertificateConfig {
    /// PEM file with the server certificate first, then any intermediates.
    pub chain_file: PathBuf,
    /// PEM file with the private key of the first certificate (PKCS#8,
    /// PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

impl Default for TlsListenerConfig {
    fn default() -> Self {
        TlsListenerConfig {
            enabled: false,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 8883)),
        }
    }
}

impl Default for WssListenerConfig {
    fn default() -> Self {
        WssListenerConfig {
            enabled: false,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 8084)),
            path: "/mqtt".to_owned(),
        }
    }
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
    /// Whether a listener that needs `[listener.certificate]` is enabled.
    pub fn tls_enabled(&self) -> bool {
        self.tls.enabled || self.wss.enabled
    }

    /// Checks the WebSocket paths, that two enabled listeners do not ask for
    /// the very same fixed address (port 0 is exempt: each bind gets its own
    /// OS-chosen port), and that an enabled TLS listener has its certificate
    /// and key files named.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check_ws_path("listener.ws.path", &self.ws.path)?;
        check_ws_path("listener.wss.path", &self.wss.path)?;

        // In display order, so that a clash names the later listener.
        let enabled: Vec<(&str, SocketAddr)> = [
            ("listener.tcp", self.tcp.enabled, self.tcp.address),
            ("listener.ws", self.ws.enabled, self.ws.address),
            ("listener.tls", self.tls.enabled, self.tls.address),
            ("listener.wss", self.wss.enabled, self.wss.address),
        ]
        .into_iter()
        .filter(|(_, on, _)| *on)
        .map(|(name, _, address)| (name, address))
        .collect();
        for (at, (name, address)) in enabled.iter().enumerate() {
            let earlier = enabled[..at]
                .iter()
                .find(|(_, other)| other == address && address.port() != 0);
            if let Some((other, _)) = earlier {
                return Err(ConfigError::invalid(
                    format!("{name}.address"),
                    format!(
                        "must differ from {other}.address when both listeners are enabled, \
                         both are {address}"
                    ),
                ));
            }
        }

        if self.tls_enabled() {
            let needed = [
                ("listener.certificate.chain_file", &self.certificate.chain_file, "certificate chain"),
                ("listener.certificate.key_file", &self.certificate.key_file, "private key"),
            ];
            for (key, path, what) in needed {
                if path.as_os_str().is_empty() {
                    return Err(ConfigError::invalid(
                        key,
                        format!(
                            "must name the PEM {what} file when listener.tls or listener.wss \
                             is enabled"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A WebSocket request path: starts with `/`, no whitespace.
fn check_ws_path(key: &str, path: &str) -> Result<(), ConfigError> {
    if !path.starts_with('/') {
        return Err(ConfigError::invalid(
            key,
            format!("must start with '/', got {path:?}"),
        ));
    }
    if path.chars().any(char::is_whitespace) {
        return Err(ConfigError::invalid(
            key,
            format!("must not contain whitespace, got {path:?}"),
        ));
    }
    Ok(())
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
    fn tls_listeners_are_off_by_default_on_their_conventional_ports() {
        let l = ListenerConfig::default();
        assert!(!l.tls.enabled && !l.wss.enabled && !l.tls_enabled());
        assert_eq!(l.tls.address, "127.0.0.1:8883".parse().unwrap());
        assert_eq!(l.wss.address, "127.0.0.1:8084".parse().unwrap());
        assert_eq!(l.wss.path, "/mqtt");
        assert!(l.validate().is_ok());
    }

    #[test]
    fn enabled_tls_listener_needs_both_files_named() {
        for wss in [false, true] {
            let mut l = ListenerConfig::default();
            l.tls.enabled = !wss;
            l.wss.enabled = wss;
            let err = l.validate().unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key, .. } if key == "listener.certificate.chain_file"),
                "{err}"
            );
            l.certificate.chain_file = "/etc/tallymq/chain.pem".into();
            let err = l.validate().unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key, .. } if key == "listener.certificate.key_file"),
                "{err}"
            );
            l.certificate.key_file = "/etc/tallymq/key.pem".into();
            l.validate().unwrap();
        }
    }

    #[test]
    fn wss_path_is_checked_like_the_ws_path() {
        let mut l = ListenerConfig::default();
        l.wss.path = "mqtt".into();
        let err = l.validate().unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, .. } if key == "listener.wss.path"),
            "{err}"
        );
    }

    #[test]
    fn tls_listener_address_clash_names_the_later_listener() {
        let mut l = ListenerConfig::default();
        l.certificate.chain_file = "c.pem".into();
        l.certificate.key_file = "k.pem".into();
        l.tls.enabled = true;
        l.wss.enabled = true;
        l.wss.address = l.tls.address;
        let err = l.validate().unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, reason } if key == "listener.wss.address" && reason.contains("listener.tls.address")),
            "{err}"
        );
        l.wss.address = l.tcp.address;
        let err = l.validate().unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, reason } if key == "listener.wss.address" && reason.contains("listener.tcp.address")),
            "{err}"
        );
        l.tcp.enabled = false;
        l.validate().unwrap();
    }

    #[test]
    fn port_zero_may_be_shared() {
        let mut l = ListenerConfig::default();
        l.tcp.address = "127.0.0.1:0".parse().unwrap();
        l.ws.address = "127.0.0.1:0".parse().unwrap();
        assert!(l.validate().is_ok());
    }
}
