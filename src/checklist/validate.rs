//! Cross-references of a checklist, resolved once the whole file is read: inputs, variables,
//! items, environments, connections and sections named anywhere; where secrets may go; what
//! follows `${origin}` in a URL; `needs` that cannot be met and `needs` cycles, in every
//! environment; retries on writes; and each kind's own rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use super::spec::{did_you_mean, Secrets, Target, Ty, Use};
use super::template::{Part, Template};
use super::{Checklist, Diagnostic, Item, BUILTIN_VARS};

/// An item as read, with the spans of its keys for later messages.
pub(super) struct Draft {
    /// The item.
    pub item: Item,
    /// Key name (or `key#n` for the n-th element of an array) → span of the key and value.
    pub spans: HashMap<String, Range<usize>>,
    /// Environment → key name → span, for overrides.
    pub override_spans: BTreeMap<String, HashMap<String, Range<usize>>>,
}

impl Draft {
    /// The span of `key` as it applies in `env` (the override's when it sets the key), and
    /// whether it comes from that override.
    fn span_in(&self, key: &str, env: Option<&str>) -> (Range<usize>, bool) {
        if let Some(span) = env
            .and_then(|e| self.override_spans.get(e))
            .and_then(|spans| spans.get(key))
        {
            return (span.clone(), true);
        }
        let span = self
            .spans
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.item.span.clone());
        (span, false)
    }

    fn span_of(&self, key: &str, env: Option<&str>) -> Range<usize> {
        self.span_in(key, env).0
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

/// " in environment `production`" when the problem exists only through that override.
fn in_env(env: Option<&str>, from_override: bool) -> String {
    match env {
        Some(env) if from_override => format!(" in environment `{env}`"),
        _ => String::new(),
    }
}

struct Context<'c> {
    checklist: &'c Checklist,
    drafts: &'c [Draft],
    /// Item id → index in `drafts`.
    ids: HashMap<&'c str, usize>,
    /// Ids of items that were not built (an unknown kind): reported once, where they are.
    unbuilt: &'c BTreeSet<String>,
    /// Every name a template or condition may use.
    names: BTreeSet<&'c str>,
    /// Items that send a secret to their `url`.
    secret_senders: BTreeSet<usize>,
    problems: Vec<Diagnostic>,
}

