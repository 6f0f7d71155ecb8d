//! The event log's hash chain: each event's hash is SHA-256 over the RFC 8785 canonical
//! JSON of its fields and the previous event's hash, so an edited, deleted, inserted or
//! reordered event breaks the chain at that point, and a chain shorter than a head printed
//! earlier shows it was truncated.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of a session's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The session.
    pub session: String,
    /// 1, 2, 3… without gaps.
    pub seq: i64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What kind of event.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its content.
    pub payload: serde_json::Value,
    /// The previous event's hash.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

#[derive(Serialize)]
struct Hashed<'e> {
    session: &'e str,
    seq: i64,
    at: &'e str,
    actor: &'e str,
    #[serde(rename = "type")]
    kind: &'e str,
    payload: &'e serde_json::Value,
    prev_hash: &'e str,
}

/// The hash of an event's fields (everything but the hash itself).
pub fn hash(
    session: &str,
    seq: i64,
    at: &str,
    actor: &str,
    kind: &str,
    payload: &serde_json::Value,
    prev_hash: &str,
) -> String {
    let fields = Hashed {
        session,
        seq,
        at,
        actor,
        kind,
        payload,
        prev_hash,
    };
    // Payloads hold no floats, so canonical serialisation cannot fail on a number.
    let bytes = serde_jcs::to_vec(&fields).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A broken chain: where, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event log of session {session} is broken at event {seq}: {why}")]
pub struct Broken {
    /// The session.
    pub session: String,
    /// The first bad sequence number.
    pub seq: i64,
    /// What is wrong there.
    pub why: String,
}

/// The count and the last hash of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// How many events.
    pub count: i64,
    /// The last event's hash.
    pub hash: String,
}

/// Verifies a session's events (in stored order) and, when given, that they end at
/// `expected` (a head printed earlier): returns the head.
pub fn verify_chain(
    session: &str,
    events: &[StoredEvent],
    expected: Option<&Head>,
) -> Result<Head, Broken> {
    let broken = |seq: i64, why: &str| Broken {
        session: session.to_string(),
        seq,
        why: why.to_string(),
    };
    let mut prev = GENESIS.to_string();
    for (index, event) in events.iter().enumerate() {
        let seq = index as i64 + 1;
        if event.seq != seq {
            return Err(broken(
                seq,
                &format!(
                    "expected event {seq}, found event {} (deleted, inserted or reordered)",
                    event.seq
                ),
            ));
        }
        if event.prev_hash != prev {
            return Err(broken(
                seq,
                "it does not follow the event before it (deleted, inserted or reordered)",
            ));
        }
        let computed = hash(
            session,
            event.seq,
            &event.at,
            &event.actor,
            &event.kind,
            &event.payload,
            &event.prev_hash,
        );
        if computed != event.hash {
            return Err(broken(seq, "its content does not match its hash (edited)"));
        }
        prev = event.hash.clone();
    }
    let head = Head {
        count: events.len() as i64,
        hash: prev,
    };
    if let Some(expected) = expected {
        if head.count < expected.count {
            return Err(broken(
                head.count + 1,
                &format!(
                    "the log ends after {} events, but {} were recorded (truncated)",
                    head.count, expected.count
                ),
            ));
        }
        let at_expected = events
            .get(expected.count as usize - 1)
            .map(|e| e.hash.as_str())
            .unwrap_or(GENESIS);
        if expected.count > 0 && at_expected != expected.hash {
            return Err(broken(
                expected.count,
                "it is not the event the recorded head names",
            ));
        }
    }
    Ok(head)
}
