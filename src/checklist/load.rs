//! Reads a checklist file: TOML with spans, every table checked against its keys, the model
//! built from what is valid, then the cross-references resolved (see `validate`). Every
//! problem is collected; none stops the reading.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::spec::{did_you_mean, int_of, is_var_name, to_table, Checker, Key, Secrets, Ty, Value};
use super::validate::{self, Draft};
use super::{Checklist, Connection, Environment, Input, Invalid, Item, SourceFile, COMMON_KEYS};
use crate::checks::{self, KindSpec};

const TOP_KEYS: &[Key] = &[
    Key::required(
        "checklist",
        Ty::Table(CHECKLIST_KEYS),
        "the checklist's id, title and version",
    ),
    Key::optional(
        "inputs",
        Ty::Map(&Ty::Any),
        "variables read from the environment or --env-file",
    ),
    // `[vars]` is checked by its reader, which first spots top-level keys written inside it.
    Key::optional("vars", Ty::Map(&Ty::Any), "checklist variables"),
    Key::optional("connections", Ty::Map(&Ty::Any), "database connections"),
    Key::optional("environments", Ty::Map(&Ty::Any), "environment profiles"),
    Key::required(
        "sections",
        Ty::List(&Ty::Text),
        "the section titles, in display order",
    ),
    Key::required("item", Ty::Any, "the items, one `[[item]]` table each"),
];

const CHECKLIST_KEYS: &[Key] = &[
    Key::required("id", Ty::Text, "a short stable id such as \"authjs-neon\""),
    Key::required(
        "title",
        Ty::Text,
        "the title shown in the console and the report",
    ),
    Key::required(
        "version",
        Ty::Int(1, i32::MAX as i64),
        "the checklist's version number",
    ),
    Key::optional("description", Ty::Text, "what the checklist is for"),
    Key::optional(
        "default_environment",
        Ty::Environment,
        "the environment used without --env",
    ),
    Key::optional(
        "base_url",
        Ty::Inputs(Secrets::Refused),
        "inputs holding the base URL, first set wins",
    ),
];

const INPUT_KEYS: &[Key] = &[
    Key::optional(
        "secret",
        Ty::Bool,
        "whether the value is a secret (default false)",
    ),
    Key::optional("description", Ty::Text, "what the variable holds"),
];

const CONNECTION_KEYS: &[Key] = &[
    Key::required(
        "from",
        Ty::Inputs(Secrets::Allowed),
        "inputs holding the connection URL, first set wins",
    ),
    Key::optional(
        "connect_timeout",
        Ty::Duration,
        "how long to wait for the server (default \"15s\")",
    ),
    Key::optional("description", Ty::Text, "what the connection is for"),
];

const ENVIRONMENT_KEYS: &[Key] = &[
    Key::optional(
        "production",
        Ty::Bool,
        "writes need consent and critical items two people (default false)",
    ),
    Key::optional("description", Ty::Text, "what the environment is"),
    Key::optional(
        "vars",
        Ty::Map(&Ty::Text),
        "variables that replace the checklist's",
    ),
    Key::optional(
        "overrides",
        Ty::Map(&Ty::Any),
        "item id → keys replaced in this environment",
    ),
];

/// Keys every item has; the kind adds its own.
const ITEM_KEYS: &[Key] = &[
    Key::required("id", Ty::Text, "a stable id such as \"health.live\""),
    Key::required("title", Ty::Text, "one line saying what the item verifies"),
    Key::required("section", Ty::Section, "one of the titles in `sections`"),
    Key::required("kind", Ty::Kind, "the check kind"),
    Key::required(
        "help",
        Ty::Text,
        "what the item verifies, why, and what to do when it fails",
    ),
    Key::optional("needs", Ty::Ids, "items that must pass first"),
    Key::optional(
        "when",
        Ty::When,
        "a condition on variables; false makes the item `skip`",
    ),
    Key::optional(
        "only_in",
        Ty::Environments,
        "the environments the item applies to",
    ),
    Key::optional(
        "required",
        Ty::Bool,
        "whether the item counts toward the verdict (default true)",
    ),
    Key::optional("timeout", Ty::Duration, "the item's timeout"),
    Key::optional(
        "retries",
        Ty::Int(0, 10),
        "how many times a failure is retried (never for writes)",
    ),
    Key::optional(
        "retry_interval",
        Ty::Duration,
        "the pause between retries (default \"2s\")",
    ),
];

