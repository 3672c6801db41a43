//! What the broker rereads while it runs (on SIGHUP, through `Server::reload`), and the
//! report of one reload.
//!
//! Reloading replaces files an operator renews without restarting the broker and dropping
//! every connection. Each reloadable item is reread on its own: one that fails keeps its
//! current version and does not stop the others. What is reloaded applies to new
//! connections; open connections keep what they started with.
//!
//! Reloadable: the TLS certificate and key (`[listener.certificate]`) and the password file
//! (`auth.password_file`). Adding an item means a [`Reloadable`] variant, a [`ReloadError`]
//! variant for its failures, and one step in `Server::reload`.

use std::fmt;

use crate::auth::password_file::PasswordFileError;
use crate::tls::TlsError;

/// Something `Server::reload` rereads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reloadable {
    /// `[listener.certificate]`: the chain and key the TLS listeners present.
    TlsCertificate,
    /// `auth.password_file`: the users who sign in with a password.
    PasswordFile,
}

impl fmt::Display for Reloadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reloadable::TlsCertificate => "TLS certificate",
            Reloadable::PasswordFile => "password file",
        })
    }
}

/// Why an item could not be reloaded; it names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    PasswordFile(#[from] PasswordFileError),
}

/// What happened to one item.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// Reread; new connections use the new version.
    Reloaded,
    /// Not in use in this configuration (e.g. no TLS listener): nothing to reread.
    NotConfigured,
    /// Could not be reread; the current version stays in use.
    Failed(ReloadError),
}

/// The outcome of one `Server::reload`, item by item.
#[derive(Debug, Default)]
pub struct ReloadReport {
    pub items: Vec<(Reloadable, ReloadOutcome)>,
}

impl ReloadReport {
    pub(crate) fn push(&mut self, what: Reloadable, outcome: ReloadOutcome) {
        self.items.push((what, outcome));
    }

    /// What happened to `what`, if this reload looked at it.
    pub fn outcome(&self, what: Reloadable) -> Option<&ReloadOutcome> {
        self.items.iter().find(|(item, _)| *item == what).map(|(_, outcome)| outcome)
    }

    /// The items that failed, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (Reloadable, &ReloadError)> {
        self.items.iter().filter_map(|(item, outcome)| match outcome {
            ReloadOutcome::Failed(error) => Some((*item, error)),
            _ => None,
        })
    }

    /// Whether nothing failed.
    pub fn is_ok(&self) -> bool {
        self.failures().next().is_none()
    }
}

impl fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.items.is_empty() {
            return f.write_str("nothing to reload");
        }
        for (at, (item, outcome)) in self.items.iter().enumerate() {
            if at > 0 {
                f.write_str("; ")?;
            }
            match outcome {
                ReloadOutcome::Reloaded => write!(f, "{item}: reloaded")?,
                ReloadOutcome::NotConfigured => write!(f, "{item}: not configured")?,
                ReloadOutcome::Failed(error) => write!(f, "{item}: failed, kept the current one: {error}")?,
            }
        }
        Ok(())
    }
}
