//! The checker that walks spanned TOML against [`Key`]s: wrong types, unknown keys (with
//! "did you mean"), missing keys, bad durations, numbers, regular expressions, URLs,
//! templates and conditions. Names that point elsewhere are recorded as [`Use`]s and
//! resolved once the whole file is read (see `validate`).

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::source::Diagnostic;
use super::spec::{
    did_you_mean, int_of, parse_duration, quoted_list, Key, Secrets, Target, Ty, Use, Value,
};
use super::template::{Part, Template};
use super::when::When;

/// Walks spanned TOML values against [`Key`]s, collecting problems and uses.
pub struct Checker<'s> {
    src: &'s str,
    /// Problems found so far.
    pub problems: Vec<Diagnostic>,
    /// Names used so far.
    pub uses: Vec<Use>,
    /// The item being checked, by index.
    pub item: Option<usize>,
    /// The environment whose override is being checked, if any.
    pub environment: Option<String>,
    /// The key of the outermost table being checked (an item's key, for an item).
    pub top_key: String,
    /// How deep in nested tables the check is.
    depth: usize,
    /// The keys the item being checked may have, to explain one written under a sub-table.
    pub item_keys: Vec<&'static str>,
    /// The keys of the file's top level, to explain a key written under the wrong header.
    pub top_keys: Vec<&'static str>,
}

/// How messages name the file's top-level table.
pub const ROOT_CONTEXT: &str = "the checklist";

