//! `http`: a smoke request with assertions on status, headers, JSON, body and latency.
//!
//! How it runs: one request, every assertion judged, failures read as expected vs actual.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::net::{describe_error, read_body, Redirects};
use super::CheckResult;
use super::{CheckContext, RunFuture};
use crate::jsonpath::JsonPath;
use crate::status::Status;

/// The default cap of a kept body.
pub const DEFAULT_MAX_BODY: u64 = 1 << 20;

/// How much of the body the evidence shows.
const EXCERPT: usize = 2048;

#[derive(Debug, Deserialize)]
struct Config {
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    cookies: BTreeMap<String, String>,
    body: Option<String>,
    #[serde(default)]
    follow_redirects: bool,
    redirects: Option<String>,
    connect_timeout: Option<String>,
    max_body_bytes: Option<u64>,
    #[serde(default)]
    expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
struct Expect {
    status: Option<Statuses>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    headers_present: Vec<String>,
    #[serde(default)]
    header_any_of: Vec<String>,
    echo_header: Option<String>,
    #[serde(default)]
    json: Vec<JsonAssertion>,
    body_matches: Option<String>,
    body_contains: Option<String>,
    max_latency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Statuses {
    One(u16),
    Many(Vec<u16>),
    /// `"any"`.
    Any(String),
}

#[derive(Debug, Deserialize)]
struct JsonAssertion {
    path: String,
    equals: Option<toml::Value>,
    exists: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<String>,
    empty: Option<bool>,
    matches: Option<String>,
    starts_with: Option<String>,
}

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        match ctx.config::<Config>() {
            Ok(config) => request(ctx, &config).await,
            Err(result) => result,
        }
    })
}

