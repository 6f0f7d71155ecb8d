//! The report document, `relcon.report/v1`: what a run or a session concluded, item by
//! item. Every view (JSON, Markdown, HTML, JUnit) renders this one model; an export also
//! carries the session's whole event log, so that anyone can recompute it.

use serde::{Deserialize, Serialize};

use crate::checklist::plan::{Entry, Plan};
use crate::session::rules;
pub use crate::session::rules::Counts;
use crate::session::{EventEntry, ItemState, SessionState, Signoff, StoredEvent, Timestamp};
use crate::status::{Status, Verdict};

/// The schema name every report carries.
pub const SCHEMA: &str = "relcon.report/v1";

/// A report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The tool that made it.
    pub tool: Tool,
    /// The checklist it ran.
    pub checklist: ChecklistRef,
    /// The session.
    pub session: Session,
    /// In an export: whether the session was still open (interim) or closed (final).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<State>,
    /// In a signed export: the fingerprint (`SHA256:…`) of the key whose SSHSIG
    /// (namespace `relcon-report`) over these exact bytes is written beside them.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub signed_by: Option<String>,
    /// The verdict over the required items in scope.
    pub verdict: Verdict,
    /// Statuses of the items in scope.
    pub counts: Counts,
    /// Every item, in checklist order.
    pub items: Vec<ReportItem>,
    /// In an export: the keyed fingerprints of the secrets the session's checks saw (never
    /// their values).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secrets: Option<Vec<SecretPrint>>,
    /// The session's event log: its count and head (and, in exports, its entries).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub events: Option<Events>,
    /// The session's last post-deploy bake, when it has one: its own verdict beside the
    /// session's.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bake: Option<ReportBake>,
}

/// A post-deploy bake, as a report carries it: folded from the session's bake events by
/// [`crate::session::bake`], as every view has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportBake {
    /// When it started.
    pub started_at: String,
    /// Who started it.
    pub by: String,
    /// The time between rounds.
    pub every_ms: u64,
    /// How long it was to last.
    pub for_ms: u64,
    /// `go`, `no-go`, `stopped`, or `baking` while it runs.
    pub outcome: String,
    /// Why it ended so (empty while it runs).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub reason: String,
    /// The rounds recorded.
    pub rounds: u32,
    /// Each baked item's figures.
    pub items: Vec<ReportBakeItem>,
    /// Items marked for the bake that it left out, with why.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub left_out: std::collections::BTreeMap<String, String>,
}

/// A baked item's figures over the rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportBakeItem {
    /// The item.
    pub id: String,
    /// Rounds it failed.
    pub failures: u32,
    /// Its median latency over passing rounds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub p50_ms: Option<u64>,
    /// Its 95th percentile over passing rounds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub p95_ms: Option<u64>,
    /// The median of its first rounds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub baseline_ms: Option<u64>,
    /// The latency above which its p95 is a regression.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit_ms: Option<u64>,
    /// Its latency in every round, in order.
    pub latencies_ms: Vec<u64>,
    /// The rounds it failed (1, 2, 3…).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub failed_rounds: Vec<u32>,
}

