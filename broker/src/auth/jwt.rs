//! JSON Web Tokens from the application's backend, carried in the CONNECT password field.
//!
//! Exactly one algorithm is accepted, the configured one, with a key of the matching kind:
//! a token whose header names another algorithm (`none`, or HS256 signed with an RSA public
//! key as the secret) is refused before its signature is looked at. `sub` and `exp` are
//! required, and so are `iss` and `aud` when an issuer or audience is configured.

use std::path::{Path, PathBuf};

use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tallymq_config::{JwtAlgorithm, JwtConfig};

/// Longest token accepted, in bytes: a bound on parsing work.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Most roles taken from a token.
pub const MAX_ROLES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum JwtSetupError {
    #[error("cannot read {what} {}: {source}", path.display())]
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{} is not a usable {what}: {reason}", path.display())]
    BadKey { what: &'static str, path: PathBuf, reason: String },
    #[error("environment variable {0} (auth.jwt.secret_env) is not set or empty")]
    MissingSecret(String),
}

/// What a valid token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub subject: String,
    pub roles: Vec<String>,
    /// Seconds since the epoch.
    pub expires_at: u64,
}

#[derive(Debug, Deserialize)]
struct RawClaims {
    sub: String,
    exp: u64,
    #[serde(default)]
    roles: Vec<String>,
}

/// Checks tokens against the configured key.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier").field("algorithms", &self.validation.algorithms).finish()
    }
}

impl JwtVerifier {
    /// The verifier for `config`, or `None` when JWTs are off. Reads the secret or key now,
    /// so a missing or malformed key stops the broker at start-up.
    pub fn from_config(config: &JwtConfig) -> Result<Option<JwtVerifier>, JwtSetupError> {
        let (algorithm, key) = match config.algorithm {
            JwtAlgorithm::Off => return Ok(None),
            JwtAlgorithm::HS256 => (Algorithm::HS256, DecodingKey::from_secret(&hs256_secret(config)?)),
            JwtAlgorithm::RS256 => {
                let pem = read(&config.public_key_file, "RS256 public key")?;
                let key = DecodingKey::from_rsa_pem(&pem).map_err(|e| bad_key(&config.public_key_file, "RS256 public key", e))?;
                (Algorithm::RS256, key)
            }
            JwtAlgorithm::ES256 => {
                let pem = read(&config.public_key_file, "ES256 public key")?;
                let key = DecodingKey::from_ec_pem(&pem).map_err(|e| bad_key(&config.public_key_file, "ES256 public key", e))?;
                (Algorithm::ES256, key)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.leeway = u64::from(config.leeway_secs);
        validation.validate_nbf = true;
        // jsonwebtoken checks `iss` and `aud` only when a token has them: a configured one is
        // also required, or a token without it would pass.
        let mut required = vec!["exp", "sub"];
        if !config.issuer.is_empty() {
            required.push("iss");
        }
        if !config.audience.is_empty() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        if config.issuer.is_empty() {
            validation.iss = None;
        } else {
            validation.set_issuer(&[config.issuer.as_str()]);
        }
        if config.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&[config.audience.as_str()]);
        }
        Ok(Some(JwtVerifier { key, validation }))
    }

    /// The claims of `token` if its algorithm, signature and claims are valid; otherwise why not.
    pub fn verify(&self, token: &str) -> Result<TokenClaims, String> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(format!("token longer than {MAX_TOKEN_LEN} bytes"));
        }
        let data = decode::<RawClaims>(token, &self.key, &self.validation).map_err(|e| describe(&e))?;
        let claims = data.claims;
        if claims.sub.is_empty() {
            return Err("token has an empty sub".into());
        }
        if claims.roles.len() > MAX_ROLES {
            return Err(format!("token has more than {MAX_ROLES} roles"));
        }
        Ok(TokenClaims { subject: claims.sub, roles: claims.roles, expires_at: claims.exp })
    }
}

/// Whether `password` has the shape of a compact JWS (three base64url parts).
pub fn looks_like_token(password: &[u8]) -> bool {
    let parts: Vec<&[u8]> = password.split(|b| *b == b'.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| p.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
}

fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "token expired".into(),
        ErrorKind::ImmatureSignature => "token not valid yet (nbf)".into(),
        ErrorKind::InvalidSignature => "token signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "token algorithm is not the one configured".into(),
        ErrorKind::InvalidIssuer => "token issuer (iss) not accepted".into(),
        ErrorKind::InvalidAudience => "token audience (aud) not accepted".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("token has no {claim} claim"),
        _ => format!("token not valid: {error}"),
    }
}

