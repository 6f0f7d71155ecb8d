//! `cookies`: the `Set-Cookie` attributes of a response, by the Auth.js and RFC 6265bis rules.
//!
//! How it runs: one request, every Set-Cookie judged by the prefix rules of RFC 6265bis and the
//! attributes Auth.js gives its cookies.

use std::time::Duration;

use serde::Deserialize;

use super::net::describe_error;
use super::CheckResult;
use super::{CheckContext, RunFuture};
use crate::status::Status;

fn default_expected() -> Vec<String> {
    vec!["csrf-token".into()]
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct Config {
    url: String,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default = "default_expected")]
    expect_cookies: Vec<String>,
    authjs_version: Option<String>,
    same_site: Option<String>,
    #[serde(default = "default_true")]
    http_only: bool,
    path: Option<String>,
    #[serde(default = "default_true")]
    allow_domain: bool,
}

/// The names an Auth.js cookie of `role` may have: v5 `authjs.*`, v4 `next-auth.*`, with the
/// prefix the URL scheme calls for (`__Host-` for the csrf cookie, `__Secure-` for others).
pub fn authjs_names(role: &str, version: &str, https: bool) -> Vec<String> {
    let prefix = match (https, role) {
        (false, _) => "",
        (true, "csrf-token") => "__Host-",
        (true, _) => "__Secure-",
    };
    let bases: &[&str] = match version {
        "4" => &["next-auth"],
        "5" => &["authjs"],
        _ => &["authjs", "next-auth"],
    };
    bases
        .iter()
        .map(|base| format!("{prefix}{base}.{role}"))
        .collect()
}

/// Whether `name` is `wanted`, or one of its chunks (`wanted.0`, `wanted.1`…).
fn is_named(name: &str, wanted: &str) -> bool {
    name == wanted
        || name
            .strip_prefix(wanted)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

/// What an Auth.js cookie's attributes must be (the `cookies` kind's keys).
pub struct Rules<'a> {
    /// The expected SameSite.
    pub same_site: &'a str,
    /// The expected Path.
    pub path: &'a str,
    /// Whether HttpOnly is required.
    pub http_only: bool,
    /// Whether a Domain attribute is allowed.
    pub allow_domain: bool,
}

/// What is wrong with one cookie set over `https` (or plain http): the prefix rules of
/// RFC 6265bis for every cookie, and `rules` for Auth.js's own cookies only, so that a
/// platform cookie (a CDN's bot cookie, say) does not fail the item.
pub fn judge(cookie: &cookie::Cookie<'_>, https: bool, rules: &Rules<'_>) -> Vec<String> {
    let name = cookie.name();
    let secure = cookie.secure().unwrap_or(false);
    let http_only = cookie.http_only().unwrap_or(false);
    let site = cookie.same_site().map(|s| s.to_string());
    let (same_site, cookie_path) = (rules.same_site, rules.path);
    let mut findings = Vec::new();
    let mut fail = |message: String| findings.push(message);
    // Prefixes are matched case-insensitively, as browsers do.
    let lower = name.to_ascii_lowercase();
    let host_prefixed = lower.starts_with("__host-");
    if host_prefixed {
        if !secure {
            fail("__Host- cookies must be Secure".into());
        }
        if cookie.path() != Some("/") {
            fail(format!(
                "__Host- cookies must have Path=/, got {}",
                cookie.path().unwrap_or("none")
            ));
        }
        if let Some(domain) = cookie.domain() {
            fail(format!("__Host- cookies must not set Domain (got {domain}); the browser rejects the cookie"));
        }
    } else if lower.starts_with("__secure-") && !secure {
        fail("__Secure- cookies must be Secure".into());
    }
    if !https && (secure || host_prefixed || lower.starts_with("__secure-")) {
        fail("Secure or prefixed cookie over plain http: the browser drops it".into());
    }
    let base = lower
        .trim_start_matches("__host-")
        .trim_start_matches("__secure-");
    if base.starts_with("authjs.") || base.starts_with("next-auth.") {
        if https && !secure {
            fail("not Secure on https".into());
        }
        if rules.http_only && !http_only {
            fail("not HttpOnly".into());
        }
        if !site
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(same_site))
        {
            fail(format!(
                "SameSite={}, expected {same_site}",
                site.as_deref().unwrap_or("unset")
            ));
        }
        if cookie.path() != Some(cookie_path) && !host_prefixed {
            fail(format!(
                "Path={}, expected {cookie_path}",
                cookie.path().unwrap_or("unset")
            ));
        }
        if !rules.allow_domain && !host_prefixed {
            if let Some(domain) = cookie.domain() {
                fail(format!(
                    "sets Domain={domain}, which shares it with every subdomain"
                ));
            }
        }
    }
    findings
}

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        match ctx.config::<Config>() {
            Ok(config) => inspect(ctx, &config).await,
            Err(result) => result,
        }
    })
}

