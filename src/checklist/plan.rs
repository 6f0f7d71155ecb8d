//! A plan: the checklist's items in one environment, overrides applied, each marked in or
//! out of this run's scope (`--only`, `--skip`, `--automated-only`).

use super::{Checklist, Item, Resolved};

/// Which items a run covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only these ids (empty: all).
    pub only: Vec<String>,
    /// Not these ids.
    pub skip: Vec<String>,
    /// Leave manual items out.
    pub automated_only: bool,
}

/// Bad scope or environment: exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `--only` or `--skip` names an id the checklist does not have.
    #[error("{flag} names unknown item `{id}`{hint}")]
    UnknownItem {
        /// The flag.
        flag: &'static str,
        /// The id.
        id: String,
        /// " (did you mean …?)" or nothing.
        hint: String,
    },
    /// `--env` names an environment the checklist does not have.
    #[error("unknown environment `{name}` (the checklist has: {known})")]
    UnknownEnvironment {
        /// The name.
        name: String,
        /// The environments the checklist has.
        known: String,
    },
    /// `--only`, `--skip` and `--automated-only` leave nothing to run.
    #[error("nothing to run: --only, --skip and --automated-only leave no item in scope")]
    NothingToRun,
    /// Several environments, no default, no `--env`.
    #[error("the checklist has several environments ({known}) and no default_environment: choose one with --env")]
    NoEnvironment {
        /// The environments the checklist has.
        known: String,
    },
}

/// One item in a plan.
#[derive(Debug, Clone)]
pub struct Entry<'c> {
    /// The item.
    pub item: &'c Item,
    /// Its settings in the plan's environment.
    pub resolved: Resolved,
    /// Whether this run covers it.
    pub in_scope: bool,
    /// Whether this run records that it does not apply (only in another environment, its
    /// condition false): every item `--only` and `--skip` leave in, manual ones too when
    /// the run is automated-only, since nobody is to sign off what does not apply.
    pub settles_skip: bool,
}

impl Entry<'_> {
    /// Whether the item counts toward this run's verdict.
    pub fn in_verdict(&self) -> bool {
        self.in_scope && self.resolved.required
    }
}

/// The items of a run.
#[derive(Debug, Clone)]
pub struct Plan<'c> {
    /// The checklist.
    pub checklist: &'c Checklist,
    /// The environment, when the checklist has any.
    pub environment: Option<String>,
    /// Every item, in checklist order.
    pub entries: Vec<Entry<'c>>,
}

/// The environment a run uses: `--env`, else the checklist's default, else its only one.
pub fn choose_environment(
    checklist: &Checklist,
    requested: Option<&str>,
) -> Result<Option<String>, PlanError> {
    let known = || {
        checklist
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match requested {
        Some(name) if checklist.environment(name).is_some() => Ok(Some(name.to_string())),
        Some(name) => Err(PlanError::UnknownEnvironment {
            name: name.to_string(),
            known: if checklist.environments.is_empty() {
                "no environments".into()
            } else {
                known()
            },
        }),
        None => match (
            &checklist.default_environment,
            checklist.environments.as_slice(),
        ) {
            (Some(default), _) => Ok(Some(default.clone())),
            (None, []) => Ok(None),
            (None, [only]) => Ok(Some(only.name.clone())),
            (None, _) => Err(PlanError::NoEnvironment { known: known() }),
        },
    }
}

impl<'c> Plan<'c> {
    /// The plan of `checklist` in `environment` for `scope`.
    pub fn new(
        checklist: &'c Checklist,
        environment: Option<String>,
        scope: &Scope,
    ) -> Result<Self, PlanError> {
        for (flag, ids) in [("--only", &scope.only), ("--skip", &scope.skip)] {
            for id in ids {
                if checklist.item(id).is_none() {
                    let hint = super::spec::did_you_mean(
                        id,
                        checklist.items.iter().map(|i| i.id.as_str()),
                    )
                    .map_or(String::new(), |c| format!(" (did you mean `{c}`?)"));
                    return Err(PlanError::UnknownItem {
                        flag,
                        id: id.clone(),
                        hint,
                    });
                }
            }
        }
        let entries = checklist
            .items
            .iter()
            .map(|item| {
                let chosen = (scope.only.is_empty() || scope.only.contains(&item.id))
                    && !scope.skip.contains(&item.id);
                Entry {
                    item,
                    resolved: item.resolve(environment.as_deref()),
                    in_scope: chosen && (!scope.automated_only || item.kind.automated),
                    settles_skip: chosen,
                }
            })
            .collect();
        let plan = Plan {
            checklist,
            environment,
            entries,
        };
        if !plan.entries.iter().any(|e| e.in_scope) {
            return Err(PlanError::NothingToRun);
        }
        Ok(plan)
    }

    /// The same plan with each item's writes judged against the run's values: an item
    /// given a credential makes none (see `kinds::writes_with`).
    pub fn with_values(mut self, values: &super::values::Values) -> Self {
        for entry in &mut self.entries {
            entry.resolved.writes =
                super::kinds::writes_with(entry.item.kind, &entry.resolved.config, values);
        }
        self
    }

    /// Whether the plan's environment is a production one.
    pub fn production(&self) -> bool {
        self.environment
            .as_deref()
            .and_then(|e| self.checklist.environment(e))
            .is_some_and(|e| e.production)
    }
}
