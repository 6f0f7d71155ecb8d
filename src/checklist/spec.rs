//! The vocabulary of checklist keys: value types, key declarations, and the names a
//! checklist uses (inputs, variables, items, environments…) that are resolved once the
//! whole file is read. The walker that applies it is [`super::checker`].

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A spanned TOML value as parsed from the file.
pub type Value<'a> = Spanned<DeValue<'a>>;

/// Whether a place may hold a secret input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Secrets are refused here.
    Refused,
    /// Secrets may be named here.
    Allowed,
}

/// The type of a key's value.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A plain string, not interpolated.
    Text,
    /// A string with `${VAR}` interpolation; secret inputs refused.
    Template,
    /// A string with `${VAR}` interpolation that may hold secret inputs; they are only sent
    /// when the item's `url` is on the base URL's origin.
    SecretTemplate,
    /// A template that forms an absolute `http(s)` URL.
    Url,
    /// A URL on the base URL's origin: it starts with `${origin}/` or `${base_url}/`.
    OriginUrl,
    /// A template naming a file under `--root`.
    Path,
    /// A glob pattern under `--root`.
    Glob,
    /// `true` or `false`.
    Bool,
    /// An integer within bounds.
    Int(i64, i64),
    /// An integer or a float.
    Number,
    /// A duration string: `500ms`, `30s`, `2m`, `180d`.
    Duration,
    /// A regular expression (Rust `regex` syntax), not interpolated.
    Regex,
    /// A JSON path: `$`, `.name`, `["name"]`, `[0]`, `*`.
    JsonPath,
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// Any TOML value.
    Any,
    /// An HTTP status or an array of them.
    Status,
    /// The name of one declared input.
    Input(Secrets),
    /// An array of declared input names.
    Inputs(Secrets),
    /// An array of arrays of declared input names.
    InputGroups,
    /// The name of a `[connections]` entry.
    Connection,
    /// An array of item ids.
    Ids,
    /// An array of environment names.
    Environments,
    /// The name of an environment.
    Environment,
    /// A section title from `sections`.
    Section,
    /// A check kind.
    Kind,
    /// A `when` condition.
    When,
    /// An array of values of one type.
    List(&'static Ty),
    /// A table with free keys and values of one type.
    Map(&'static Ty),
    /// A table with known keys.
    Table(&'static [Key]),
    /// An array of tables with known keys.
    Tables(&'static [Key]),
}

/// A key a table may hold.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key's name.
    pub name: &'static str,
    /// Its value's type.
    pub ty: Ty,
    /// Whether it must be present.
    pub required: bool,
    /// One line for the format reference.
    pub doc: &'static str,
}

impl Key {
    /// An optional key.
    pub const fn optional(name: &'static str, ty: Ty, doc: &'static str) -> Self {
        Self {
            name,
            ty,
            required: false,
            doc,
        }
    }

    /// A required key.
    pub const fn required(name: &'static str, ty: Ty, doc: &'static str) -> Self {
        Self {
            name,
            ty,
            required: true,
            doc,
        }
    }
}

/// What a [`Use`] points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A `${VAR}` in a template.
    Var {
        /// Whether the reference has a default.
        has_default: bool,
        /// Whether the place may hold a secret.
        secrets: Secrets,
    },
    /// A variable in a `when` condition.
    WhenVar {
        /// The value it is compared with (none: only tested for presence).
        compared: Option<String>,
    },
    /// A declared input named directly.
    Input(Secrets),
    /// A connection name.
    Connection,
    /// An item id in `needs`.
    Item,
    /// An environment name.
    Environment,
    /// A section title.
    Section,
    /// A variable right after `${origin}` or `${base_url}` in a URL: it must be a path.
    UrlPath,
}

/// A name used somewhere in the file, resolved after the whole file is read.
#[derive(Debug, Clone)]
pub struct Use {
    /// What kind of name.
    pub target: Target,
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Range<usize>,
    /// The item it belongs to, by index, if any.
    pub item: Option<usize>,
    /// The environment whose override it was written in, if any.
    pub environment: Option<String>,
    /// The item key it was written under (empty outside items).
    pub key: String,
}

impl Ty {
    /// What a value of this type looks like, for "must be" messages.
    pub fn expected(&self) -> String {
        match self {
            Ty::Text => "a string".into(),
            Ty::Template | Ty::SecretTemplate => "a string with ${VAR}s".into(),
            Ty::Path => "a file path string".into(),
            Ty::Glob => "a glob string".into(),
            Ty::Url => "a URL string".into(),
            Ty::OriginUrl => "a URL string starting with ${origin}/".into(),
            Ty::Bool => "`true` or `false`".into(),
            Ty::Int(min, max) => format!("an integer from {min} to {max}"),
            Ty::Number => "a number".into(),
            Ty::Duration => "a duration string such as \"30s\"".into(),
            Ty::Regex => "a regular expression string".into(),
            Ty::JsonPath => "a JSON path string such as \"$.status\"".into(),
            Ty::Choice(options) => format!("one of {}", quoted_list(options)),
            Ty::Any => "any value".into(),
            Ty::Status => "an HTTP status, an array of them, or \"any\"".into(),
            Ty::Input(_) => "an input name".into(),
            Ty::Connection => "a connection name".into(),
            Ty::Environment => "an environment name".into(),
            Ty::Section => "a section title".into(),
            Ty::Kind => "a kind name".into(),
            Ty::When => "a condition string".into(),
            Ty::Inputs(_) => "an array of input names".into(),
            Ty::Ids => "an array of item ids".into(),
            Ty::Environments => "an array of environment names".into(),
            Ty::InputGroups => "an array of arrays of input names".into(),
            Ty::List(inner) => format!("an array of {}", inner.expected_plural()),
            Ty::Map(inner) => format!("a table of {}", inner.expected_plural()),
            Ty::Table(_) => "a table".into(),
            Ty::Tables(_) => "an array of tables".into(),
        }
    }

    fn expected_plural(&self) -> String {
        match self {
            Ty::Bool => "booleans".into(),
            Ty::Int(..) => "integers".into(),
            Ty::Table(_) => "tables".into(),
            Ty::Template | Ty::SecretTemplate => "strings with ${VAR}s".into(),
            Ty::Glob => "globs".into(),
            Ty::Regex => "regular expressions".into(),
            Ty::Choice(options) => quoted_list(options).replace(" or ", ", "),
            Ty::Any => "values".into(),
            _ => "strings".into(),
        }
    }
}

/// `"a"`, `"b"` or `"c"`.
pub fn quoted_list(options: &[&str]) -> String {
    let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// The closest of `candidates` to `name`, if one is close enough to be a typo.
pub fn did_you_mean<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The longest a duration may be: a threshold (the age HSTS must promise) 10 years, any
/// duration that schedules work (a timeout, a wait, a lifetime) 7 days, so that no deadline
/// or instant computed from it can overflow.
pub fn duration_cap(key: &str) -> std::time::Duration {
    const DAY: u64 = 24 * 60 * 60;
    match key {
        "hsts_min_age" => std::time::Duration::from_secs(3650 * DAY),
        _ => std::time::Duration::from_secs(7 * DAY),
    }
}

/// A cap of [`duration_cap`] in days, as a checklist writes it: `7d`.
pub fn cap_text(cap: std::time::Duration) -> String {
    format!("{}d", cap.as_secs() / (24 * 60 * 60))
}

/// Parses a duration string such as `30s`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|e| e.to_string())
}

/// Parses a TOML integer.
pub fn int_of(value: &DeValue<'_>) -> Option<i64> {
    match value {
        DeValue::Integer(int) => i64::from_str_radix(int.as_str(), int.radix()).ok(),
        _ => None,
    }
}

/// Converts a parsed value to an owned `toml::Value` (spans dropped).
pub fn to_toml(value: &DeValue<'_>) -> toml::Value {
    match value {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(_) => toml::Value::Integer(int_of(value).unwrap_or_default()),
        DeValue::Float(f) => toml::Value::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => toml::Value::Datetime(*d),
        DeValue::Array(items) => {
            toml::Value::Array(items.iter().map(|v| to_toml(v.get_ref())).collect())
        }
        DeValue::Table(table) => toml::Value::Table(to_table(table)),
    }
}

/// Converts a parsed table to an owned `toml::Table`.
pub fn to_table(table: &DeTable<'_>) -> toml::Table {
    table
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), to_toml(v.get_ref())))
        .collect()
}

/// Whether `name` is a valid variable or input name.
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
