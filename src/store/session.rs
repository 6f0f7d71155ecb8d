//! What a session's events say, and the session they fold into: results of runs, sign-offs,
//! skips, who worked on it, whether it is closed. Every view of a session is this fold.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::chain::{verify_next, Broken, Head, StoredEvent};
use crate::status::Status;

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

/// Where a run's output lines are kept, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputDigest {
    /// Lines kept.
    pub lines: u64,
    /// Lines dropped (the oldest, beyond the cap).
    pub dropped: u64,
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
        /// When the run started.
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
}

impl Body {
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

/// An item's latest result in a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its status.
    pub status: Status,
    /// One line.
    pub summary: String,
    /// Structured evidence.
    pub evidence: serde_json::Value,
    /// When the run started.
    pub started_at: Option<String>,
    /// Wall time.
    pub duration_ms: u64,
    /// Attempts.
    pub attempts: u32,
    /// Who ran it.
    pub run_by: Option<String>,
    /// Its output.
    pub output: Option<(String, OutputDigest)>,
}

/// A result event's item and record (`actor` recorded it); none for other events.
pub fn result_record(body: Body, actor: &str) -> Option<(String, Record)> {
    let Body::Result {
        item,
        run_id,
        status,
        summary,
        evidence,
        started_at,
        duration_ms,
        attempts,
        output,
    } = body
    else {
        return None;
    };
    let run_by = run_id.is_some().then(|| actor.to_string());
    let output = run_id.zip(output);
    Some((
        item,
        Record {
            status,
            summary,
            evidence,
            started_at,
            duration_ms,
            attempts,
            run_by,
            output,
        },
    ))
}

impl From<Record> for crate::engine::event::ItemResult {
    fn from(record: Record) -> Self {
        Self {
            status: record.status,
            summary: record.summary,
            evidence: record.evidence,
            started_at: record
                .started_at
                .and_then(|t| humantime::parse_rfc3339_weak(&t).ok()),
            duration: std::time::Duration::from_millis(record.duration_ms),
            attempts: record.attempts,
            run_by: record.run_by,
            observed: false,
            claim: None,
        }
    }
}

/// One sign-off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signoff {
    /// Who.
    pub by: String,
    /// How.
    pub status: SignoffStatus,
    /// The note.
    pub note: String,
    /// The evidence fields.
    pub evidence: BTreeMap<String, String>,
    /// When.
    pub at: String,
    /// The signature, when signed with a key.
    pub signature: Option<String>,
}

/// A session, folded from its events.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its id.
    pub id: String,
    /// The checklist as it was when the session started.
    pub checklist: ChecklistCopy,
    /// The environment.
    pub environment: Option<String>,
    /// Whether it is a production one.
    pub production: bool,
    /// When it started.
    pub started_at: String,
    /// Everyone who worked on it, in order of appearance.
    pub operators: Vec<String>,
    /// Each item's latest result.
    pub records: BTreeMap<String, Record>,
    /// Runs started and not finished: item → (run id, who).
    pub running: BTreeMap<String, (String, String)>,
    /// Sign-offs per item, in order.
    pub signoffs: BTreeMap<String, Vec<Signoff>>,
    /// Whether it is closed, and why.
    pub closed: Option<String>,
    /// The chain's head.
    pub head: Head,
}

impl Session {
    /// Folds a verified event log; an event it cannot read is refused by its number.
    pub fn fold(events: &[StoredEvent], head: Head) -> Result<Self, i64> {
        let first = events.first().ok_or(1)?;
        let Some(Body::SessionStarted {
            checklist,
            environment,
            production,
        }) = Body::join(&first.kind, &first.payload_json)
        else {
            return Err(1);
        };
        let mut session = Session {
            id: first.session.clone(),
            checklist,
            environment,
            production,
            started_at: first.at.clone(),
            operators: Vec::new(),
            records: BTreeMap::new(),
            running: BTreeMap::new(),
            signoffs: BTreeMap::new(),
            closed: None,
            head,
        };
        for event in events {
            session.apply(event)?;
        }
        Ok(session)
    }

