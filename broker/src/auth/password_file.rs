//! The password file: one `user:argon2-hash` line per user, like mosquitto's.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=...`), so the parameters travel with each hash
//! and can be raised later without invalidating old lines. The broker only reads the file
//! (and rereads it on SIGHUP); `tallymq passwd` edits it, rewriting the whole file through a
//! temporary file and a rename so that a crash never leaves half a file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Longest user name accepted in the file, in bytes.
pub const MAX_USER_LEN: usize = 256;
/// Largest password file read, in bytes: a bound on start-up work and memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A hash of a password nobody has, verified for unknown users so that a refusal takes as
/// long whether or not the user exists.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dGFsbHltcS1kZWNveQ$RC1WhK7hkl2BQoH6d5tDFUwwSvIvXT6hzEV7VUjBhKs";

#[derive(Debug, thiserror::Error)]
pub enum PasswordFileError {
    #[error("cannot read password file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write password file {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("password file {} is larger than {MAX_FILE_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf },
    #[error("password file {}, line {line}: {reason}", path.display())]
    Line { path: PathBuf, line: usize, reason: String },
    #[error("invalid user name {0:?}: 1 to {MAX_USER_LEN} bytes, without ':', '/', '+', '#', whitespace or control characters")]
    BadUser(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// The users of a password file and their hashes.
#[derive(Debug, Clone, Default)]
pub struct PasswordFile {
    users: BTreeMap<String, String>,
}

impl PasswordFile {
    /// Reads and checks the file at `path`: every line must be a valid user and PHC hash.
    pub fn load(path: &Path) -> Result<PasswordFile, PasswordFileError> {
        let read = |source| PasswordFileError::Read { path: path.to_path_buf(), source };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_FILE_BYTES {
            return Err(PasswordFileError::TooLarge { path: path.to_path_buf() });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        PasswordFile::parse(&text).map_err(|(line, reason)| PasswordFileError::Line { path: path.to_path_buf(), line, reason })
    }

    /// Like [`PasswordFile::load`], but a missing file is an empty one (for `tallymq passwd`).
    pub fn load_or_empty(path: &Path) -> Result<PasswordFile, PasswordFileError> {
        match std::fs::metadata(path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(PasswordFile::default()),
            _ => PasswordFile::load(path),
        }
    }

    /// Parses file text; the error is (1-based line, reason).
    pub fn parse(text: &str) -> Result<PasswordFile, (usize, String)> {
        let mut users = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err((index + 1, "expected user:hash".into()));
            };
            check_user(user).map_err(|e| (index + 1, e.to_string()))?;
            PasswordHash::new(hash).map_err(|e| (index + 1, format!("not a PHC password hash: {e}")))?;
            if users.insert(user.to_string(), hash.to_string()).is_some() {
                return Err((index + 1, format!("user {user:?} appears twice")));
            }
        }
        Ok(PasswordFile { users })
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn contains(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// Whether `password` is `user`'s. Slow on purpose (argon2): call it off the async runtime.
    /// Unknown users cost the same time as known ones.
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        let (hash, known) = match self.users.get(user) {
            Some(hash) => (hash.as_str(), true),
            None => (DECOY_HASH, false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let matches = Argon2::default().verify_password(password, &parsed).is_ok();
        known && matches
    }

    /// Adds `user` or changes their password.
    pub fn set(&mut self, user: &str, password: &[u8]) -> Result<(), PasswordFileError> {
        check_user(user)?;
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default().hash_password(password, &salt).map_err(|e| PasswordFileError::Hash(e.to_string()))?;
        self.users.insert(user.to_string(), hash.to_string());
        Ok(())
    }

    /// Removes `user`; whether they were there.
    pub fn remove(&mut self, user: &str) -> bool {
        self.users.remove(user).is_some()
    }

    /// The file text.
    pub fn render(&self) -> String {
        self.users.iter().map(|(user, hash)| format!("{user}:{hash}\n")).collect()
    }

    /// Writes the file atomically (temporary file, fsync, rename), readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), PasswordFileError> {
        let write = |source| PasswordFileError::Write { path: path.to_path_buf(), source };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary).map_err(write)?;
        file.write_all(self.render().as_bytes()).map_err(write)?;
        file.sync_all().map_err(write)?;
        std::fs::rename(&temporary, path).map_err(write)?;
        Ok(())
    }
}

fn check_user(user: &str) -> Result<(), PasswordFileError> {
    let bad = user.is_empty()
        || user.len() > MAX_USER_LEN
        || user.contains([':', '/', '+', '#'])
        || user.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        return Err(PasswordFileError::BadUser(user.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_verify_render_parse_round_trip() {
        let mut file = PasswordFile::default();
        file.set("alice", b"correct horse").unwrap();
        file.set("bob", b"hunter2").unwrap();
        assert!(file.verify("alice", b"correct horse"));
        assert!(!file.verify("alice", b"hunter2"));
        assert!(!file.verify("carol", b"hunter2"));
        let parsed = PasswordFile::parse(&file.render()).unwrap();
        assert!(parsed.verify("bob", b"hunter2"));
        assert_eq!(parsed.len(), 2);
        assert!(file.remove("bob"));
        assert!(!file.contains("bob"));
    }

    #[test]
    fn bad_lines_are_reported_by_number() {
        assert_eq!(PasswordFile::parse("# users\n\nalice\n").unwrap_err().0, 3);
        let error = PasswordFile::parse("alice:plaintext\n").unwrap_err();
        assert!(error.1.contains("PHC"), "{error:?}");
        let mut file = PasswordFile::default();
        file.set("alice", b"x").unwrap();
        let twice = format!("{}{}", file.render(), file.render());
        assert!(PasswordFile::parse(&twice).unwrap_err().1.contains("twice"));
    }

    #[test]
    fn user_names_are_checked() {
        let mut file = PasswordFile::default();
        for bad in ["", "a:b", "a b", "a\nb", "a/b", "+", "#"] {
            assert!(file.set(bad, b"x").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn decoy_hash_is_a_valid_phc_string() {
        PasswordHash::new(DECOY_HASH).unwrap();
    }
}
