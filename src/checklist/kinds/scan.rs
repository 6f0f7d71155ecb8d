//! `scan`: what is committed to the deployed repository (and, with `history`, everything
//! reachable from HEAD) searched for secrets, credentialed connection strings and dev
//! defaults; findings give rule and file:line, never the secret.

use super::KindSpec;
use crate::checklist::spec::{Key, Ty};

/// The built-in rule sets.
pub const RULES: &[&str] = &["secrets", "connection-strings", "dev-defaults"];

/// The rules findings are named by (what `allow` entries name).
pub const RULE_IDS: &[&str] = &[
    "*",
    "private-key",
    "github-token",
    "google-oauth-secret",
    "aws-access-key",
    "slack-token",
    "resend-api-key",
    "sentry-dsn-secret",
    "jwt",
    "named-secret",
    "authjs-secret",
    "connection-string",
    "generic-secret",
    "dev-default",
];

const ALLOW_KEYS: &[Key] = &[
    Key::required(
        "rule",
        Ty::Choice(RULE_IDS),
        "the rule allowed (\"*\" for any)",
    ),
    Key::required("path", Ty::Glob, "the files it is allowed in"),
    Key::required("reason", Ty::Text, "why this is not a leak"),
];

/// The `scan` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "scan",
    about: "no committed secrets, credentialed connection strings or dev defaults",
    keys: &[
        Key::required(
            "paths",
            Ty::List(&Ty::Glob),
            "globs of committed files to scan, relative to --root (only files in the git index are scanned)",
        ),
        Key::optional(
            "exclude",
            Ty::List(&Ty::Glob),
            "globs left out (node_modules, .next, lock files and minified bundles always are)",
        ),
        Key::required(
            "rules",
            Ty::List(&Ty::Choice(RULES)),
            "the rule sets applied",
        ),
        Key::optional(
            "words",
            Ty::List(&Ty::Text),
            "dev-default words for the \"dev-defaults\" rules (case-insensitive; the whole value or a whole token of it)",
        ),
        Key::optional(
            "secret_names",
            Ty::List(&Ty::Text),
            "names whose assigned value is a finding whatever its entropy, e.g. the app's secret inputs (\"secrets\" rules)",
        ),
        Key::optional(
            "history",
            Ty::Bool,
            "also scan every blob reachable from HEAD: a secret removed since is still a leak (default false)",
        ),
        Key::optional(
            "scan_inputs",
            Ty::Bool,
            "also judge the loaded secret inputs by the \"dev-defaults\" words (default false)",
        ),
        Key::optional(
            "allow",
            Ty::Tables(ALLOW_KEYS),
            "findings allowed, each with its reason (a `relcon:allow <rule> <reason>` comment on the line does the same)",
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
    let dev = config
        .get("rules")
        .and_then(toml::Value::as_array)
        .is_some_and(|r| r.iter().any(|v| v.as_str() == Some("dev-defaults")));
    if dev && !config.contains_key("words") {
        problems.push(super::Problem::new(
            "rules",
            "the \"dev-defaults\" rules need `words`",
            "add `words = [\"devsecret\", \"changeme\"]`, the dev values to refuse",
        ));
    }
    problems
}