async fn inspect(ctx: &CheckContext<'_>, config: &Config) -> CheckResult {
    let url = match ctx.values.render(&config.url) {
        Ok(url) => url,
        Err(err) => return CheckResult::definitive_error(format!("cannot build the URL: {err}")),
    };
    let parsed = match url::Url::parse(&url) {
        Ok(parsed) => parsed,
        Err(err) => return CheckResult::definitive_error(format!("bad URL {url}: {err}")),
    };
    let https = parsed.scheme() == "https";
    let client = match ctx.net.client_for(
        &parsed,
        crate::checks::net::Redirects::None,
        Duration::from_secs(5),
    ) {
        Ok(client) => client,
        Err(err) => {
            return CheckResult::definitive_error(format!("cannot build the HTTP client: {err}"))
        }
    };
    let headers = match ctx.headers(&config.headers) {
        Ok(headers) => headers,
        Err(result) => return result,
    };
    let path = parsed[url::Position::BeforePath..].to_string();
    let budget = ctx.remaining();
    let request = client.get(parsed.clone()).headers(headers).send();
    let response = match tokio::time::timeout(budget, request).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => {
            return CheckResult::new(
                Status::Fail,
                format!("GET {path} → {}", describe_error(&err)),
            )
        }
        Err(_) => {
            return CheckResult::new(Status::Fail, format!("GET {path} → no response in time"))
        }
    };
    let rules = Rules {
        same_site: config.same_site.as_deref().unwrap_or("Lax"),
        path: config.path.as_deref().unwrap_or("/"),
        http_only: config.http_only,
        allow_domain: config.allow_domain,
    };
    let version = config.authjs_version.as_deref().unwrap_or("auto");
    let mut findings: Vec<(Status, String)> = Vec::new();
    let mut seen = Vec::new();
    for header in response.headers().get_all("set-cookie") {
        let text = String::from_utf8_lossy(header.as_bytes()).into_owned();
        let cookie = match cookie::Cookie::parse(text.clone()) {
            Ok(cookie) => cookie,
            Err(err) => {
                findings.push((
                    Status::Fail,
                    format!("a Set-Cookie header does not parse: {err}"),
                ));
                continue;
            }
        };
        let name = cookie.name().to_string();
        // A cookie's value is a credential: nothing shows it from here on.
        ctx.redactor.add_secret(cookie.value());
        let secure = cookie.secure().unwrap_or(false);
        let http_only = cookie.http_only().unwrap_or(false);
        let site = cookie.same_site().map(|s| s.to_string());
        for message in judge(&cookie, https, &rules) {
            findings.push((Status::Fail, format!("{name}: {message}")));
        }
        seen.push(serde_json::json!({
            "name": name,
            "value": ctx.redactor.mask(cookie.value()),
            "secure": secure,
            "http_only": http_only,
            "same_site": site,
            "path": cookie.path(),
            "domain": cookie.domain(),
        }));
    }
    let names: Vec<String> = seen
        .iter()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect();
    for role in &config.expect_cookies {
        let wanted = authjs_names(role, version, https);
        if names.iter().any(|n| wanted.iter().any(|w| is_named(n, w))) {
            continue;
        }
        // Present under the name another scheme would use: the prefix is wrong.
        let other = authjs_names(role, version, !https);
        match names.iter().find(|n| other.iter().any(|w| is_named(n, w))) {
            Some(found) if https => findings.push((
                Status::Fail,
                format!(
                    "{found}: on https the {role} cookie must be {}",
                    wanted.join(" or ")
                ),
            )),
            Some(_) => {}
            None => findings.push((
                Status::Fail,
                format!("no {role} cookie (expected {})", wanted.join(" or ")),
            )),
        }
    }
    if !https && !seen.is_empty() {
        findings.push((
            Status::Warn,
            "plain http: cookies cannot be Secure here; production must be https".into(),
        ));
    }
    let evidence = serde_json::json!({ "url": ctx.redactor.scrub(&url), "status": response.status().as_u16(), "cookies": seen, "findings": findings.iter().map(|(s, m)| serde_json::json!({"status": s.name(), "message": m})).collect::<Vec<_>>() });
    let fails: Vec<&String> = findings
        .iter()
        .filter(|(s, _)| *s == Status::Fail)
        .map(|(_, m)| m)
        .collect();
    let warns: Vec<&String> = findings
        .iter()
        .filter(|(s, _)| *s == Status::Warn)
        .map(|(_, m)| m)
        .collect();
    let result = match (fails.as_slice(), warns.as_slice()) {
        ([], []) => CheckResult::new(
            Status::Pass,
            format!(
                "{} cookie{}: {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
        ),
        ([], [first, ..]) => CheckResult::new(Status::Warn, (*first).clone()),
        ([only], _) => CheckResult::new(Status::Fail, (*only).clone()),
        ([first, rest @ ..], _) => {
            CheckResult::new(Status::Fail, format!("{first} (and {} more)", rest.len()))
        }
    };
    result.with_evidence(evidence)
}
