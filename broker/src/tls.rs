//! TLS for the MQTT-over-TLS and secure WebSocket listeners: the server certificate, loaded
//! from PEM files and replaceable while the broker runs.
//!
//! [`ServerTls`] holds the current rustls configuration behind a lock. Each accepted socket
//! takes a snapshot ([`ServerTls::acceptor`]) and keeps it for its whole handshake and
//! session, so [`ServerTls::reload`] affects new connections only: open connections keep the
//! certificate they were served with. A reload that fails (unreadable file, no certificate,
//! a key that does not belong to the certificate) changes nothing, and its error names the
//! file.
//!
//! The crypto provider is *ring*, passed explicitly to every configuration rather than
//! installed as the process default, so no other library in the process can change which
//! provider (and which cipher suites) the listeners use. Protocol versions are rustls's safe
//! defaults (TLS 1.2 and 1.3). No ALPN protocol is negotiated: MQTT over TLS has none, and a
//! secure WebSocket client needs none beyond HTTP/1.1, which is what it gets without ALPN.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tallymq_config::CertificateConfig;
use tokio_rustls::TlsAcceptor;

/// Largest PEM file read. A certificate chain is a few KiB; the bound keeps a misconfigured
/// path (a log file, a device) from being read whole into memory.
pub const MAX_PEM_FILE_BYTES: u64 = 1024 * 1024;

/// Why a certificate or key could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} file {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} file {} is larger than {MAX_PEM_FILE_BYTES} bytes", path.display())]
    TooLarge { what: &'static str, path: PathBuf },
    #[error("{what} file {} is not valid PEM: {reason}", path.display())]
    Pem { what: &'static str, path: PathBuf, reason: String },
    #[error("certificate chain file {} holds no certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("private key file {} holds no private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoKey { path: PathBuf },
    #[error("private key file {} holds a key that cannot be used: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("the private key in {} does not belong to the first certificate in {}", key.display(), chain.display())]
    KeyMismatch { chain: PathBuf, key: PathBuf },
    #[error("certificate chain file {} cannot be used: {reason}", path.display())]
    BadCertificate { path: PathBuf, reason: String },
}

/// The TLS configuration of the listeners, with the files it is read from.
pub struct ServerTls {
    chain_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("chain_file", &self.chain_file).field("key_file", &self.key_file).finish()
    }
}

impl ServerTls {
    /// Reads the certificate chain and key named in `[listener.certificate]`.
    pub fn load(files: &CertificateConfig) -> Result<ServerTls, TlsError> {
        let config = server_config(&files.chain_file, &files.key_file)?;
        Ok(ServerTls {
            chain_file: files.chain_file.clone(),
            key_file: files.key_file.clone(),
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Rereads both files; on success new connections get the new certificate. On failure the
    /// current certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(&self.chain_file, &self.key_file)?;
        *self.current.write() = Arc::new(config);
        Ok(())
    }

    /// An acceptor with the current certificate, for one connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.current.read()))
    }

    /// The certificate chain file.
    pub fn chain_file(&self) -> &Path {
        &self.chain_file
    }

    /// The private key file.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }
}

/// A rustls server configuration (ring provider, no client certificates) presenting the
/// chain in `chain_file` with the key in `key_file`.
pub fn server_config(chain_file: &Path, key_file: &Path) -> Result<ServerConfig, TlsError> {
    let chain = read_chain(chain_file)?;
    let key = read_key(key_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::BadCertificate { path: chain_file.to_path_buf(), reason: error.to_string() })?;
    builder.with_no_client_auth().with_single_cert(chain, key).map_err(|error| match error {
        rustls::Error::InconsistentKeys(_) => {
            TlsError::KeyMismatch { chain: chain_file.to_path_buf(), key: key_file.to_path_buf() }
        }
        // The key provider refuses keys it cannot parse or use with a general error.
        rustls::Error::General(reason) => TlsError::BadKey { path: key_file.to_path_buf(), reason },
        other => TlsError::BadCertificate { path: chain_file.to_path_buf(), reason: other.to_string() },
    })
}

/// Every certificate in `path`, in file order (the server's own first).
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    const WHAT: &str = "certificate chain";
    let bytes = read_bounded(WHAT, path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error(WHAT, path, error))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_path_buf() });
    }
    Ok(chain)
}

/// The first private key in `path`.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    const WHAT: &str = "private key";
    let bytes = read_bounded(WHAT, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| match error {
        pem::Error::NoItemsFound => TlsError::NoKey { path: path.to_path_buf() },
        other => pem_error(WHAT, path, other),
    })
}

