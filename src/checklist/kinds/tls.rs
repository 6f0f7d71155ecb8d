//! `tls`: the certificate chain, its expiry, HSTS and the plain-HTTP redirect.

use super::KindSpec;
use crate::checklist::spec::{Key, Ty};

/// The `tls` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "tls",
    about: "certificate chain and name, days to expiry, HSTS, HTTP → HTTPS redirect",
    keys: &[
        Key::required("url", Ty::Url, "the https URL whose host is checked"),
        Key::optional(
            "headers",
            Ty::Map(&Ty::SecretTemplate),
            "request headers (a platform's protection bypass, say); one that comes out empty is not sent; secrets only go to the base URL's origin",
        ),
        Key::optional(
            "warn_days",
            Ty::Int(0, 3650),
            "warn when the certificate expires in fewer days (default 30)",
        ),
        Key::optional(
            "fail_days",
            Ty::Int(0, 3650),
            "fail when the certificate expires in fewer days (default 7)",
        ),
        Key::optional(
            "hsts",
            Ty::Bool,
            "check Strict-Transport-Security; missing or short, it warns with the advice (default true)",
        ),
        Key::optional(
            "hsts_min_age",
            Ty::Duration,
            "the smallest HSTS max-age accepted (default \"180d\")",
        ),
        Key::optional(
            "http_redirect",
            Ty::Bool,
            "require plain HTTP to redirect to HTTPS (default true)",
        ),
        Key::optional(
            "http_url",
            Ty::Url,
            "the plain-HTTP URL probed (default: http:// on the same host, port 80)",
        ),
    ],
    automated: true,
    writes: super::never_writes,
    check,
};

/// The fail threshold comes before the warning one, and the probed URL is https.
fn check(config: &toml::Table) -> Vec<super::Problem> {
    let mut problems = Vec::new();
    let days = |key: &str, default: i64| {
        config
            .get(key)
            .and_then(toml::Value::as_integer)
            .unwrap_or(default)
    };
    let (warn, fail) = (days("warn_days", 30), days("fail_days", 7));
    if fail > warn && warn >= 0 && fail >= 0 {
        let key = if config.contains_key("fail_days") {
            "fail_days"
        } else {
            "warn_days"
        };
        problems.push(super::Problem::new(key, format!("`fail_days` ({fail}) is larger than `warn_days` ({warn})"), "a certificate should warn before it fails: make `warn_days` at least `fail_days` (defaults: 30 and 7)"));
    }
    if config
        .get("url")
        .and_then(toml::Value::as_str)
        .is_some_and(|url| url.starts_with("http://"))
    {
        problems.push(super::Problem::new("url", "`url` of a tls item is plain http", "the certificate is checked on https: write the https URL (the redirect from http is probed through `http_url`)"));
    }
    problems
}
