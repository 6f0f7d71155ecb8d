//! The checklist: its TOML format, the reader that validates it with located errors, and the
//! model the engine runs. The format reference is `checklists/README.md`.

pub mod checker;
pub mod dotenv;
mod format;
mod items;
pub mod kinds;
mod load;
pub mod plan;
pub mod source;
pub mod spec;
pub mod template;
mod validate;
pub mod values;
pub mod when;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

pub use format::FILE_TABLES;
use kinds::KindSpec;
pub use source::{Diagnostic, SourceFile};

/// The largest checklist file read.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Names every template and condition may use without declaring them.
pub const BUILTIN_VARS: &[&str] = &["environment", "base_url", "origin", "host"];

/// A validated checklist.
#[derive(Debug, Clone)]
pub struct Checklist {
    /// The file it was read from.
    pub source: SourceFile,
    /// A short stable id, e.g. `authjs-neon`.
    pub id: String,
    /// The title shown in the header and the report.
    pub title: String,
    /// The checklist's own version number.
    pub version: i64,
    /// A longer description.
    pub description: String,
    /// The environment used when `--env` is not given.
    pub default_environment: Option<String>,
    /// Inputs holding the base URL, first set wins.
    pub base_url: Vec<String>,
    /// Declared inputs, in file order.
    pub inputs: Vec<Input>,
    /// Checklist variables (environments may override them), in file order.
    pub vars: Vec<(String, String)>,
    /// Named database connections.
    pub connections: Vec<Connection>,
    /// Environment profiles, in file order.
    pub environments: Vec<Environment>,
    /// Section titles, in display order.
    pub sections: Vec<String>,
    /// Items, in file order.
    pub items: Vec<Item>,
    /// The post-deploy bake's settings.
    pub bake: BakeSettings,
}

/// How a post-deploy bake runs and judges, from the checklist's `[bake]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct BakeSettings {
    /// How long it lasts.
    pub duration: Duration,
    /// The time between rounds.
    pub every: Duration,
    /// Failed rounds in a row that are a regression.
    pub fail_after: u32,
    /// A p95 above this many times the baseline is a regression…
    pub latency_factor: f64,
    /// … when it is also above the baseline plus this.
    pub latency_margin: Duration,
    /// The samples a p95 is judged over at the least.
    pub latency_samples: u32,
    /// The first rounds whose median latency is the baseline.
    pub baseline_rounds: u32,
}

impl Default for BakeSettings {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(15 * 60),
            every: Duration::from_secs(30),
            fail_after: 2,
            latency_factor: 3.0,
            latency_margin: Duration::from_millis(250),
            latency_samples: 10,
            baseline_rounds: 3,
        }
    }
}

impl BakeSettings {
    /// The settings a `[bake]` table gives (keys it leaves out keep their defaults).
    pub fn from_table(table: &toml::Table) -> Self {
        let default = Self::default();
        let duration = |key: &str, or: Duration| {
            table
                .get(key)
                .and_then(toml::Value::as_str)
                .and_then(|s| spec::parse_duration(s).ok())
                .map_or(or, |d| d.min(spec::duration_cap(key)))
        };
        let int = |key: &str, or: u32| {
            table
                .get(key)
                .and_then(toml::Value::as_integer)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(or)
        };
        Self {
            duration: duration("for", default.duration),
            every: duration("every", default.every).max(Duration::from_secs(1)),
            fail_after: int("fail_after", default.fail_after).max(1),
            latency_factor: table
                .get("latency_factor")
                .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|n| n as f64)))
                .filter(|f| f.is_finite() && *f >= 1.0)
                .unwrap_or(default.latency_factor),
            latency_margin: duration("latency_margin", default.latency_margin),
            latency_samples: int("latency_samples", default.latency_samples).max(3),
            baseline_rounds: int("baseline_rounds", default.baseline_rounds).max(1),
        }
    }
}

/// A variable expected from the process environment or an `--env-file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The variable's name.
    pub name: String,
    /// Whether its value is a secret (never shown, only sent to the origin or the database).
    pub secret: bool,
    /// What it holds.
    pub description: String,
    /// Whether only the env files may give it (the process environment is the runner's).
    pub files_only: bool,
    /// The values it may take (empty: any).
    pub values: Vec<String>,
    /// Its value when unset or empty.
    pub default: Option<String>,
    /// Older spellings and the value each stands for (`node` for `container`).
    pub aliases: Vec<(String, String)>,
}

