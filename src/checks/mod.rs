//! Check kinds. Each kind lives in its own file and declares the keys its items take; the
//! checklist reader validates items against those declarations, so adding a kind touches
//! only this folder.

pub mod authjs_adapter;
pub mod authjs_session;
pub mod command;
pub mod cookies;
pub mod env;
pub mod http;
pub mod jsonpath;
pub mod manual;
pub mod scan;
pub mod sql_migration;
pub mod sql_role;
pub mod tls;

use crate::checklist::spec::Key;

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
}

/// A problem with an item's configuration found by a kind's own rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key the problem is reported at.
    pub key: &'static str,
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
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// For kinds whose keys need no rules beyond their types.
pub fn no_rules(_: &toml::Table) -> Vec<Problem> {
    Vec::new()
}

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