fn hs256_secret(config: &JwtConfig) -> Result<Vec<u8>, JwtSetupError> {
    if !config.secret_file.as_os_str().is_empty() {
        let mut secret = read(&config.secret_file, "JWT secret file")?;
        while secret.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            secret.pop();
        }
        if secret.is_empty() {
            return Err(JwtSetupError::BadKey { what: "JWT secret file", path: config.secret_file.clone(), reason: "it is empty".into() });
        }
        return Ok(secret);
    }
    match std::env::var(&config.secret_env) {
        Ok(secret) if !secret.is_empty() => Ok(secret.into_bytes()),
        _ => Err(JwtSetupError::MissingSecret(config.secret_env.clone())),
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, JwtSetupError> {
    std::fs::read(path).map_err(|source| JwtSetupError::Read { what, path: path.to_path_buf(), source })
}

fn bad_key(path: &Path, what: &'static str, error: jsonwebtoken::errors::Error) -> JwtSetupError {
    JwtSetupError::BadKey { what, path: path.to_path_buf(), reason: error.to_string() }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::{json, Value};

    use super::*;

    const SECRET: &[u8] = b"unit-test-secret";

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    /// An HS256 verifier for [`SECRET`] with `adjust` applied to its configuration.
    fn verifier(adjust: impl FnOnce(&mut JwtConfig)) -> JwtVerifier {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("secret");
        std::fs::write(&secret_file, SECRET).unwrap();
        let mut config = JwtConfig { algorithm: JwtAlgorithm::HS256, secret_file, ..JwtConfig::default() };
        adjust(&mut config);
        JwtVerifier::from_config(&config).unwrap().expect("HS256 is on")
    }

    fn token(claims: &Value) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    #[test]
    fn valid_token_yields_its_claims() {
        let exp = now() + 60;
        let claims = verifier(|_| {}).verify(&token(&json!({ "sub": "alice", "exp": exp, "roles": ["ops"] }))).unwrap();
        assert_eq!(claims, TokenClaims { subject: "alice".into(), roles: vec!["ops".into()], expires_at: exp });
    }

    #[test]
    fn configured_issuer_and_audience_are_required() {
        let verifier = verifier(|config| {
            config.issuer = "https://loans.example".into();
            config.audience = "tallymq".into();
        });
        let exp = now() + 60;
        let both = json!({ "sub": "a", "exp": exp, "iss": "https://loans.example", "aud": "tallymq" });
        verifier.verify(&token(&both)).unwrap();
        let no_iss = json!({ "sub": "a", "exp": exp, "aud": "tallymq" });
        assert_eq!(verifier.verify(&token(&no_iss)).unwrap_err(), "token has no iss claim");
        let no_aud = json!({ "sub": "a", "exp": exp, "iss": "https://loans.example" });
        assert_eq!(verifier.verify(&token(&no_aud)).unwrap_err(), "token has no aud claim");
        let other_aud = json!({ "sub": "a", "exp": exp, "iss": "https://loans.example", "aud": ["other", "more"] });
        assert_eq!(verifier.verify(&token(&other_aud)).unwrap_err(), "token audience (aud) not accepted");
    }

    #[test]
    fn unconfigured_issuer_is_not_required() {
        verifier(|_| {}).verify(&token(&json!({ "sub": "a", "exp": now() + 60 }))).unwrap();
    }

    #[test]
    fn roles_are_bounded() {
        let verifier = verifier(|_| {});
        let roles = |n: usize| (0..n).map(|i| format!("r{i}")).collect::<Vec<_>>();
        let most = json!({ "sub": "a", "exp": now() + 60, "roles": roles(MAX_ROLES) });
        assert_eq!(verifier.verify(&token(&most)).unwrap().roles.len(), MAX_ROLES);
        let too_many = json!({ "sub": "a", "exp": now() + 60, "roles": roles(MAX_ROLES + 1) });
        assert_eq!(verifier.verify(&token(&too_many)).unwrap_err(), format!("token has more than {MAX_ROLES} roles"));
    }

    #[test]
    fn token_shape() {
        assert!(looks_like_token(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"));
        assert!(looks_like_token(b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."));
        assert!(!looks_like_token(b"hunter2"));
        assert!(!looks_like_token(b"a.b"));
        assert!(!looks_like_token(b"a b.c.d"));
    }
}