    /// Follows the log by one event: verified to follow the head, then folded in.
    pub fn follow(&mut self, event: &StoredEvent) -> Result<(), Broken> {
        let head = verify_next(&self.id, &self.head, event)?;
        self.apply(event)
            .map_err(|seq| Broken::unreadable(&self.id, seq))?;
        self.head = head;
        Ok(())
    }

    /// Adds one more event (verified to follow the head) to the fold.
    pub fn apply(&mut self, event: &StoredEvent) -> Result<(), i64> {
        let session = self;
        if !session.operators.contains(&event.actor) {
            session.operators.push(event.actor.clone());
        }
        match Body::join(&event.kind, &event.payload_json) {
            Some(Body::RunStarted { item, run_id }) => {
                session.running.insert(item, (run_id, event.actor.clone()));
            }
            Some(body @ Body::Result { .. }) => {
                if let Some((item, record)) = result_record(body, &event.actor) {
                    session.running.remove(&item);
                    session.records.insert(item, record);
                }
            }
            Some(Body::Signoff {
                item,
                status,
                note,
                evidence,
                signature,
            }) => {
                session.signoffs.entry(item).or_default().push(Signoff {
                    by: event.actor.clone(),
                    status,
                    note,
                    evidence,
                    at: event.at.clone(),
                    signature,
                });
            }
            Some(Body::Skipped { item, reason }) => {
                session.records.insert(
                    item,
                    Record {
                        status: Status::Skip,
                        summary: format!("skipped by {}: {reason}", event.actor),
                        evidence: serde_json::json!({}),
                        started_at: None,
                        duration_ms: 0,
                        attempts: 0,
                        run_by: Some(event.actor.clone()),
                        output: None,
                    },
                );
            }
            Some(Body::SessionClosed { reason }) => session.closed = Some(reason),
            Some(Body::SessionStarted { .. } | Body::SessionJoined {} | Body::SessionLeft {}) => {}
            None => return Err(event.seq),
        }
        Ok(())
    }

    /// An item's result: its latest record, "interrupted" for a run that never finished.
    pub fn record(&self, item: &str) -> Option<Record> {
        if let Some((_, by)) = self.running.get(item) {
            return Some(Record {
                status: Status::Pending,
                summary: format!("interrupted (its run by {by} never finished)"),
                evidence: serde_json::json!({}),
                started_at: None,
                duration_ms: 0,
                attempts: 0,
                run_by: Some(by.clone()),
                output: None,
            });
        }
        self.records.get(item).cloned()
    }

    /// A manual item's status from its sign-offs, with `needed` distinct signers: fail on any
    /// failed, pass on `needed` done, skip on `needed` not applicable, else pending.
    pub fn signed_status(&self, item: &str, needed: usize) -> (Status, String) {
        let signoffs = self
            .signoffs
            .get(item)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(failed) = signoffs.iter().find(|s| s.status == SignoffStatus::Failed) {
            return (
                Status::Fail,
                format!("signed failed by {}: {}", failed.by, failed.note),
            );
        }
        let signers = |status: SignoffStatus| -> Vec<&str> {
            let mut people: Vec<&str> = Vec::new();
            for signoff in signoffs.iter().filter(|s| s.status == status) {
                if !people
                    .iter()
                    .any(|p| p.trim().eq_ignore_ascii_case(signoff.by.trim()))
                {
                    people.push(&signoff.by);
                }
            }
            people
        };
        let (done, na) = (signers(SignoffStatus::Done), signers(SignoffStatus::Na));
        if done.len() >= needed {
            (Status::Pass, format!("signed done by {}", done.join(", ")))
        } else if na.len() >= needed {
            (
                Status::Skip,
                format!("signed not applicable by {}", na.join(", ")),
            )
        } else if signoffs.is_empty() {
            (Status::Pending, "awaiting sign-off".into())
        } else {
            let people: Vec<&str> = signoffs.iter().map(|s| s.by.as_str()).collect();
            (
                Status::Pending,
                format!(
                    "{} of {needed}: {}",
                    done.len().max(na.len()),
                    people.join(", ")
                ),
            )
        }
    }
}
