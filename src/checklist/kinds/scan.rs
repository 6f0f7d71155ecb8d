//! `scan`: files of the deployed repository (and the loaded configuration) searched for
//! secrets and dev defaults; findings give file:line and rule, never the secret.

use super::KindSpec;
use crate::checklist::spec::{Key, Ty};

/// The built-in rule sets.
pub const RULES: &[&str] = &["secrets", "connection-strings", "dev-defaults"];

/// The `scan` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "scan",
    about: "no committed secrets, credentialed connection strings or dev defaults",
    keys: &[
        Key::required(
            "paths",
            Ty::List(&Ty::Glob),
            "globs of files to scan, relative to --root",
        ),
        Key::optional(
            "exclude",
            Ty::List(&Ty::Glob),
            "globs left out (.git, node_modules and target always are)",
        ),
        Key::optional(
            "tracked_only",
            Ty::Bool,
            "scan only files tracked by git (default false)",
        ),
        Key::required(
            "rules",
            Ty::List(&Ty::Choice(RULES)),
            "the rule sets applied",
        ),
        Key::optional(
            "words",
            Ty::List(&Ty::Text),
            "dev-default words for the \"dev-defaults\" rules (case-insensitive)",
        ),
        Key::optional(
            "scan_inputs",
            Ty::Bool,
            "also judge the loaded input values by the rules (default false)",
        ),
        Key::optional(
            "allow",
            Ty::List(&Ty::Regex),
            "findings whose line matches one of these are ignored",
        ),
    ],
    automated: true,
    writes: super::never_writes,
    check,
};

/// A scan has somewhere to look and something to look for.
fn check(config: &toml::Table) -> Vec<super::Problem> {
    let empty = |key: &str| {
        config
            .get(key)
            .and_then(toml::Value::as_array)
            .is_some_and(|a| a.is_empty())
    };
    let mut problems = Vec::new();
    if empty("paths") {
        problems.push(super::Problem::new(
            "paths",
            "`paths` is empty",
            "list globs of files to scan, e.g. `paths = [\"**/*\"]`",
        ));
    }
    if empty("rules") {
        problems.push(super::Problem::new(
            "rules",
            "`rules` is empty",
            "choose rule sets: \"secrets\", \"connection-strings\", \"dev-defaults\"",
        ));
    }
    problems
}
