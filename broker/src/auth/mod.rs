//! Authentication at CONNECT: who is this client?
//!
//! A client proves who it is with a JWT in the password field (issued by the application's
//! backend) or a user name and password from the password file. Without credentials it is
//! anonymous, accepted only where `auth.anonymous` allows. In `open` mode nobody is checked.
//! The result is an [`Identity`]; what the identity may touch is [`crate::access`]'s business.

pub mod jwt;
pub mod password_file;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;
use tallymq_config::{Anonymous, AuthConfig, AuthMode};
use tokio::sync::Semaphore;

use crate::codec::{Connect, ReasonCode};
use jwt::{JwtSetupError, JwtVerifier};
use password_file::{PasswordFile, PasswordFileError};

/// Who a connection is, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `None`: anonymous.
    pub user: Option<Arc<str>>,
    pub roles: Arc<[Arc<str>]>,
    /// When the token expires, in seconds since the epoch; `None` for passwords and anonymous.
    pub expires_at: Option<u64>,
}

impl Identity {
    fn anonymous() -> Identity {
        Identity { user: None, roles: Arc::from([]), expires_at: None }
    }

    fn user(user: &str, roles: &[String], expires_at: Option<u64>) -> Identity {
        Identity {
            user: Some(Arc::from(user)),
            roles: roles.iter().map(|r| Arc::from(r.as_str())).collect(),
            expires_at,
        }
    }
}

/// Why a CONNECT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct AuthFailure {
    /// 0x86 (bad credentials), 0x87 (not authorized) or 0x8C (bad method); the codec maps it
    /// to the 3.1.1 return code (4 or 5).
    pub code: ReasonCode,
    pub reason: String,
}

impl AuthFailure {
    fn bad_credentials(reason: impl Into<String>) -> AuthFailure {
        AuthFailure { code: ReasonCode::BAD_USER_NAME_OR_PASSWORD, reason: reason.into() }
    }

    fn not_authorized(reason: impl Into<String>) -> AuthFailure {
        AuthFailure { code: ReasonCode::NOT_AUTHORIZED, reason: reason.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error(transparent)]
    Jwt(#[from] JwtSetupError),
    #[error(transparent)]
    PasswordFile(#[from] PasswordFileError),
}

/// Checks credentials at CONNECT.
#[derive(Debug)]
pub struct Authenticator {
    mode: AuthMode,
    anonymous: Anonymous,
    jwt: Option<JwtVerifier>,
    password_path: Option<PathBuf>,
    passwords: RwLock<Arc<PasswordFile>>,
    /// Bounds the argon2 work running at once.
    password_checks: Arc<Semaphore>,
}

impl Authenticator {
    /// Reads the JWT key and the password file now: a broken one stops start-up.
    pub fn from_config(config: &AuthConfig) -> Result<Authenticator, AuthSetupError> {
        let jwt = JwtVerifier::from_config(&config.jwt)?;
        let password_path = (!config.password_file.as_os_str().is_empty()).then(|| config.password_file.clone());
        let passwords = match &password_path {
            Some(path) => PasswordFile::load(path)?,
            None => PasswordFile::default(),
        };
        if config.mode == AuthMode::Open {
            tracing::warn!("auth.mode = \"open\": every client is accepted and may use every topic; never use this in production");
        }
        Ok(Authenticator {
            mode: config.mode,
            anonymous: config.anonymous,
            jwt,
            password_path,
            passwords: RwLock::new(Arc::new(passwords)),
            password_checks: Arc::new(Semaphore::new(config.max_concurrent_password_checks as usize)),
        })
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Rereads the password file (on SIGHUP). On error the users already loaded stay.
    /// Returns how many users the file has.
    pub fn reload_passwords(&self) -> Result<Option<usize>, PasswordFileError> {
        let Some(path) = &self.password_path else {
            return Ok(None);
        };
        let file = PasswordFile::load(path)?;
        let users = file.len();
        *self.passwords.write() = Arc::new(file);
        tracing::info!(path = %path.display(), users, "password file reloaded");
        Ok(Some(users))
    }

    /// Authenticates a CONNECT from `peer`.
    pub async fn authenticate(&self, connect: &Connect, peer: IpAddr) -> Result<Identity, AuthFailure> {
        if connect.properties.authentication_method.is_some() {
            return Err(AuthFailure {
                code: ReasonCode::BAD_AUTHENTICATION_METHOD,
                reason: "no enhanced authentication method is supported; send credentials in the CONNECT".into(),
            });
        }
        let username = connect.username.as_deref();
        if self.mode == AuthMode::Open {
            return Ok(Identity { user: username.map(Arc::from), roles: Arc::from([]), expires_at: None });
        }
        let Some(password) = connect.password.as_deref() else {
            if username.is_some() {
                return Err(AuthFailure::bad_credentials("a user name needs a password or token"));
            }
            return self.anonymous(peer);
        };
        if let Some(verifier) = self.jwt.as_ref().filter(|_| jwt::looks_like_token(password)) {
            let token = std::str::from_utf8(password).map_err(|_| AuthFailure::bad_credentials("token is not UTF-8"))?;
            let claims = verifier.verify(token).map_err(AuthFailure::bad_credentials)?;
            // The user id names topic levels (user/{user}/...): it must be one level.
            if claims.subject.len() > password_file::MAX_USER_LEN || claims.subject.contains(['/', '+', '#', '\0']) {
                return Err(AuthFailure::not_authorized("the token's sub cannot be a user id: one topic level, at most 256 bytes"));
            }
            if username.is_some_and(|name| !name.is_empty() && name != claims.subject) {
                return Err(AuthFailure::bad_credentials("user name differs from the token's subject"));
            }
            return Ok(Identity::user(&claims.subject, &claims.roles, Some(claims.expires_at)));
        }
        let Some(user) = username.filter(|name| !name.is_empty()) else {
            return Err(AuthFailure::bad_credentials("a password needs a user name (or send a token)"));
        };
        let passwords = self.passwords.read().clone();
        if passwords.is_empty() {
            return Err(AuthFailure::bad_credentials("bad user name or password"));
        }
        let _permit = self
            .password_checks
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AuthFailure::not_authorized("the server is shutting down"))?;
        let (user_owned, password_owned) = (user.to_string(), password.to_vec());
        let verified = tokio::task::spawn_blocking(move || passwords.verify(&user_owned, &password_owned)).await.unwrap_or(false);
        if !verified {
            return Err(AuthFailure::bad_credentials("bad user name or password"));
        }
        Ok(Identity::user(user, &[], None))
    }

    fn anonymous(&self, peer: IpAddr) -> Result<Identity, AuthFailure> {
        let allowed = match self.anonymous {
            Anonymous::Never => false,
            Anonymous::Loopback => peer.is_loopback() || peer.to_canonical().is_loopback(),
            Anonymous::Always => true,
        };
        if allowed {
            Ok(Identity::anonymous())
        } else {
            Err(AuthFailure::not_authorized("credentials are required"))
        }
    }
}
