//! The file's tables and the keys each may hold: the checklist header, inputs, connections,
//! environments and the keys every item has (kinds declare their own in `checks/`).

use super::spec::{Key, Secrets, Ty};

pub(super) const TOP_KEYS: &[Key] = &[
    Key::required(
        "checklist",
        Ty::Table(CHECKLIST_KEYS),
        "the checklist's id, title and version",
    ),
    Key::optional(
        "inputs",
        Ty::Map(&Ty::Any),
        "variables read from the environment or --env-file",
    ),
    // `[vars]` is checked by its reader, which first spots top-level keys written inside it.
    Key::optional("vars", Ty::Map(&Ty::Any), "checklist variables"),
    Key::optional("connections", Ty::Map(&Ty::Any), "database connections"),
    Key::optional("environments", Ty::Map(&Ty::Any), "environment profiles"),
    Key::required(
        "sections",
        Ty::List(&Ty::Text),
        "the section titles, in display order",
    ),
    Key::optional(
        "bake",
        Ty::Table(BAKE_KEYS),
        "the post-deploy bake: how long, how often, and when a round or a latency is a regression",
    ),
    Key::required("item", Ty::Any, "the items, one `[[item]]` table each"),
];

pub(super) const BAKE_KEYS: &[Key] = &[
    Key::optional(
        "for",
        Ty::Duration,
        "how long a bake lasts unless --for says (default \"15m\")",
    ),
    Key::optional(
        "every",
        Ty::Duration,
        "the time between rounds unless --every says (default \"30s\", at least 1s)",
    ),
    Key::optional(
        "fail_after",
        Ty::Int(1, 100),
        "failed rounds in a row that make an item a regression (default 2: one 502 during a rolling update is not one)",
    ),
    Key::optional(
        "latency_factor",
        Ty::Number,
        "a p95 above this many times the item's baseline is a regression (default 3)",
    ),
    Key::optional(
        "latency_margin",
        Ty::Duration,
        "… and above the baseline plus this (default \"250ms\": a cold start is not a regression)",
    ),
    Key::optional(
        "latency_samples",
        Ty::Int(3, 10000),
        "the samples a p95 is judged over at the least (default 10)",
    ),
    Key::optional(
        "baseline_rounds",
        Ty::Int(1, 100),
        "the first rounds whose median latency is an item's baseline (default 3)",
    ),
];

pub(super) const CHECKLIST_KEYS: &[Key] = &[
    Key::required("id", Ty::Text, "a short stable id such as \"authjs-neon\""),
    Key::required(
        "title",
        Ty::Text,
        "the title shown in the console and the report",
    ),
    Key::required(
        "version",
        Ty::Int(1, i32::MAX as i64),
        "the checklist's version number",
    ),
    Key::optional("description", Ty::Text, "what the checklist is for"),
    Key::optional(
        "default_environment",
        Ty::Environment,
        "the environment used without --env",
    ),
    Key::optional(
        "base_url",
        Ty::Inputs(Secrets::Refused),
        "inputs holding the base URL, first set wins",
    ),
];

pub(super) const INPUT_KEYS: &[Key] = &[
    Key::optional(
        "secret",
        Ty::Bool,
        "whether the value is a secret (default false)",
    ),
    Key::optional("description", Ty::Text, "what the variable holds"),
    Key::optional(
        "from",
        Ty::Choice(&["files", "files-or-environment"]),
        "where the value may come from: \"files\" only the env files (the runner's own environment is never read for it: a CI job's own settings are not the deployment's), or the env files and else the process environment, as CI injects secrets (default)",
    ),
    Key::optional(
        "values",
        Ty::List(&Ty::Text),
        "the values it may take; any other stops the run with exit 2 before anything runs, and a condition comparing it with another is a lint error (not for secrets)",
    ),
    Key::optional(
        "default",
        Ty::Text,
        "its value when it is unset or empty (one of `values` when it has them; not for secrets)",
    ),
    Key::optional(
        "aliases",
        Ty::Map(&Ty::Text),
        "older spellings and the value of `values` each stands for, e.g. `{ node = \"container\" }`",
    ),
];