/// The names of the TOML types, with an article, for messages.
fn found(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'s> Checker<'s> {
    /// A checker over the file text `src`.
    pub fn new(src: &'s str) -> Self {
        Self {
            src,
            problems: Vec::new(),
            uses: Vec::new(),
            item: None,
            environment: None,
            top_key: String::new(),
            depth: 0,
            item_keys: Vec::new(),
            top_keys: Vec::new(),
        }
    }

    /// The file text being checked.
    pub fn source(&self) -> &'s str {
        self.src
    }

    /// Records a problem.
    pub fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.problems.push(Diagnostic::new(span, message, hint));
    }

    /// Records a use of a name.
    pub fn use_name(&mut self, target: Target, name: &str, span: Range<usize>) {
        self.uses.push(Use {
            target,
            name: name.into(),
            span,
            item: self.item,
            environment: self.environment.clone(),
            key: self.top_key.clone(),
        });
    }

    /// The file span of byte `offset` inside the string value at `span` (quotes skipped),
    /// or the whole value when escapes make the mapping uncertain.
    pub fn inner_span(
        &self,
        span: &Range<usize>,
        value: &str,
        offset: usize,
        len: usize,
    ) -> Range<usize> {
        let raw = &self.src[span.clone()];
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else if raw.starts_with('"') || raw.starts_with('\'') {
            1
        } else {
            0
        };
        if raw.len() < 2 * quote {
            return span.clone();
        }
        let inner = &raw[quote..raw.len() - quote];
        let skip = if inner == value {
            0
        } else if inner.strip_prefix('\n') == Some(value) {
            1
        } else if inner.strip_prefix("\r\n") == Some(value) {
            2
        } else {
            return span.clone();
        };
        let start = span.start + quote + skip + offset;
        start..start + len
    }

    /// Checks the keys of `table` against `keys`: unknown keys (suggesting close names from
    /// `keys`), missing required keys (reported at `table_span`), and each value's type.
    /// `context` names the table in messages, e.g. "item `health.live`".
    pub fn check_table(
        &mut self,
        table: &DeTable<'_>,
        table_span: &Range<usize>,
        keys: &[Key],
        context: &str,
    ) {
        self.check_keys(table, table_span, keys, context, true);
    }

    /// Like [`Checker::check_table`], but silent about keys not in `keys`: for a table whose
    /// full set of keys is unknown (an item of an unknown kind).
    pub fn check_known_keys(
        &mut self,
        table: &DeTable<'_>,
        table_span: &Range<usize>,
        keys: &[Key],
        context: &str,
    ) {
        self.check_keys(table, table_span, keys, context, false);
    }

    fn check_keys(
        &mut self,
        table: &DeTable<'_>,
        table_span: &Range<usize>,
        keys: &[Key],
        context: &str,
        report_unknown: bool,
    ) {
        self.depth += 1;
        for (key, value) in table {
            if self.depth == 1 {
                self.top_key = key.get_ref().to_string();
            }
            match keys.iter().find(|k| k.name == key.get_ref().as_ref()) {
                Some(spec) => self.check_value(&spec.ty, value, spec.name),
                None if report_unknown => {
                    self.unknown_key(key, keys.iter().map(|k| k.name), context)
                }
                None => {}
            }
        }
        for spec in keys.iter().filter(|k| k.required) {
            if !table.keys().any(|k| k.get_ref().as_ref() == spec.name) {
                self.error(
                    table_span.clone(),
                    format!("{context} is missing `{}`", spec.name),
                    format!("add `{}`: {}", spec.name, spec.doc),
                );
            }
        }
        self.depth -= 1;
    }

    /// Reports an unknown key, suggesting the closest of `candidates`.
    pub fn unknown_key<'k>(
        &mut self,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        candidates: impl Iterator<Item = &'k str> + Clone,
        context: &str,
    ) {
        let name = key.get_ref().as_ref();
        let hint = match did_you_mean(name, candidates.clone()) {
            _ if self.depth > 1 && self.item_keys.contains(&name) => format!(
                "`{name}` is a key of the item itself: move it above the `[item.{}]` header (keys below a header belong to that table)",
                self.top_key
            ),
            _ if self.top_keys.contains(&name) && context != ROOT_CONTEXT => format!(
                "`{name}` is a top-level key: move it above the first `[table]` header (keys below a header belong to that table)"
            ),
            Some(close) => format!("did you mean `{close}`?"),
            None => {
                let all: Vec<&str> = candidates.collect();
                format!("known keys here: {}", all.join(", "))
            }
        };
        self.error(
            key.span(),
            format!("unknown key `{name}` in {context}"),
            hint,
        );
    }

    fn wrong_type(&mut self, ty: &Ty, value: &Value<'_>, key: &str) {
        self.error(
            value.span(),
            format!(
                "`{key}` must be {}, not {}",
                ty.expected(),
                found(value.get_ref())
            ),
            {
                let hint = type_hint(ty, key);
                if value.get_ref().is_str() {
                    hint
                } else {
                    hint.replace(", without quotes", "")
                }
            },
        );
    }

    /// Checks one value against its type.
    pub fn check_value(&mut self, ty: &Ty, value: &Value<'_>, key: &str) {
        let span = value.span();
        match (ty, value.get_ref()) {
            (Ty::Text, DeValue::String(_)) | (Ty::Any, _) => {}
            (Ty::Template, DeValue::String(s)) => {
                self.check_template(&span, s, Secrets::Refused);
            }
            (Ty::Path, DeValue::String(s)) => {
                self.check_template(&span, s, Secrets::Refused);
                self.check_under_root(&span, s, key);
            }
            (Ty::SecretTemplate, DeValue::String(s)) => {
                self.check_template(&span, s, Secrets::Allowed);
            }
            (Ty::Url, DeValue::String(s)) => {
                if let Some(template) = self.check_template(&span, s, Secrets::Refused) {
                    self.check_url(&span, s, &template, key);
                }
            }
            (Ty::OriginUrl, DeValue::String(s)) => {
                if let Some(template) = self.check_template(&span, s, Secrets::Refused) {
                    let on_origin = template.leading_var().is_some_and(|v| {
                        v.default.is_none() && (v.name == "origin" || v.name == "base_url")
                    });
                    if on_origin {
                        self.check_url(&span, s, &template, key);
                    } else {
                        self.error(span, format!("`{key}` must start with `${{origin}}/`"), "this request carries a credential, which may only go to the deployment: write e.g. \"${origin}/session\"");
                    }
                }
            }
            (Ty::Glob, DeValue::String(s)) => {
                self.check_under_root(&span, s, key);
                if let Err(err) = globset::Glob::new(s) {
                    self.error(
                        span,
                        format!("bad glob `{s}` in `{key}`: {}", err.kind()),
                        "globs use `*`, `**`, `?`, `[abc]` and `{a,b}`, e.g. \"**/.env*\"",
                    );
                }
            }
            (Ty::Bool, DeValue::Boolean(_)) => {}
            (Ty::Int(min, max), DeValue::Integer(_)) => match int_of(value.get_ref()) {
                Some(n) if (*min..=*max).contains(&n) => {}
                _ => self.error(
                    span,
                    format!(
                        "`{key}` must be between {min} and {max}, found {}",
                        &self.src[value.span()]
                    ),
                    format!("write an integer from {min} to {max}"),
                ),
            },
            (Ty::Number, DeValue::Integer(_) | DeValue::Float(_)) => {}
            (Ty::Duration, DeValue::String(s)) => match parse_duration(s) {
                Ok(d) if d > super::spec::duration_cap(key) => {
                    let cap = super::spec::cap_text(super::spec::duration_cap(key));
                    self.error(
                        span,
                        format!("`{key}` of \"{s}\" is longer than {cap}"),
                        format!("write a duration of at most {cap}"),
                    )
                }
                Ok(d) if !d.is_zero() => {}
                Ok(_) => self.error(
                    span,
                    format!("`{key}` must be longer than zero"),
                    "write a positive duration such as \"30s\"",
                ),
                Err(_) => self.error(
                    span,
                    format!("bad duration \"{s}\" in `{key}`"),
                    "write a number and a unit, e.g. \"500ms\", \"30s\", \"2m\", \"1h\", \"180d\"",
                ),
            },
            (Ty::Regex, DeValue::String(s)) => {
                // Parsing finds every syntax error without the cost of compiling.
                if let Err(err) = regex_syntax::Parser::new().parse(s) {
                    let reason = err.to_string();
                    let reason = reason
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim_start_matches("error: ")
                        .to_string();
                    self.error(
                        span,
                        format!("bad regular expression in `{key}`: {reason}"),
                        "patterns use Rust regex syntax; in a TOML '…' literal string backslashes need no escaping",
                    );
                } else if let Err(regex::Error::CompiledTooBig(limit)) = regex::Regex::new(s) {
                    // Valid, but too large to run: the check would fail on it at run time.
                    self.error(
                        span,
                        format!("regular expression in `{key}` is too large to compile (over {limit} bytes once compiled)"),
                        "make it smaller: fewer or smaller repetitions such as {1000}, or a narrower character class",
                    );
                }
            }
            (Ty::JsonPath, DeValue::String(s)) => {
                if let Err(err) = crate::jsonpath::JsonPath::parse(s) {
                    let at = self.inner_span(&span, s, err.offset, 1);
                    self.error(at, format!("bad JSON path \"{s}\": {}", err.message), "JSON paths start with `$` and continue with `.name`, `[\"name\"]`, `[0]` or `.*`");
                }
            }
            (Ty::Choice(options), DeValue::String(s)) => {
                if !options.contains(&s.as_ref()) {
                    let hint = match did_you_mean(s, options.iter().copied()) {
                        Some(close) => format!("did you mean \"{close}\"?"),
                        None => format!("write one of {}", quoted_list(options)),
                    };
                    self.error(
                        span,
                        format!("`{key}` must be {}, found \"{s}\"", ty.expected()),
                        hint,
                    );
                }
            }
            (Ty::Status, DeValue::Integer(_)) => self.check_value(&Ty::Int(100, 599), value, key),
            (Ty::Status, DeValue::String(s)) if s.as_ref() == "any" => {}
            (Ty::Status, DeValue::Array(items)) => {
                if items.is_empty() {
                    self.error(
                        span.clone(),
                        format!("`{key}` is an empty array"),
                        format!("list the statuses accepted, e.g. `{key} = [200, 204]`"),
                    );
                }
                for item in items {
                    self.check_value(&Ty::Int(100, 599), item, key);
                }
            }
            (Ty::Input(secrets), DeValue::String(s)) => {
                self.use_name(Target::Input(*secrets), s, span)
            }
            (Ty::Connection, DeValue::String(s)) => self.use_name(Target::Connection, s, span),
            (Ty::Environment, DeValue::String(s)) => self.use_name(Target::Environment, s, span),
            (Ty::Section, DeValue::String(s)) => self.use_name(Target::Section, s, span),
            (Ty::Kind, DeValue::String(_)) => {} // resolved by the item reader, which needs the kind first
            (Ty::When, DeValue::String(s)) => self.check_when(&span, s),
            (Ty::Inputs(secrets), DeValue::Array(items)) => {
                self.check_names(items, key, Target::Input(*secrets));
            }
            (Ty::InputGroups, DeValue::Array(groups)) => {
                for group in groups {
                    match group.get_ref() {
                        DeValue::Array(items) if !items.is_empty() => {
                            self.check_names(items, key, Target::Input(Secrets::Allowed))
                        }
                        _ => self.error(
                            group.span(),
                            format!("each group in `{key}` must be an array of input names"),
                            format!("write e.g. `{key} = [[\"A\", \"B\"]]`"),
                        ),
                    }
                }
            }
            (Ty::Ids, DeValue::Array(items)) => self.check_names(items, key, Target::Item),
            (Ty::Environments, DeValue::Array(items)) => {
                self.check_names(items, key, Target::Environment)
            }
            (Ty::List(inner), DeValue::Array(items)) => {
                for item in items {
                    self.check_value(inner, item, key);
                }
            }
            (Ty::Map(inner), DeValue::Table(table)) => {
                for (k, v) in table {
                    self.check_value(inner, v, k.get_ref());
                }
            }
            (Ty::Table(keys), DeValue::Table(table)) => {
                self.check_table(table, &span, keys, &format!("`{key}`"))
            }
            (Ty::Tables(keys), DeValue::Array(items)) => {
                for item in items {
                    match item.get_ref() {
                        DeValue::Table(table) => self.check_table(
                            table,
                            &item.span(),
                            keys,
                            &format!("an entry of `{key}`"),
                        ),
                        _ => self.wrong_type(&Ty::Table(keys), item, key),
                    }
                }
            }
            _ => self.wrong_type(ty, value, key),
        }
    }

    fn check_names(&mut self, items: &[Value<'_>], key: &str, target: Target) {
        let mut seen = std::collections::HashSet::new();
        for item in items {
            match item.get_ref() {
                DeValue::String(s) if !seen.insert(s.as_ref()) => {
                    self.error(
                        item.span(),
                        format!("`{key}` lists \"{s}\" twice"),
                        "list each name once",
                    );
                }
                DeValue::String(s) => self.use_name(target.clone(), s, item.span()),
                _ => self.error(
                    item.span(),
                    format!(
                        "`{key}` must hold name strings, not {}",
                        found(item.get_ref())
                    ),
                    format!("write e.g. `{key} = [\"name\"]`"),
                ),
            }
        }
    }

    /// Paths and globs are relative to `--root` and stay under it.
    fn check_under_root(&mut self, span: &Range<usize>, text: &str, key: &str) {
        let problem = if text.trim().is_empty() {
            "is empty"
        } else if text.starts_with('/') || text.starts_with('\\') || text.get(1..3) == Some(":\\") {
            "is absolute"
        } else if text.split(['/', '\\']).any(|part| part == "..") {
            "leaves the root with `..`"
        } else {
            return;
        };
        self.error(
            span.clone(),
            format!("`{key}` {problem}: \"{text}\""),
            "paths are relative to the deployed project's root (--root) and stay under it",
        );
    }

    /// Parses a template, reporting its errors and recording its variable uses.
    pub fn check_template(
        &mut self,
        span: &Range<usize>,
        text: &str,
        secrets: Secrets,
    ) -> Option<Template> {
        match Template::parse(text) {
            Ok(template) => {
                for var in template.refs() {
                    let at = self.inner_span(span, text, var.offset, var.len);
                    let target = Target::Var {
                        has_default: var.default.is_some(),
                        secrets,
                    };
                    self.use_name(target, &var.name, at);
                }
                Some(template)
            }
            Err(err) => {
                let at = self.inner_span(span, text, err.offset, err.len);
                self.error(at, err.message, err.hint);
                None
            }
        }
    }

    fn check_when(&mut self, span: &Range<usize>, text: &str) {
        match When::parse(text) {
            Ok(when) => {
                for (name, compared) in when.names() {
                    let at = self.inner_span(span, text, name.offset, name.name.len());
                    if let Some(value) = compared.filter(|_| name.name == "environment") {
                        self.use_name(Target::Environment, value, at.clone());
                    }
                    self.use_name(
                        Target::WhenVar {
                            compared: compared.map(String::from),
                        },
                        &name.name,
                        at,
                    );
                }
            }
            Err(err) => {
                let at = self.inner_span(span, text, err.offset, err.len);
                self.error(at, format!("bad condition: {}", err.message), err.hint);
            }
        }
    }

    /// A URL template must form an absolute http(s) URL. One that starts with `${origin}` or
    /// `${base_url}` must continue with a path; any other is parsed with its variables
    /// replaced by their defaults, or by a stand-in.
    fn check_url(&mut self, span: &Range<usize>, text: &str, template: &Template, key: &str) {
        let hint =
            "write an absolute URL such as \"${origin}/health\" or \"https://example.com/health\"";
        if let Some(lead) = template
            .leading_var()
            .filter(|v| v.default.is_none() && (v.name == "origin" || v.name == "base_url"))
        {
            match template.parts.get(1) {
                Some(Part::Literal(rest)) if !rest.starts_with('/') && !rest.starts_with('?') => {
                    self.error(
                        span.clone(),
                        format!("`{key}` must continue with `/` after `${{{}}}`", lead.name),
                        hint,
                    );
                }
                // The variable's values are judged once they are all known.
                Some(Part::Var(next)) => {
                    let at = self.inner_span(span, text, next.offset, next.len);
                    self.use_name(Target::UrlPath, &next.name, at);
                }
                _ => {}
            }
            return;
        }
        let problem = match url::Url::parse(&stand_in(template)) {
            Ok(url) if url.scheme() != "http" && url.scheme() != "https" => {
                format!(
                    "`{key}` must be an http or https URL, found scheme `{}`",
                    url.scheme()
                )
            }
            Ok(url) if url.host_str().is_none_or(str::is_empty) => format!("`{key}` has no host"),
            Ok(_) => return,
            Err(err) => format!("bad URL \"{text}\" in `{key}`: {err}"),
        };
        self.error(span.clone(), problem, hint);
    }
}

