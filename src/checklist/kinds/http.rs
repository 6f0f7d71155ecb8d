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
        "the status, or statuses, accepted; \"any\" accepts every status (default: any 2xx)",
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
            "redirects",
            Ty::Choice(&["none", "same-origin", "any"]),
            "which redirects are followed: \"same-origin\" follows those on the URL's origin and fails on one off it, naming its Location (overrides follow_redirects)",
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
    writes,
    check,
};

/// A request that is not GET, HEAD or OPTIONS may change the target: it is a write (never
/// retried; consent in production).
fn writes(config: &toml::Table) -> bool {
    let method = config
        .get("method")
        .and_then(toml::Value::as_str)
        .unwrap_or("GET");
    !["GET", "HEAD", "OPTIONS"].contains(&method)
}

/// Header names are HTTP tokens, values hold no line breaks, and every JSON assertion
/// asserts something.
fn check(config: &toml::Table) -> Vec<super::Problem> {
    use super::Problem;
    let mut problems = Vec::new();
    let is_token = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    for key in ["headers", "cookies"] {
        for (name, value) in config
            .get(key)
            .and_then(toml::Value::as_table)
            .into_iter()
            .flatten()
        {
            let valid = if key == "cookies" {
                !name.is_empty() && !name.contains([';', '=', ' ', ','])
            } else {
                is_token(name)
            };
            if !valid {
                problems.push(Problem::new(
                    key,
                    format!("`{name}` is not a valid {} name", &key[..key.len() - 1]),
                    "names are letters, digits and `-` (no spaces, `;`, `=` or `:`)",
                ));
            }
            if value.as_str().is_some_and(|v| v.contains(['\r', '\n'])) {
                problems.push(Problem::new(
                    key,
                    format!("the value of `{name}` holds a line break"),
                    "a header value is one line",
                ));
            }
        }
    }
    let expect = config.get("expect").and_then(toml::Value::as_table);
    if let Some(name) = expect
        .and_then(|e| e.get("echo_header"))
        .and_then(toml::Value::as_str)
        .filter(|n| !is_token(n))
    {
        problems.push(Problem::new(
            "expect",
            format!("`echo_header` \"{name}\" is not a valid header name"),
            "write a header name such as \"X-Request-Id\"",
        ));
    }
    let json = expect
        .and_then(|e| e.get("json"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten();
    for (index, entry) in json.filter_map(toml::Value::as_table).enumerate() {
        if entry.len() < 2 {
            problems.push(Problem::new(
                "expect",
                format!(
                    "JSON assertion {} asserts nothing about its path",
                    index + 1
                ),
                "add `equals`, `exists`, `type`, `empty`, `matches` or `starts_with`",
            ));
        }
    }
    problems
}
