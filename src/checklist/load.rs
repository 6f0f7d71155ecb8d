//! Reads a checklist file: TOML with spans, every table checked against its keys, the model
//! built from what is valid, then the cross-references resolved (see `validate`). Every
//! problem is collected; none stops the reading. Items and overrides are read in `items`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::checker::Checker;
use super::format::TOP_KEYS;
use super::format::{CONNECTION_KEYS, ENVIRONMENT_KEYS, INPUT_KEYS};
use super::items::{read_items, read_overrides};
use super::spec::{int_of, is_var_name, Ty, Value};
use super::validate;
use super::{Checklist, Connection, Environment, Input, Invalid, SourceFile};

pub(super) fn is_slug(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub(super) fn get<'t, 'a>(table: &'t DeTable<'a>, key: &str) -> Option<&'t Value<'a>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

pub(super) fn get_str<'t>(table: &'t DeTable<'_>, key: &str) -> Option<&'t str> {
    get(table, key).and_then(|v| v.get_ref().as_str())
}

pub(super) fn get_strings(table: &DeTable<'_>, key: &str) -> Vec<String> {
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

pub(super) fn as_table<'t, 'a>(value: &'t Value<'a>) -> Option<&'t DeTable<'a>> {
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
    // After a syntax error the parser's further complaints mostly follow from the first
    // (one missing `]` gave over a thousand): only where it stopped is reported.
    if let Some(err) = syntax
        .iter()
        .min_by_key(|err| err.span().map_or(0, |span| span.start))
    {
        let span = err.span().unwrap_or(0..0);
        let culprit = text.get(span.clone()).unwrap_or_default();
        let message = match err.message() {
            "duplicate key" => format!(
                "TOML syntax: duplicate key `{}`",
                culprit.trim().trim_matches('"')
            ),
            other => format!("TOML syntax: {other}"),
        };
        let hint = match never_closed(text, span.start) {
            Some((at, what)) => {
                let (line, column) = location(text, at);
                format!("the {what} opened at line {line}, column {column} is never closed: close it where its value ends")
            }
            None => syntax_hint(err.message(), culprit),
        };
        return (None, vec![super::Diagnostic::new(span, message, hint)]);
    }
    let root = root.into_inner();
    let mut ck = Checker::new(text);
    ck.top_keys = TOP_KEYS.iter().map(|k| k.name).collect();
    ck.check_table(&root, &(0..0), TOP_KEYS, super::checker::ROOT_CONTEXT);

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
    if let Some(every) = get(&root, "bake")
        .and_then(as_table)
        .and_then(|bake| get(bake, "every"))
    {
        let short = every
            .get_ref()
            .as_str()
            .and_then(|text| super::spec::parse_duration(text).ok())
            .is_some_and(|d| d < std::time::Duration::from_secs(1));
        if short {
            ck.error(
                every.span(),
                "a bake's `every` must be at least 1s",
                "a round a second is the most a bake asks of a deployment: write \"1s\" or more",
            );
        }
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
        bake: get(&root, "bake")
            .and_then(as_table)
            .map(|table| super::BakeSettings::from_table(&super::spec::to_table(table)))
            .unwrap_or_default(),
    };
    let mut problems = std::mem::take(&mut ck.problems);
    let mut checklist = checklist;
    problems.extend(validate::cross_check(
        &checklist, &drafts, &ck.uses, &unbuilt,
    ));
    checklist.items = drafts.into_iter().map(|d| d.item).collect();
    (Some(checklist), problems)
}

/// 1-based line and column (in characters) of a byte offset of `text`.
fn location(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The outermost bracket open before `offset` that nothing in the file closes, or a
/// multi-line string that runs to its end: what a syntax error there most likely follows
/// from. Comments and strings are skipped.
fn never_closed(text: &str, offset: usize) -> Option<(usize, &'static str)> {
    let bytes = text.as_bytes();
    let mut open: Vec<(usize, u8)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // Bytes, not str slices: an escape skipped may land inside a character.
        let rest = &bytes[i..];
        match bytes[i] {
            b'#' => {
                i += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                continue;
            }
            quote @ (b'"' | b'\'') => {
                let triple = [quote; 3];
                if rest.starts_with(&triple) {
                    match rest[3..].windows(3).position(|w| w == triple) {
                        Some(end) => i += 3 + end + 3,
                        None if i < offset => return Some((i, "multi-line string")),
                        None => break,
                    }
                    continue;
                }
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'\n' && bytes[j] != quote {
                    if quote == b'"' && bytes[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            bracket @ (b'[' | b'{') => open.push((i, bracket)),
            b']' | b'}' => {
                open.pop();
            }
            _ => {}
        }
        i += 1;
    }
    open.into_iter()
        .find(|&(at, _)| at < offset)
        .map(|(at, bracket)| (at, if bracket == b'[' { "`[`" } else { "`{`" }))
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
            files_only: get_str(table, "from") == Some("files"),
            values: get_strings(table, "values"),
            default: get_str(table, "default").map(String::from),
            aliases: match get(table, "aliases").map(|v| v.get_ref()) {
                Some(DeValue::Table(aliases)) => aliases
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((k.get_ref().to_string(), v.get_ref().as_str()?.into()))
                    })
                    .collect(),
                _ => Vec::new(),
            },
        });
        check_input_values(ck, table, inputs.last().expect("just pushed"));
    }
    inputs
}

/// An input's `values`, `default` and `aliases` agree, and a secret has none of them (a
/// refused value would have to be shown).
fn check_input_values(ck: &mut Checker<'_>, table: &DeTable<'_>, input: &Input) {
    let name = &input.name;
    if input.secret {
        for key in ["values", "default", "aliases"] {
            if let Some(value) = get(table, key) {
                ck.error(
                    value.span(),
                    format!("the secret input `{name}` cannot have `{key}`"),
                    "a secret's value is never shown or compared; judge it in an env item",
                );
            }
        }
        return;
    }
    if input.values.is_empty() {
        if let Some(value) = get(table, "aliases") {
            ck.error(
                value.span(),
                format!("input `{name}` has `aliases` but no `values`"),
                format!("list the values `{name}` may take: `values = [\"…\"]`"),
            );
        }
        return;
    }
    let listed = input.values.join(", ");
    if let (Some(default), Some(value)) = (&input.default, get(table, "default")) {
        if !input.values.contains(default) {
            ck.error(
                value.span(),
                format!("the default of `{name}` is not one of its values"),
                format!("choose one of {listed}"),
            );
        }
    }
    for (alias, target) in &input.aliases {
        if !input.values.contains(target) {
            let span = get(table, "aliases").map_or(0..0, |v| v.span());
            ck.error(
                span,
                format!("alias `{alias}` of `{name}` stands for `{target}`, which is not one of its values"),
                format!("choose one of {listed}"),
            );
        }
    }
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
            require_signed_signoffs: get(table, "require_signed_signoffs")
                .and_then(|v| v.get_ref().as_bool())
                .unwrap_or(false),
            allowed_signers: get_str(table, "allowed_signers").map(String::from),
        });
        if get(table, "require_signed_signoffs")
            .is_some_and(|v| v.get_ref().as_bool() == Some(true))
            && get(table, "allowed_signers").is_none()
        {
            let span = get(table, "require_signed_signoffs").map_or(value.span(), |v| v.span());
            ck.error(
                span,
                format!("environment `{}` requires signed sign-offs but names no `allowed_signers`", environments.last().map_or("", |e| e.name.as_str())),
                "add `allowed_signers = \"allowed_signers\"`: the file (beside the checklist) that lists who may sign, with which keys",
            );
        }
    }
    (environments, overrides)
}
