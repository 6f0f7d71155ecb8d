//! A session's events as they are stored: what happened (results of runs, sign-offs, skips,
//! who came and went, records about the session), each hashed into the chain. The payloads
//! and their text are fixed: the hash covers them and `relcon watch` prints them, so a
//! change here is a change of the stored format.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::status::Status;

/// One event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The session.
    pub session: String,
    /// 1, 2, 3… without gaps.
    pub seq: i64,
    /// When, RFC 3339 UTC with milliseconds.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What kind of event, as stored (see [`EventKind`]).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its content, as canonical JSON text (RFC 8785).
    pub payload_json: String,
    /// The previous event's hash.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

impl StoredEvent {
    /// Its content, parsed.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload_json).unwrap_or(serde_json::Value::Null)
    }

    /// Its kind, when this relcon knows it.
    pub fn event_kind(&self) -> Option<EventKind> {
        EventKind::parse(&self.kind)
    }

    /// What it says, when this relcon can read it.
    pub fn body(&self) -> Option<Body> {
        Body::join(&self.kind, &self.payload_json)
    }
}

/// An event as it is shown and exported (`relcon watch` prints these, a report carries
/// them): its payload parsed, everything else as stored, enough for anyone to recompute
/// the chain. Fields are in the order RFC 8785 sorts them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEntry {
    /// Who.
    pub actor: String,
    /// When, RFC 3339 UTC with milliseconds.
    pub at: String,
    /// This event's hash.
    pub hash: String,
    /// Its content.
    pub payload: serde_json::Value,
    /// The previous event's hash.
    pub prev_hash: String,
    /// 1, 2, 3… without gaps.
    pub seq: i64,
    /// The session.
    pub session: String,
    /// What kind of event.
    #[serde(rename = "type")]
    pub kind: String,
}

impl StoredEvent {
    /// The event as shown and exported.
    pub fn entry(&self) -> EventEntry {
        EventEntry {
            actor: self.actor.clone(),
            at: self.at.clone(),
            hash: self.hash.clone(),
            payload: self.payload(),
            prev_hash: self.prev_hash.clone(),
            seq: self.seq,
            session: self.session.clone(),
            kind: self.kind.clone(),
        }
    }
}

impl EventEntry {
    /// The event as stored: its payload back in canonical JSON text, as its hash covers it.
    pub fn stored(&self) -> Result<StoredEvent, serde_json::Error> {
        Ok(StoredEvent {
            session: self.session.clone(),
            seq: self.seq,
            at: self.at.clone(),
            actor: self.actor.clone(),
            kind: self.kind.clone(),
            payload_json: super::chain::canonical(&self.payload)?,
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        })
    }
}

/// The kinds of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A session started.
    SessionStarted,
    /// Someone joined (resumed) it.
    SessionJoined,
    /// Someone's process left it.
    SessionLeft,
    /// A run of an item started (its claim).
    RunStarted,
    /// An item's result.
    Result,
    /// A sign-off of a manual item.
    Signoff,
    /// An operator skipped an item.
    Skipped,
    /// The session closed.
    SessionClosed,
    /// A report of the session was handed out.
    Exported,
    /// A post-deploy bake started.
    BakeStarted,
    /// One round of a bake.
    BakeRound,
    /// A bake ended.
    BakeEnded,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 12] = [
        EventKind::SessionStarted,
        EventKind::SessionJoined,
        EventKind::SessionLeft,
        EventKind::RunStarted,
        EventKind::Result,
        EventKind::Signoff,
        EventKind::Skipped,
        EventKind::SessionClosed,
        EventKind::Exported,
        EventKind::BakeStarted,
        EventKind::BakeRound,
        EventKind::BakeEnded,
    ];

    /// Its name as stored (the event's `type`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::SessionStarted => "session_started",
            EventKind::SessionJoined => "session_joined",
            EventKind::SessionLeft => "session_left",
            EventKind::RunStarted => "run_started",
            EventKind::Result => "result",
            EventKind::Signoff => "signoff",
            EventKind::Skipped => "skipped",
            EventKind::SessionClosed => "session_closed",
            EventKind::Exported => "exported",
            EventKind::BakeStarted => "bake_started",
            EventKind::BakeRound => "bake_round",
            EventKind::BakeEnded => "bake_ended",
        }
    }

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether it is a record about the session rather than a change to its checklist: a
    /// closed session still takes these (an export, the rounds of a post-deploy bake).
    pub fn is_audit(self) -> bool {
        matches!(
            self,
            EventKind::Exported
                | EventKind::BakeStarted
                | EventKind::BakeRound
                | EventKind::BakeEnded
        )
    }

    /// Whether someone came or went.
    pub fn is_presence(self) -> bool {
        matches!(self, EventKind::SessionJoined | EventKind::SessionLeft)
    }
}