/// The file's tables and their keys, for the format reference.
pub const FILE_TABLES: &[(&str, &[Key])] = &[
    ("[checklist]", CHECKLIST_KEYS),
    ("[inputs.NAME]", INPUT_KEYS),
    ("[connections.NAME]", CONNECTION_KEYS),
    ("[environments.NAME]", ENVIRONMENT_KEYS),
    ("[[item]]", ITEM_KEYS),
];

/// Item keys that stay the same in every environment.
const IDENTITY_KEYS: &[&str] = &["id", "title", "section", "kind", "help", "only_in"];

/// Item keys that mean nothing for items a person signs off.
const RUN_KEYS: &[&str] = &["timeout", "retries", "retry_interval"];

fn is_slug(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn get<'t, 'a>(table: &'t DeTable<'a>, key: &str) -> Option<&'t Value<'a>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

fn get_str<'t>(table: &'t DeTable<'_>, key: &str) -> Option<&'t str> {
    get(table, key).and_then(|v| v.get_ref().as_str())
}

fn get_strings(table: &DeTable<'_>, key: &str) -> Vec<String> {
    get(table, key)
        .and_then(|v| v.get_ref().as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get_ref().as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn as_table<'t, 'a>(value: &'t Value<'a>) -> Option<&'t DeTable<'a>> {
    value.get_ref().as_table()
}

/// Reads and validates `source`.
pub(super) fn read(source: SourceFile) -> Result<Checklist, Invalid> {
    let (parts, mut problems) = read_parts(&source.text);
    problems.sort_by_key(|p| (p.span.start, p.span.end));
    problems.dedup();
    match parts {
        Some(parts) if problems.is_empty() => Ok(Checklist { source, ..parts }),
        _ => Err(Invalid { source, problems }),
    }
}

fn read_parts(text: &str) -> (Option<Checklist>, Vec<super::Diagnostic>) {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let problems = syntax
            .iter()
            .map(|err| {
                let span = err.span().unwrap_or(0..0);
                {
                    let culprit = text.get(span.clone()).unwrap_or_default();
                    let message = match err.message() {
                        "duplicate key" => format!(
                            "TOML syntax: duplicate key `{}`",
                            culprit.trim().trim_matches('"')
                        ),
                        other => format!("TOML syntax: {other}"),
                    };
                    super::Diagnostic::new(span, message, syntax_hint(err.message(), culprit))
                }
            })
            .collect();
        return (None, problems);
    }
    let root = root.into_inner();
    let mut ck = Checker::new(text);
    ck.top_keys = TOP_KEYS.iter().map(|k| k.name).collect();
    ck.check_table(&root, &(0..0), TOP_KEYS, super::spec::ROOT_CONTEXT);

    let header = get(&root, "checklist").and_then(as_table);
    if let Some(id) = header.and_then(|h| get(h, "id")) {
        if id.get_ref().as_str().is_some_and(|s| !is_slug(s)) {
            ck.error(
                id.span(),
                "bad checklist id",
                "use letters, digits, `.`, `_` and `-`, e.g. \"authjs-neon\"",
            );
        }
    }
    let inputs = read_inputs(&mut ck, get(&root, "inputs"));
    let vars = read_vars(&mut ck, get(&root, "vars"), "[vars]", &inputs, true);
    let connections = read_connections(&mut ck, get(&root, "connections"), &inputs);
    let (environments, override_tables) =
        read_environments(&mut ck, get(&root, "environments"), &inputs);
    let sections = get_strings(&root, "sections");
    if let Some(value) = get(&root, "sections") {
        check_unique(&mut ck, value, "section");
        if value.get_ref().as_array().is_some_and(|a| a.is_empty()) {
            ck.error(
                value.span(),
                "`sections` is empty",
                "list the section titles, e.g. `sections = [\"Readiness\"]`",
            );
        }
    }
    let (mut drafts, unbuilt) = match get(&root, "item") {
        Some(value) => read_items(&mut ck, value),
        None => (Vec::new(), BTreeSet::new()),
    };
    for (env, table) in &override_tables {
        read_overrides(&mut ck, env, table, &mut drafts, &unbuilt);
    }
    let header_str = |key: &str| header.and_then(|h| get_str(h, key)).map(String::from);
    let checklist = Checklist {
        source: SourceFile::new("", ""),
        id: header_str("id").unwrap_or_default(),
        title: header_str("title").unwrap_or_default(),
        version: header
            .and_then(|h| get(h, "version"))
            .and_then(|v| int_of(v.get_ref()))
            .unwrap_or(1),
        description: header_str("description").unwrap_or_default(),
        default_environment: header_str("default_environment"),
        base_url: header
            .map(|h| get_strings(h, "base_url"))
            .unwrap_or_default(),
        inputs,
        vars,
        connections,
        environments,
        sections,
        items: Vec::new(),
    };
    let mut problems = std::mem::take(&mut ck.problems);
    let mut checklist = checklist;
    problems.extend(validate::cross_check(
        &checklist, &drafts, &ck.uses, &unbuilt,
    ));
    checklist.items = drafts.into_iter().map(|d| d.item).collect();
    (Some(checklist), problems)
}

fn syntax_hint(message: &str, source: &str) -> String {
    let hint = if message.contains("duplicate key") {
        "each key may appear once per table; every `[[item]]` header starts a new item"
    } else if message.contains("multi-line") {
        "close the \"\"\"…\"\"\" string; it runs to the end of the file"
    } else if message.contains("basic string") {
        "close the string on the same line, or use \"\"\"…\"\"\" for text over several lines"
    } else if message.contains("must be quoted") && source.trim().is_empty() {
        "write a value after `=`, e.g. key = \"value\""
    } else if message.contains("escaped value") || message.contains("escape") {
        "in \"…\" strings a backslash starts an escape: write patterns in '…' literal strings, e.g. '^\\d+$'"
    } else if message.contains("unquoted key") {
        "keys are letters, digits, `-` and `_`; quote any other key: \"my key\" = …"
    } else if message.contains("must be quoted") || message.contains("invalid boolean") {
        "quote string values: key = \"value\" (unquoted values are numbers, true, false, dates, arrays and tables)"
    } else if message.contains("no value") {
        "write `key = value`"
    } else if message.contains("unclosed") {
        "close the bracket; arrays and inline tables may span lines, inline tables must stay on one"
    } else if message.contains("expected newline") {
        "one `key = value` per line"
    } else {
        "check the quotes, brackets, commas and `=` around here (TOML syntax: https://toml.io)"
    };
    hint.into()
}

fn check_unique(ck: &mut Checker<'_>, value: &Value<'_>, what: &str) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for item in value.get_ref().as_array().into_iter().flatten() {
        if let Some(name) = item.get_ref().as_str() {
            if seen.insert(name, item.span().start).is_some() {
                ck.error(
                    item.span(),
                    format!("duplicate {what} `{name}`"),
                    format!("list each {what} once"),
                );
            }
        }
    }
}

fn map_entries<'t, 'a>(
    ck: &mut Checker<'_>,
    value: Option<&'t Value<'a>>,
    key: &str,
) -> Vec<(&'t toml::Spanned<std::borrow::Cow<'a, str>>, &'t Value<'a>)> {
    match value {
        None => Vec::new(),
        Some(value) => match value.get_ref() {
            DeValue::Table(table) => table
                .iter()
                .filter(|(name, value)| !misplaced_top_key(ck, name, value, key))
                .collect(),
            // The key's type check reports a value that is not a table.
            _ => Vec::new(),
        },
    }
}

/// Reports (and says to skip) an entry of `[table]` that is one of the file's top-level keys
/// written below that table's header, the most common TOML slip.
fn misplaced_top_key(
    ck: &mut Checker<'_>,
    name: &toml::Spanned<std::borrow::Cow<'_, str>>,
    value: &Value<'_>,
    table: &str,
) -> bool {
    let name = name.get_ref().as_ref();
    if !ck.top_keys.contains(&name) || value.get_ref().is_table() {
        return false;
    }
    ck.error(
        value.span(),
        format!("`{name}` is a top-level key, but it is written inside [{table}]"),
        "move it above the first `[table]` header: keys below a header belong to that table",
    );
    true
}

fn read_inputs(ck: &mut Checker<'_>, value: Option<&Value<'_>>) -> Vec<Input> {
    let mut inputs = Vec::new();
    for (name, value) in map_entries(ck, value, "inputs") {
        let name_str = name.get_ref().to_string();
        if !is_var_name(&name_str) {
            ck.error(name.span(), format!("bad input name `{name_str}`"), "input names are environment variable names: letters, digits and `_`, not starting with a digit");
        } else if super::BUILTIN_VARS.contains(&name_str.as_str()) {
            ck.error(
                name.span(),
                format!("bad input name `{name_str}`"),
                "this name is built in; choose another",
            );
        }
        let context = format!("input `{name_str}`");
        let Some(table) = as_table(value) else {
            ck.error(
                value.span(),
                format!("{context} must be a table"),
                format!("write `{name_str} = {{ secret = true }}` or `{name_str} = {{}}`"),
            );
            continue;
        };
        ck.check_table(table, &value.span(), INPUT_KEYS, &context);
        inputs.push(Input {
            name: name_str,
            secret: get(table, "secret")
                .and_then(|v| v.get_ref().as_bool())
                .unwrap_or(false),
            description: get_str(table, "description").unwrap_or_default().into(),
        });
    }
    inputs
}

fn read_vars(
    ck: &mut Checker<'_>,
    value: Option<&Value<'_>>,
    context: &str,
    inputs: &[Input],
    report_types: bool,
) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for (name, value) in map_entries(ck, value, "vars") {
        let name_str = name.get_ref().to_string();
        if !is_var_name(&name_str) || super::BUILTIN_VARS.contains(&name_str.as_str()) {
            let hint = if is_var_name(&name_str) {
                "this name is built in; choose another"
            } else {
                "variable names are letters, digits and `_`, not starting with a digit"
            };
            ck.error(
                name.span(),
                format!("bad variable name `{name_str}` in {context}"),
                hint,
            );
        }
        if inputs.iter().any(|i| i.name == name_str) {
            ck.error(
                name.span(),
                format!("`{name_str}` is both an input and a variable"),
                "an input comes from the environment, a variable from the checklist: rename one",
            );
        }
        match value.get_ref().as_str() {
            Some(text) if text.replace("$${", "").contains("${") => ck.error(
                value.span(),
                format!("variable `{name_str}` holds `${{…}}`, but variables are not interpolated"),
                "write the value in full, or use the reference where the variable is used; `$${` writes a literal `${`",
            ),
            Some(text) => vars.push((name_str, text.to_string())),
            None if report_types => ck.check_value(&Ty::Text, value, &name_str),
            // Already reported by the enclosing table's key types.
            None => {}
        }
    }
    vars
}

