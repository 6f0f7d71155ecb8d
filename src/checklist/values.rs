//! The values a run sees: declared inputs (from the process environment and `--env-file`s),
//! the checklist's variables with the environment's replacements, and the built-ins
//! (`environment`, `base_url`, `origin`, `host`). Only declared inputs are ever read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::template::{Template, Unset};
use super::when::When;
use super::Checklist;

/// Why values could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// An env file could not be read.
    #[error("cannot read env file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An env file has a line that is not `NAME=value`.
    #[error("env file {path}: line {line} is not NAME=value (its content is not shown: it may hold a secret)")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// An input is set to a value it may not take: the items it decides would run on a guess.
    #[error("{name} = '{value}' ({source_}) is not one of {allowed}")]
    NotAllowed {
        /// The input.
        name: String,
        /// Its value (never a secret's: lint refuses `values` on a secret).
        value: String,
        /// Where the value came from.
        source_: String,
        /// The values it may take.
        allowed: String,
    },
    /// Two base URL inputs are set to different origins: which one secrets may go to is
    /// not clear, so nothing runs.
    #[error("{first} ({first_origin}) and {second} ({second_origin}) name different origins: relcon sends secrets only to the deployment's one origin; make them agree (or leave {second} unset)")]
    OriginConflict {
        /// The input that sets the origin.
        first: String,
        /// Its origin.
        first_origin: String,
        /// The other input.
        second: String,
        /// Its origin.
        second_origin: String,
    },
}

/// Every value a run can look up.
#[derive(Clone, Default)]
pub struct Values {
    inputs: BTreeMap<String, String>,
    /// Where each input's value came from: `FILE:LINE`, or "process environment".
    sources: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    builtins: BTreeMap<&'static str, String>,
    base_url_inputs: Vec<String>,
    /// Inputs whose value holds `$NAME` or `${…}`, taken as written: `NAME (FILE:LINE)`.
    unexpanded: Vec<String>,
}

