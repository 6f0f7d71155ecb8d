//! `sql.role`: the connection's role is least-privileged.

use super::KindSpec;
use crate::checklist::spec::{Key, Ty};

/// The `sql.role` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "sql.role",
    about: "the role is not superuser, cannot create roles or databases, replicate or bypass RLS",
    keys: &[
        Key::required(
            "connection",
            Ty::Connection,
            "the connection whose role is judged",
        ),
        Key::optional(
            "forbidden_roles",
            Ty::List(&Ty::Text),
            "roles it must not be a member of, directly or inherited; a role the server does not have is skipped (default [\"neon_superuser\", \"pg_write_all_data\"])",
        ),
        Key::optional(
            "schemas",
            Ty::List(&Ty::Text),
            "schemas where CREATE is reported (default [\"public\"])",
        ),
        Key::optional(
            "on_ownership",
            Ty::Choice(super::OUTCOMES),
            "what owning tables makes of the item (default \"warn\")",
        ),
        Key::optional(
            "on_schema_create",
            Ty::Choice(super::OUTCOMES),
            "what CREATE on a schema makes of the item (default \"warn\")",
        ),
    ],
    automated: true,
    writes: super::never_writes,
    check: |config| super::empty_names(config, "schemas"),
};