fn read_connections(
    ck: &mut Checker<'_>,
    value: Option<&Value<'_>>,
    inputs: &[Input],
) -> Vec<Connection> {
    let mut connections = Vec::new();
    for (name, value) in map_entries(ck, value, "connections") {
        let name_str = name.get_ref().to_string();
        let context = format!("connection `{name_str}`");
        let Some(table) = as_table(value) else {
            ck.error(
                value.span(),
                format!("{context} must be a table"),
                format!("write `[connections.{name_str}]` with `from = [\"INPUT\"]`"),
            );
            continue;
        };
        ck.check_table(table, &value.span(), CONNECTION_KEYS, &context);
        if let Some(from) =
            get(table, "from").filter(|v| v.get_ref().as_array().is_some_and(|a| a.is_empty()))
        {
            ck.error(
                from.span(),
                format!("`from` of {context} is empty"),
                "list the inputs holding the connection URL, first set wins",
            );
        }
        for input in get(table, "from")
            .and_then(|v| v.get_ref().as_array())
            .into_iter()
            .flatten()
        {
            let Some(input_name) = input.get_ref().as_str() else {
                continue;
            };
            if inputs.iter().any(|i| i.name == input_name && !i.secret) {
                ck.error(input.span(), format!("input `{input_name}` holds a connection URL but is not declared secret"), format!("connection URLs carry passwords: add `secret = true` to input `{input_name}`"));
            }
        }
        connections.push(Connection {
            name: name_str,
            from: get_strings(table, "from"),
            connect_timeout: get_str(table, "connect_timeout")
                .and_then(|s| super::spec::parse_duration(s).ok())
                .unwrap_or(Duration::from_secs(15)),
            description: get_str(table, "description").unwrap_or_default().into(),
        });
    }
    connections
}