impl std::fmt::Debug for Values {
    // Input values may be secrets: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Values")
            .field("inputs", &self.inputs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A name, its value and where it was set (`FILE:LINE`).
type Sourced = (String, String, String);

/// The assignments of an env file, each with its source (`FILE:LINE`), and the names whose
/// value was taken as written though it looks like it expects `$VAR` expansion.
fn read_env_file(path: &Path) -> Result<(Vec<Sourced>, Vec<String>), ValuesError> {
    let text = crate::files::read_text_capped(path, crate::files::CAP).map_err(|err| {
        ValuesError::Read {
            path: path.to_path_buf(),
            reason: err.to_string(),
        }
    })?;
    let assignments = super::dotenv::parse(&text).map_err(|bad| ValuesError::Parse {
        path: path.to_path_buf(),
        line: bad.0,
    })?;
    let mut unexpanded = Vec::new();
    let pairs = assignments
        .into_iter()
        .map(|a| {
            let source = format!("{}:{}", path.display(), a.line);
            if a.unexpanded {
                unexpanded.push(format!("{} ({source})", a.name));
            }
            (a.name, a.value, source)
        })
        .collect();
    Ok((pairs, unexpanded))
}

impl Values {
    /// The values for `environment`: each declared input from the env files (later files win)
    /// or else from `process_env`; the checklist's vars with the environment's on top.
    pub fn load(
        checklist: &Checklist,
        environment: Option<&str>,
        env_files: &[PathBuf],
        process_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ValuesError> {
        let mut from_files: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut unexpanded = Vec::new();
        for path in env_files {
            let (pairs, noted) = read_env_file(path)?;
            for (name, value, source) in pairs {
                from_files.insert(name, (value, source));
            }
            unexpanded.extend(noted);
        }
        // Only declared inputs matter.
        unexpanded.retain(|noted| {
            let name = noted.split(' ').next().unwrap_or_default();
            checklist.inputs.iter().any(|i| i.name == name)
        });
        let mut inputs = BTreeMap::new();
        let mut sources = BTreeMap::new();
        for input in &checklist.inputs {
            let found = from_files.remove(&input.name).or_else(|| {
                // The runner's own environment is not the deployment's for such an input.
                (!input.files_only)
                    .then(|| process_env(&input.name))
                    .flatten()
                    .map(|value| (value, "process environment".to_string()))
            });
            let found = match (found, &input.default) {
                (Some((value, _)), Some(default)) if value.is_empty() => {
                    Some((default.clone(), "the checklist's default".to_string()))
                }
                (None, Some(default)) => Some((default.clone(), "the checklist's default".into())),
                (found, _) => found,
            };
            if let Some((mut value, source)) = found {
                if let Some((_, target)) = input.aliases.iter().find(|(alias, _)| *alias == value) {
                    value = target.clone();
                }
                if !input.values.is_empty() && !input.values.contains(&value) {
                    return Err(ValuesError::NotAllowed {
                        name: input.name.clone(),
                        value,
                        source_: source,
                        allowed: input.values.join(", "),
                    });
                }
                inputs.insert(input.name.clone(), value);
                sources.insert(input.name.clone(), source);
            }
        }
        let mut vars: BTreeMap<String, String> = checklist.vars.iter().cloned().collect();
        if let Some(env) = environment.and_then(|name| checklist.environment(name)) {
            vars.extend(env.vars.iter().cloned());
        }
        let mut values = Values {
            inputs,
            sources,
            vars,
            builtins: BTreeMap::new(),
            base_url_inputs: checklist.base_url.clone(),
            unexpanded,
        };
        if let Some(env) = environment {
            values.builtins.insert("environment", env.to_string());
        }
        // Every base URL input that is set must name the same origin.
        let origins: Vec<(&str, String)> = checklist
            .base_url
            .iter()
            .filter_map(|name| {
                let value = values.input(name).filter(|v| !v.is_empty())?;
                let url = url::Url::parse(value).ok().filter(url::Url::has_host)?;
                Some((name.as_str(), url.origin().ascii_serialization()))
            })
            .collect();
        if let Some((second, second_origin)) = origins.iter().find(|(_, o)| *o != origins[0].1) {
            return Err(ValuesError::OriginConflict {
                first: origins[0].0.to_string(),
                first_origin: origins[0].1.clone(),
                second: second.to_string(),
                second_origin: second_origin.clone(),
            });
        }
        if let Some((_, base)) = values.first_set(&checklist.base_url) {
            let base = base.to_string();
            if let Ok(url) = url::Url::parse(&base) {
                if url.has_host() {
                    values
                        .builtins
                        .insert("origin", url.origin().ascii_serialization());
                    values
                        .builtins
                        .insert("host", url.host_str().unwrap_or_default().to_string());
                }
            }
            values
                .builtins
                .insert("base_url", base.trim_end_matches('/').to_string());
        }
        Ok(values)
    }

    /// What the operator should know of how the values were read: a value that holds
    /// `$NAME` or `${…}` was taken as written, not expanded.
    pub fn notes(&self) -> Vec<String> {
        if self.unexpanded.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "not expanded: {} hold `$NAME` or `${{…}}`, taken as written (env files are read literally; put the value itself in the file)",
            self.unexpanded.join(", ")
        )]
    }

    /// A value by name: a built-in, a variable, or an input.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.builtins
            .get(name)
            .or_else(|| self.vars.get(name))
            .or_else(|| self.inputs.get(name))
            .map(String::as_str)
    }

    /// Where an input's value came from: `FILE:LINE`, or "process environment".
    pub fn source(&self, name: &str) -> Option<&str> {
        self.sources.get(name).map(String::as_str)
    }

    /// An input's value, set or empty.
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).map(String::as_str)
    }

    /// Whether an input has a non-empty value.
    pub fn is_set(&self, name: &str) -> bool {
        self.input(name).is_some_and(|v| !v.is_empty())
    }

    /// The first input of `names` with a non-empty value.
    pub fn first_set<'n>(&self, names: &'n [String]) -> Option<(&'n str, &str)> {
        names.iter().find_map(|name| {
            self.input(name)
                .filter(|v| !v.is_empty())
                .map(|v| (name.as_str(), v))
        })
    }

    /// Fills a template string (already validated by the checklist reader).
    pub fn render(&self, text: &str) -> Result<String, RenderError> {
        let template = Template::parse(text).map_err(|err| RenderError(err.message))?;
        template
            .render(&|name| self.get(name).map(String::from))
            .map_err(|Unset(name)| {
                if ["origin", "base_url", "host"].contains(&name.as_str()) {
                    RenderError(format!(
                        "the base URL is not set (set one of {})",
                        self.base_url_inputs.join(", ")
                    ))
                } else {
                    RenderError(format!("`{name}` is not set and has no default"))
                }
            })
    }

    /// Evaluates a condition.
    pub fn when(&self, when: &When) -> bool {
        when.eval(&|name| self.get(name).map(String::from))
    }

    /// The values of the secret inputs that are set.
    pub fn secrets<'v>(&'v self, checklist: &'v Checklist) -> impl Iterator<Item = &'v str> + 'v {
        checklist
            .inputs
            .iter()
            .filter(|i| i.secret)
            .filter_map(|i| self.input(&i.name))
    }
}

/// A template that could not be filled at run time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);
