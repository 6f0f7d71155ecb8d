//! Check kinds. Each kind lives in its own file and declares the keys its items take; the
//! checklist reader validates items against those declarations, so adding a kind touches
//! only this folder.

pub mod authjs_adapter;
pub mod authjs_session;
pub mod catalog;
pub mod command;
pub mod cookies;
pub mod env;
pub mod http;
pub mod jsonpath;
pub mod manual;
pub mod net;
pub mod pg;
pub mod scan;
pub mod sql_migration;
pub mod sql_role;
pub mod sql_script;
pub mod tls;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::checklist::spec::Key;
use crate::checklist::values::Values;
use crate::checklist::Checklist;
use crate::engine::event::{CheckResult, Emitter, Event, Stream};
use crate::redact::Redactor;

/// What the checklist needs to know about a kind.
#[derive(Debug)]
pub struct KindSpec {
    /// The `kind = "…"` name.
    pub name: &'static str,
    /// One line on what the kind verifies.
    pub about: &'static str,
    /// The kind-specific keys of its items.
    pub keys: &'static [Key],
    /// Whether the tool runs it (manual items are signed off instead).
    pub automated: bool,
    /// Whether an item with this configuration writes to the target: writes are never
    /// retried and need consent in production.
    pub writes: fn(&toml::Table) -> bool,
    /// Rules across keys that the key types cannot express.
    pub check: fn(&toml::Table) -> Vec<Problem>,
    /// Runs an item of this kind.
    pub run: for<'a> fn(&'a CheckContext<'a>) -> RunFuture<'a>,
    /// Whether the kind runs for real yet (`relcon demo` leaves the others out).
    pub built: bool,
}

/// A running check's future.
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

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

    /// The time a network check may still spend: its deadline less a margin, so that it
    /// answers with its own reason before the engine drops it.
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .saturating_sub(std::time::Duration::from_millis(200))
    }
}

/// Sends a check's output lines as events.
#[derive(Clone)]
pub struct OutputSink {
    id: String,
    emitter: Emitter,
}

impl OutputSink {
    /// A sink for item `id`.
    pub fn new(id: &str, emitter: Emitter) -> Self {
        Self {
            id: id.to_string(),
            emitter,
        }
    }

    /// Sends one line, once there is room for it.
    pub async fn line(&self, stream: Stream, line: &str) {
        self.emitter.output_room().await;
        self.emitter.send(Event::Output {
            id: self.id.clone(),
            stream,
            line: line.to_string(),
        });
    }
}

/// For kinds not built yet: never a pass.
pub fn not_implemented<'a>(_: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async { CheckResult::definitive_error("check kind not implemented yet") })
}

/// A problem with an item's configuration found by a kind's own rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key the problem is reported at.
    pub key: &'static str,
    /// The element of that key's array, when the problem is in one.
    pub index: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Problem {
    /// A problem at `key`.
    pub fn new(key: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            key,
            index: None,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The same problem, in element `index` of the key's array.
    pub fn at(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

/// A name (a schema, say) at `key`, or in its array, that is empty: PostgreSQL has no such
/// name, and the check could only fail on it at run time.
pub fn empty_names(config: &toml::Table, key: &'static str) -> Vec<Problem> {
    let problem = || {
        Problem::new(
            key,
            format!("`{key}` holds an empty name"),
            "write the schema's name, e.g. \"public\"",
        )
    };
    match config.get(key) {
        Some(toml::Value::String(s)) if s.trim().is_empty() => vec![problem()],
        Some(toml::Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_str().is_some_and(|s| s.trim().is_empty()))
            .map(|(i, _)| problem().at(i))
            .collect(),
        _ => Vec::new(),
    }
}

/// For kinds whose keys need no rules beyond their types.
pub fn no_rules(_: &toml::Table) -> Vec<Problem> {
    Vec::new()
}

/// What a finding of advice (an unset optional variable, ownership of tables…) makes of an
/// item, where the checklist may choose.
pub const OUTCOMES: &[&str] = &["pass", "warn", "fail"];

/// Every kind, in the order the format reference lists them.
pub const KINDS: &[&KindSpec] = &[
    &env::SPEC,
    &http::SPEC,
    &cookies::SPEC,
    &tls::SPEC,
    &sql_migration::SPEC,
    &sql_role::SPEC,
    &authjs_adapter::SPEC,
    &authjs_session::SPEC,
    &command::SPEC,
    &scan::SPEC,
    &manual::SPEC,
];

/// The kind named `name`.
pub fn kind(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// For kinds that never write.
pub fn never_writes(_: &toml::Table) -> bool {
    false
}
