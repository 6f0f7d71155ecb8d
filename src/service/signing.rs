//! Which key signs for this operator: a key file (`--sign KEYFILE`, `--sign-key`, or
//! `RELCON_SIGNING_KEY`, a path, never key material) or the running ssh-agent. Opening a key
//! blocks (files, the agent's socket), so it happens on a blocking thread; a passphrase is
//! held as a secret and never shown.

use std::path::PathBuf;

use secrecy::SecretString;

use crate::sshsig::{AgentKey, SignError, Signer};

/// The variable naming the operator's signing key file.
pub const KEY_VARIABLE: &str = "RELCON_SIGNING_KEY";

/// Namespace of a report's signature.
pub const REPORT_NAMESPACE: &str = "relcon-report";

/// Namespace of a sign-off's signature.
pub const SIGNOFF_NAMESPACE: &str = "relcon-signoff";

/// Where a signing key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// An OpenSSH private key file.
    File(PathBuf),
    /// The running ssh-agent's first key.
    Agent,
}

impl KeyChoice {
    /// The key `RELCON_SIGNING_KEY` names, when it names one.
    pub fn from_env() -> Option<Self> {
        std::env::var_os(KEY_VARIABLE)
            .filter(|v| !v.is_empty())
            .map(|v| KeyChoice::File(PathBuf::from(v)))
    }

    /// The key a sign-off is signed with when none is asked for: `RELCON_SIGNING_KEY`, else
    /// the agent when one runs (`SSH_AUTH_SOCK`), else none.
    pub fn default_for_signoffs() -> Option<Self> {
        Self::from_env().or_else(|| {
            std::env::var_os("SSH_AUTH_SOCK")
                .filter(|v| !v.is_empty())
                .map(|_| KeyChoice::Agent)
        })
    }

    /// How it is named in messages.
    pub fn describe(&self) -> String {
        match self {
            KeyChoice::File(path) => path.display().to_string(),
            KeyChoice::Agent => "the ssh-agent's key".into(),
        }
    }
}

/// Opens the key `choice` names (with `passphrase` for an encrypted file).
pub async fn open(
    choice: &KeyChoice,
    passphrase: Option<SecretString>,
) -> Result<Signer, SignError> {
    let choice = choice.clone();
    tokio::task::spawn_blocking(move || match &choice {
        KeyChoice::File(path) => Signer::from_file(path, passphrase.as_ref()),
        KeyChoice::Agent => Signer::agent(None, &AgentKey::First),
    })
    .await
    .unwrap_or_else(|err| {
        Err(SignError::Signing {
            why: format!("the signing thread failed: {err}"),
        })
    })
}

/// Signs `message` in `namespace` with `signer`, on a blocking thread (the agent's socket).
pub async fn sign(
    signer: &std::sync::Arc<Signer>,
    namespace: &'static str,
    message: Vec<u8>,
) -> Result<String, SignError> {
    let signer = signer.clone();
    tokio::task::spawn_blocking(move || signer.sign(namespace, &message))
        .await
        .unwrap_or_else(|err| {
            Err(SignError::Signing {
                why: format!("the signing thread failed: {err}"),
            })
        })
}