/// Every cross-reference problem of `checklist`; `unbuilt` are the ids of items whose kind
/// is unknown (already reported).
pub(super) fn cross_check(
    checklist: &Checklist,
    drafts: &[Draft],
    uses: &[Use],
    unbuilt: &BTreeSet<String>,
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
    let is_secret = |name: &str| checklist.input(name).is_some_and(|i| i.secret);
    let secret_senders = uses
        .iter()
        .filter(|u| {
            matches!(
                u.target,
                Target::Var {
                    secrets: Secrets::Allowed,
                    ..
                } | Target::Input(Secrets::Allowed)
            ) && is_secret(&u.name)
        })
        .filter_map(|u| u.item)
        .filter(|&i| drafts[i].item.keys.contains_key("url"))
        .collect();
    let mut cx = Context {
        checklist,
        drafts,
        ids: drafts
            .iter()
            .enumerate()
            .map(|(i, d)| (d.item.id.as_str(), i))
            .collect(),
        unbuilt,
        names,
        secret_senders,
        problems: Vec::new(),
    };
    for used in uses {
        cx.resolve(used);
    }
    cx.secret_destinations();
    cx.needs();
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
                if !self.ids.contains_key(name) && !self.unbuilt.contains(name) {
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
                    let otherwise = format!(
                        "declare it as `[environments.{name}]`; known: {}",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    );
                    let hint = suggest(name, known.iter().copied(), otherwise);
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
                // With no sections at all, that one problem is the one to report.
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
                if !self.names.contains(name) {
                    let hint = suggest(
                        name,
                        self.names.iter().copied(),
                        format!("declare `{name}` as an input or a var"),
                    );
                    self.error(
                        span,
                        format!("unknown variable `{name}` in condition"),
                        hint,
                    );
                } else if let (Some(compared), Some(input)) = (compared, ck.input(name)) {
                    if input.secret {
                        self.error(span, format!("condition compares the secret input `{name}`"), "conditions may test secrets only with set() or unset(); judge values in an env item".into());
                    } else if !input.values.is_empty() && !input.values.contains(compared) {
                        let listed = input.values.join(", ");
                        let hint = match input.aliases.iter().find(|(alias, _)| alias == compared) {
                            Some((_, target)) => format!(
                                "`{compared}` is read as `{target}`: compare with '{target}'"
                            ),
                            None => format!("`{name}` takes one of {listed}"),
                        };
                        self.error(span, format!("`{name}` is never '{compared}'"), hint);
                    }
                }
            }
            Target::UrlPath => self.resolve_url_path(used),
        }
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
            if input.secret && secrets == Secrets::Refused {
                let hint = "secrets may only be interpolated into request headers, cookies and bodies sent to the base URL's origin; a command gets them as environment variables through `pass_secrets`";
                self.error(
                    span,
                    format!("secret input `{name}` cannot be interpolated here"),
                    hint.into(),
                );
            }
            return;
        }
        if has_default {
            return;
        }
        let defined_in: Vec<&str> = ck
            .environments
            .iter()
            .filter(|e| e.vars.iter().any(|(n, _)| n == name))
            .map(|e| e.name.as_str())
            .collect();
        if defined_in.is_empty() {
            let hint = suggest(name, self.names.iter().copied(), format!("declare it as an input (`[inputs.{name}]`), set it in [vars], or give it a default: `${{{name}:-value}}`"));
            self.error(span, format!("`${{{name}}}` is not defined"), hint);
            return;
        }
        // An override's variables are needed in its environment only; an item's in every
        // environment it runs in.
        let item = used.item.map(|i| &self.drafts[i].item);
        let missing = ck.environments.iter().find(|e| {
            let applies = match &used.environment {
                Some(env) => *env == e.name,
                None => item.is_none_or(|item| {
                    item.runs_in(&e.name)
                        && !item
                            .overrides
                            .get(&e.name)
                            .is_some_and(|o| o.contains_key(&used.key))
                }),
            };
            applies && !defined_in.contains(&e.name.as_str())
        });
        if let Some(env) = missing {
            let env = env.name.clone();
            self.error(span, format!("`${{{name}}}` is not defined in environment `{env}`"), format!("set it in [vars] for every environment, in [environments.{env}.vars], or write `${{{name}:-default}}`, or give the item `only_in` if it belongs to some environments only"));
        }
    }

    /// Every value a `[vars]` variable can take: the checklist's and the environments'.
    fn var_values(&self, name: &str) -> Vec<&str> {
        let ck = self.checklist;
        ck.vars
            .iter()
            .chain(ck.environments.iter().flat_map(|e| e.vars.iter()))
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A variable right after `${origin}` must hold a path, or the URL names another host.
    fn resolve_url_path(&mut self, used: &Use) {
        let name = used.name.as_str();
        let values = self.var_values(name);
        if let Some(bad) = values
            .iter()
            .find(|v| !v.is_empty() && !v.starts_with('/') && !v.starts_with('?'))
        {
            let message = format!("`${{{name}}}` follows `${{origin}}`, so it must start with `/`");
            self.error(used.span.clone(), message, format!("set it to a path such as \"/health\" (it is \"{bad}\"): anything else names another host"));
        } else if values.is_empty() && used.item.is_some_and(|i| self.secret_senders.contains(&i)) {
            let message = format!("the path after `${{origin}}` comes from `{name}`, which cannot be checked before the run, and the item sends a secret");
            self.error(
                used.span.clone(),
                message,
                "write the path literally, or take it from a [vars] variable that starts with `/`"
                    .into(),
            );
        }
    }

    /// Items that send a secret do so to the base URL's origin only, and never follow a
    /// redirect (which could carry a custom header elsewhere).
    fn secret_destinations(&mut self) {
        let on_origin = |url: &str| {
            Template::parse(url).ok().is_some_and(|t| {
                let lead = t.leading_var().is_some_and(|v| {
                    v.default.is_none() && (v.name == "origin" || v.name == "base_url")
                });
                let rest = match t.parts.get(1) {
                    Some(Part::Literal(text)) => text.starts_with('/') || text.starts_with('?'),
                    _ => true, // nothing, or a variable judged by `resolve_url_path`
                };
                lead && rest
            })
        };
        for &i in &self.secret_senders.clone() {
            let draft = &self.drafts[i];
            // A kind whose `url` must be on the origin has said so through the key's type.
            let url_checked = draft
                .item
                .kind
                .keys
                .iter()
                .any(|k| k.name == "url" && matches!(k.ty, Ty::OriginUrl));
            let id = draft.item.id.clone();
            for (env, keys) in std::iter::once((None, &draft.item.keys)).chain(
                draft
                    .item
                    .overrides
                    .iter()
                    .map(|(e, k)| (Some(e.as_str()), k)),
            ) {
                if !url_checked
                    && keys
                        .get("url")
                        .and_then(toml::Value::as_str)
                        .is_some_and(|url| !on_origin(url))
                {
                    let span = draft.span_of("url", env);
                    self.error(span, format!("item `{id}` sends a secret, so its `url` must be on the base URL's origin"), "start `url` with `${origin}/` (or `${base_url}/`) so secrets only go to the deployment".into());
                }
                if keys.get("follow_redirects").and_then(toml::Value::as_bool) == Some(true) {
                    let span = draft.span_of("follow_redirects", env);
                    self.error(span, format!("item `{id}` sends a secret, so it cannot follow redirects"), "a redirect could carry the secret to another host: remove `follow_redirects`".into());
                }
                if keys.get("redirects").and_then(toml::Value::as_str) == Some("any") {
                    let span = draft.span_of("redirects", env);
                    self.error(span, format!("item `{id}` sends a secret, so it cannot follow redirects off the origin"), "a redirect could carry the secret to another host: use `redirects = \"same-origin\"`".into());
                }
            }
        }
    }

    /// In every environment: `needs` on items that do not run there, and `needs` cycles
    /// (each reported once).
    fn needs(&mut self) {
        let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
        let mut reported: BTreeSet<(usize, usize)> = BTreeSet::new();
        for env in environments(self.checklist) {
            let mut graph: Vec<Vec<usize>> = Vec::with_capacity(self.drafts.len());
            for (i, draft) in self.drafts.iter().enumerate() {
                if env.is_some_and(|e| !draft.item.runs_in(e)) {
                    graph.push(Vec::new());
                    continue;
                }
                let mut edges = Vec::new();
                for need in draft.item.needs(env) {
                    let Some(&j) = self.ids.get(need) else {
                        continue;
                    };
                    if let Some(env) = env.filter(|e| !self.drafts[j].item.runs_in(e)) {
                        let (span, _) = draft.span_in("needs", Some(env));
                        if reported.insert((i, j)) {
                            let message = format!(
                                "`{}` needs `{need}`, which does not run in environment `{env}`",
                                draft.item.id
                            );
                            self.error(span, message, format!("it would always be blocked there: give `{}` the same `only_in`, or drop the need in an override for `{env}`", draft.item.id));
                        }
                        continue;
                    }
                    edges.push(j);
                }
                graph.push(edges);
            }
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
                let from_override = ordered
                    .iter()
                    .any(|&i| self.drafts[i].span_in("needs", env).1);
                let (span, _) = self.drafts[start].span_in("needs", env);
                let message = format!(
                    "`needs` cycle{}: {}",
                    in_env(env, from_override),
                    names.join(" → ")
                );
                self.error(
                    span,
                    message,
                    "an item cannot wait for itself: remove one of these `needs`".into(),
                );
            }
        }
    }

    /// Retries on writes, and each kind's own rules, on the base keys and on each
    /// environment's override.
    fn item_rules(&mut self) {
        let mut reported: BTreeSet<(usize, String)> = BTreeSet::new();
        for draft in self.drafts {
            let item = &draft.item;
            let variants =
                std::iter::once(None).chain(item.overrides.keys().map(|e| Some(e.as_str())));
            for env in variants {
                let keys = item.keys_in(env);
                let retries = keys.get("retries").and_then(toml::Value::as_integer);
                if (item.kind.writes)(&keys) && retries.is_some_and(|n| n > 0) {
                    let (span, from_override) = draft.span_in("retries", env);
                    let writes_here = env.is_some() && !(item.kind.writes)(&item.keys);
                    if reported.insert((span.start, "retries".into())) {
                        let hint = match env {
                            Some(env) if writes_here && !from_override => format!("writes are never retried: set `retries = 0` in the override for `{env}`"),
                            _ => "writes are never retried: remove `retries`".into(),
                        };
                        self.error(
                            span,
                            format!(
                                "item `{}` writes{}, so it cannot have `retries`",
                                item.id,
                                in_env(env, writes_here)
                            ),
                            hint,
                        );
                    }
                }
                // A signed-in smoke repeats, in a bake, the strategy that passed at go, and
                // is left out when that one wrote (a database session): it is the one kind
                // whose writes a bake can avoid.
                let bakes = keys.get("bake").and_then(toml::Value::as_bool) == Some(true);
                if bakes && (item.kind.writes)(&keys) && item.kind.name != "authjs.session" {
                    let (span, _) = draft.span_in("bake", env);
                    if reported.insert((span.start, "bake".into())) {
                        self.error(
                            span,
                            format!(
                                "item `{}` writes{}, so a bake cannot repeat it",
                                item.id,
                                in_env(env, env.is_some() && !(item.kind.writes)(&item.keys))
                            ),
                            "writes are never repeated after go: remove `bake`".into(),
                        );
                    }
                }
                for problem in (item.kind.check)(&keys) {
                    let key = match problem.index {
                        Some(n) => format!("{}#{n}", problem.key),
                        None => problem.key.to_string(),
                    };
                    let span = draft.span_of(&key, env);
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