pub(super) const CONNECTION_KEYS: &[Key] = &[
    Key::required(
        "from",
        Ty::Inputs(Secrets::Allowed),
        "inputs holding the connection URL, first set wins",
    ),
    Key::optional(
        "connect_timeout",
        Ty::Duration,
        "how long to wait for the server (default \"15s\")",
    ),
    Key::optional("description", Ty::Text, "what the connection is for"),
];

pub(super) const ENVIRONMENT_KEYS: &[Key] = &[
    Key::optional(
        "production",
        Ty::Bool,
        "writes need consent (default false); two people sign an item where it sets `signoffs = 2`, with keys where `require_signed_signoffs` is set",
    ),
    Key::optional("description", Ty::Text, "what the environment is"),
    Key::optional(
        "vars",
        Ty::Map(&Ty::Text),
        "variables that replace the checklist's",
    ),
    Key::optional(
        "overrides",
        Ty::Map(&Ty::Any),
        "item id → keys replaced in this environment",
    ),
    Key::optional(
        "require_signed_signoffs",
        Ty::Bool,
        "whether a sign-off here must carry an SSH signature by a key `allowed_signers` lists for the signer (default false)",
    ),
    Key::optional(
        "allowed_signers",
        Ty::Text,
        "an OpenSSH allowed_signers file, relative to the checklist file: who may sign sign-offs here, with which keys",
    ),
];

/// Keys every item has; the kind adds its own.
pub(super) const ITEM_KEYS: &[Key] = &[
    Key::required("id", Ty::Text, "a stable id such as \"health.live\""),
    Key::required("title", Ty::Text, "one line saying what the item verifies"),
    Key::required("section", Ty::Section, "one of the titles in `sections`"),
    Key::required("kind", Ty::Kind, "the check kind"),
    Key::required(
        "help",
        Ty::Text,
        "what the item verifies, why, and what to do when it fails",
    ),
    Key::optional("needs", Ty::Ids, "items that must pass first"),
    Key::optional(
        "when",
        Ty::When,
        "a condition on variables; false makes the item `skip`",
    ),
    Key::optional(
        "only_in",
        Ty::Environments,
        "the environments the item applies to",
    ),
    Key::optional(
        "required",
        Ty::Bool,
        "whether the item counts toward the verdict (default true)",
    ),
    Key::optional(
        "timeout",
        Ty::Duration,
        "the item's timeout (default: `relcon run --timeout`, 60 s)",
    ),
    Key::optional(
        "retries",
        Ty::Int(0, 10),
        "how many times a failure is retried (never for writes)",
    ),
    Key::optional(
        "retry_interval",
        Ty::Duration,
        "the pause between retries (default \"2s\")",
    ),
    Key::optional(
        "bake",
        Ty::Bool,
        "whether the post-deploy bake re-runs the item every round, without retries (default false; never an item that writes)",
    ),
    Key::optional(
        "bake_fail_after",
        Ty::Int(1, 100),
        "failed bake rounds in a row that are a regression of this item (default `[bake] fail_after`; 1 for an item whose change means someone deployed over the release)",
    ),
    Key::optional(
        "bake_latency_margin",
        Ty::Duration,
        "how far above its baseline this item's p95 may go before it is slower (default `[bake] latency_margin`; more for a serverless function's cold starts)",
    ),
];

/// The file's tables and their keys, for the format reference.
pub const FILE_TABLES: &[(&str, &[Key])] = &[
    ("[checklist]", CHECKLIST_KEYS),
    ("[inputs.NAME]", INPUT_KEYS),
    ("[connections.NAME]", CONNECTION_KEYS),
    ("[bake]", BAKE_KEYS),
    ("[environments.NAME]", ENVIRONMENT_KEYS),
    ("[[item]]", ITEM_KEYS),
];

/// Item keys that stay the same in every environment.
pub(super) const IDENTITY_KEYS: &[&str] = &["id", "title", "section", "kind", "help", "only_in"];

/// Item keys that mean nothing for items a person signs off.
pub(super) const RUN_KEYS: &[&str] = &[
    "timeout",
    "retries",
    "retry_interval",
    "bake",
    "bake_fail_after",
    "bake_latency_margin",
];
