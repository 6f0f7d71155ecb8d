//! Cross-references of a checklist, resolved once the whole file is read: inputs, variables,
//! items, environments, connections and sections named anywhere; where secrets may go; `needs`
//! cycles; retries on writes; and each kind's own rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use super::spec::{did_you_mean, Secrets, Target, Use};
use super::template::Template;
use super::{Checklist, Diagnostic, Item, BUILTIN_VARS};

/// An item as read, with the spans of its keys for later messages.
pub(super) struct Draft {
    /// The item.
    pub item: Item,
    /// Key name → span of `key = value`.
    pub spans: HashMap<String, Range<usize>>,
    /// Environment → key name → span, for overrides.
    pub override_spans: BTreeMap<String, HashMap<String, Range<usize>>>,
}

impl Draft {
    /// The span of `key` as it applies in `env`: the override's when it sets the key.
    fn span_of(&self, key: &str, env: Option<&str>) -> Range<usize> {
        env.and_then(|e| self.override_spans.get(e))
            .and_then(|spans| spans.get(key))
            .or_else(|| self.spans.get(key))
            .cloned()
            .unwrap_or_else(|| self.item.span.clone())
    }
}

fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: String,
) -> String {
    match did_you_mean(name, candidates) {
        Some(close) => format!("did you mean `{close}`?"),
        None => otherwise,
    }
}

struct Context<'c> {
    checklist: &'c Checklist,
    drafts: &'c [Draft],
    /// Item id → index in `drafts`.
    ids: HashMap<&'c str, usize>,
    /// Every name a template or condition may use.
    names: BTreeSet<&'c str>,
    problems: Vec<Diagnostic>,
}

/// Every cross-reference problem of `checklist`.
pub(super) fn cross_check(
    checklist: &Checklist,
    drafts: &[Draft],
    uses: &[Use],
) -> Vec<Diagnostic> {
    let mut names: BTreeSet<&str> = BUILTIN_VARS.iter().copied().collect();
    names.extend(checklist.inputs.iter().map(|i| i.name.as_str()));
    names.extend(checklist.vars.iter().map(|(n, _)| n.as_str()));
    names.extend(
        checklist
            .environments
            .iter()
            .flat_map(|e| e.vars.iter().map(|(n, _)| n.as_str())),
    );
    let mut cx = Context {
        checklist,
        drafts,
        ids: drafts
            .iter()
            .enumerate()
            .map(|(i, d)| (d.item.id.as_str(), i))
            .collect(),
        names,
        problems: Vec::new(),
    };
    for used in uses {
        cx.resolve(used);
    }
    cx.cycles();
    cx.item_rules();
    cx.problems
}

