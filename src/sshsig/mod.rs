//! SSH signatures (SSHSIG), offline and interchangeable with `ssh-keygen -Y sign` and
//! `ssh-keygen -Y verify`: relcon signs reports and sign-offs with a key file or the
//! ssh-agent ([`Signer`]), checks a signature against its message ([`verify`]), and decides
//! whom a key stands for with an OpenSSH allowed_signers file ([`AllowedSigners`]).
//!
//! A foundation: it uses no other module of relcon. The cryptography is the `ssh-key`
//! crate's; this module only chooses (SHA-512, no RSA key files) and explains failures.

mod allowed;
mod line;
mod pattern;
mod signer;
mod widen;

pub use allowed::{AllowedSigners, AllowedSignersError, Refusal};
pub use signer::{AgentKey, SignError, Signer};
pub use ssh_key::PublicKey;

use ssh_key::{HashAlg, SshSig};

/// A signature that verified: who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signer's public key, as the signature carries it (its comment is empty).
    pub public_key: PublicKey,
    /// Its fingerprint in the form `ssh-keygen -l` prints: `SHA256:` and base64.
    pub fingerprint: String,
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not an armored SSH signature at all.
    #[error("not an SSH signature (expected the text between -----BEGIN SSH SIGNATURE----- and -----END SSH SIGNATURE----- that `ssh-keygen -Y sign` writes): {why}")]
    Malformed {
        /// The parser's reason.
        why: String,
    },
    /// A signature made for another purpose.
    #[error("the signature was made for namespace \"{found}\", not \"{expected}\": it signs something else than what it is checked for")]
    WrongNamespace {
        /// The namespace asked for.
        expected: String,
        /// The namespace in the signature.
        found: String,
    },
    /// The signature is well-formed but does not match the message.
    #[error("the signature by {fingerprint} does not match the message: the message was changed after signing, or the signature belongs to another message")]
    Mismatch {
        /// The fingerprint of the key the signature names.
        fingerprint: String,
    },
    /// A key type that cannot be verified here.
    #[error("signatures by {algorithm} keys cannot be verified here")]
    Unsupported {
        /// The key type.
        algorithm: String,
    },
}

/// The fingerprint of the key an armored SSH signature names, without checking what it
/// signs.
pub fn fingerprint_of(armored: &str) -> Result<String, VerifyError> {
    let signature = SshSig::from_pem(armored.trim())
        .map_err(|e| VerifyError::Malformed { why: e.to_string() })?;
    Ok(PublicKey::new(signature.public_key().clone(), "")
        .fingerprint(HashAlg::Sha256)
        .to_string())
}

/// Checks an armored SSH signature over `message` in `namespace` and says which key made
/// it. It answers "was this message signed by this key", not "is this key trusted": ask
/// [`AllowedSigners`] for that.
pub fn verify(armored: &str, namespace: &str, message: &[u8]) -> Result<Verified, VerifyError> {
    let signature = SshSig::from_pem(armored.trim())
        .map_err(|e| VerifyError::Malformed { why: e.to_string() })?;
    if signature.namespace() != namespace {
        return Err(VerifyError::WrongNamespace {
            expected: namespace.to_string(),
            found: signature.namespace().to_string(),
        });
    }
    let public_key = PublicKey::new(signature.public_key().clone(), "");
    let fingerprint = public_key.fingerprint(HashAlg::Sha256).to_string();
    match public_key.verify(namespace, message, &signature) {
        Ok(()) => Ok(Verified {
            public_key,
            fingerprint,
        }),
        Err(ssh_key::Error::AlgorithmUnsupported { algorithm }) => Err(VerifyError::Unsupported {
            algorithm: algorithm.to_string(),
        }),
        Err(_) => Err(VerifyError::Mismatch { fingerprint }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_signature() {
        for text in [
            "",
            "hello",
            "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
        ] {
            let error = verify(text, "relcon-report", b"m").expect_err("refused");
            assert!(
                matches!(error, VerifyError::Malformed { .. }),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn signer_and_errors_can_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Signer>();
        send_sync::<SignError>();
        send_sync::<VerifyError>();
        send_sync::<AllowedSigners>();
    }
}
