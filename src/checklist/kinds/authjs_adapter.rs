//! `authjs.adapter`: the Auth.js adapter's database round trips, rolled back.

use super::KindSpec;
use crate::checklist::spec::{Key, Ty};

/// The `authjs.adapter` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "authjs.adapter",
    about: "the Auth.js Postgres adapter's round trips pass with the app's role and leave no rows",
    keys: &[
        Key::required("connection", Ty::Connection, "the app's connection"),
        Key::optional(
            "schema",
            Ty::Text,
            "the schema holding the Auth.js tables (default \"public\")",
        ),
    ],
    automated: true,
    writes: super::never_writes,
    check: |config| super::empty_names(config, "schema"),
};
