//! Who signs: a private key read from an OpenSSH key file, or a key held by the running
//! ssh-agent, which signs without the key ever leaving it. Either way the result is the
//! armored SSHSIG text `ssh-keygen -Y sign` writes (SHA-512, its default).
//!
//! Everything here blocks (file reads, the agent's socket, key derivation for encrypted
//! keys): async callers run it in `tokio::task::spawn_blocking`. A `Signer` is `Send` and
//! `Sync` for that, and opens a fresh agent connection per signature.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use ssh_agent_client_rs::Client;
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

/// Which of the agent's keys signs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AgentKey {
    /// The first key the agent lists (`ssh-add -l` shows the order).
    #[default]
    First,
    /// The key with this fingerprint, in the `SHA256:…` form `ssh-add -l` prints.
    Fingerprint(String),
    /// The first key whose comment (often the key file's path or `user@host`) is this.
    Comment(String),
}

/// A key able to sign.
pub struct Signer {
    source: Source,
    public: PublicKey,
}

enum Source {
    File(Box<PrivateKey>),
    Agent(PathBuf),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only where the key is and which key: never anything of the private part.
        let source = match &self.source {
            Source::File(_) => "file".to_string(),
            Source::Agent(socket) => format!("agent at {}", socket.display()),
        };
        f.debug_struct("Signer")
            .field("source", &source)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// Why a signer could not be set up, or could not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The key file could not be read.
    #[error("cannot read key file {path}: {why}")]
    Read {
        /// The file.
        path: String,
        /// The system's reason.
        why: String,
    },
    /// The file is not an OpenSSH private key.
    #[error("{path} is not an OpenSSH private key ({why}): give the private key file (not the .pub), in the format ssh-keygen writes; `ssh-keygen -p -f {path}` converts an old PEM key")]
    NotAKey {
        /// The file.
        path: String,
        /// The parser's reason.
        why: String,
    },
    /// An RSA key file: refused, the agent signs with RSA keys instead.
    #[error("{path} is an RSA key: relcon does not sign with RSA key files (the Rust RSA implementation has an unfixed timing weakness, RUSTSEC-2023-0071); load it into ssh-agent with `ssh-add {path}` and sign with the agent instead, or use an ed25519 key")]
    RsaFile {
        /// The file.
        path: String,
    },
    /// A key type relcon cannot sign with from a file (DSA, security keys).
    #[error("{path} holds a {algorithm} key, which relcon cannot sign with from a file: use an ed25519 or ECDSA key, or the agent")]
    Unsupported {
        /// The file.
        path: String,
        /// The key type.
        algorithm: String,
    },
    /// The key is encrypted and no passphrase was given.
    #[error("{path} is encrypted: its passphrase is needed")]
    PassphraseNeeded {
        /// The file.
        path: String,
    },
    /// The passphrase does not decrypt the key.
    #[error("the passphrase for {path} is wrong")]
    WrongPassphrase {
        /// The file.
        path: String,
    },
    /// No agent socket: `SSH_AUTH_SOCK` is unset and none was given.
    #[error("no ssh-agent: SSH_AUTH_SOCK is not set; start one (`eval \"$(ssh-agent)\"`) and load a key with `ssh-add`, or sign with a key file")]
    NoAgent,
    /// The agent's socket did not answer.
    #[error("cannot reach ssh-agent at {socket}: {why}")]
    AgentUnreachable {
        /// The socket.
        socket: String,
        /// The reason.
        why: String,
    },
    /// The agent holds no key.
    #[error("ssh-agent at {socket} holds no key: load one with `ssh-add KEYFILE`")]
    NoIdentity {
        /// The socket.
        socket: String,
    },
    /// No key of the agent is the one asked for.
    #[error("ssh-agent at {socket} holds no key with {wanted}; it holds: {held}")]
    NoMatchingIdentity {
        /// The socket.
        socket: String,
        /// The fingerprint or comment asked for.
        wanted: String,
        /// The keys it holds, fingerprint and comment each.
        held: String,
    },
    /// The agent answered, but not with a good signature.
    #[error("ssh-agent did not sign: {why}")]
    AgentRefused {
        /// The reason.
        why: String,
    },
    /// Signing itself failed (an empty namespace, say).
    #[error("cannot sign: {why}")]
    Signing {
        /// The reason.
        why: String,
    },
}

