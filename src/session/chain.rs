//! The event log's hash chain: each event's hash is SHA-256 over the RFC 8785 canonical
//! JSON of its fields and the previous event's hash, so an edited, deleted, inserted or
//! reordered event breaks the chain at that point, and a chain shorter than a head printed
//! earlier shows it was truncated.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::event::StoredEvent;

/// The `prev_hash` of a session's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// RFC 8785 canonical JSON of a value. serde_json writes the very bytes RFC 8785 asks for
/// when every object's keys are ASCII and come sorted and every number is an integer a
/// double holds exactly (every event relcon writes), several times faster than serde_jcs,
/// which writes anything else.
pub fn canonical(value: &serde_json::Value) -> Result<String, serde_json::Error> {
    if plain(value) {
        serde_json::to_string(value)
    } else {
        serde_jcs::to_string(value)
    }
}

/// Whether serde_json's compact text of `value` is its RFC 8785 text.
fn plain(value: &serde_json::Value) -> bool {
    const EXACT: u64 = 1 << 53;
    match value {
        serde_json::Value::Number(n) => {
            n.as_i64().is_some_and(|i| i.unsigned_abs() <= EXACT)
                || n.as_u64().is_some_and(|u| u <= EXACT)
        }
        serde_json::Value::Array(items) => items.iter().all(plain),
        serde_json::Value::Object(map) => {
            map.keys().all(|k| k.is_ascii())
                && map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b)
                && map.values().all(plain)
        }
        _ => true,
    }
}

/// The hash of an event's fields (everything but the hash itself): SHA-256 of the RFC 8785
/// canonical JSON object of them. Its keys are written in canonical (sorted) order around
/// the payload's own canonical text, so verifying needs no re-serialising.
pub fn hash(
    session: &str,
    seq: i64,
    at: &str,
    actor: &str,
    kind: &str,
    payload_json: &str,
    prev_hash: &str,
) -> String {
    // serde_json escapes strings exactly as RFC 8785 does.
    let text = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let object = format!(
        "{{\"actor\":{},\"at\":{},\"payload\":{payload_json},\"prev_hash\":{},\"seq\":{seq},\"session\":{},\"type\":{}}}",
        text(actor),
        text(at),
        text(prev_hash),
        text(session),
        text(kind)
    );
    hex::encode(Sha256::digest(object.as_bytes()))
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

impl Broken {
    /// Event `seq` of `session` is one this relcon cannot read.
    pub fn unreadable(session: &str, seq: i64) -> Self {
        Broken {
            session: session.to_string(),
            seq,
            why: "this relcon cannot read it (an unknown event type or payload)".into(),
        }
    }
}

/// The count and the last hash of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// How many events.
    pub count: i64,
    /// The last event's hash.
    pub hash: String,
}

impl std::str::FromStr for Head {
    type Err = String;

    /// `COUNT:HASH`, as a report's `events.count` and `events.head` give them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || {
            format!("`{text}` is not COUNT:HASH (an event count, a colon, and the 64 hex digits of that event's hash, as an exported report's events.count and events.head give them)")
        };
        let (count, hash) = text.split_once(':').ok_or_else(wrong)?;
        let count: i64 = count.parse().map_err(|_| wrong())?;
        let hash = hash.to_ascii_lowercase();
        if count < 1 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(wrong());
        }
        Ok(Head { count, hash })
    }
}

/// Verifies that `event` follows `head` in `session`'s chain: returns the new head.
pub fn verify_next(session: &str, head: &Head, event: &StoredEvent) -> Result<Head, Broken> {
    let broken = |why: &str| Broken {
        session: session.to_string(),
        seq: head.count + 1,
        why: why.to_string(),
    };
    let seq = head.count + 1;
    if event.seq != seq {
        return Err(broken(&format!(
            "expected event {seq}, found event {} (deleted, inserted or reordered)",
            event.seq
        )));
    }
    if event.prev_hash != head.hash {
        return Err(broken(
            "it does not follow the event before it (deleted, inserted or reordered)",
        ));
    }
    let computed = hash(
        session,
        event.seq,
        &event.at,
        &event.actor,
        &event.kind,
        &event.payload_json,
        &event.prev_hash,
    );
    if computed != event.hash {
        return Err(broken("its content does not match its hash (edited)"));
    }
    Ok(Head {
        count: seq,
        hash: event.hash.clone(),
    })
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
    let mut head = Head {
        count: 0,
        hash: GENESIS.to_string(),
    };
    for event in events {
        head = verify_next(session, &head, event)?;
    }
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
        let at_expected = match expected.count {
            0 => GENESIS,
            n => events
                .get(n as usize - 1)
                .map_or(GENESIS, |e| e.hash.as_str()),
        };
        if at_expected != expected.hash {
            return Err(broken(
                expected.count,
                "it is not the event the recorded head names",
            ));
        }
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_is_rfc_8785_whichever_way_it_is_written() {
        let values = [
            serde_json::json!({"b": 1, "a": [true, null, -7, 9007199254740992_u64], "c": {"z": "", "y": "é\u{1F600}"}}),
            serde_json::json!({"text": "quote \" backslash \\ controls \u{0} \u{8} \t \n \u{b} \u{c} \r \u{1f} \u{7f} / <script>"}),
            serde_json::json!({"float": 1.5, "whole float": 2.0, "big": 1e21, "small": 1e-7}),
            serde_json::json!({"huge": 9007199254740993_u64, "negative": -9007199254740993_i64}),
            serde_json::json!({"é": 1, "e": 2, "\u{1F600}": 3, "\u{FB01}": 4}),
            serde_json::json!([]),
            serde_json::json!("plain"),
        ];
        for value in values {
            assert_eq!(
                canonical(&value).expect("canonical"),
                serde_jcs::to_string(&value).expect("jcs"),
                "{value}"
            );
        }
    }

    #[test]
    fn the_hash_is_over_the_rfc_8785_canonical_object() {
        let payload = serde_json::json!({"item": "a \"b\" é\n", "n": 3, "list": [true, null], "z": {"y": 1, "x": 2}});
        let at = "2026-11-26T07:00:00.123Z";
        let whole = serde_json::json!({"session": "s", "seq": 7, "at": at, "actor": "alice\tb", "type": "result", "payload": payload, "prev_hash": GENESIS});
        let expected = hex::encode(Sha256::digest(
            serde_jcs::to_vec(&whole).expect("canonical"),
        ));
        assert_eq!(
            hash(
                "s",
                7,
                at,
                "alice\tb",
                "result",
                &canonical(&payload).expect("canonical"),
                GENESIS
            ),
            expected
        );
    }
}
