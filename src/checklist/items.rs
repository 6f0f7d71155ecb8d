//! Reads the `[[item]]` tables and the environments' overrides of them: each checked
//! against the common keys and its kind's, kept with the spans later messages point at.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::checker::Checker;
use super::format::{IDENTITY_KEYS, ITEM_KEYS, RUN_KEYS};
use super::kinds::{self, KindSpec};
use super::load::{as_table, get, get_str, get_strings, is_slug};
use super::spec::{did_you_mean, to_table, Key, Value};
use super::validate::Draft;
use super::{Item, COMMON_KEYS};

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
pub(super) fn read_items(
    ck: &mut Checker<'_>,
    value: &Value<'_>,
) -> (Vec<Draft>, BTreeSet<String>) {
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
                let line = super::SourceFile::new("", ck.source()).line_of(first);
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
    let kind = kinds::kind(name);
    if kind.is_none() {
        let names = kinds::KINDS.iter().map(|k| k.name);
        let hint = match did_you_mean(name, names.clone()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("kinds: {}", names.collect::<Vec<_>>().join(", ")),
        };
        ck.error(value.span(), format!("unknown kind `{name}`"), hint);
    }
    kind
}

pub(super) fn read_overrides(
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
