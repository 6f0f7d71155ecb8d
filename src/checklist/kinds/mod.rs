//! Check kinds as the checklist knows them: the keys each kind's items take, whether it is
//! run or signed, whether an item writes, and the rules across its keys that lint applies.
//! How a kind runs lives with the checks; this is only what a checklist may say.

pub mod authjs_adapter;
pub mod authjs_session;
pub mod command;
pub mod cookies;
pub mod env;
pub mod http;
pub mod manual;
pub mod scan;
pub mod sql_migration;
pub mod sql_role;
pub mod tls;

use super::spec::Key;

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

/// Whether an item with this configuration writes, given the run's values: an item handed
/// a credential in `token_from` makes none, so it needs no consent.
pub fn writes_with(
    kind: &KindSpec,
    config: &toml::Table,
    values: &crate::checklist::values::Values,
) -> bool {
    let given = config
        .get("token_from")
        .and_then(toml::Value::as_array)
        .is_some_and(|names| {
            names
                .iter()
                .filter_map(toml::Value::as_str)
                .any(|name| values.is_set(name))
        });
    (kind.writes)(config) && !given
}