/// The checklist a session runs, as it was when the session started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistCopy {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its version.
    pub version: i64,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// The path it was read from, for messages.
    pub name: String,
    /// Its text.
    pub source: String,
}

/// How many output lines of a run are kept (the last ones).
pub const OUTPUT_CAP: u64 = 100_000;

/// Where a run's output lines are kept, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputDigest {
    /// Lines kept.
    pub lines: u64,
    /// Lines dropped (the oldest, beyond the cap).
    pub dropped: u64,
    /// The SHA-256 of the kept lines (see `store::output::digest`): the lines live outside
    /// the chain, their digest inside it. (Absent in events recorded before it was kept.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// How a person signed a manual item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignoffStatus {
    /// Done.
    Done,
    /// Tried and failed.
    Failed,
    /// Not applicable (a note says why).
    Na,
}

impl SignoffStatus {
    /// Its name, as the command line takes it.
    pub fn name(self) -> &'static str {
        match self {
            SignoffStatus::Done => "done",
            SignoffStatus::Failed => "failed",
            SignoffStatus::Na => "na",
        }
    }
}

/// How a post-deploy bake judges its rounds, as recorded when it starts (so that the report
/// and `relcon verify` judge them the same way, whatever the checklist says later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BakeRules {
    /// Failed rounds in a row that are a regression.
    pub fail_after: u32,
    /// Items with their own number of failed rounds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fail_after_by_item: BTreeMap<String, u32>,
    /// A p95 above this many hundredths of the baseline (300: three times)… (an integer:
    /// stored documents hold no floats)
    pub latency_factor_percent: u32,
    /// … and above the baseline plus this is a regression.
    pub latency_margin_ms: u64,
    /// Items with their own margin.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_margin_ms_by_item: BTreeMap<String, u64>,
    /// The samples a p95 is judged over at the least.
    pub latency_samples: u32,
    /// The first rounds whose median latency is the baseline.
    pub baseline_rounds: u32,
}

/// What happened, as stored in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum Body {
    /// A session started: the checklist's copy and the environment.
    SessionStarted {
        /// The checklist as it was.
        checklist: ChecklistCopy,
        /// The environment.
        environment: Option<String>,
        /// Whether it is a production one.
        production: bool,
        /// The environment's allowed_signers file as it was when the session started: who
        /// may sign its sign-offs, with which keys (absent when the environment names none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        allowed_signers: Option<String>,
    },
    /// Someone joined (resumed) the session.
    SessionJoined {},
    /// Someone's process left the session.
    SessionLeft {},
    /// A run of an item started (its claim).
    RunStarted {
        /// The item.
        item: String,
        /// The run.
        run_id: String,
    },
    /// An item's result in a run (or settled without running).
    Result {
        /// The item.
        item: String,
        /// The run, when it ran.
        run_id: Option<String>,
        /// Its status.
        status: Status,
        /// One line.
        summary: String,
        /// Structured evidence.
        evidence: serde_json::Value,
        /// When the run started, RFC 3339 UTC.
        started_at: Option<String>,
        /// Wall time.
        duration_ms: u64,
        /// Attempts made.
        attempts: u32,
        /// Its output, when it had some.
        output: Option<OutputDigest>,
    },
    /// A sign-off of a manual item.
    Signoff {
        /// The item.
        item: String,
        /// Done, failed or not applicable.
        status: SignoffStatus,
        /// What the signer says.
        note: String,
        /// The evidence fields.
        evidence: BTreeMap<String, String>,
        /// An SSHSIG signature, when signed with a key.
        signature: Option<String>,
    },
    /// An operator skipped an item, with a reason.
    Skipped {
        /// The item.
        item: String,
        /// Why.
        reason: String,
    },
    /// The session closed: no new results.
    SessionClosed {
        /// Why.
        reason: String,
    },
    /// A report of the session was written out.
    Exported {
        /// Its format (json, md, html, junit).
        format: String,
        /// SHA-256 of the bytes written, hex.
        sha256: String,
        /// The fingerprint of the key that signed it, when signed.
        signer: Option<String>,
    },
    /// A post-deploy bake started.
    BakeStarted {
        /// The items it re-runs, in the order each round lists them.
        items: Vec<String>,
        /// The time between rounds.
        every_ms: u64,
        /// How long it lasts.
        for_ms: u64,
        /// How rounds are judged.
        rules: BakeRules,
        /// Items marked for the bake that it leaves out, with why (a signed-in smoke that
        /// wrote at go).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        left_out: BTreeMap<String, String>,
    },
    /// One round of a post-deploy bake: each item's status and latency, in the order the
    /// bake's start lists them (one short event per round).
    BakeRound {
        /// 1, 2, 3…
        round: u32,
        /// Each item's status.
        status: Vec<Status>,
        /// Each item's latency.
        latency_ms: Vec<u64>,
        /// What an item that did not pass said, by item.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        notes: BTreeMap<String, String>,
    },
    /// A post-deploy bake ended.
    BakeEnded {
        /// How it ended, in a word (go, no-go, stopped).
        outcome: String,
        /// Why.
        reason: String,
    },
}