impl Signer {
    /// The private key of an OpenSSH key file (ed25519 or ECDSA), decrypted with
    /// `passphrase` if the file is encrypted (a passphrase for a plain key is ignored).
    pub fn from_file(path: &Path, passphrase: Option<&SecretString>) -> Result<Self, SignError> {
        let shown = path.display().to_string();
        let text = crate::files::read_text_capped(path, crate::files::CAP).map_err(|e| {
            SignError::Read {
                path: shown.clone(),
                why: e.to_string(),
            }
        })?;
        if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
            return Err(SignError::RsaFile { path: shown });
        }
        let key = PrivateKey::from_openssh(&text)
            .or_else(|err| super::widen::widened(&text, None).ok_or(err))
            .map_err(|e| SignError::NotAKey {
                path: shown.clone(),
                why: e.to_string(),
            })?;
        // The public half is readable without the passphrase: refuse before asking for it.
        match key.algorithm() {
            Algorithm::Ed25519 | Algorithm::Ecdsa { .. } => {}
            Algorithm::Rsa { .. } => return Err(SignError::RsaFile { path: shown }),
            other => {
                return Err(SignError::Unsupported {
                    path: shown,
                    algorithm: other.to_string(),
                })
            }
        }
        let key = if key.is_encrypted() {
            let passphrase = passphrase.ok_or_else(|| SignError::PassphraseNeeded {
                path: shown.clone(),
            })?;
            // An unauthenticated cipher (OpenSSH's default aes256-ctr) shows a wrong
            // passphrase as a failed check of the decrypted bytes: every failure here is one.
            let passphrase = passphrase.expose_secret().as_bytes();
            match key.decrypt(passphrase) {
                Ok(key) => key,
                // Decrypted, and then not read: perhaps a short scalar (a wrong passphrase
                // fails the check numbers, a crypto error, and is not tried again).
                Err(ssh_key::Error::Encoding(_)) => super::widen::widened(&text, Some(passphrase))
                    .ok_or(SignError::WrongPassphrase { path: shown })?,
                Err(_) => return Err(SignError::WrongPassphrase { path: shown }),
            }
        } else {
            key
        };
        Ok(Self {
            public: key.public_key().clone(),
            source: Source::File(Box::new(key)),
        })
    }

    /// A key held by the ssh-agent at `socket` (`SSH_AUTH_SOCK` when `None`), chosen by
    /// `which`. Certificates the agent holds are passed over.
    pub fn agent(socket: Option<&Path>, which: &AgentKey) -> Result<Self, SignError> {
        let socket = match socket {
            Some(socket) => socket.to_path_buf(),
            None => std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .ok_or(SignError::NoAgent)?,
        };
        let shown = socket.display().to_string();
        let mut client = connect(&socket)?;
        let keys: Vec<PublicKey> = client
            .list_all_identities()
            .map_err(|e| SignError::AgentUnreachable {
                socket: shown.clone(),
                why: e.to_string(),
            })?
            .into_iter()
            .filter_map(|identity| match identity {
                ssh_agent_client_rs::Identity::PublicKey(key) => Some(key.into_owned()),
                ssh_agent_client_rs::Identity::Certificate(_) => None,
            })
            .collect();
        if keys.is_empty() {
            return Err(SignError::NoIdentity { socket: shown });
        }
        let fingerprint = |key: &PublicKey| key.fingerprint(HashAlg::Sha256).to_string();
        let chosen = match which {
            AgentKey::First => keys.first(),
            AgentKey::Fingerprint(wanted) => keys.iter().find(|k| fingerprint(k) == *wanted),
            AgentKey::Comment(wanted) => keys.iter().find(|k| k.comment() == wanted),
        };
        let Some(public) = chosen.cloned() else {
            let wanted = match which {
                AgentKey::Fingerprint(f) => format!("fingerprint {f}"),
                AgentKey::Comment(c) => format!("comment {c:?}"),
                AgentKey::First => unreachable!("the agent holds a key"),
            };
            let held = keys
                .iter()
                .map(|k| format!("{} {:?}", fingerprint(k), k.comment()))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(SignError::NoMatchingIdentity {
                socket: shown,
                wanted,
                held,
            });
        };
        Ok(Self {
            source: Source::Agent(socket),
            public,
        })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key's fingerprint in the form `ssh-keygen -l` prints: `SHA256:` and base64.
    pub fn fingerprint(&self) -> String {
        self.public.fingerprint(HashAlg::Sha256).to_string()
    }

    /// Signs `message` in `namespace` (for example `relcon-report`): the armored
    /// `-----BEGIN SSH SIGNATURE-----` text, as `ssh-keygen -Y sign` writes it, that
    /// `ssh-keygen -Y verify` and [`super::verify`] accept.
    pub fn sign(&self, namespace: &str, message: &[u8]) -> Result<String, SignError> {
        let signing = |e: ssh_key::Error| SignError::Signing { why: e.to_string() };
        let signature = match &self.source {
            Source::File(key) => key
                .sign(namespace, HashAlg::Sha512, message)
                .map_err(signing)?,
            Source::Agent(socket) => {
                let data =
                    SshSig::signed_data(namespace, HashAlg::Sha512, message).map_err(signing)?;
                let raw = connect(socket)?.sign(&self.public, &data).map_err(|e| {
                    SignError::AgentRefused {
                        why: format!("{e} (is the key still loaded? `ssh-add -l` lists them)"),
                    }
                })?;
                let signature = SshSig::new(
                    self.public.key_data().clone(),
                    namespace,
                    HashAlg::Sha512,
                    raw,
                )
                .map_err(signing)?;
                // The agent is another program: check its work before handing it out.
                self.public
                    .verify(namespace, message, &signature)
                    .map_err(|e| SignError::AgentRefused {
                        why: format!("its signature does not verify: {e}"),
                    })?;
                signature
            }
        };
        signature.to_pem(LineEnding::LF).map_err(signing)
    }
}

fn connect(socket: &Path) -> Result<Client, SignError> {
    Client::connect(socket).map_err(|e| SignError::AgentUnreachable {
        socket: socket.display().to_string(),
        why: e.to_string(),
    })
}
