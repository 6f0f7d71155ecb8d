//! `authjs.session`: a signed-in smoke request, with a given token or a short-lived session
//! made for the purpose and removed after.

use super::KindSpec;
use crate::checklist::spec::{Key, Secrets, Ty};

/// The `authjs.session` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "authjs.session",
    about: "a signed-in request to the session endpoint returns the user",
    keys: &[
        Key::required("url", Ty::OriginUrl, "the session endpoint, on the base URL's origin"),
        Key::optional(
            "token_from",
            Ty::Inputs(Secrets::Allowed),
            "inputs holding a session token, first set wins",
        ),
        Key::optional(
            "strategy",
            Ty::Choice(&["database", "jwt"]),
            "how to make a session when no token is given (default \"database\")",
        ),
        Key::optional(
            "connection",
            Ty::Connection,
            "the database for the \"database\" strategy",
        ),
        Key::optional(
            "secret_from",
            Ty::Inputs(Secrets::Allowed),
            "inputs holding the Auth.js secret for the \"jwt\" strategy, first set wins",
        ),
        Key::optional(
            "authjs_version",
            Ty::Choice(&["auto", "4", "5"]),
            "the Auth.js version, for cookie names and token format; \"auto\" tries v5 then v4 (default \"auto\")",
        ),
        Key::optional(
            "cookie_name",
            Ty::Text,
            "the session cookie's name, when the app renamed it",
        ),
        Key::optional(
            "lifetime",
            Ty::Duration,
            "how long a made session lives (default \"5m\")",
        ),
    ],
    automated: true,
    // Making a session writes a user and a session row (or mints a token).
    writes: |_| true,
    check,
};

/// A session is made with a database connection or with the secret, per the strategy.
fn check(config: &toml::Table) -> Vec<super::Problem> {
    let strategy = config
        .get("strategy")
        .and_then(toml::Value::as_str)
        .unwrap_or("database");
    match strategy {
        "database" if !config.contains_key("connection") && !config.contains_key("token_from") => {
            vec![super::Problem::new(
                "strategy",
                "the \"database\" strategy needs `connection` (or a token in `token_from`)",
                "add `connection = \"app\"` to make a short-lived session row",
            )]
        }
        "jwt" if !config.contains_key("secret_from") && !config.contains_key("token_from") => {
            vec![super::Problem::new(
                "strategy",
                "the \"jwt\" strategy needs `secret_from` (or a token in `token_from`)",
                "add `secret_from = [\"INPUT\"]`, the input holding the Auth.js secret, to mint a short-lived token",
            )]
        }
        _ => Vec::new(),
    }
}