type Overrides<'t, 'a> = Vec<(String, &'t Value<'a>)>;

fn read_environments<'t, 'a>(
    ck: &mut Checker<'_>,
    value: Option<&'t Value<'a>>,
    inputs: &[Input],
) -> (Vec<Environment>, Overrides<'t, 'a>) {
    let mut environments = Vec::new();
    let mut overrides = Vec::new();
    for (name, value) in map_entries(ck, value, "environments") {
        let name_str = name.get_ref().to_string();
        if !is_slug(&name_str) {
            ck.error(
                name.span(),
                format!("bad environment name `{name_str}`"),
                "use letters, digits, `.`, `_` and `-`, e.g. \"staging\"",
            );
        }
        let context = format!("environment `{name_str}`");
        let Some(table) = as_table(value) else {
            ck.error(
                value.span(),
                format!("{context} must be a table"),
                format!("write an `[environments.{name_str}]` table"),
            );
            continue;
        };
        ck.check_table(table, &value.span(), ENVIRONMENT_KEYS, &context);
        if let Some(over) = get(table, "overrides") {
            overrides.push((name_str.clone(), over));
        }
        environments.push(Environment {
            vars: read_vars(
                ck,
                get(table, "vars"),
                &format!("the vars of {context}"),
                inputs,
                false,
            ),
            name: name_str,
            production: get(table, "production")
                .and_then(|v| v.get_ref().as_bool())
                .unwrap_or(false),
            description: get_str(table, "description").unwrap_or_default().into(),
        });
    }
    (environments, overrides)
}

