//! `cookies`: the `Set-Cookie` attributes of a response, by the Auth.js and RFC 6265bis rules.

use super::KindSpec;
use crate::checklist::spec::{Key, Ty};

/// Auth.js cookies, by their role (the name depends on the version and on the URL scheme).
pub const AUTHJS_COOKIES: &[&str] = &["session-token", "callback-url", "csrf-token"];

/// The `cookies` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "cookies",
    about: "cookie names, prefixes and attributes (Secure, HttpOnly, SameSite, Path, Domain)",
    keys: &[
        Key::required("url", Ty::Url, "the URL whose response sets the cookies"),
        Key::optional(
            "headers",
            Ty::Map(&Ty::SecretTemplate),
            "request headers (a platform's protection bypass, say); one that comes out empty is not sent; secrets only go to the base URL's origin",
        ),
        Key::optional(
            "expect_cookies",
            Ty::List(&Ty::Choice(AUTHJS_COOKIES)),
            "Auth.js cookies that must be set (default [\"csrf-token\"])",
        ),
        Key::optional(
            "authjs_version",
            Ty::Choice(&["auto", "4", "5"]),
            "cookie names of Auth.js v4 (next-auth.*), v5 (authjs.*) or either (default \"auto\")",
        ),
        Key::optional(
            "same_site",
            Ty::Choice(&["Lax", "Strict", "None"]),
            "the SameSite value expected (default \"Lax\")",
        ),
        Key::optional(
            "http_only",
            Ty::Bool,
            "whether cookies must be HttpOnly (default true)",
        ),
        Key::optional("path", Ty::Text, "the Path expected (default \"/\")"),
        Key::optional(
            "allow_domain",
            Ty::Bool,
            "whether cookies other than __Host- ones may set Domain (default true)",
        ),
    ],
    automated: true,
    writes: super::never_writes,
    check: super::no_rules,
};
