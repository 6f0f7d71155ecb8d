//! `manual`: an item a person does and signs off, with evidence fields and N signers.

use super::KindSpec;
use crate::checklist::spec::{Key, Ty};

/// The formats an evidence field's value may be required to have.
pub const EVIDENCE_FORMATS: &[&str] = &["text", "url", "digest", "restore-point", "release"];

/// Keys of one evidence field.
pub const EVIDENCE_KEYS: &[Key] = &[
    Key::required(
        "key",
        Ty::Text,
        "the field's name in the sign-off, e.g. \"snapshot_id\"",
    ),
    Key::required("label", Ty::Text, "what the signer is asked for"),
    Key::optional(
        "required",
        Ty::Bool,
        "whether the sign-off needs it (default true)",
    ),
    Key::optional(
        "format",
        Ty::Choice(EVIDENCE_FORMATS),
        "\"text\" (default), \"url\", \"digest\" (sha256:…), \"restore-point\" (a Neon branch id br-… or an RFC 3339 time) or \"release\" (an image digest sha256:…, a Vercel deployment id dpl_… or a Workers version id, a UUID)",
    ),
    Key::optional(
        "pattern",
        Ty::Regex,
        "a regular expression the value must match",
    ),
];

/// The `manual` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "manual",
    about: "a step a person performs and signs off with a name, a time, a note and evidence",
    keys: &[
        Key::optional(
            "instructions",
            Ty::Text,
            "the steps to perform, shown in the sign-off dialog",
        ),
        Key::optional(
            "signoffs",
            Ty::Int(1, 9),
            "how many distinct people must sign it done (default 1)",
        ),
        Key::optional(
            "evidence",
            Ty::Tables(EVIDENCE_KEYS),
            "fields the signer fills in",
        ),
    ],
    automated: false,
    writes: super::never_writes,
    check,
};

/// Evidence fields have distinct keys.
fn check(config: &toml::Table) -> Vec<super::Problem> {
    let mut seen = std::collections::HashSet::new();
    let fields = config
        .get("evidence")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten();
    fields
        .enumerate()
        .filter_map(|(index, field)| {
            field
                .get("key")
                .and_then(toml::Value::as_str)
                .map(|key| (index, key))
        })
        .filter(|(_, key)| !seen.insert(*key))
        .map(|(index, key)| {
            super::Problem::new(
                "evidence",
                format!("evidence key `{key}` is used twice"),
                "give each evidence field its own key",
            )
            .at(index)
        })
        .collect()
}
