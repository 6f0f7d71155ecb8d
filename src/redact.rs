//! Redaction, in one place: secret values are replaced by a keyed fingerprint before they
//! reach any event, evidence, log line or output. A fingerprint is HMAC-SHA256 under a key
//! that never leaves the process (8 hex characters), so a report can tell two values apart
//! without letting anyone confirm a guessed weak secret.

use std::borrow::Cow;
use std::sync::RwLock;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Values shorter than this are not searched for in text: they would match everywhere. The
/// checks that judge secrets fail such values for being too short.
pub const MIN_SCRUBBED_LEN: usize = 4;

/// Replaces known secret values by fingerprints.
pub struct Redactor {
    key: [u8; 32],
    /// Secret values, longest first so that a secret containing another is replaced whole.
    secrets: RwLock<Vec<String>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor with a fresh random key.
    pub fn new() -> Self {
        Self::with_key(rand::random())
    }

    /// A redactor with the given key (the store's, so one store fingerprints consistently).
    pub fn with_key(key: [u8; 32]) -> Self {
        Self {
            key,
            secrets: RwLock::new(Vec::new()),
        }
    }

    /// The fingerprint of a value: 8 hex characters of HMAC-SHA256 under the key.
    pub fn fingerprint(&self, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        hex::encode(&digest[..4])
    }

    /// What a secret is shown as.
    pub fn mask(&self, value: &str) -> String {
        format!("[secret {}]", self.fingerprint(value))
    }

    /// Adds a value to scrub from every later text.
    pub fn add_secret(&self, value: &str) {
        if value.len() < MIN_SCRUBBED_LEN {
            return;
        }
        let mut secrets = self
            .secrets
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !secrets.iter().any(|s| s == value) {
            secrets.push(value.to_string());
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Whether the text holds a known secret.
    pub fn contains_secret(&self, text: &str) -> bool {
        let secrets = self
            .secrets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        secrets.iter().any(|s| text.contains(s.as_str()))
    }

    /// The text with every known secret replaced by its mask.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let secrets = self
            .secrets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = Cow::Borrowed(text);
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), &self.mask(secret)));
            }
        }
        out
    }

    /// Scrubs every string inside a JSON value.
    pub fn scrub_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => {
                if let Cow::Owned(clean) = self.scrub(text) {
                    *text = clean;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.scrub_json(v)),
            _ => {}
        }
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_secrets_longest_first_and_fingerprints_per_key() {
        let redactor = Redactor::with_key([7; 32]);
        redactor.add_secret("hunter2-long-secret");
        redactor.add_secret("hunter2");
        redactor.add_secret("abc");
        let text = redactor.scrub("a hunter2-long-secret and hunter2 and abc");
        assert!(!text.contains("hunter2"));
        assert!(text.contains(&redactor.mask("hunter2-long-secret")));
        assert!(
            text.ends_with("and abc"),
            "values under 4 bytes are left: {text}"
        );
        assert_eq!(redactor.fingerprint("x").len(), 8);
        assert_ne!(
            redactor.fingerprint("x"),
            Redactor::with_key([8; 32]).fingerprint("x")
        );
        let mut json = serde_json::json!({"a": ["hunter2", {"b": "x hunter2"}]});
        redactor.scrub_json(&mut json);
        assert!(!json.to_string().contains("hunter2"));
    }
}