impl Context<'_> {
    fn error(&mut self, span: Range<usize>, message: String, hint: String) {
        self.problems.push(Diagnostic::new(span, message, hint));
    }

    fn resolve(&mut self, used: &Use) {
        let ck = self.checklist;
        let name = used.name.as_str();
        let span = used.span.clone();
        match &used.target {
            Target::Item => {
                if !self.ids.contains_key(name) {
                    let hint = suggest(
                        name,
                        self.drafts.iter().map(|d| d.item.id.as_str()),
                        "`needs` lists ids of items in this checklist".into(),
                    );
                    self.error(span, format!("`needs` names unknown item `{name}`"), hint);
                }
            }
            Target::Environment => {
                if ck.environment(name).is_none() {
                    let known: Vec<&str> =
                        ck.environments.iter().map(|e| e.name.as_str()).collect();
                    let hint = suggest(
                        name,
                        known.iter().copied(),
                        format!(
                            "declare it as `[environments.{name}]`; known: {}",
                            if known.is_empty() {
                                "none".into()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                    self.error(span, format!("unknown environment `{name}`"), hint);
                }
            }
            Target::Connection => {
                if ck.connections.iter().all(|c| c.name != name) {
                    let hint = suggest(
                        name,
                        ck.connections.iter().map(|c| c.name.as_str()),
                        format!("declare it as `[connections.{name}]` with `from = [\"INPUT\"]`"),
                    );
                    self.error(span, format!("unknown connection `{name}`"), hint);
                }
            }
            Target::Section => {
                // With no `sections` at all, that one missing key is the error to report.
                if !ck.sections.is_empty() && !ck.sections.iter().any(|s| s == name) {
                    let hint = suggest(
                        name,
                        ck.sections.iter().map(String::as_str),
                        format!("add \"{name}\" to `sections`"),
                    );
                    self.error(span, format!("unknown section `{name}`"), hint);
                }
            }
            Target::Input(secrets) => match ck.input(name) {
                None => {
                    let hint = suggest(
                        name,
                        ck.inputs.iter().map(|i| i.name.as_str()),
                        format!(
                            "declare it: `[inputs.{name}]` (with `secret = true` if it is one)"
                        ),
                    );
                    self.error(span, format!("undeclared input `{name}`"), hint);
                }
                Some(input) if input.secret && *secrets == Secrets::Refused => {
                    self.error(span, format!("secret input `{name}` cannot be used here"), "secrets may only be judged by env items, used in connections, sent to the base URL's origin, or passed to commands through `pass_secrets`".into());
                }
                Some(_) => {}
            },
            Target::Var {
                has_default,
                secrets,
            } => self.resolve_var(used, *has_default, *secrets),
            Target::WhenVar { compared } => {
                if !self.is_known(name) {
                    let hint = suggest(
                        name,
                        self.all_names(),
                        format!("declare `{name}` as an input or a var"),
                    );
                    self.error(
                        span,
                        format!("unknown variable `{name}` in condition"),
                        hint,
                    );
                } else if *compared && ck.input(name).is_some_and(|i| i.secret) {
                    self.error(span, format!("condition compares the secret input `{name}`"), "conditions may test secrets only with set() or unset(); judge values in an env item".into());
                }
            }
        }
    }

    fn all_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.names.iter().copied()
    }

    fn is_known(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    fn resolve_var(&mut self, used: &Use, has_default: bool, secrets: Secrets) {
        let ck = self.checklist;
        let name = used.name.as_str();
        let span = used.span.clone();
        if ["base_url", "origin", "host"].contains(&name) {
            if ck.base_url.is_empty() {
                self.error(
                    span,
                    format!("`${{{name}}}` needs a base URL"),
                    "add `base_url = [\"APP_URL\"]` (inputs, first set wins) to [checklist]".into(),
                );
            }
            return;
        }
        if name == "environment" || ck.vars.iter().any(|(n, _)| n == name) {
            return;
        }
        if let Some(input) = ck.input(name) {
            if input.secret {
                self.secret_in_template(used, secrets);
            }
            return;
        }
        let defined_in: Vec<&str> = ck
            .environments
            .iter()
            .filter(|e| e.vars.iter().any(|(n, _)| n == name))
            .map(|e| e.name.as_str())
            .collect();
        if has_default {
            return;
        }
        if defined_in.is_empty() {
            let hint = suggest(name, self.all_names(), format!("declare it as an input (`[inputs.{name}]`), set it in [vars], or give it a default: `${{{name}:-value}}`"));
            self.error(span, format!("`${{{name}}}` is not defined"), hint);
            return;
        }
        let item = used.item.map(|i| &self.drafts[i].item);
        let missing = ck.environments.iter().find(|e| {
            item.is_none_or(|item| item.runs_in(&e.name)) && !defined_in.contains(&e.name.as_str())
        });
        if let Some(env) = missing {
            let env = env.name.clone();
            self.error(span, format!("`${{{name}}}` is not defined in environment `{env}`"), format!("set it in [vars] for every environment, in [environments.{env}.vars], or write `${{{name}:-default}}`"));
        }
    }

    fn secret_in_template(&mut self, used: &Use, secrets: Secrets) {
        let name = &used.name;
        if secrets == Secrets::Refused {
            self.error(used.span.clone(), format!("secret input `{name}` cannot be interpolated here"), "secrets may only be interpolated into request headers, cookies and bodies sent to the base URL's origin".into());
            return;
        }
        let Some(draft) = used.item.map(|i| &self.drafts[i]) else {
            return;
        };
        let urls = std::iter::once(&draft.item.keys)
            .chain(draft.item.overrides.values())
            .filter_map(|keys| keys.get("url").and_then(toml::Value::as_str));
        let on_origin = |url: &str| {
            Template::parse(url).ok().is_some_and(|t| {
                t.leading_var().is_some_and(|v| {
                    v.default.is_none() && (v.name == "origin" || v.name == "base_url")
                })
            })
        };
        if !urls.clone().all(on_origin) {
            let id = draft.item.id.clone();
            self.error(used.span.clone(), format!("secret input `{name}` would be sent outside the base URL's origin by item `{id}`"), "start the item's `url` with `${origin}` (or `${base_url}`) so secrets only go to the deployment".into());
        }
    }

    /// Reports each `needs` cycle once, in every environment's graph.
    fn cycles(&mut self) {
        let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
        for env in environments(self.checklist) {
            let graph: Vec<Vec<usize>> = self
                .drafts
                .iter()
                .map(|d| {
                    if env.is_some_and(|e| !d.item.runs_in(e)) {
                        return Vec::new();
                    }
                    d.item
                        .needs(env)
                        .filter_map(|id| self.ids.get(id).copied())
                        .collect()
                })
                .collect();
            for cycle in find_cycles(&graph) {
                let mut canonical = cycle.clone();
                canonical.sort_unstable();
                if !seen.insert(canonical) {
                    continue;
                }
                let start = *cycle.iter().min().unwrap_or(&0);
                let at = cycle.iter().position(|&i| i == start).unwrap_or(0);
                let ordered: Vec<usize> = cycle[at..].iter().chain(&cycle[..at]).copied().collect();
                let names: Vec<&str> = ordered
                    .iter()
                    .chain(ordered.first())
                    .map(|&i| self.drafts[i].item.id.as_str())
                    .collect();
                let span = self.drafts[start].span_of("needs", env);
                let message = format!("`needs` cycle: {}", names.join(" → "));
                self.error(
                    span,
                    message,
                    "an item cannot wait for itself: remove one of these `needs`".into(),
                );
            }
        }
    }

    /// Retries on writes, and each kind's own rules, in every environment.
    fn item_rules(&mut self) {
        let mut reported: BTreeSet<(usize, String)> = BTreeSet::new();
        for draft in self.drafts {
            let item = &draft.item;
            // The base keys, then each environment whose override changes them.
            let mut variants: Vec<(Option<&str>, std::borrow::Cow<'_, toml::Table>)> =
                vec![(None, std::borrow::Cow::Borrowed(&item.keys))];
            for (env, over) in &item.overrides {
                let mut merged = item.keys.clone();
                merged.extend(over.clone());
                variants.push((Some(env.as_str()), std::borrow::Cow::Owned(merged)));
            }
            for (env, keys) in variants {
                let retries = keys.get("retries").and_then(toml::Value::as_integer);
                if (item.kind.writes)(&keys) && retries.is_some_and(|n| n > 0) {
                    let span = draft.span_of("retries", env);
                    if reported.insert((span.start, "retries".into())) {
                        self.error(
                            span,
                            format!("item `{}` writes, so it cannot have `retries`", item.id),
                            "writes are never retried: remove `retries`".into(),
                        );
                    }
                }
                for problem in (item.kind.check)(&keys) {
                    let span = draft.span_of(problem.key, env);
                    if reported.insert((span.start, problem.message.clone())) {
                        self.error(span, problem.message, problem.hint);
                    }
                }
            }
        }
    }
}

/// The environments to check in: each declared one, or none at all.
fn environments(checklist: &Checklist) -> Vec<Option<&str>> {
    if checklist.environments.is_empty() {
        vec![None]
    } else {
        checklist
            .environments
            .iter()
            .map(|e| Some(e.name.as_str()))
            .collect()
    }
}

/// Cycles found by depth-first search (each back edge gives one), as lists of node indices.
/// Iterative, so a long chain of `needs` cannot exhaust the stack.
fn find_cycles(graph: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; graph.len()];
    let mut out = Vec::new();
    for root in 0..graph.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // The path from the root, each node with the index of its next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::Open;
        while let Some(&mut (node, ref mut edge)) = path.last_mut() {
            let Some(&next) = graph[node].get(*edge) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            *edge += 1;
            match marks[next] {
                Mark::New => {
                    marks[next] = Mark::Open;
                    path.push((next, 0));
                }
                Mark::Open => {
                    let from = path.iter().position(|&(n, _)| n == next).unwrap_or(0);
                    out.push(path[from..].iter().map(|&(n, _)| n).collect());
                }
                Mark::Done => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::find_cycles;

    #[test]
    fn finds_each_cycle_once_and_survives_long_chains() {
        assert_eq!(
            find_cycles(&[vec![1], vec![2], vec![0]]),
            vec![vec![0, 1, 2]]
        );
        assert_eq!(find_cycles(&[vec![0]]), vec![vec![0]]);
        assert!(find_cycles(&[vec![1], vec![], vec![1]]).is_empty());
        let chain: Vec<Vec<usize>> = (0..200_000)
            .map(|i| {
                if i + 1 < 200_000 {
                    vec![i + 1]
                } else {
                    vec![0]
                }
            })
            .collect();
        assert_eq!(find_cycles(&chain).len(), 1);
    }
}
