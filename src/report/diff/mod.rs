//! One release compared with another: what failed anew and what was fixed, which items
//! became slower, which evidence changed (a release sha, an image digest, a certificate's
//! expiry, a role's grants), who signed instead of whom, which items came and went, and the
//! continuity of secrets by keyed fingerprint only (never values). Pure: two reports in, one
//! [`Diff`] out, which the command prints as text or JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::model::{Report, ReportItem};
use crate::status::Status;

mod secrets;

use secrets::secrets;

/// The JSON document's schema.
pub const SCHEMA: &str = "relcon.diff/v1";

/// Evidence keys that change on every run (times, durations, probe names), not with the
/// release: left out of "evidence changed".
const VOLATILE: &[&str] = &[
    "ms",
    "elapsed",
    "elapsed_ms",
    "duration",
    "duration_ms",
    "latency",
    "latency_ms",
    "applied_ms",
    "at",
    "started_at",
    "checked_at",
    "time",
    "email",
    "tried",
];

/// One side of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The session.
    pub session: String,
    /// Its environment.
    pub environment: Option<String>,
    /// When it started.
    pub started_at: String,
    /// Its verdict.
    pub verdict: String,
    /// Where it came from: "store" or the report file.
    pub from: String,
}

impl Side {
    fn of(report: &Report, from: &str) -> Self {
        Side {
            session: report.session.id.clone(),
            environment: report.session.environment.clone(),
            started_at: report.session.started_at.clone(),
            verdict: report.verdict.name().to_string(),
            from: from.to_string(),
        }
    }
}

/// An item whose status changed.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    /// The item.
    pub id: String,
    /// Its status before.
    pub before: Status,
    /// Its status now.
    pub after: Status,
    /// What it says now.
    pub summary: String,
}

/// An item that took longer.
#[derive(Debug, Clone, Serialize)]
pub struct Slower {
    /// The item.
    pub id: String,
    /// Milliseconds before.
    pub before_ms: u64,
    /// Milliseconds now.
    pub after_ms: u64,
    /// now ÷ before.
    pub ratio: f64,
}

/// A value of an item's evidence that changed.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceChange {
    /// The item.
    pub id: String,
    /// Where in its evidence (`certificate.not_after`).
    pub path: String,
    /// The value before (absent: the key was not there).
    pub before: Option<String>,
    /// The value now.
    pub after: Option<String>,
}

impl EvidenceChange {
    /// `item path: before → after`.
    fn line(&self) -> String {
        format!(
            "{} {}: {} → {}",
            self.id,
            self.path,
            self.before.as_deref().unwrap_or("(absent)"),
            self.after.as_deref().unwrap_or("(absent)")
        )
    }
}

/// A manual item signed by other people than last time.
#[derive(Debug, Clone, Serialize)]
pub struct Signers {
    /// The item.
    pub id: String,
    /// Who signed before.
    pub before: Vec<String>,
    /// Who signed now.
    pub after: Vec<String>,
}

/// What the secrets' fingerprints say.
#[derive(Debug, Clone, Serialize)]
pub struct SecretFinding {
    /// `warn` or `pass`.
    pub status: Status,
    /// The secret input.
    pub name: String,
    /// Why.
    pub message: String,
}

/// The continuity of secrets, by keyed fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct Secrets {
    /// Whether fingerprints can be compared (both sides from one store).
    pub comparable: bool,
    /// Why not, when they cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    /// What they say.
    pub findings: Vec<SecretFinding>,
}

/// One release compared with another.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The release looked at.
    pub session: Side,
    /// The release it is compared with.
    pub against: Side,
    /// Items that fail or error now and did not before.
    pub new_failures: Vec<Changed>,
    /// Items that failed or errored before and pass now.
    pub fixed: Vec<Changed>,
    /// Other status changes.
    pub changed: Vec<Changed>,
    /// Items that took longer by more than the threshold.
    pub slower: Vec<Slower>,
    /// Evidence values that changed.
    pub evidence: Vec<EvidenceChange>,
    /// Origins that changed, each once (the URLs under them are not listed one by one).
    pub origins: Vec<(String, String)>,
    /// Manual items signed by other people.
    pub signers: Vec<Signers>,
    /// Items the checklist has now and did not.
    pub added: Vec<String>,
    /// Items the checklist had and has no more.
    pub removed: Vec<String>,
    /// Secret continuity.
    pub secrets: Secrets,
}

