//! The report document, `relcon.report/v1`: what a run or a session concluded, item by
//! item. Every view (JSON, JUnit, later Markdown and HTML) renders this one model.

use serde::{Deserialize, Serialize};

use crate::checklist::plan::{Entry, Plan};
use crate::session::rules;
pub use crate::session::rules::Counts;
use crate::session::{ItemState, SessionState, Signoff, Timestamp};
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
    /// The verdict over the required items in scope.
    pub verdict: Verdict,
    /// Statuses of the items in scope.
    pub counts: Counts,
    /// Every item, in checklist order.
    pub items: Vec<ReportItem>,
    /// The session's event log: its count and head (and, in exports, its entries).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub events: Option<Events>,
}

/// A session's event log, as a report carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Events {
    /// How many events.
    pub count: i64,
    /// The last event's hash.
    pub head: String,
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
            verdict,
            counts,
            items,
            events: Some(Events {
                count: session.head.count,
                head: session.head.hash.clone(),
            }),
        }
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
