//! `sql.migration`: a migration file verified in a rolled-back transaction, or applied, with
//! expected tables and an idempotency proof.

use std::time::Duration;

use super::KindSpec;
use crate::checklist::spec::{parse_duration, Key, Ty};

/// Keys of one expected table.
pub const TABLE_KEYS: &[Key] = &[
    Key::required(
        "name",
        Ty::Text,
        "the table's name, as stored (case-sensitive)",
    ),
    Key::optional(
        "schema",
        Ty::Text,
        "its schema (default: the item's `schema`)",
    ),
    Key::optional(
        "columns",
        Ty::Map(&Ty::Text),
        "column name → type as PostgreSQL prints it, e.g. \"character varying(255)\"; \"a | b\" accepts either",
    ),
];

/// Keys of one suggested constraint (advice: reported, never failing).
pub const SUGGEST_KEYS: &[Key] = &[
    Key::required("table", Ty::Text, "the table"),
    Key::optional(
        "unique",
        Ty::List(&Ty::Text),
        "columns that should be unique together",
    ),
    Key::optional(
        "foreign_key",
        Ty::Text,
        "a column that should reference another table",
    ),
    Key::optional(
        "references",
        Ty::Text,
        "the referenced table, for `foreign_key`",
    ),
    Key::optional("note", Ty::Text, "why"),
];

/// The `sql.migration` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "sql.migration",
    about: "a migration applies (verified in a rolled-back transaction, or committed) and is idempotent",
    keys: &[
        Key::required("connection", Ty::Connection, "the connection the migration runs on"),
        Key::required("file", Ty::Path, "the SQL file, relative to --root"),
        Key::optional("mode", Ty::Choice(&["verify", "apply"]), "\"verify\" rolls back (default), \"apply\" commits"),
        Key::optional("prove_idempotent", Ty::Bool, "apply twice and compare catalog snapshots (default false)"),
        Key::optional("schema", Ty::Text, "the schema of expected tables (default \"public\")"),
        Key::optional("expect_tables", Ty::Tables(TABLE_KEYS), "tables and columns that must exist afterwards"),
        Key::optional("suggest", Ty::Tables(SUGGEST_KEYS), "stricter constraints reported as advice"),
        Key::optional("lock_timeout", Ty::Duration, "lock_timeout for the migration (default \"5s\")"),
        Key::optional("statement_timeout", Ty::Duration, "statement_timeout for the migration (default \"60s\")"),
    ],
    automated: true,
    writes: |config| config.get("mode").and_then(toml::Value::as_str) == Some("apply"),
    check,
};

/// A suggested foreign key names what it references; an expected table is listed once; a
/// lock_timeout is shorter than the statement_timeout (or it never fires).
fn check(config: &toml::Table) -> Vec<super::Problem> {
    let suggestions = config
        .get("suggest")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten();
    let mut problems: Vec<super::Problem> = suggestions
        .filter_map(toml::Value::as_table)
        .enumerate()
        .filter(|(_, s)| s.contains_key("foreign_key") != s.contains_key("references") || (!s.contains_key("foreign_key") && !s.contains_key("unique")))
        .map(|(index, _)| super::Problem::new("suggest", format!("suggestion {} needs `unique`, or `foreign_key` with `references`", index + 1), "write `unique = [\"col\"]` or `foreign_key = \"col\"` and `references = \"table\"`").at(index))
        .collect();
    problems.extend(super::empty_names(config, "schema"));
    let tables = config
        .get("expect_tables")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_table);
    let mut seen = std::collections::HashSet::new();
    for (index, table) in tables.enumerate() {
        let name = (
            table.get("schema").and_then(toml::Value::as_str),
            table.get("name").and_then(toml::Value::as_str),
        );
        if name.1.is_some() && !seen.insert(name) {
            problems.push(
                super::Problem::new(
                    "expect_tables",
                    format!("table `{}` is expected twice", name.1.unwrap_or_default()),
                    "list each table once, with all its columns",
                )
                .at(index),
            );
        }
    }
    let duration = |key: &str| {
        config
            .get(key)
            .and_then(toml::Value::as_str)
            .and_then(|v| parse_duration(v).ok())
    };
    let lock = duration("lock_timeout").unwrap_or(Duration::from_secs(5));
    let statement = duration("statement_timeout").unwrap_or(Duration::from_secs(60));
    if lock >= statement {
        problems.push(super::Problem::new(
            if config.contains_key("lock_timeout") { "lock_timeout" } else { "statement_timeout" },
            format!(
                "lock_timeout ({}) is not shorter than statement_timeout ({}): a blocked statement would never say it waited for a lock",
                humantime::format_duration(lock),
                humantime::format_duration(statement)
            ),
            "keep lock_timeout short (a few seconds) and statement_timeout longer",
        ));
    }
    problems
}