/// A header's value as evidence shows it: credentials masked.
/// Credentials seen are also handed to the redactor, so no other text shows them either.
fn shown_header(ctx: &CheckContext<'_>, name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "authorization" || lower == "cookie" || lower == "proxy-authorization" {
        // Whole: its scheme and cookie names are no secret; its credential and each
        // cookie's value are added below, in parts too.
        ctx.redactor.add_secret_whole(value);
        if let Some((_, credential)) = value.split_once(' ') {
            ctx.redactor.add_secret(credential);
        }
        for pair in value.split(';').filter(|_| lower == "cookie") {
            if let Some((_, cookie)) = pair.split_once('=') {
                ctx.redactor.add_secret(cookie.trim());
            }
        }
        ctx.redactor.mask(value)
    } else if lower == "set-cookie" {
        // Keep the cookie's name and attributes, mask its value.
        let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
        let (cookie, secret) = pair.split_once('=').unwrap_or((pair, ""));
        ctx.redactor.add_secret(secret);
        let attributes = if attributes.is_empty() {
            String::new()
        } else {
            format!(";{attributes}")
        };
        format!("{cookie}={}{attributes}", ctx.redactor.mask(secret))
    } else {
        ctx.redactor.scrub(value).into_owned()
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn is_empty(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::String(s) => s.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A short JSON rendering for messages: its strings scrubbed before it is encoded (an
/// escaped secret would no longer look like itself), cut after.
fn brief(redactor: &crate::redact::Redactor, value: &serde_json::Value) -> String {
    let mut value = value.clone();
    redactor.scrub_json(&mut value);
    redactor.excerpt(&value.to_string(), 80)
}

fn judge_json(
    ctx: &CheckContext<'_>,
    body: &serde_json::Value,
    assertion: &JsonAssertion,
) -> Result<Vec<String>, String> {
    let path = JsonPath::parse(&assertion.path)
        .map_err(|e| format!("bad JSON path {}: {}", assertion.path, e.message))?;
    let selected = path.select(body);
    let p = &assertion.path;
    let mut failures = Vec::new();
    if let Some(exists) = assertion.exists {
        if exists == selected.is_empty() {
            failures.push(if exists {
                format!("{p}: expected a value, found none")
            } else {
                format!(
                    "{p}: expected nothing, found {}",
                    brief(ctx.redactor, selected[0])
                )
            });
        }
    }
    let needs_values = assertion.equals.is_some()
        || assertion.kind.is_some()
        || assertion.empty.is_some()
        || assertion.matches.is_some()
        || assertion.starts_with.is_some();
    if needs_values && selected.is_empty() {
        failures.push(format!("{p}: selects nothing"));
        return Ok(failures);
    }
    let starts_with = match &assertion.starts_with {
        Some(prefix) => Some(ctx.values.render(prefix).map_err(|e| e.0)?),
        None => None,
    };
    let pattern = match &assertion.matches {
        Some(p) => Some(regex::Regex::new(p).map_err(|e| e.to_string())?),
        None => None,
    };
    for value in selected {
        if let Some(expected) = &assertion.equals {
            let expected = serde_json::to_value(expected).map_err(|e| e.to_string())?;
            if *value != expected {
                failures.push(format!(
                    "{p}: expected {}, got {}",
                    brief(ctx.redactor, &expected),
                    brief(ctx.redactor, value)
                ));
            }
        }
        if let Some(kind) = &assertion.kind {
            if json_type(value) != kind {
                failures.push(format!("{p}: expected {kind}, got {}", json_type(value)));
            }
        }
        if let Some(empty) = assertion.empty {
            if is_empty(value) != empty {
                failures.push(format!(
                    "{p}: expected {}, got {}",
                    if empty { "an empty value" } else { "a value" },
                    brief(ctx.redactor, value)
                ));
            }
        }
        if let Some(re) = &pattern {
            if !value.as_str().is_some_and(|s| re.is_match(s)) {
                failures.push(format!(
                    "{p}: expected a match of {}, got {}",
                    re.as_str(),
                    brief(ctx.redactor, value)
                ));
            }
        }
        if let Some(prefix) = &starts_with {
            if !value
                .as_str()
                .is_some_and(|s| s.starts_with(prefix.as_str()))
            {
                failures.push(format!(
                    "{p}: expected a string starting with {prefix}, got {}",
                    brief(ctx.redactor, value)
                ));
            }
        }
    }
    Ok(failures)
}

async fn request(ctx: &CheckContext<'_>, config: &Config) -> CheckResult {
    let render = |text: &str| {
        ctx.values
            .render(text)
            .map_err(|e| CheckResult::definitive_error(format!("cannot build the request: {e}")))
    };
    let built = (|| -> Result<_, CheckResult> {
        let url = render(&config.url)?;
        // A header that comes out empty (an unset optional input) is not sent.
        let headers: Vec<(String, String)> = config
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), render(v)?)))
            .filter(|pair| !matches!(pair, Ok((_, v)) if v.is_empty()))
            .collect::<Result<_, CheckResult>>()?;
        let cookies: Vec<(String, String)> = config
            .cookies
            .iter()
            .map(|(k, v)| Ok((k.clone(), render(v)?)))
            .collect::<Result<_, CheckResult>>()?;
        let body = config.body.as_deref().map(render).transpose()?;
        Ok((url, headers, cookies, body))
    })();
    let (url, headers, cookies, body) = match built {
        Ok(parts) => parts,
        Err(result) => return result,
    };
    let parsed = match url::Url::parse(&url) {
        Ok(parsed) => parsed,
        Err(err) => return CheckResult::definitive_error(format!("bad URL {url}: {err}")),
    };
    // Credentials this request carries are secrets wherever they show: a URL's userinfo
    // (and so its Basic header) and each cookie.
    if let Some(password) = parsed.password() {
        ctx.redactor.add_secret(password);
        ctx.redactor
            .add_secret(&crate::dburl::percent_decode(password));
        ctx.redactor.add_secret_whole(&format!(
            "{}:{}",
            parsed.username(),
            crate::dburl::percent_decode(password)
        ));
    }
    for (_, value) in &cookies {
        ctx.redactor.add_secret(value);
    }
    // The checklist reader keeps secrets on the base URL's origin; a value filled in at run
    // time is checked again here, in the URL too.
    let sends_secret = ctx.redactor.contains_secret(&url)
        || headers
            .iter()
            .chain(&cookies)
            .any(|(_, v)| ctx.redactor.contains_secret(v))
        || body
            .as_deref()
            .is_some_and(|b| ctx.redactor.contains_secret(b));
    if sends_secret
        && ctx.values.get("origin") != Some(parsed.origin().ascii_serialization().as_str())
    {
        return CheckResult::definitive_error(format!(
            "refusing to send a secret to {}, which is not the base URL's origin",
            parsed.origin().ascii_serialization()
        ));
    }
    let method = config.method.as_deref().unwrap_or("GET");
    let connect_timeout = config
        .connect_timeout
        .as_deref()
        .and_then(|d| humantime::parse_duration(d).ok())
        .unwrap_or(Duration::from_secs(5));
    let redirects = match config.redirects.as_deref() {
        Some("same-origin") => Redirects::SameOrigin,
        Some("any") => Redirects::Any,
        Some(_) => Redirects::None,
        None if config.follow_redirects => Redirects::Any,
        None => Redirects::None,
    };
    let client = match ctx.net.client_for(&parsed, redirects, connect_timeout) {
        Ok(client) => client,
        Err(err) => {
            return CheckResult::definitive_error(format!("cannot build the HTTP client: {err}"))
        }
    };
    let mut builder = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET),
        parsed.clone(),
    );
    let mut sent: Vec<(String, String)> = Vec::new();
    for (name, value) in &headers {
        builder = builder.header(name, value);
        sent.push((name.clone(), shown_header(ctx, name, value)));
    }
    if !cookies.is_empty() {
        let cookie = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        sent.push(("cookie".into(), ctx.redactor.mask(&cookie)));
        builder = builder.header("cookie", cookie);
    }
    let echo = config.expect.echo_header.as_ref().map(|name| {
        (
            name.clone(),
            format!("relcon-{}", uuid::Uuid::now_v7().simple()),
        )
    });
    if let Some((name, value)) = &echo {
        builder = builder.header(name, value);
        sent.push((name.clone(), value.clone()));
    }
    if let Some(body) = &body {
        builder = builder.body(body.clone());
    }
    let budget = ctx.remaining();
    let path = parsed[url::Position::BeforePath..].to_string();
    let request_line = format!("{method} {path}");
    let mut transcript = serde_json::json!({
        "request": { "method": method, "url": ctx.redactor.scrub(&url), "headers": sent.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>() },
    });
    let started = Instant::now();
    let cap = config.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY);
    // The exchange is a task of its own (ended if the check is dropped): the requests of
    // items started together leave together and are answered on every core, not one after
    // another as the runner polls its items.
    let exchange = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
        let mut response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let final_url = response.url().clone();
        let body = read_body(&mut response, cap).await?;
        Ok::<_, reqwest::Error>((status, headers, final_url, body))
    }));
    let (status, response_headers, final_url, body) =
        match tokio::time::timeout(budget, exchange).await {
            Ok(Ok(Ok(parts))) => parts,
            Ok(Ok(Err(err))) => {
                return CheckResult::new(
                    Status::Fail,
                    format!("{request_line} → {}", describe_error(&err)),
                )
                .with_evidence(transcript);
            }
            Ok(Err(err)) => {
                return CheckResult::new(
                    Status::Error,
                    format!("{request_line} → the request stopped: {err}"),
                )
                .with_evidence(transcript);
            }
            Err(_) => {
                return CheckResult::new(
                    Status::Fail,
                    format!(
                        "{request_line} → no complete response within the {} timeout",
                        humantime::format_duration(ctx.timeout)
                    ),
                )
                .with_evidence(transcript);
            }
        };
    let latency = started.elapsed();
    if redirects == Redirects::SameOrigin && status.is_redirection() {
        // Followed on the origin, stopped where it left it: a probe that ends on another
        // origin (an SSO login page) did not reach the app.
        let location = response_headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| final_url.join(l).ok())
            .map_or("(no Location)".to_string(), |l| {
                ctx.redactor.scrub(l.as_str()).into_owned()
            });
        transcript["response"] =
            serde_json::json!({ "status": status.as_u16(), "location": location });
        return CheckResult::new(
            Status::Fail,
            format!(
                "{request_line} → {} to {location}: a redirect off the origin (a login page is not the app's answer)",
                status.as_u16()
            ),
        )
        .with_evidence(transcript);
    }
    let text = String::from_utf8_lossy(&body.kept);
    // Credentials first, so the body excerpt below is scrubbed of any that it echoes.
    let mut shown_headers = serde_json::Map::new();
    for name in response_headers.keys() {
        let values: Vec<serde_json::Value> = response_headers
            .get_all(name)
            .iter()
            .map(|v| {
                serde_json::Value::String(shown_header(
                    ctx,
                    name.as_str(),
                    &String::from_utf8_lossy(v.as_bytes()),
                ))
            })
            .collect();
        // A repeated header (Set-Cookie) keeps every value.
        let shown = if values.len() == 1 {
            values.into_iter().next().unwrap_or_default()
        } else {
            serde_json::Value::Array(values)
        };
        shown_headers.insert(name.as_str().to_string(), shown);
    }
    transcript["response"] = serde_json::json!({
        "status": status.as_u16(),
        "url": ctx.redactor.scrub(final_url.as_str()),
        "headers": shown_headers,
                "body": ctx.redactor.excerpt(&text, EXCERPT),
        "body_bytes": body.total,
        "body_truncated": body.total > body.kept.len() as u64,
    });
    transcript["latency_ms"] = serde_json::json!(latency.as_millis() as u64);

    let mut failures: Vec<String> = Vec::new();
    let code = status.as_u16();
    match &config.expect.status {
        Some(Statuses::One(expected)) if code != *expected => {
            failures.push(format!("{request_line} → {code} (expected {expected})"))
        }
        Some(Statuses::Many(expected)) if !expected.contains(&code) => {
            let list: Vec<String> = expected.iter().map(u16::to_string).collect();
            failures.push(format!(
                "{request_line} → {code} (expected one of {})",
                list.join(", ")
            ));
        }
        None if !status.is_success() => {
            failures.push(format!("{request_line} → {code} (expected 2xx)"))
        }
        Some(Statuses::Any(word)) if word != "any" => {
            return CheckResult::definitive_error(format!(
                "status \"{word}\" is neither a number nor \"any\""
            ))
        }
        _ => {}
    }
    let header = |name: &str| {
        response_headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    for (name, expected) in &config.expect.headers {
        let expected = match ctx.values.render(expected) {
            Ok(value) => value,
            Err(err) => {
                return CheckResult::definitive_error(format!(
                    "cannot build the expected header {name}: {err}"
                ))
            }
        };
        match header(name) {
            Some(actual) if actual == expected => {}
            Some(actual) => failures.push(format!(
                "header {name}: expected \"{expected}\", got \"{}\"",
                ctx.redactor.scrub(&actual)
            )),
            None => failures.push(format!("header {name}: expected \"{expected}\", got none")),
        }
    }
    for name in &config.expect.headers_present {
        if header(name).is_none() {
            failures.push(format!("header {name}: expected, got none"));
        }
    }
    let any_of = config
        .expect
        .header_any_of
        .iter()
        .find(|name| header(name).is_some());
    // Which header carried the request id, for the evidence.
    let carried = any_of
        .cloned()
        .or_else(|| echo.as_ref().map(|(name, _)| name.clone()))
        .and_then(|name| header(&name).map(|value| (name, value)));
    if let Some((name, value)) = &carried {
        let echoed = echo.as_ref().is_some_and(|(_, sent)| sent == value);
        transcript["request_id"] = serde_json::json!({ "header": name, "echoed": echoed });
    }
    match (&echo, any_of) {
        (Some((name, sent)), None) => {
            match header(name) {
                Some(got) if got == *sent => {}
                got => {
                    let got = got.map_or("none".to_string(), |g| format!("\"{g}\""));
                    let others = if config.expect.header_any_of.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", and none of {} is present",
                            config.expect.header_any_of.join(", ")
                        )
                    };
                    failures.push(format!("header {name}: expected the id sent (\"{sent}\") echoed, got {got}{others}"));
                }
            }
        }
        (None, None) if !config.expect.header_any_of.is_empty() => failures.push(format!(
            "expected one of the headers {}, got none",
            config.expect.header_any_of.join(", ")
        )),
        _ => {}
    }
    if !config.expect.json.is_empty() {
        match serde_json::from_slice::<serde_json::Value>(&body.kept) {
            Ok(document) => {
                for assertion in &config.expect.json {
                    match judge_json(ctx, &document, assertion) {
                        Ok(found) => failures.extend(found),
                        Err(err) => {
                            return CheckResult::definitive_error(err).with_evidence(transcript)
                        }
                    }
                }
            }
            Err(err) => failures.push(format!(
                "body: expected JSON, got {} ({err})",
                if text.trim().is_empty() {
                    "an empty body".to_string()
                } else {
                    format!("\"{}\"", ctx.redactor.excerpt(&text, 60))
                }
            )),
        }
    }
    if let Some(pattern) = &config.expect.body_matches {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(&text) => failures.push(format!(
                "body: expected a match of {pattern}, got \"{}\"",
                ctx.redactor.excerpt(&text, 60)
            )),
            Ok(_) => {}
            Err(err) => return CheckResult::definitive_error(format!("bad body_matches: {err}")),
        }
    }
    if let Some(needle) = &config.expect.body_contains {
        match ctx.values.render(needle) {
            Ok(needle) if !text.contains(&needle) => failures.push(format!(
                "body: expected to contain \"{needle}\", got \"{}\"",
                ctx.redactor.excerpt(&text, 60)
            )),
            Ok(_) => {}
            Err(err) => {
                return CheckResult::definitive_error(format!("cannot build body_contains: {err}"))
            }
        }
    }
    if let Some(budget) = config
        .expect
        .max_latency
        .as_deref()
        .and_then(|d| humantime::parse_duration(d).ok())
    {
        if latency > budget {
            failures.push(format!(
                "latency: expected at most {}, took {} ms",
                humantime::format_duration(budget),
                latency.as_millis()
            ));
        }
    }
    transcript["failures"] = serde_json::json!(failures);
    match failures.as_slice() {
        [] => CheckResult::new(
            Status::Pass,
            format!("{request_line} → {code} in {} ms", latency.as_millis()),
        )
        .with_evidence(transcript),
        [only] => CheckResult::new(Status::Fail, only.clone()).with_evidence(transcript),
        [first, rest @ ..] => {
            CheckResult::new(Status::Fail, format!("{first} (and {} more)", rest.len()))
                .with_evidence(transcript)
        }
    }
}