/// The keys an item of `kind` may have: the common ones and the kind's own.
fn item_keys(kind: Option<&KindSpec>) -> Vec<Key> {
    ITEM_KEYS
        .iter()
        .chain(kind.map_or(&[][..], |k| k.keys))
        .copied()
        .collect()
}

/// Spans of a table's keys (key and value), and of each element of array values as `key#n`.
fn key_spans(table: &DeTable<'_>) -> HashMap<String, Range<usize>> {
    let mut spans = HashMap::new();
    for (key, value) in table {
        let name = key.get_ref();
        for (n, element) in value.get_ref().as_array().into_iter().flatten().enumerate() {
            spans.insert(format!("{name}#{n}"), element.span());
        }
        spans.insert(name.to_string(), key.span().start..value.span().end);
    }
    spans
}

fn not_applicable(ck: &mut Checker<'_>, table: &DeTable<'_>, kind: &KindSpec) {
    if kind.automated {
        return;
    }
    for (key, _) in table
        .iter()
        .filter(|(k, _)| RUN_KEYS.contains(&k.get_ref().as_ref()))
    {
        let (span, key) = (key.span(), key.get_ref());
        ck.error(
            span,
            format!("`{key}` does not apply to {} items", kind.name),
            format!(
                "{} items are signed off by people, not run: remove `{key}`",
                kind.name
            ),
        );
    }
}

