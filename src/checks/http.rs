//! `http`: a smoke request with assertions on status, headers, JSON, body and latency.

use super::KindSpec;
use crate::checklist::spec::{Key, Ty};

/// HTTP methods an item may use.
pub const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// JSON types for `type` assertions.
pub const JSON_TYPES: &[&str] = &["object", "array", "string", "number", "boolean", "null"];

/// Keys of one JSON assertion.
pub const JSON_KEYS: &[Key] = &[
    Key::required(
        "path",
        Ty::JsonPath,
        "what to look at; a `*` step means every member",
    ),
    Key::optional("equals", Ty::Any, "the value expected, compared as JSON"),
    Key::optional("exists", Ty::Bool, "whether the path must select something"),
    Key::optional("type", Ty::Choice(JSON_TYPES), "the JSON type expected"),
    Key::optional(
        "empty",
        Ty::Bool,
        "whether the value must be empty: {}, [], \"\" or null",
    ),
    Key::optional(
        "matches",
        Ty::Regex,
        "a regular expression a string value must match",
    ),
    Key::optional(
        "starts_with",
        Ty::Template,
        "a prefix a string value must have",
    ),
];

/// Keys of `expect`.
pub const EXPECT_KEYS: &[Key] = &[
    Key::optional(
        "status",
        Ty::Status,
        "the status, or statuses, accepted (default: any 2xx)",
    ),
    Key::optional(
        "headers",
        Ty::Map(&Ty::Template),
        "response headers and their exact values",
    ),
    Key::optional(
        "headers_present",
        Ty::List(&Ty::Text),
        "response headers that must be present",
    ),
    Key::optional(
        "header_any_of",
        Ty::List(&Ty::Text),
        "at least one of these response headers must be present",
    ),
    Key::optional(
        "echo_header",
        Ty::Text,
        "send a fresh value in this header and expect it echoed (or one of `header_any_of`)",
    ),
    Key::optional("json", Ty::Tables(JSON_KEYS), "assertions on the JSON body"),
    Key::optional(
        "body_matches",
        Ty::Regex,
        "a regular expression the body must match",
    ),
    Key::optional("body_contains", Ty::Template, "text the body must contain"),
    Key::optional(
        "max_latency",
        Ty::Duration,
        "the latency budget for the whole response",
    ),
];

/// The `http` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "http",
    about: "a smoke request and assertions on its response",
    keys: &[
        Key::optional(
            "method",
            Ty::Choice(METHODS),
            "the method (default \"GET\")",
        ),
        Key::required("url", Ty::Url, "the URL requested"),
        Key::optional(
            "headers",
            Ty::Map(&Ty::SecretTemplate),
            "request headers; secrets only go to the base URL's origin",
        ),
        Key::optional(
            "cookies",
            Ty::Map(&Ty::SecretTemplate),
            "cookies sent; secrets only go to the base URL's origin",
        ),
        Key::optional("body", Ty::SecretTemplate, "the request body"),
        Key::optional(
            "follow_redirects",
            Ty::Bool,
            "follow redirects (default false: a redirect is the response)",
        ),
        Key::optional(
            "connect_timeout",
            Ty::Duration,
            "connection timeout (default \"5s\")",
        ),
        Key::optional(
            "max_body_bytes",
            Ty::Int(1, 1 << 30),
            "bytes of body kept; the rest is drained unread (default 1 MiB)",
        ),
        Key::optional(
            "expect",
            Ty::Table(EXPECT_KEYS),
            "what the response must look like",
        ),
    ],
    automated: true,
    writes: super::never_writes,
    check: super::no_rules,
    run: super::not_implemented,
};