/// How `diff` judges slowness: a ratio above `ratio` and at least `min_ms` more.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// now ÷ before above this is slower.
    pub ratio: f64,
    /// And at least this many milliseconds more (a 3 ms check taking 9 ms is noise).
    pub min_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            ratio: 2.0,
            min_ms: 100,
        }
    }
}

fn failing(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error)
}

/// One side of a comparison: the report and where it came from ("store" or a file).
pub struct Compared<'r> {
    /// The report.
    pub report: &'r Report,
    /// Where it came from.
    pub from: &'r str,
}

/// How to compare: whether the fingerprints share a key (both sides from one store), the
/// inputs the deployment signs sessions with (the checklist's `secret_from`), and when an
/// item is slower.
pub struct Rules<'r> {
    /// Both sides from one store.
    pub same_store: bool,
    /// The session secrets, rotation inputs included.
    pub session_secrets: &'r [String],
    /// Slowness.
    pub thresholds: Thresholds,
}

/// Compares `now` with `before`.
pub fn compare(now: Compared<'_>, before: Compared<'_>, rules: &Rules<'_>) -> Diff {
    let (now_from, before_from) = (now.from, before.from);
    let (now, before) = (now.report, before.report);
    let (same_store, thresholds) = (rules.same_store, rules.thresholds);
    let old: BTreeMap<&str, &ReportItem> =
        before.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let new: BTreeMap<&str, &ReportItem> = now.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut diff = Diff {
        schema: SCHEMA,
        session: Side::of(now, now_from),
        against: Side::of(before, before_from),
        new_failures: Vec::new(),
        fixed: Vec::new(),
        changed: Vec::new(),
        slower: Vec::new(),
        evidence: Vec::new(),
        origins: Vec::new(),
        signers: Vec::new(),
        added: new
            .keys()
            .filter(|id| !old.contains_key(*id))
            .map(|id| id.to_string())
            .collect(),
        removed: old
            .keys()
            .filter(|id| !new.contains_key(*id))
            .map(|id| id.to_string())
            .collect(),
        secrets: secrets(now, before, same_store, rules.session_secrets),
    };
    let mut origins = BTreeSet::new();
    for item in &now.items {
        let Some(was) = old.get(item.id.as_str()) else {
            continue;
        };
        let change = Changed {
            id: item.id.clone(),
            before: was.status,
            after: item.status,
            summary: item.summary.clone(),
        };
        if was.status != item.status {
            if failing(item.status) && !failing(was.status) {
                diff.new_failures.push(change);
            } else if failing(was.status) && item.status == Status::Pass {
                diff.fixed.push(change);
            } else {
                diff.changed.push(change);
            }
        }
        if was.attempts > 0
            && item.attempts > 0
            && was.status == Status::Pass
            && item.status == Status::Pass
        {
            let (a, b) = (was.duration_ms, item.duration_ms);
            let ratio = b as f64 / a.max(1) as f64;
            if ratio > thresholds.ratio && b.saturating_sub(a) >= thresholds.min_ms {
                diff.slower.push(Slower {
                    id: item.id.clone(),
                    before_ms: a,
                    after_ms: b,
                    ratio: (ratio * 10.0).round() / 10.0,
                });
            }
        }
        evidence_changes(
            &item.id,
            &was.evidence,
            &item.evidence,
            &mut diff.evidence,
            &mut origins,
        );
        let who = |item: &ReportItem| -> Vec<String> {
            let mut who: Vec<String> = item
                .signoffs
                .iter()
                .filter_map(|s| s.get("by")?.as_str().map(String::from))
                .collect();
            who.sort();
            who.dedup();
            who
        };
        let (a, b) = (who(was), who(item));
        if !a.is_empty() && !b.is_empty() && a != b {
            diff.signers.push(Signers {
                id: item.id.clone(),
                before: a,
                after: b,
            });
        }
    }
    diff.origins = origins.into_iter().collect();
    diff
}