impl ReportBake {
    /// The report's account of `bake`.
    pub fn of(bake: &crate::session::bake::Bake) -> Self {
        let items = bake
            .items
            .iter()
            .enumerate()
            .map(|(index, id)| {
                let figures = bake.figures(index);
                ReportBakeItem {
                    id: id.clone(),
                    failures: u32::try_from(figures.failures).unwrap_or(u32::MAX),
                    p50_ms: figures.p50,
                    p95_ms: figures.p95,
                    baseline_ms: figures.baseline,
                    limit_ms: bake.latency_limit(index),
                    latencies_ms: figures.latencies,
                    failed_rounds: bake
                        .rounds
                        .iter()
                        .filter(|r| {
                            r.status
                                .get(index)
                                .is_some_and(|s| matches!(s, Status::Fail | Status::Error))
                        })
                        .map(|r| r.number)
                        .collect(),
                }
            })
            .collect();
        let (outcome, reason) = match &bake.ended {
            Some((outcome, reason, _)) => (outcome.name().to_string(), reason.clone()),
            None => ("baking".to_string(), String::new()),
        };
        ReportBake {
            started_at: bake.started_at.seconds(),
            by: bake.by.clone(),
            every_ms: u64::try_from(bake.every.as_millis()).unwrap_or(u64::MAX),
            for_ms: u64::try_from(bake.duration.as_millis()).unwrap_or(u64::MAX),
            outcome,
            reason,
            rounds: u32::try_from(bake.rounds.len()).unwrap_or(u32::MAX),
            items,
            left_out: bake.left_out.clone(),
        }
    }
}

/// Whether an export is the last word on its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The session was still open: more may come.
    Interim,
    /// The session was closed.
    Final,
}

impl State {
    /// Its name, as every format says it.
    pub fn name(self) -> &'static str {
        match self {
            State::Interim => "interim",
            State::Final => "final",
        }
    }
}

/// A secret's keyed fingerprint (HMAC-SHA256 under the store's key, 8 hex characters), as
/// an item's evidence gave it: comparable within one store, useless for guessing the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretPrint {
    /// The input's name.
    pub name: String,
    /// The item that saw it.
    pub item: String,
    /// Its fingerprint.
    pub fingerprint: String,
}

/// A session's event log, as a report carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Events {
    /// How many events.
    pub count: i64,
    /// The last event's hash.
    pub head: String,
    /// In an export: every event, as `relcon watch` prints them.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub entries: Option<Vec<EventEntry>>,
    /// In an export: events whose text held a secret the exporting process knows, scrubbed
    /// after they were recorded (their hashes no longer match; a verifier says so).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub redacted: Vec<i64>,
}

/// The tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// `relcon`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The checklist a report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistRef {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its version.
    pub version: i64,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// The session a report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Its id.
    pub id: String,
    /// The environment.
    pub environment: Option<String>,
    /// Whether the environment is a production one.
    pub production: bool,
    /// When it started, RFC 3339 UTC.
    pub started_at: String,
    /// Who worked on it.
    pub operators: Vec<String>,
}

/// One item of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportItem {
    /// Its id.
    pub id: String,
    /// Its section.
    pub section: String,
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: String,
    /// Whether it counts toward the verdict.
    pub required: bool,
    /// Whether this run covered it (`--only`, `--skip`, `--automated-only` leave items out).
    pub in_scope: bool,
    /// Its status.
    pub status: Status,
    /// One line.
    pub summary: String,
    /// When it started, RFC 3339 UTC.
    pub started_at: Option<String>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Attempts made.
    pub attempts: u32,
    /// Who ran it.
    pub run_by: Option<String>,
    /// Structured evidence.
    pub evidence: serde_json::Value,
    /// Sign-offs of manual items.
    pub signoffs: Vec<serde_json::Value>,
}

