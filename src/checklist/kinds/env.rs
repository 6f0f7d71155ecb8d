//! `env`: the deployment's configuration variables, judged without ever showing a value.

use super::KindSpec;
use crate::checklist::spec::{Key, Secrets, Ty};

/// Formats a variable's value may be required to have.
pub const FORMATS: &[&str] = &[
    "text",
    "url",
    "https-url",
    "postgres-url",
    "sentry-dsn",
    "smtp-url",
    "number",
];

/// Keys of one rule: what the named variables (or a connection's resolved value) must be.
pub const RULE_KEYS: &[Key] = &[
    Key::optional(
        "names",
        Ty::Inputs(Secrets::Allowed),
        "the inputs the rule applies to, each judged on its own",
    ),
    Key::optional(
        "connection",
        Ty::Connection,
        "judge a connection's resolved value instead of named inputs",
    ),
    Key::optional(
        "on_unset",
        Ty::Choice(super::OUTCOMES),
        "what an unset variable makes of the item (default \"pass\": optional)",
    ),
    Key::optional(
        "format",
        Ty::Choice(FORMATS),
        "the value's format; postgres-url requires TLS off loopback",
    ),
    Key::optional(
        "pattern",
        Ty::Regex,
        "a regular expression the value must match",
    ),
    Key::optional("equals", Ty::Text, "the exact value expected"),
    Key::optional(
        "min_length",
        Ty::Int(1, 4096),
        "minimum length in characters",
    ),
    Key::optional(
        "min_entropy_bits",
        Ty::Int(1, 4096),
        "minimum estimated entropy of the whole value, in bits",
    ),
    Key::optional(
        "forbidden",
        Ty::List(&Ty::Text),
        "words that must not appear in the value (case-insensitive)",
    ),
    Key::optional(
        "min",
        Ty::Number,
        "smallest allowed number (format \"number\")",
    ),
    Key::optional(
        "max",
        Ty::Number,
        "largest allowed number (format \"number\")",
    ),
    Key::optional(
        "allowed_paths",
        Ty::List(&Ty::Template),
        "for URL formats: the paths allowed (\"\" and \"/\" mean the origin only)",
    ),
    Key::optional(
        "warn_pattern",
        Ty::Regex,
        "a value matching this passes with a warning",
    ),
    Key::optional(
        "warn_message",
        Ty::Text,
        "the advice shown when `warn_pattern` matches",
    ),
];

/// The `env` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "env",
    about: "configuration variables: presence, length, entropy, formats, pairs, agreement",
    keys: &[
        Key::optional("rules", Ty::Tables(RULE_KEYS), "per-variable rules"),
        Key::optional(
            "one_of",
            Ty::InputGroups,
            "groups of which at least one variable must be set",
        ),
        Key::optional(
            "pairs",
            Ty::InputGroups,
            "groups that must be set together or not at all",
        ),
        Key::optional(
            "agree",
            Ty::InputGroups,
            "groups whose set variables must hold the same value",
        ),
        Key::optional(
            "on_disagree",
            Ty::Choice(super::OUTCOMES),
            "what a disagreement makes of the item (default \"fail\")",
        ),
        Key::optional(
            "provider_types",
            Ty::List(&Ty::Text),
            "the item applies only when the deployment has an Auth.js provider of one of these types (e.g. [\"email\"]); otherwise it skips, saying which providers it has",
        ),
        Key::optional(
            "providers_url",
            Ty::OriginUrl,
            "the deployment's Auth.js providers list (the `/providers` endpoint under its auth base path), read to decide `provider_types`; on the origin",
        ),
        Key::optional(
            "provider_input",
            Ty::Input(Secrets::Refused),
            "an input that says instead, \"true\" or \"false\", whether such a provider is configured (wins over `providers_url`)",
        ),
        Key::optional(
            "headers",
            Ty::Map(&Ty::SecretTemplate),
            "headers of the providers request (a platform's protection bypass); one that comes out empty is not sent",
        ),
    ],
    automated: true,
    writes: super::never_writes,
    check,
};

/// Each rule names its variables or a connection, not both; a warning message needs its
/// pattern.
fn check(config: &toml::Table) -> Vec<super::Problem> {
    use super::Problem;
    let mut problems = Vec::new();
    let rules = config
        .get("rules")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten();
    for (index, rule) in rules.filter_map(toml::Value::as_table).enumerate() {
        let n = index + 1;
        let mut problem = |message: String, hint: &str| {
            problems.push(Problem::new("rules", message, hint).at(index))
        };
        match (rule.get("names"), rule.contains_key("connection")) {
            (Some(_), true) => problem(
                format!("rule {n} has both `names` and `connection`"),
                "a rule judges named inputs or one connection: split it in two",
            ),
            (None, false) => problem(
                format!("rule {n} has neither `names` nor `connection`"),
                "add `names = [\"INPUT\"]` or `connection = \"name\"`",
            ),
            (Some(names), _) if names.as_array().is_some_and(|a| a.is_empty()) => problem(
                format!("rule {n} has empty `names`"),
                "list the inputs the rule judges",
            ),
            _ => {}
        }
        if rule.contains_key("warn_message") && !rule.contains_key("warn_pattern") {
            problem(
                format!("rule {n} has `warn_message` without `warn_pattern`"),
                "add the `warn_pattern` the message explains",
            );
        }
        let format = rule
            .get("format")
            .and_then(toml::Value::as_str)
            .unwrap_or("text");
        let number = |key: &str| {
            rule.get(key)
                .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
        };
        if (rule.contains_key("min") || rule.contains_key("max")) && format != "number" {
            problem(
                format!("rule {n} has `min`/`max` without `format = \"number\"`"),
                "bounds apply to numbers: add `format = \"number\"`",
            );
        }
        if let (Some(min), Some(max)) = (number("min"), number("max")) {
            if min > max || min.is_nan() || max.is_nan() {
                problem(
                    format!("rule {n} has `min` ({min}) above `max` ({max})"),
                    "no value could pass: swap them",
                );
            }
        }
        if rule.contains_key("allowed_paths") && !["url", "https-url"].contains(&format) {
            problem(
                format!("rule {n} has `allowed_paths` without a URL format"),
                "add `format = \"https-url\"` (or \"url\")",
            );
        }
    }
    let gate = config.contains_key("provider_types");
    if gate && !config.contains_key("providers_url") && !config.contains_key("provider_input") {
        problems.push(Problem::new(
            "provider_types",
            "`provider_types` without `providers_url` or `provider_input`",
            "add `providers_url`, the deployment's providers endpoint on `${origin}`, so the deployment says which providers it has",
        ));
    }
    for key in ["providers_url", "provider_input", "headers"] {
        if config.contains_key(key) && !gate {
            problems.push(Problem::new(
                key,
                format!("`{key}` without `provider_types`"),
                "add the provider types that make the item apply, e.g. `provider_types = [\"email\"]`",
            ));
        }
    }
    if !["rules", "one_of", "pairs", "agree"]
        .iter()
        .any(|k| config.contains_key(*k))
    {
        problems.push(Problem::new(
            "kind",
            "env item checks nothing",
            "add `rules`, `one_of`, `pairs` or `agree`",
        ));
    }
    for key in ["pairs", "agree"] {
        let groups = config
            .get(key)
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten();
        for (index, group) in groups.enumerate() {
            if group.as_array().is_some_and(|g| g.len() < 2) {
                problems.push(
                    Problem::new(
                        key,
                        format!("group {} of `{key}` has fewer than two names", index + 1),
                        "a group compares two or more inputs",
                    )
                    .at(index),
                );
            }
        }
    }
    problems
}