/// The evidence's scalar values by path, secrets' descriptors (objects with a fingerprint)
/// and run-to-run values left out.
fn leaves(value: &Value, path: &str, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            // A secret's descriptor: whether it is set, not its length or fingerprint (the
            // secrets section compares those).
            if map.contains_key("fingerprint") {
                out.insert(format!("{path}.set"), "true".into());
                return;
            }
            for (key, value) in map {
                if VOLATILE.contains(&key.as_str()) || key.ends_with("_ms") {
                    continue;
                }
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                leaves(value, &path, out);
            }
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let text: Vec<String> = items.iter().map(scalar).collect();
            out.insert(path.to_string(), text.join(", "));
        }
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                leaves(item, &format!("{path}[{n}]"), out);
            }
        }
        other => {
            // A masked secret (a token made anew each run) says nothing about the release.
            let text = scalar(other);
            if !text.starts_with("[secret ") {
                out.insert(path.to_string(), text);
            }
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A URL's origin and the rest, when `text` is a URL.
fn split_origin(text: &str) -> Option<(String, String)> {
    let url = url::Url::parse(text).ok()?;
    if !url.has_host() {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    Some((
        origin.clone(),
        text[origin.len().min(text.len())..].to_string(),
    ))
}

/// Where a value came from, without the directory (a temporary directory's name changes
/// every run; the file and line do not).
fn source_name(text: &str) -> String {
    match text.rsplit_once('/') {
        Some((_, name)) => name.to_string(),
        None => text.to_string(),
    }
}

fn evidence_changes(
    id: &str,
    before: &Value,
    now: &Value,
    out: &mut Vec<EvidenceChange>,
    origins: &mut BTreeSet<(String, String)>,
) {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    leaves(before, "", &mut a);
    leaves(now, "", &mut b);
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for path in paths {
        let (was, is) = (a.get(path), b.get(path));
        if was == is {
            continue;
        }
        if let (Some(was), Some(is)) = (was, is) {
            // One origin moved (another host, a sandbox's port): said once, not per URL.
            if let (Some((o1, rest1)), Some((o2, rest2))) = (split_origin(was), split_origin(is)) {
                if rest1 == rest2 {
                    origins.insert((o1, o2));
                    continue;
                }
            }
            if (path == "source" || path.ends_with(".source"))
                && source_name(was) == source_name(is)
            {
                continue;
            }
        }
        out.push(EvidenceChange {
            id: id.to_string(),
            path: path.clone(),
            before: was.cloned(),
            after: is.cloned(),
        });
    }
}

impl Diff {
    /// Whether anything needs attention: a new failure or a secret warning.
    pub fn attention(&self) -> bool {
        !self.new_failures.is_empty()
            || self
                .secrets
                .findings
                .iter()
                .any(|f| f.status == Status::Warn)
    }

    /// What changed as (kind, text) entries, most important first, for the reports'
    /// "Since the last release" section.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let changed = |c: &Changed| {
            format!(
                "{}: {} → {} · {}",
                c.id,
                c.before.name(),
                c.after.name(),
                c.summary
            )
        };
        let mut out: Vec<(&'static str, String)> = Vec::new();
        out.extend(
            self.new_failures
                .iter()
                .map(|c| ("new failure", changed(c))),
        );
        out.extend(
            self.secrets
                .findings
                .iter()
                .filter(|f| f.status == Status::Warn)
                .map(|f| ("secret", f.message.clone())),
        );
        out.extend(self.fixed.iter().map(|c| ("fixed", changed(c))));
        out.extend(self.changed.iter().map(|c| ("status", changed(c))));
        out.extend(self.slower.iter().map(|s| {
            (
                "slower",
                format!(
                    "{}: {} ms → {} ms ({}×)",
                    s.id, s.before_ms, s.after_ms, s.ratio
                ),
            )
        }));
        out.extend(
            self.origins
                .iter()
                .map(|(a, b)| ("evidence", format!("origin: {a} → {b}"))),
        );
        out.extend(self.evidence.iter().map(|e| ("evidence", e.line())));
        out.extend(self.signers.iter().map(|s| {
            (
                "signed by",
                format!("{}: {} → {}", s.id, s.before.join(", "), s.after.join(", ")),
            )
        }));
        out.extend(self.added.iter().map(|id| ("added", id.clone())));
        out.extend(self.removed.iter().map(|id| ("removed", id.clone())));
        out.extend(
            self.secrets
                .findings
                .iter()
                .filter(|f| f.status != Status::Warn)
                .map(|f| ("secret", f.message.clone())),
        );
        if let Some(why) = &self.secrets.why_not {
            out.push(("secret", why.clone()));
        }
        out
    }

    /// The session compared with, as the reports name it.
    pub fn against_line(&self) -> String {
        format!(
            "Compared with session {} ({}, started {}, {}).",
            self.against.session,
            self.against
                .environment
                .as_deref()
                .unwrap_or("no environment"),
            self.against.started_at,
            self.against.verdict
        )
    }

    /// The comparison as lines of text, most important first.
    pub fn text(&self) -> Vec<String> {
        let side = |s: &Side| {
            format!(
                "{} ({}, started {}, {}{})",
                s.session,
                s.environment.as_deref().unwrap_or("no environment"),
                s.started_at,
                s.verdict,
                if s.from == "store" {
                    String::new()
                } else {
                    format!(", from {}", s.from)
                }
            )
        };
        let mut out = vec![
            format!("session {}", side(&self.session)),
            format!("against {}", side(&self.against)),
        ];
        if self.session.verdict != self.against.verdict {
            out.push(format!(
                "verdict: {} → {}",
                self.against.verdict, self.session.verdict
            ));
        }
        let mut section = |title: &str, lines: Vec<String>| {
            if !lines.is_empty() {
                out.push(String::new());
                out.push(format!("{title} ({})", lines.len()));
                out.extend(lines.into_iter().map(|l| format!("  {l}")));
            }
        };
        let changed = |c: &Changed| {
            format!(
                "{} {}: {} → {} · {}",
                c.after.symbol(),
                c.id,
                c.before.name(),
                c.after.name(),
                c.summary
            )
        };
        section(
            "new failures",
            self.new_failures.iter().map(changed).collect(),
        );
        section("fixed", self.fixed.iter().map(changed).collect());
        section(
            "other status changes",
            self.changed.iter().map(changed).collect(),
        );
        section(
            "slower",
            self.slower
                .iter()
                .map(|s| {
                    format!(
                        "{}: {} ms → {} ms ({}×)",
                        s.id, s.before_ms, s.after_ms, s.ratio
                    )
                })
                .collect(),
        );
        let mut evidence: Vec<String> = self
            .origins
            .iter()
            .map(|(a, b)| format!("origin: {a} → {b}"))
            .collect();
        evidence.extend(self.evidence.iter().map(EvidenceChange::line));
        section("evidence changed", evidence);
        section(
            "signed by other people",
            self.signers
                .iter()
                .map(|s| format!("{}: {} → {}", s.id, s.before.join(", "), s.after.join(", ")))
                .collect(),
        );
        section("items added", self.added.clone());
        section("items removed", self.removed.clone());
        let secrets = match &self.secrets.why_not {
            Some(why) => vec![why.clone()],
            None if self.secrets.findings.is_empty() => {
                vec!["no secret changed (compared by keyed fingerprint, never by value)".into()]
            }
            None => self
                .secrets
                .findings
                .iter()
                .map(|f| format!("{} {}", f.status.symbol(), f.message))
                .collect(),
        };
        out.push(String::new());
        out.push("secrets".into());
        out.extend(secrets.into_iter().map(|l| format!("  {l}")));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_moved_origin_is_said_once_and_run_to_run_values_not_at_all() {
        let (mut out, mut origins) = (Vec::new(), BTreeSet::new());
        evidence_changes(
            "live",
            &json!({"url": "https://localhost:4001/health", "elapsed_ms": 12, "email": "probe-1@x",
                    "source": "/tmp/a1/demo.env:3", "version": "1.4.0"}),
            &json!({"url": "https://localhost:4002/health", "elapsed_ms": 90, "email": "probe-2@x",
                    "source": "/tmp/b2/demo.env:3", "version": "1.5.0"}),
            &mut out,
            &mut origins,
        );
        assert_eq!(
            origins.into_iter().collect::<Vec<_>>(),
            [(
                "https://localhost:4001".to_string(),
                "https://localhost:4002".to_string()
            )]
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            (
                out[0].path.as_str(),
                out[0].before.as_deref(),
                out[0].after.as_deref()
            ),
            ("version", Some("1.4.0"), Some("1.5.0"))
        );
    }

    #[test]
    fn secret_descriptors_compare_by_set_only() {
        let mut leaves_out = BTreeMap::new();
        leaves(
            &json!({"variables": {"SIGNING_KEY": {"set": true, "length": 44, "fingerprint": "9eb960d9"}}}),
            "",
            &mut leaves_out,
        );
        assert_eq!(
            leaves_out.into_iter().collect::<Vec<_>>(),
            [("variables.SIGNING_KEY.set".to_string(), "true".to_string())]
        );
    }
}
