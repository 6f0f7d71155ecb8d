//! `authjs.session`: a signed-in smoke request, with a given token, a token minted with the
//! configured secret, or a short-lived probe session row removed after.

use super::KindSpec;
use crate::checklist::spec::{Key, Secrets, Ty};

/// The `authjs.session` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "authjs.session",
    about: "a signed-in request to the session endpoint returns the user",
    keys: &[
        Key::required("url", Ty::OriginUrl, "the session endpoint, on the base URL's origin"),
        Key::optional(
            "headers",
            Ty::Map(&Ty::SecretTemplate),
            "request headers (a platform's protection bypass, say); one that comes out empty is not sent",
        ),
        Key::optional(
            "token_from",
            Ty::Inputs(Secrets::Allowed),
            "inputs holding a session token, first set wins; a given token is always used first",
        ),
        Key::optional(
            "strategy",
            Ty::Choice(&["auto", "token", "jwt", "database"]),
            "how to get a session: \"token\" the given one only, \"jwt\" mint one with the secret, \"database\" a probe session row; \"auto\" the given token, else jwt, else database (default \"auto\")",
        ),
        Key::optional(
            "connection",
            Ty::Connection,
            "the database holding the Auth.js adapter's tables, for the \"database\" way",
        ),
        Key::optional(
            "schema",
            Ty::Text,
            "the schema holding the adapter's `users` and `sessions` tables (default \"public\")",
        ),
        Key::optional(
            "users_table",
            Ty::Text,
            "the adapter's users table (default \"users\"; Prisma: \"User\", Drizzle: \"user\")",
        ),
        Key::optional(
            "sessions_table",
            Ty::Text,
            "the adapter's sessions table (default \"sessions\"; Prisma: \"Session\", Drizzle: \"session\")",
        ),
        Key::optional(
            "secret_from",
            Ty::Inputs(Secrets::Allowed),
            "inputs holding the Auth.js secrets the deployment is configured with, rotation secrets first; one token is minted per distinct value",
        ),
        Key::optional(
            "authjs_version",
            Ty::Choice(&["auto", "4", "5"]),
            "the Auth.js version, for cookie names and token format; \"auto\" asks the deployment (default \"auto\")",
        ),
        Key::optional(
            "cookie_name",
            Ty::Text,
            "the session cookie's name, when the app renamed it (also the v5 key's salt)",
        ),
        Key::optional(
            "same_site",
            Ty::Choice(&["Lax", "Strict", "None"]),
            "the SameSite the re-issued session cookie must have (default \"Lax\", as Auth.js sets it)",
        ),
        Key::optional(
            "lifetime",
            Ty::Duration,
            "how long a made session lives (default \"5m\")",
        ),
    ],
    automated: true,
    // Minting a token or inserting a probe row makes a credential for the deployment; a
    // given token makes none (see `super::writes_with`).
    writes: |config| strategy(config) != "token",
    check,
};

/// The item's strategy, `auto` when unset.
fn strategy(config: &toml::Table) -> &str {
    config
        .get("strategy")
        .and_then(toml::Value::as_str)
        .unwrap_or("auto")
}

/// Each pinned strategy needs what it makes a session from (or a given token).
fn check(config: &toml::Table) -> Vec<super::Problem> {
    let has = |key: &str| config.contains_key(key);
    let problem = |message: &str, hint: &str| vec![super::Problem::new("strategy", message, hint)];
    let mut problems = match strategy(config) {
        "token" if !has("token_from") => problem(
            "the \"token\" strategy needs `token_from`",
            "add `token_from = [\"INPUT\"]`, the input holding a test user's session token",
        ),
        "database" if !has("connection") => problem(
            "the \"database\" strategy needs `connection`",
            "add `connection = \"app\"` to make a short-lived probe session row",
        ),
        "jwt" if !has("secret_from") => problem(
            "the \"jwt\" strategy needs `secret_from`",
            "add `secret_from = [\"INPUT\"]`, the inputs holding the Auth.js secret, to mint a short-lived token",
        ),
        "auto" if !has("connection") && !has("secret_from") && !has("token_from") => problem(
            "nothing to get a session from: no `token_from`, `secret_from` or `connection`",
            "add `secret_from` (JWT sessions), `connection` (database sessions) or `token_from` (a given token)",
        ),
        _ => Vec::new(),
    };
    for key in ["schema", "users_table", "sessions_table"] {
        problems.extend(super::empty_names(config, key));
    }
    problems
}