impl Report {
    /// The report of a session over `plan` (its checklist in its environment, each item in
    /// or out of this view's scope): every item as the session has it, the verdict and the
    /// counts over the items in scope, and the event log's head.
    pub fn of_session(plan: &Plan<'_>, session: &SessionState) -> Self {
        let (verdict, counts) = rules::tally(plan, session);
        let items = plan
            .entries
            .iter()
            .map(|entry| ReportItem::of(entry, &session.item_for(entry)))
            .collect();
        let checklist = plan.checklist;
        Report {
            schema: SCHEMA.to_string(),
            tool: Tool {
                name: "relcon".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            checklist: ChecklistRef {
                id: checklist.id.clone(),
                title: checklist.title.clone(),
                version: checklist.version,
                sha256: session.checklist.sha256.clone(),
            },
            session: Session {
                id: session.id.clone(),
                environment: plan.environment.clone(),
                production: plan.production(),
                started_at: session.started_at.seconds(),
                operators: session.operators.clone(),
            },
            state: None,
            signed_by: None,
            verdict,
            counts,
            items,
            secrets: None,
            events: Some(Events {
                count: session.head.count,
                head: session.head.hash.clone(),
                entries: None,
                redacted: Vec::new(),
            }),
            bake: crate::session::bake::bakes(&session.audit)
                .pop()
                .map(|bake| ReportBake::of(&bake)),
        }
    }

    /// The export of a session over `plan`: the report of the session, interim or final,
    /// with the fingerprints of the secrets its checks saw and its whole event log.
    /// Nothing in it depends on when or where it is made: two exports at one head are the
    /// same bytes.
    pub fn export(plan: &Plan<'_>, session: &SessionState, events: &[StoredEvent]) -> Self {
        let mut report = Report::of_session(plan, session);
        report.state = Some(if session.closed.is_some() {
            State::Final
        } else {
            State::Interim
        });
        report.secrets = Some(secret_prints(plan, &report.items));
        if let Some(log) = &mut report.events {
            log.entries = Some(events.iter().map(StoredEvent::entry).collect());
        }
        report
    }
}

/// The fingerprints of declared secret inputs that items' evidence gives (`{NAME:
/// {"fingerprint": …}}`, at any depth: the env kind gives them under `variables`), by name,
/// then item.
fn secret_prints(plan: &Plan<'_>, items: &[ReportItem]) -> Vec<SecretPrint> {
    let mut prints: Vec<SecretPrint> = Vec::new();
    for item in items {
        let mut seen = Vec::new();
        fingerprinted(&item.evidence, &mut seen);
        prints.extend(
            seen.into_iter()
                .filter(|(name, _)| plan.checklist.input(name).is_some_and(|i| i.secret))
                .map(|(name, fingerprint)| SecretPrint {
                    name,
                    item: item.id.clone(),
                    fingerprint,
                }),
        );
    }
    prints.sort_by(|a, b| {
        (&a.name, &a.item, &a.fingerprint).cmp(&(&b.name, &b.item, &b.fingerprint))
    });
    prints.dedup();
    prints
}

/// Every `NAME: {"fingerprint": …}` in `evidence`, at any depth: (NAME, fingerprint).
pub fn fingerprinted(evidence: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match evidence {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match value.get("fingerprint").and_then(serde_json::Value::as_str) {
                    Some(print) => out.push((key.clone(), print.to_string())),
                    None => fingerprinted(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| fingerprinted(v, out)),
        _ => {}
    }
}

impl ReportItem {
    /// The plan's `entry` as its session has it.
    pub fn of(entry: &Entry<'_>, state: &ItemState) -> Self {
        let item = entry.item;
        let outcome = state.outcome();
        ReportItem {
            id: item.id.clone(),
            section: item.section.clone(),
            title: item.title.clone(),
            kind: item.kind.name.to_string(),
            required: entry.resolved.required,
            in_scope: entry.in_scope,
            status: state.status,
            summary: state.summary_in(entry.in_scope).to_string(),
            started_at: outcome.and_then(|o| o.started_at).map(Timestamp::seconds),
            duration_ms: outcome.map_or(0, |o| o.duration.as_millis() as u64),
            attempts: outcome.map_or(0, |o| o.attempts),
            run_by: state.run_by().map(String::from),
            evidence: outcome.map_or_else(|| serde_json::json!({}), |o| o.evidence.clone()),
            signoffs: state.signoffs.iter().map(signoff).collect(),
        }
    }
}

/// A sign-off as a report carries it.
fn signoff(signoff: &Signoff) -> serde_json::Value {
    serde_json::json!({
        "by": signoff.by,
        "status": signoff.status,
        "note": signoff.note,
        "evidence": signoff.evidence,
        "at": signoff.at.millis(),
        "signature": signoff.signature,
    })
}
