//! Auth.js session tokens: the JWE that Auth.js keeps in its session cookie when sessions
//! are JWTs, encoded and decoded as the library does, so that a check can mint a session
//! for a probe user with the configured secret, or prove a given token was encrypted with
//! it. Both generations:
//! - v4 (`next-auth@4`): `dir` + `A256GCM`, key HKDF-SHA256(secret, salt "", info
//!   "NextAuth.js Generated Encryption Key", 32 bytes); no `kid`.
//! - v5 (`@auth/core`): `dir` + `A256CBC-HS512`, key HKDF-SHA256(secret, salt = the cookie
//!   name, info "Auth.js Generated Encryption Key (<cookie name>)", 64 bytes); `kid` is the
//!   key's RFC 7638 thumbprint (SHA-512), which is how a deployment with several secrets
//!   picks the one to decrypt with.
//!
//! Read from `packages/next-auth/src/jwt/index.ts` (v4) and `packages/core/src/jwt.ts`, and
//! tested against tokens the real libraries made (`tests/authjs/`).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The generation of Auth.js.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `next-auth@4`.
    V4,
    /// `next-auth@5` / `@auth/core`.
    V5,
}

impl Version {
    /// The session cookie's name: `__Secure-` on https, as both generations do.
    pub fn cookie_name(self, https: bool) -> &'static str {
        match (self, https) {
            (Version::V4, true) => "__Secure-next-auth.session-token",
            (Version::V4, false) => "next-auth.session-token",
            (Version::V5, true) => "__Secure-authjs.session-token",
            (Version::V5, false) => "authjs.session-token",
        }
    }
}

/// A content encryption of the two generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enc {
    A256Gcm,
    A256CbcHs512,
}

impl Enc {
    fn name(self) -> &'static str {
        match self {
            Enc::A256Gcm => "A256GCM",
            Enc::A256CbcHs512 => "A256CBC-HS512",
        }
    }

    fn key_len(self) -> usize {
        match self {
            Enc::A256Gcm => 32,
            Enc::A256CbcHs512 => 64,
        }
    }
}

/// The key a token of `version` is encrypted with under `secret`; for v5, `salt` is the
/// cookie name (v4 uses no salt unless one is configured).
fn derive(version: Version, enc: Enc, secret: &[u8], salt: &str) -> Vec<u8> {
    let info = match version {
        Version::V4 if salt.is_empty() => "NextAuth.js Generated Encryption Key".to_string(),
        Version::V4 => format!("NextAuth.js Generated Encryption Key ({salt})"),
        Version::V5 => format!("Auth.js Generated Encryption Key ({salt})"),
    };
    let mut key = vec![0; enc.key_len()];
    hkdf::Hkdf::<Sha256>::new(Some(salt.as_bytes()), secret)
        .expand(info.as_bytes(), &mut key)
        .expect("HKDF-SHA256 gives 64 bytes");
    key
}

/// The RFC 7638 thumbprint of a symmetric key, with the SHA-2 of its size in bits (as
/// `@auth/core` computes `kid`).
fn thumbprint(key: &[u8]) -> String {
    let jwk = format!("{{\"k\":\"{}\",\"kty\":\"oct\"}}", B64.encode(key));
    match key.len() {
        64 => B64.encode(Sha512::digest(jwk.as_bytes())),
        _ => B64.encode(Sha256::digest(jwk.as_bytes())),
    }
}

/// What goes into a token: its encryption, from the generation and the cookie name.
#[derive(Debug, Clone)]
pub struct Sealing<'a> {
    /// The generation.
    pub version: Version,
    /// The configured secret (one of the secret inputs the checklist names).
    pub secret: &'a [u8],
    /// The salt: for v5 the session cookie's name; for v4 empty unless configured.
    pub salt: &'a str,
}

