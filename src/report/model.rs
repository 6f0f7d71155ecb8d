//! The report document, `relcon.report/v1`: what a run or a session concluded, item by
//! item. Every view (JSON, JUnit, later Markdown and HTML) renders this one model.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::engine::event::ItemResult;
use crate::checklist::plan::{Entry, Plan};
use crate::status::{Status, Verdict};
use crate::store::session::Session as StoredSession;

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

/// How many items in scope have each status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed.
    pub pass: u32,
    /// Passed with advice.
    pub warn: u32,
    /// Failed.
    pub fail: u32,
    /// Could not be evaluated.
    pub error: u32,
    /// Not applicable.
    pub skip: u32,
    /// Waiting on an item that did not pass.
    pub blocked: u32,
    /// Not run or not signed yet.
    pub pending: u32,
}

impl Counts {
    fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Warn => self.warn += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::Skip => self.skip += 1,
            Status::Blocked => self.blocked += 1,
            Status::Pending | Status::Running => self.pending += 1,
        }
    }
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

/// RFC 3339 UTC with seconds.
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// RFC 3339 UTC with milliseconds, for events.
pub fn timestamp_millis(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// What a report needs besides the plan and the results.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The session id.
    pub session_id: String,
    /// When the run started.
    pub started_at: SystemTime,
    /// Who ran it.
    pub operators: Vec<String>,
    /// SHA-256 of the checklist file, hex.
    pub checklist_sha256: String,
}

impl Report {
    /// The report of a run: each entry's result (`None`: left out of the run).
    pub fn of_run(plan: &Plan<'_>, results: &[Option<ItemResult>], info: &RunInfo) -> Self {
        let mut counts = Counts::default();
        let mut verdict_statuses = Vec::new();
        let mut items = Vec::new();
        for (entry, result) in plan.entries.iter().zip(results) {
            let result = result
                .clone()
                .unwrap_or_else(|| ItemResult::not_run(Status::Pending, "left out of this run"));
            if entry.in_scope {
                counts.add(result.status);
            }
            if entry.in_verdict() {
                verdict_statuses.push(result.status);
            }
            let item = entry.item;
            items.push(ReportItem {
                id: item.id.clone(),
                section: item.section.clone(),
                title: item.title.clone(),
                kind: item.kind.name.to_string(),
                required: entry.resolved.required,
                in_scope: entry.in_scope,
                status: result.status,
                summary: result.summary,
                started_at: result.started_at.map(timestamp),
                duration_ms: result.duration.as_millis() as u64,
                attempts: result.attempts,
                run_by: result.run_by,
                evidence: result.evidence,
                signoffs: Vec::new(),
            });
        }
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
                sha256: info.checklist_sha256.clone(),
            },
            session: Session {
                id: info.session_id.clone(),
                environment: plan.environment.clone(),
                production: plan.production(),
                started_at: timestamp(info.started_at),
                operators: info.operators.clone(),
            },
            verdict: Verdict::of(verdict_statuses),
            counts,
            items,
            events: None,
        }
    }

    /// The report of a session: every item's latest result or sign-offs, the verdict over
    /// the items in this run's scope, and the event log's head.
    pub fn of_session(plan: &Plan<'_>, session: &StoredSession) -> Self {
        let results: Vec<Option<ItemResult>> = plan
            .entries
            .iter()
            .map(|entry| Some(session_result(entry, session)))
            .collect();
        let info = RunInfo {
            session_id: session.id.clone(),
            started_at: humantime::parse_rfc3339_weak(&session.started_at)
                .unwrap_or(SystemTime::UNIX_EPOCH),
            operators: session.operators.clone(),
            checklist_sha256: session.checklist.sha256.clone(),
        };
        let mut report = Report::of_run(plan, &results, &info);
        for (item, entry) in report.items.iter_mut().zip(&plan.entries) {
            item.signoffs = session
                .signoffs
                .get(&entry.item.id)
                .into_iter()
                .flatten()
                .map(|s| serde_json::to_value(s).unwrap_or_default())
                .collect();
        }
        report.events = Some(Events {
            count: session.head.count,
            head: session.head.hash.clone(),
        });
        report
    }
}

/// How many distinct people must sign a manual item in its environment.
pub fn signers_needed(config: &toml::Table) -> usize {
    config
        .get("signoffs")
        .and_then(toml::Value::as_integer)
        .unwrap_or(1)
        .max(1) as usize
}

/// An item's result as the session has it: a manual item's sign-offs, else its latest
/// record, else pending.
pub fn session_result(entry: &Entry<'_>, session: &StoredSession) -> ItemResult {
    let id = entry.item.id.as_str();
    if !entry.item.kind.automated && session.signoffs.contains_key(id) {
        let (status, summary) = session.signed_status(id, signers_needed(&entry.resolved.config));
        return ItemResult::not_run(status, summary);
    }
    match session.record(id) {
        Some(record) => record.into(),
        None if entry.in_scope => ItemResult::not_run(
            Status::Pending,
            if entry.item.kind.automated {
                "not run yet"
            } else {
                "awaiting sign-off"
            },
        ),
        None => ItemResult::not_run(Status::Pending, "left out of this run"),
    }
}