/// The items that were built, and the ids of those that were not (their kind is unknown).
fn read_items(ck: &mut Checker<'_>, value: &Value<'_>) -> (Vec<Draft>, BTreeSet<String>) {
    let DeValue::Array(elements) = value.get_ref() else {
        ck.error(
            value.span(),
            "`item` must be an array of tables",
            "start each item with an `[[item]]` header",
        );
        return (Vec::new(), BTreeSet::new());
    };
    if elements.is_empty() {
        ck.error(
            value.span(),
            "the checklist has no items",
            "add an `[[item]]` table",
        );
    }
    let mut drafts = Vec::new();
    let mut unbuilt = BTreeSet::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for element in elements {
        let Some(table) = as_table(element) else {
            ck.error(
                element.span(),
                "`item` must be an array of tables",
                "start each item with an `[[item]]` header",
            );
            continue;
        };
        ck.item = Some(drafts.len());
        let id = get_str(table, "id").unwrap_or_default().to_string();
        let context = if id.is_empty() {
            format!("item #{}", drafts.len() + 1)
        } else {
            format!("item `{id}`")
        };
        if let Some(id_value) = get(table, "id").filter(|_| !id.is_empty()) {
            if !is_slug(&id) {
                ck.error(
                    id_value.span(),
                    format!("bad item id `{id}`"),
                    "ids use letters, digits, `.`, `_` and `-`, e.g. \"health.live\"",
                );
            }
            let first = *ids.entry(id.clone()).or_insert(id_value.span().start);
            if first != id_value.span().start {
                let line = ck.line_of(first);
                ck.error(
                    id_value.span(),
                    format!("duplicate item id `{id}`"),
                    format!("the id is first used on line {line}; give each item its own id"),
                );
            }
        }
        let kind = resolve_kind(ck, table);
        let Some(kind) = kind else {
            // Without a known kind, its keys cannot be judged: check only the common ones.
            ck.item = None;
            ck.check_known_keys(table, &element.span(), ITEM_KEYS, &context);
            unbuilt.insert(id);
            continue;
        };
        let keys = item_keys(Some(kind));
        ck.item_keys = keys.iter().map(|k| k.name).collect();
        ck.check_table(table, &element.span(), &keys, &context);
        if let Some(only_in) =
            get(table, "only_in").filter(|v| v.get_ref().as_array().is_some_and(|a| a.is_empty()))
        {
            ck.error(
                only_in.span(),
                format!("`only_in` of item `{id}` is empty, so the item never runs"),
                "list the environments it applies to, or remove `only_in` to run it everywhere",
            );
        }
        not_applicable(ck, table, kind);
        let mut keys = to_table(table);
        keys.retain(|k, _| !IDENTITY_KEYS.contains(&k));
        drafts.push(Draft {
            item: Item {
                title: get_str(table, "title").unwrap_or_default().into(),
                section: get_str(table, "section").unwrap_or_default().into(),
                help: get_str(table, "help").unwrap_or_default().into(),
                only_in: get_strings(table, "only_in"),
                id,
                kind,
                keys,
                overrides: BTreeMap::new(),
                span: element.span(),
            },
            spans: key_spans(table),
            override_spans: BTreeMap::new(),
        });
    }
    ck.item = None;
    ck.item_keys.clear();
    (drafts, unbuilt)
}

fn resolve_kind(ck: &mut Checker<'_>, table: &DeTable<'_>) -> Option<&'static KindSpec> {
    let value = get(table, "kind")?;
    let name = value.get_ref().as_str()?;
    let kind = checks::kind(name);
    if kind.is_none() {
        let names = checks::KINDS.iter().map(|k| k.name);
        let hint = match did_you_mean(name, names.clone()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("kinds: {}", names.collect::<Vec<_>>().join(", ")),
        };
        ck.error(value.span(), format!("unknown kind `{name}`"), hint);
    }
    kind
}

