//! The admin API's bearer token: where it comes from and how a request's token is checked.
//!
//! The token is read once at start-up from `admin.token_file` or the environment variable
//! named by `admin.token_env`; only its SHA-256 digest is kept. A presented token is hashed
//! the same way and the digests are compared in constant time, so neither the comparison's
//! duration nor an early exit on length tells a caller how much of a guess was right.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tallymq_config::AdminConfig;

use super::error::ApiError;
use super::{AdminError, AdminState};

/// Shortest token accepted, in bytes.
pub const MIN_TOKEN_LEN: usize = 16;

/// The expected token, as its digest.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// Reads the token from `token_file`, or else from the variable `token_env`.
    pub fn load(config: &AdminConfig) -> Result<Token, AdminError> {
        let (text, source) = if config.token_file.as_os_str().is_empty() {
            let value = std::env::var(config.token_env.trim()).unwrap_or_default();
            (value, format!("the environment variable {}", config.token_env.trim()))
        } else {
            (read_file(&config.token_file)?, format!("the file {}", config.token_file.display()))
        };
        let token = text.trim_end_matches(['\r', '\n']);
        if token.is_empty() {
            return Err(AdminError::NoToken { env: config.token_env.clone() });
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(AdminError::ShortToken { source_name: source, len: token.len(), min: MIN_TOKEN_LEN });
        }
        Ok(Token::new(token))
    }

    pub fn new(token: &str) -> Token {
        Token { digest: Sha256::digest(token.as_bytes()).into() }
    }

    /// Whether `presented` is the token, in time independent of where they differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        digest.ct_eq(&self.digest).into()
    }
}

fn read_file(path: &Path) -> Result<String, AdminError> {
    std::fs::read_to_string(path).map_err(|source| AdminError::TokenFile { path: path.to_path_buf(), source })
}

/// Middleware in front of every route but the API document: 401 without the right
/// `Authorization: Bearer <token>`.
pub async fn require_token(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes())
        .and_then(|value| {
            let (scheme, token) = value.split_at(value.iter().position(|b| *b == b' ')?);
            scheme.eq_ignore_ascii_case(b"bearer").then(|| token.trim_ascii())
        });
    match presented {
        None => ApiError::unauthorized("this call needs the header `Authorization: Bearer <token>`").into_response(),
        Some(token) if !state.token.matches(token) => {
            tracing::debug!(path = %request.uri().path(), "admin API call with a wrong token");
            ApiError::unauthorized("the bearer token is not the admin token").into_response()
        }
        Some(_) => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let token = Token::new("a-long-enough-admin-token");
        assert!(token.matches(b"a-long-enough-admin-token"));
        assert!(!token.matches(b"a-long-enough-admin-toke"));
        assert!(!token.matches(b"a-long-enough-admin-token "));
        assert!(!token.matches(b""));
    }

    #[test]
    fn tokens_come_from_the_file_before_the_environment_and_must_be_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "0123456789abcdef-from-file\n").unwrap();
        let config = AdminConfig { enabled: true, token_file: file.clone(), ..AdminConfig::default() };
        assert!(Token::load(&config).unwrap().matches(b"0123456789abcdef-from-file"));

        std::fs::write(&file, "short\n").unwrap();
        let error = Token::load(&config).unwrap_err().to_string();
        assert!(error.contains("at least 16"), "{error}");

        let unset = AdminConfig { enabled: true, token_env: "TALLYMQ_TEST_NEVER_SET_ADMIN_TOKEN".into(), ..AdminConfig::default() };
        let error = Token::load(&unset).unwrap_err().to_string();
        assert!(error.contains("admin.token_file") && error.contains("admin.token_env"), "{error}");

        let missing = AdminConfig { token_file: dir.path().join("nope"), ..config };
        assert!(Token::load(&missing).unwrap_err().to_string().contains("nope"));
    }
}