impl Body {
    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Body::SessionStarted { .. } => EventKind::SessionStarted,
            Body::SessionJoined {} => EventKind::SessionJoined,
            Body::SessionLeft {} => EventKind::SessionLeft,
            Body::RunStarted { .. } => EventKind::RunStarted,
            Body::Result { .. } => EventKind::Result,
            Body::Signoff { .. } => EventKind::Signoff,
            Body::Skipped { .. } => EventKind::Skipped,
            Body::SessionClosed { .. } => EventKind::SessionClosed,
            Body::Exported { .. } => EventKind::Exported,
            Body::BakeStarted { .. } => EventKind::BakeStarted,
            Body::BakeRound { .. } => EventKind::BakeRound,
            Body::BakeEnded { .. } => EventKind::BakeEnded,
        }
    }

    /// The event type and payload as stored.
    pub fn split(&self) -> Result<(String, serde_json::Value), serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        let kind = value["type"].as_str().unwrap_or_default().to_string();
        Ok((
            kind,
            value
                .get_mut("payload")
                .map(serde_json::Value::take)
                .unwrap_or(serde_json::json!({})),
        ))
    }

    /// Reads a stored type and payload (JSON text) back.
    pub fn join(kind: &str, payload_json: &str) -> Option<Self> {
        let kind = serde_json::to_string(kind).ok()?;
        serde_json::from_str(&format!("{{\"type\":{kind},\"payload\":{payload_json}}}")).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_stored_under_the_name_its_body_gives() {
        let bodies = [
            Body::SessionJoined {},
            Body::SessionLeft {},
            Body::Skipped {
                item: "a".into(),
                reason: "r".into(),
            },
            Body::Exported {
                format: "json".into(),
                sha256: "0".repeat(64),
                signer: None,
            },
            Body::BakeEnded {
                outcome: "go".into(),
                reason: "r".into(),
            },
        ];
        for body in bodies {
            let (name, payload) = body.split().expect("splits");
            assert_eq!(name, body.kind().name());
            assert_eq!(EventKind::parse(&name), Some(body.kind()));
            assert_eq!(Body::join(&name, &payload.to_string()), Some(body));
        }
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(EventKind::parse("unknown"), None);
    }

    #[test]
    fn stored_payloads_keep_their_text() {
        // The hash covers these bytes: a change here breaks every stored chain.
        let (_, payload) = Body::Skipped {
            item: "health.live".into(),
            reason: "covered".into(),
        }
        .split()
        .expect("splits");
        assert_eq!(
            crate::session::chain::canonical(&payload).expect("canonical"),
            r#"{"item":"health.live","reason":"covered"}"#
        );
    }
}
