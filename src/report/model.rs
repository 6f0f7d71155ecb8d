//! The report document, `relcon.report/v1`: what a run or a session concluded, item by
//! item. Every view (JSON, JUnit, later Markdown and HTML) renders this one model.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::engine::event::ItemResult;
use crate::engine::plan::Plan;
use crate::engine::status::{Status, Verdict};

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
        }
    }
}