/// A database connection: the first set input of `from` holds its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The name items refer to.
    pub name: String,
    /// Inputs holding the URL, first set wins.
    pub from: Vec<String>,
    /// How long to wait for the server (a Neon compute may be waking up).
    pub connect_timeout: Duration,
    /// What it is for.
    pub description: String,
}

/// An environment profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Its name, as given to `--env`.
    pub name: String,
    /// Whether writes need consent (two people sign where an item sets `signoffs = 2`).
    pub production: bool,
    /// What it is.
    pub description: String,
    /// Variables that override the checklist's `[vars]`.
    pub vars: Vec<(String, String)>,
    /// Whether a sign-off here must be signed with a key `allowed_signers` lists.
    pub require_signed_signoffs: bool,
    /// The allowed_signers file, relative to the checklist file.
    pub allowed_signers: Option<String>,
}

/// One checklist item.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its stable id, e.g. `health.live`.
    pub id: String,
    /// One line saying what it verifies.
    pub title: String,
    /// The section it belongs to.
    pub section: String,
    /// Its check kind.
    pub kind: &'static KindSpec,
    /// What it verifies, why, and what to do when it fails.
    pub help: String,
    /// The environments it applies to (empty: all).
    pub only_in: Vec<String>,
    /// Every other key: the common settings and the kind's configuration.
    pub keys: toml::Table,
    /// Per-environment replacements of keys.
    pub overrides: BTreeMap<String, toml::Table>,
    /// Where the item starts in the file.
    pub span: Range<usize>,
}

/// An item's settings and configuration in one environment, overrides applied.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Items that must pass first.
    pub needs: Vec<String>,
    /// The condition under which it applies.
    pub when: Option<when::When>,
    /// The condition as written.
    pub when_text: Option<String>,
    /// Whether it counts toward the verdict.
    pub required: bool,
    /// Its own timeout, when it has one.
    pub timeout: Option<Duration>,
    /// How many times a failure is retried.
    pub retries: u32,
    /// The pause between retries.
    pub retry_interval: Duration,
    /// Whether a run writes to the target.
    pub writes: bool,
    /// Whether the post-deploy bake re-runs it.
    pub bake: bool,
    /// Failed bake rounds in a row that are its regression, when it sets its own.
    pub bake_fail_after: Option<u32>,
    /// How far above its baseline its p95 may go in a bake, when it sets its own.
    pub bake_latency_margin: Option<Duration>,
    /// The kind-specific keys.
    pub config: toml::Table,
}

/// Keys every item may have, besides its kind's.
pub const COMMON_KEYS: &[&str] = &[
    "id",
    "title",
    "section",
    "kind",
    "help",
    "needs",
    "when",
    "only_in",
    "required",
    "timeout",
    "retries",
    "retry_interval",
    "bake",
    "bake_fail_after",
    "bake_latency_margin",
];

impl Item {
    /// The item's settings in `environment` (`None`: no environment), overrides applied.
    pub fn resolve(&self, environment: Option<&str>) -> Resolved {
        let keys = self.keys_in(environment).into_owned();
        let text = |key: &str| keys.get(key).and_then(toml::Value::as_str);
        let duration = |key: &str| text(key).and_then(|s| spec::parse_duration(s).ok());
        let needs = self.needs(environment).map(String::from).collect();
        let writes = (self.kind.writes)(&keys);
        let resolved = Resolved {
            needs,
            when: text("when").and_then(|w| when::When::parse(w).ok()),
            when_text: text("when").map(String::from),
            required: keys
                .get("required")
                .and_then(toml::Value::as_bool)
                .unwrap_or(true),
            timeout: duration("timeout"),
            retries: keys
                .get("retries")
                .and_then(toml::Value::as_integer)
                .map_or(0, |n| n.clamp(0, 10) as u32),
            retry_interval: duration("retry_interval").unwrap_or(Duration::from_secs(2)),
            writes,
            bake: keys.get("bake").and_then(toml::Value::as_bool) == Some(true),
            bake_latency_margin: duration("bake_latency_margin")
                .map(|d| d.min(spec::duration_cap("bake_latency_margin"))),
            bake_fail_after: keys
                .get("bake_fail_after")
                .and_then(toml::Value::as_integer)
                .and_then(|n| u32::try_from(n.max(1)).ok()),
            config: keys
                .into_iter()
                .filter(|(k, _)| !COMMON_KEYS.contains(&k.as_str()))
                .collect(),
        };
        resolved
    }

