//! How check kinds run. Each kind's run lives in its own file (its keys and lint rules live
//! in `crate::checklist::kinds`); a check returns a [`CheckResult`] and sends its output
//! lines through [`OutputSink`], and never prints.

pub mod authjs_adapter;
pub mod authjs_session;
pub mod catalog;
pub mod command;
pub mod cookies;
pub mod entropy;
pub mod env;
pub mod http;
pub mod manual;
pub mod net;
pub mod pg;
pub mod providers;
pub mod scan;
pub mod sql_migration;
pub mod sql_role;
pub mod sql_script;
pub mod tls;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::checklist::kinds::KindSpec;
use crate::checklist::values::Values;
use crate::checklist::Checklist;
use crate::redact::Redactor;
use crate::status::Status;

/// A running check's future.
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

/// Runs an item of a kind.
pub type Run = for<'a> fn(&'a CheckContext<'a>) -> RunFuture<'a>;

/// How each kind runs, by name; a kind without a run is not built yet.
const RUNS: &[(&str, Option<Run>)] = &[
    ("env", Some(env::run)),
    ("http", Some(http::run)),
    ("cookies", Some(cookies::run)),
    ("tls", Some(tls::run)),
    ("sql.migration", Some(sql_migration::run)),
    ("sql.role", Some(sql_role::run)),
    ("authjs.adapter", Some(authjs_adapter::run)),
    ("authjs.session", Some(authjs_session::run)),
    ("command", Some(command::run)),
    ("scan", Some(scan::run)),
    ("manual", Some(manual::run)),
];

/// How items of `kind` run: an error result for a kind not built yet (never a pass).
pub fn runner(kind: &KindSpec) -> Run {
    RUNS.iter()
        .find(|(name, _)| *name == kind.name)
        .and_then(|(_, run)| *run)
        .unwrap_or(not_implemented)
}

/// Whether a running check of `kind` has something to undo when cancelled (a statement to
/// cancel on the server, probe rows to remove, a child process to kill): it is awaited until
/// it has; checks of other kinds are dropped at once.
pub fn cleans_up_when_cancelled(kind: &KindSpec) -> bool {
    matches!(
        kind.name,
        "command" | "sql.migration" | "authjs.session" | "scan"
    )
}

/// Whether items of `kind` run for real yet (`relcon demo` leaves the others out).
pub fn built(kind: &KindSpec) -> bool {
    RUNS.iter()
        .any(|(name, run)| *name == kind.name && run.is_some())
}

/// For kinds not built yet: never a pass.
fn not_implemented<'a>(_: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async { CheckResult::definitive_error("check kind not implemented yet") })
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// What a check concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// The status.
    pub status: Status,
    /// One line: what was found (expected vs actual on failure).
    pub summary: String,
    /// Structured evidence: what was asked and what came back.
    pub evidence: serde_json::Value,
    /// Whether another attempt could end differently (not for a bad configuration or a
    /// kind that is not built).
    pub retryable: bool,
}

impl CheckResult {
    /// A result without evidence.
    pub fn new(status: Status, summary: impl Into<String>) -> Self {
        Self {
            status,
            summary: summary.into(),
            evidence: serde_json::Value::Object(Default::default()),
            retryable: true,
        }
    }

    /// An error that another attempt cannot change.
    pub fn definitive_error(summary: impl Into<String>) -> Self {
        Self {
            retryable: false,
            ..Self::new(Status::Error, summary)
        }
    }

    /// The same result with `evidence`.
    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = evidence;
        self
    }
}

/// Everything a check may use. Checks never print: they return a result and send output
/// lines through [`CheckContext::output`].
pub struct CheckContext<'a> {
    /// The item's id.
    pub id: &'a str,
    /// The item's kind keys in this environment, overrides applied.
    pub config: &'a toml::Table,
    /// The checklist.
    pub checklist: &'a Checklist,
    /// The run's values.
    pub values: &'a Values,
    /// The redactor, for fingerprints.
    pub redactor: &'a Redactor,
    /// The deployed project's root (`--root`).
    pub root: &'a Path,
    /// Trusted roots and HTTP clients.
    pub net: &'a net::Net,
    /// When the check must have finished (it is dropped a little after).
    pub deadline: tokio::time::Instant,
    /// The timeout that set the deadline, for messages.
    pub timeout: std::time::Duration,
    /// Cancelled when the run is cancelled.
    pub cancel: CancellationToken,
    /// Where output lines go.
    pub output: OutputSink,
}

impl CheckContext<'_> {
    /// The item's configuration as the kind's typed struct.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, CheckResult> {
        toml::Value::Table(self.config.clone())
            .try_into()
            .map_err(|err: toml::de::Error| {
                CheckResult::definitive_error(format!("configuration: {}", err.message()))
            })
    }

    /// Request headers from the item's `headers` templates, secrets filled in; a header
    /// whose value comes out empty (an unset optional input) is not sent. The lint keeps
    /// secrets to the base URL's origin.
    pub fn headers(
        &self,
        templates: &std::collections::BTreeMap<String, String>,
    ) -> Result<reqwest::header::HeaderMap, CheckResult> {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, template) in templates {
            let value = self.values.render(template).map_err(|err| {
                CheckResult::definitive_error(format!("cannot build header {name}: {err}"))
            })?;
            if value.is_empty() {
                continue;
            }
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                CheckResult::definitive_error(format!("`{name}` is not a header name"))
            })?;
            let value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                CheckResult::definitive_error(format!(
                    "the value of header {name} holds characters a header cannot"
                ))
            })?;
            headers.insert(name, value);
        }
        Ok(headers)
    }

    /// The time a network check may still spend: its deadline less a margin, so that it
    /// answers with its own reason before the engine drops it.
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .saturating_sub(std::time::Duration::from_millis(200))
    }
}

/// Where a check's output lines go: the engine's emitter, which scrubs them and slows a
/// check that prints faster than they are taken in.
pub trait Lines: Send + Sync {
    /// Sends line `line` of item `id` from `stream`, once there is room for it.
    fn line<'a>(
        &'a self,
        id: &'a str,
        stream: Stream,
        line: String,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// Sends a check's output lines on.
#[derive(Clone)]
pub struct OutputSink {
    id: String,
    lines: Arc<dyn Lines>,
}

impl OutputSink {
    /// A sink for item `id`.
    pub fn new(id: &str, lines: Arc<dyn Lines>) -> Self {
        Self {
            id: id.to_string(),
            lines,
        }
    }

    /// Sends one line, once there is room for it.
    pub async fn line(&self, stream: Stream, line: &str) {
        self.lines.line(&self.id, stream, line.to_string()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_the_format_has_its_run_and_no_other() {
        let kinds: Vec<&str> = crate::checklist::kinds::KINDS
            .iter()
            .map(|k| k.name)
            .collect();
        let runs: Vec<&str> = RUNS.iter().map(|(name, _)| *name).collect();
        assert_eq!(kinds, runs);
    }
}