impl Sealing<'_> {
    fn enc(&self) -> Enc {
        match self.version {
            Version::V4 => Enc::A256Gcm,
            Version::V5 => Enc::A256CbcHs512,
        }
    }

    /// Encrypts `claims` (a JSON object: the caller sets `iat`, `exp` and `jti`) with a
    /// fresh random IV: the token's compact serialisation.
    pub fn encode(&self, claims: &serde_json::Value) -> String {
        let enc = self.enc();
        let key = derive(self.version, enc, self.secret, self.salt);
        let header = match self.version {
            Version::V4 => serde_json::json!({"alg": "dir", "enc": enc.name()}),
            Version::V5 => {
                serde_json::json!({"alg": "dir", "enc": enc.name(), "kid": thumbprint(&key)})
            }
        };
        let protected = B64.encode(header.to_string());
        let plaintext = claims.to_string();
        let (iv, ciphertext, tag) = match enc {
            Enc::A256Gcm => {
                let iv: [u8; 12] = rand::random();
                let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).expect("a 32-byte key");
                let mut sealed = cipher
                    .encrypt(
                        (&iv).into(),
                        Payload {
                            msg: plaintext.as_bytes(),
                            aad: protected.as_bytes(),
                        },
                    )
                    .expect("AES-GCM encrypts any length here");
                let tag = sealed.split_off(sealed.len() - 16);
                (iv.to_vec(), sealed, tag)
            }
            Enc::A256CbcHs512 => {
                let iv: [u8; 16] = rand::random();
                let (mac_key, enc_key) = key.split_at(32);
                let ciphertext = cbc::Encryptor::<aes::Aes256>::new_from_slices(enc_key, &iv)
                    .expect("a 32-byte key and a 16-byte IV")
                    .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
                let tag = cbc_hs512_tag(mac_key, protected.as_bytes(), &iv, &ciphertext);
                (iv.to_vec(), ciphertext, tag)
            }
        };
        format!(
            "{protected}..{}.{}.{}",
            B64.encode(iv),
            B64.encode(ciphertext),
            B64.encode(tag)
        )
    }

    /// Decrypts `token` as the library would with this secret (a v5 deployment also takes
    /// `A256GCM`; a `kid` must be this key's): its claims. Times are not judged here.
    pub fn decode(&self, token: &str) -> Result<serde_json::Value, DecodeError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [protected, key_part, iv, ciphertext, tag] = parts[..] else {
            return Err(DecodeError::NotAJwe);
        };
        let bytes = |part: &str| B64.decode(part).map_err(|_| DecodeError::NotAJwe);
        let header: serde_json::Value =
            serde_json::from_slice(&bytes(protected)?).map_err(|_| DecodeError::NotAJwe)?;
        if header["alg"] != "dir" || !key_part.is_empty() {
            return Err(DecodeError::Unsupported(header["alg"].to_string()));
        }
        let enc = match (header["enc"].as_str(), self.version) {
            (Some("A256GCM"), _) => Enc::A256Gcm,
            (Some("A256CBC-HS512"), Version::V5) => Enc::A256CbcHs512,
            (other, _) => return Err(DecodeError::Unsupported(format!("{other:?}"))),
        };
        let key = derive(self.version, enc, self.secret, self.salt);
        if let Some(kid) = header["kid"].as_str() {
            if kid != thumbprint(&key) {
                return Err(DecodeError::OtherSecret);
            }
        }
        let (iv, ciphertext, tag) = (bytes(iv)?, bytes(ciphertext)?, bytes(tag)?);
        let plaintext = match enc {
            Enc::A256Gcm => {
                if iv.len() != 12 {
                    return Err(DecodeError::NotAJwe);
                }
                let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).expect("a 32-byte key");
                let sealed = [ciphertext, tag].concat();
                cipher
                    .decrypt(
                        iv.as_slice().into(),
                        Payload {
                            msg: &sealed,
                            aad: protected.as_bytes(),
                        },
                    )
                    .map_err(|_| DecodeError::OtherSecret)?
            }
            Enc::A256CbcHs512 => {
                let (mac_key, enc_key) = key.split_at(32);
                let expected = cbc_hs512_tag(mac_key, protected.as_bytes(), &iv, &ciphertext);
                // Constant-time: the comparison must not say how much of a tag was right.
                let same = expected.len() == tag.len()
                    && expected
                        .iter()
                        .zip(&tag)
                        .fold(0, |acc, (a, b)| acc | (a ^ b))
                        == 0;
                if !same {
                    return Err(DecodeError::OtherSecret);
                }
                cbc::Decryptor::<aes::Aes256>::new_from_slices(enc_key, &iv)
                    .map_err(|_| DecodeError::NotAJwe)?
                    .decrypt_padded_vec_mut::<Pkcs7>(&ciphertext)
                    .map_err(|_| DecodeError::NotAJwe)?
            }
        };
        serde_json::from_slice(&plaintext).map_err(|_| DecodeError::NotAJwe)
    }
}