/// The template filled with defaults, or with `0` where a variable has none.
fn stand_in(template: &Template) -> String {
    template
        .parts
        .iter()
        .map(|part| match part {
            Part::Literal(text) => text.clone(),
            // `0` fits every place a variable may stand: a host label, a port, a path.
            Part::Var(var) => var
                .default
                .as_ref()
                .map_or_else(|| "0".to_string(), stand_in),
        })
        .collect()
}

fn type_hint(ty: &Ty, key: &str) -> String {
    match ty {
        Ty::Text | Ty::Template | Ty::SecretTemplate | Ty::Path => format!("write `{key} = \"…\"`"),
        Ty::Url | Ty::OriginUrl => format!("write e.g. `{key} = \"${{origin}}/health\"`"),
        Ty::Glob => format!("write e.g. `{key} = \"**/.env*\"`"),
        Ty::Bool => format!("write `{key} = true` or `{key} = false`, without quotes"),
        Ty::Int(min, _) => format!("write e.g. `{key} = {min}`, without quotes"),
        Ty::Number => format!("write e.g. `{key} = 1`, without quotes"),
        Ty::Duration => format!("write e.g. `{key} = \"30s\"` (units: ms, s, m, h, d)"),
        Ty::Regex => format!("write e.g. `{key} = '^ok$'`"),
        Ty::JsonPath => format!("write e.g. `{key} = \"$.status\"`"),
        Ty::Choice(options) => format!(
            "write `{key} = \"{}\"`",
            options.first().copied().unwrap_or_default()
        ),
        Ty::Status => format!("write e.g. `{key} = 200` or `{key} = [200, 204]`"),
        Ty::Input(_) | Ty::Connection | Ty::Environment | Ty::Section | Ty::Kind => {
            format!("write `{key} = \"name\"`")
        }
        Ty::When => format!("write e.g. `{key} = \"set(NAME)\"`"),
        Ty::Inputs(_) | Ty::Ids | Ty::Environments | Ty::List(_) => {
            format!("write e.g. `{key} = [\"a\", \"b\"]`")
        }
        Ty::InputGroups => format!("write e.g. `{key} = [[\"A\", \"B\"]]`"),
        Ty::Map(_) | Ty::Table(_) => format!("write `{key} = {{ … }}` or a `[….{key}]` table"),
        Ty::Tables(_) => format!("write `{key} = [{{ … }}]` or `[[….{key}]]` tables"),
        Ty::Any => String::new(),
    }
}