fn read_overrides(
    ck: &mut Checker<'_>,
    env: &str,
    value: &Value<'_>,
    drafts: &mut [Draft],
    unbuilt: &BTreeSet<String>,
) {
    // The key's type check reports `overrides` that is not a table.
    let Some(table) = as_table(value) else {
        return;
    };
    for (id, over) in table {
        let id = id.get_ref();
        let Some(index) = drafts.iter().position(|d| d.item.id == *id) else {
            if unbuilt.contains(id.as_ref()) {
                continue; // its unknown kind is reported where the item is
            }
            let key_span = table
                .iter()
                .find(|(k, _)| k.get_ref() == id)
                .map_or(value.span(), |(k, _)| k.span());
            let dotted = dotted_ids(id, over)
                .into_iter()
                .find(|d| drafts.iter().any(|x| x.item.id == *d));
            let hint = match (dotted, did_you_mean(id, drafts.iter().map(|d| d.item.id.as_str()))) {
                (Some(dotted), _) => format!("ids holding `.` must be quoted in a header: `[environments.{env}.overrides.\"{dotted}\"]`"),
                (None, Some(close)) => format!("did you mean `{close}`?"),
                (None, None) => "overrides are keyed by item id".into(),
            };
            ck.error(
                key_span,
                format!("override for unknown item `{id}` in environment `{env}`"),
                hint,
            );
            continue;
        };
        let Some(over_table) = as_table(over) else {
            ck.error(
                over.span(),
                format!("the override of `{id}` must be a table"),
                format!("write `\"{id}\" = {{ key = value }}`"),
            );
            continue;
        };
        ck.item = Some(index);
        ck.environment = Some(env.to_string());
        let kind = drafts[index].item.kind;
        if !drafts[index].item.runs_in(env) {
            let key_span = table
                .iter()
                .find(|(k, _)| k.get_ref() == id)
                .map_or(value.span(), |(k, _)| k.span());
            let only_in = drafts[index].item.only_in.join(", ");
            ck.error(
                key_span,
                format!("override of `{id}` for environment `{env}`, where it does not run"),
                format!(
                    "the item runs only in {only_in}: remove this override or change `only_in`"
                ),
            );
        }
        let keys: Vec<Key> = item_keys(Some(kind))
            .into_iter()
            .filter(|k| kind.automated || !RUN_KEYS.contains(&k.name))
            .collect();
        ck.item_keys = keys.iter().map(|k| k.name).collect();
        let context = format!("the `{env}` override of `{id}`");
        for (key, value) in over_table {
            let name = key.get_ref().as_ref();
            ck.top_key = name.to_string();
            if IDENTITY_KEYS.contains(&name) {
                ck.error(key.span(), format!("`{name}` cannot be overridden per environment"), "only settings and the kind's keys differ between environments; use `only_in` for an item of its own");
            } else if let Some(spec) = keys.iter().find(|k| k.name == name) {
                ck.check_value(&spec.ty, value, spec.name);
            } else {
                ck.unknown_key(
                    key,
                    keys.iter()
                        .map(|k| k.name)
                        .filter(|k| !IDENTITY_KEYS.contains(k)),
                    &context,
                );
            }
        }
        not_applicable(ck, over_table, kind);
        let mut keys = to_table(over_table);
        keys.retain(|k, _| {
            (COMMON_KEYS.contains(&k) || kind.keys.iter().any(|s| s.name == k))
                && !IDENTITY_KEYS.contains(&k)
        });
        drafts[index].item.overrides.insert(env.to_string(), keys);
        drafts[index]
            .override_spans
            .insert(env.to_string(), key_spans(over_table));
    }
    ck.item = None;
    ck.environment = None;
    ck.item_keys.clear();
}

/// The ids a header like `[….overrides.smoke.health]` meant: TOML read `smoke` with a
/// `health` table inside, where the id `smoke.health` was meant.
fn dotted_ids(first: &str, value: &Value<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, inner) in value.get_ref().as_table().into_iter().flatten() {
        let id = format!("{first}.{}", key.get_ref());
        out.extend(dotted_ids(&id, inner));
        out.push(id);
    }
    out
}