/// RFC 7516 A256CBC-HS512's tag: the first half of HMAC-SHA-512 over AAD, IV, ciphertext
/// and the AAD's length in bits.
fn cbc_hs512_tag(mac_key: &[u8], aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha512> as Mac>::new_from_slice(mac_key).expect("HMAC takes any key length");
    mac.update(aad);
    mac.update(iv);
    mac.update(ciphertext);
    mac.update(&((aad.len() as u64) * 8).to_be_bytes());
    mac.finalize().into_bytes()[..32].to_vec()
}

/// Why a token does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a compact JWE.
    #[error("not an Auth.js session token (a JWE in compact form)")]
    NotAJwe,
    /// A JWE, but not one Auth.js makes.
    #[error("a token Auth.js does not make (key management or encryption {0})")]
    Unsupported(String),
    /// Encrypted with another secret (or another cookie name as salt).
    #[error("not encrypted with this secret")]
    OtherSecret,
}

impl Version {
    /// The largest cookie value before Auth.js splits a token into `NAME.0`, `NAME.1`, …:
    /// 4,096 bytes less its estimate of an empty cookie (163 in next-auth 4, 160 in
    /// @auth/core).
    pub fn chunk_size(self) -> usize {
        match self {
            Version::V4 => 3933,
            Version::V5 => 3936,
        }
    }
}

/// The cookies that carry `token` as `name`: one, or the chunks `version` would send.
pub fn cookies(version: Version, name: &str, token: &str) -> Vec<(String, String)> {
    let size = version.chunk_size();
    if token.len() <= size {
        return vec![(name.to_string(), token.to_string())];
    }
    token
        .as_bytes()
        .chunks(size)
        .enumerate()
        .map(|(i, chunk)| {
            (
                format!("{name}.{i}"),
                String::from_utf8_lossy(chunk).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_decodes_with_its_secret_only() {
        for version in [Version::V4, Version::V5] {
            let salt = match version {
                Version::V4 => "",
                Version::V5 => version.cookie_name(true),
            };
            let sealing = Sealing {
                version,
                secret: b"the reviewed secret",
                salt,
            };
            let claims = serde_json::json!({"email": "probe@example.invalid", "iat": 1, "exp": 2});
            let token = sealing.encode(&claims);
            assert_eq!(sealing.decode(&token), Ok(claims));
            let other = Sealing {
                secret: b"another secret",
                ..sealing.clone()
            };
            assert_eq!(other.decode(&token), Err(DecodeError::OtherSecret));
            let mut flipped = token.clone().into_bytes();
            let at = flipped.len() - 30;
            flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
            assert!(sealing
                .decode(std::str::from_utf8(&flipped).expect("ascii"))
                .is_err());
        }
    }

    #[test]
    fn a_long_token_is_sent_in_chunks_that_join_back() {
        let token = "x".repeat(Version::V5.chunk_size() * 2 + 5);
        let cookies = cookies(Version::V5, "authjs.session-token", &token);
        let names: Vec<&str> = cookies.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "authjs.session-token.0",
                "authjs.session-token.1",
                "authjs.session-token.2"
            ]
        );
        let joined: String = cookies.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(joined, token);
        assert_eq!(super::cookies(Version::V4, "n", "short").len(), 1);
    }
}