    /// The item's keys in `environment`: its own, with the environment's override on top.
    pub fn keys_in(&self, environment: Option<&str>) -> std::borrow::Cow<'_, toml::Table> {
        match environment.and_then(|env| self.overrides.get(env)) {
            Some(over) => {
                let mut keys = self.keys.clone();
                keys.extend(over.clone());
                std::borrow::Cow::Owned(keys)
            }
            None => std::borrow::Cow::Borrowed(&self.keys),
        }
    }

    /// The value of `key` in `environment`: the override's when it sets one.
    pub fn key(&self, environment: Option<&str>, key: &str) -> Option<&toml::Value> {
        environment
            .and_then(|env| self.overrides.get(env))
            .and_then(|over| over.get(key))
            .or_else(|| self.keys.get(key))
    }

    /// The ids this item needs in `environment`.
    pub fn needs(&self, environment: Option<&str>) -> impl Iterator<Item = &str> {
        self.key(environment, "needs")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_str)
    }

    /// Whether the item applies in `environment`.
    pub fn runs_in(&self, environment: &str) -> bool {
        self.only_in.is_empty() || self.only_in.iter().any(|e| e == environment)
    }
}

/// A checklist that did not validate: its source and every problem found, in file order.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// The file.
    pub source: SourceFile,
    /// The problems, sorted by position.
    pub problems: Vec<Diagnostic>,
}

impl Invalid {
    /// Every problem rendered, followed by a count.
    pub fn render(&self) -> String {
        let mut out: String = self
            .problems
            .iter()
            .map(|p| self.source.render(p) + "\n")
            .collect();
        let count = self.problems.len();
        let noun = if count == 1 { "error" } else { "errors" };
        out.push_str(&format!("{}: {count} {noun}\n", self.source.name));
        out
    }
}

/// Why a checklist could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than any checklist should be.
    #[error("{path} is larger than {} MiB; is it a checklist?", MAX_FILE_BYTES >> 20)]
    TooLarge {
        /// The path as given.
        path: String,
    },
    /// The file was read but is not a valid checklist.
    #[error("{}", .0.render())]
    Invalid(Box<Invalid>),
}

impl Checklist {
    /// Reads and validates the checklist at `path` (named in messages as given).
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        use std::io::Read;
        let name = path.display().to_string();
        let read_error = |source| LoadError::Read {
            path: name.clone(),
            source,
        };
        let mut bytes = Vec::new();
        // A cap, so that a wrong path (a device, a huge file) fails fast instead of filling memory.
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(LoadError::TooLarge { path: name });
        }
        Self::from_bytes(&path.display().to_string(), &bytes)
            .map_err(|invalid| LoadError::Invalid(Box::new(invalid)))
    }

    /// Validates a checklist held in memory; `name` is used in messages.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, Invalid> {
        let (source, bad_utf8) = SourceFile::from_bytes(name, bytes);
        if let Some(problem) = bad_utf8 {
            return Err(Invalid {
                source,
                problems: vec![problem],
            });
        }
        load::read(source)
    }

    /// The environment named `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The input named `name`.
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// The item with id `id`.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// One line: items per kind and per section.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let count = |names: &mut dyn Iterator<Item = &str>| {
            names
                .map(|name| {
                    (
                        name,
                        self.items
                            .iter()
                            .filter(|i| i.kind.name == name || i.section == name)
                            .count(),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .map(|(name, n)| format!("{name} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kinds = count(&mut kinds::KINDS.iter().map(|k| k.name));
        let sections = count(&mut self.sections.iter().map(String::as_str));
        let environments: Vec<&str> = self.environments.iter().map(|e| e.name.as_str()).collect();
        let environments = match environments.as_slice() {
            [] => "no environments".to_string(),
            names => format!(
                "{} ({})",
                plural(names.len(), "environment"),
                names.join(", ")
            ),
        };
        format!(
            "{}: ok: {} in {}, {environments}; kinds: {kinds}; sections: {sections}",
            self.source.name,
            plural(self.items.len(), "item"),
            plural(self.sections.len(), "section"),
        )
    }
}