fn pem_error(what: &'static str, path: &Path, error: pem::Error) -> TlsError {
    TlsError::Pem { what, path: path.to_path_buf(), reason: error.to_string() }
}

/// The contents of `path`, refused beyond [`MAX_PEM_FILE_BYTES`].
fn read_bounded(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let read_error = |source| TlsError::Read { what, path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > MAX_PEM_FILE_BYTES {
        return Err(TlsError::TooLarge { what, path: path.to_path_buf() });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for `name`: (chain PEM, key PEM).
    fn self_signed(name: &str) -> (String, String) {
        let certified = rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("rcgen");
        (certified.cert.pem(), certified.key_pair.serialize_pem())
    }

    struct Files {
        dir: tempfile::TempDir,
        config: CertificateConfig,
    }

    impl Files {
        fn new(chain: &str, key: &str) -> Files {
            let dir = tempfile::tempdir().unwrap();
            let config =
                CertificateConfig { chain_file: dir.path().join("chain.pem"), key_file: dir.path().join("key.pem") };
            let files = Files { dir, config };
            files.write(chain, key);
            files
        }

        fn write(&self, chain: &str, key: &str) {
            std::fs::write(&self.config.chain_file, chain).unwrap();
            std::fs::write(&self.config.key_file, key).unwrap();
        }
    }

    fn load_error(files: &Files) -> TlsError {
        ServerTls::load(&files.config).expect_err("the files are refused")
    }

    #[test]
    fn loads_a_chain_and_its_key() {
        let (chain, key) = self_signed("localhost");
        let files = Files::new(&chain, &key);
        let tls = ServerTls::load(&files.config).unwrap();
        assert_eq!(tls.chain_file(), files.config.chain_file);
    }

    #[test]
    fn missing_and_oversized_files_are_named() {
        let (chain, key) = self_signed("localhost");
        let files = Files::new(&chain, &key);
        std::fs::remove_file(&files.config.key_file).unwrap();
        let error = load_error(&files);
        assert!(matches!(&error, TlsError::Read { path, .. } if *path == files.config.key_file), "{error}");
        assert!(error.to_string().contains("key.pem"), "{error}");

        let big = "x".repeat(MAX_PEM_FILE_BYTES as usize + 1);
        files.write(&big, &key);
        let error = load_error(&files);
        assert!(matches!(&error, TlsError::TooLarge { path, .. } if *path == files.config.chain_file), "{error}");
    }

    #[test]
    fn files_without_pem_items_are_named() {
        let (chain, key) = self_signed("localhost");
        let files = Files::new("not a certificate\n", &key);
        let error = load_error(&files);
        assert!(matches!(&error, TlsError::NoCertificate { path } if *path == files.config.chain_file), "{error}");
        assert!(error.to_string().contains("chain.pem"), "{error}");

        // A certificate where the key should be is no key.
        files.write(&chain, &chain);
        let error = load_error(&files);
        assert!(matches!(&error, TlsError::NoKey { path } if *path == files.config.key_file), "{error}");

        // A PEM block whose base64 is broken.
        files.write("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", &key);
        let error = load_error(&files);
        assert!(matches!(&error, TlsError::Pem { path, .. } if *path == files.config.chain_file), "{error}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_naming_both_files() {
        let (chain, _) = self_signed("localhost");
        let (_, other_key) = self_signed("localhost");
        let files = Files::new(&chain, &other_key);
        let error = load_error(&files);
        assert!(matches!(&error, TlsError::KeyMismatch { .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains("chain.pem") && text.contains("key.pem"), "{text}");
    }

    #[test]
    fn reload_replaces_the_configuration_only_when_the_new_files_load() {
        let (chain, key) = self_signed("localhost");
        let files = Files::new(&chain, &key);
        let tls = ServerTls::load(&files.config).unwrap();
        let first = Arc::clone(&tls.current.read());

        files.write(&chain, "garbage");
        assert!(matches!(tls.reload(), Err(TlsError::NoKey { .. })));
        assert!(Arc::ptr_eq(&first, &tls.current.read()), "a failed reload keeps the current configuration");

        let (chain, key) = self_signed("localhost");
        files.write(&chain, &key);
        tls.reload().unwrap();
        assert!(!Arc::ptr_eq(&first, &tls.current.read()), "a reload replaces the configuration");
        drop(files.dir);
    }
}
