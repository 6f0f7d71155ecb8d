//! `authjs.session`: a signed-in request to the session endpoint must return the user.
//!
//! How it runs, in this order unless the item pins a strategy:
//! 1. a given token (`token_from`) is sent as the session cookie; on a JWT deployment it is
//!    also decrypted here with each configured secret, which proves the secret;
//! 2. with JWT sessions, a token for a probe user is minted with each distinct configured
//!    secret (`secret_from`), at most one request each: a deployment that accepts one runs
//!    the secret that was reviewed;
//! 3. with a connection, a probe user and session row are inserted, used once and removed.
//!
//! The Auth.js version is asked of the deployment before anything is minted (its anonymous
//! session answer is `{}` on v4 and `null` on v5), so that no wrong guess lands in its error
//! log. Every token made or received is a secret to the redactor from the moment it exists.

mod endpoint;
mod probe;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use endpoint::Answer;

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Connection as _;

use super::{pg, CheckContext, CheckResult, RunFuture};
use crate::authjs::{self, Sealing, Version};
use crate::status::Status;

/// How long cleanup of probe rows may take after the request (within the engine's grace).
const CLEANUP: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize)]
struct Config {
    url: String,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    token_from: Vec<String>,
    strategy: Option<String>,
    connection: Option<String>,
    schema: Option<String>,
    users_table: Option<String>,
    sessions_table: Option<String>,
    same_site: Option<String>,
    #[serde(default)]
    secret_from: Vec<String>,
    authjs_version: Option<String>,
    cookie_name: Option<String>,
    lifetime: Option<String>,
}

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        let config = match ctx.config::<Config>() {
            Ok(config) => config,
            Err(result) => return result,
        };
        let url = match ctx.values.render(&config.url) {
            Ok(url) => url,
            Err(err) => {
                return CheckResult::definitive_error(format!("cannot build the URL: {err}"))
            }
        };
        let parsed = match url::Url::parse(&url) {
            Ok(parsed) => parsed,
            Err(err) => return CheckResult::definitive_error(format!("bad URL {url}: {err}")),
        };
        let client = match ctx.net.client_for(
            &parsed,
            crate::checks::net::Redirects::None,
            Duration::from_secs(5),
        ) {
            Ok(client) => client,
            Err(err) => {
                return CheckResult::definitive_error(format!(
                    "cannot build the HTTP client: {err}"
                ))
            }
        };
        let headers = match ctx.headers(&config.headers) {
            Ok(headers) => headers,
            Err(result) => return result,
        };
        let lifetime = config
            .lifetime
            .as_deref()
            .and_then(|l| crate::checklist::spec::parse_duration(l).ok())
            .unwrap_or(Duration::from_secs(300));
        let mut smoke = Smoke {
            ctx,
            client,
            headers,
            https: parsed.scheme() == "https",
            url: parsed,
            config: &config,
            lifetime,
            tried: Vec::new(),
            evidence: serde_json::Map::new(),
        };
        let mut result = smoke.run().await;
        let mut evidence = std::mem::take(&mut smoke.evidence);
        evidence.insert("url".into(), json!(ctx.redactor.scrub(&url)));
        evidence.insert("tried".into(), json!(smoke.tried));
        if let Value::Object(more) = std::mem::take(&mut result.evidence) {
            evidence.extend(more);
        }
        result.with_evidence(Value::Object(evidence))
    })
}

/// One run of the item: what it has tried so far, for the summary and the evidence.
struct Smoke<'a> {
    ctx: &'a CheckContext<'a>,
    client: reqwest::Client,
    /// The item's own request headers, on every request.
    headers: reqwest::header::HeaderMap,
    https: bool,
    url: url::Url,
    config: &'a Config,
    lifetime: Duration,
    tried: Vec<String>,
    evidence: serde_json::Map<String, Value>,
}

impl Smoke<'_> {
    async fn run(&mut self) -> CheckResult {
        let strategy = self.config.strategy.as_deref().unwrap_or("auto");
        // Credentials from inputs not declared secret are secrets all the same.
        for name in self
            .config
            .token_from
            .iter()
            .chain(&self.config.secret_from)
        {
            if let Some(value) = self.ctx.values.input(name) {
                self.ctx.redactor.add_secret(value);
            }
        }
        let version = self.version().await;
        if self.ctx.cancel.is_cancelled() {
            return cancelled();
        }
        if let Some(version) = version {
            self.note("version", json!(version_name(version)));
            self.note("cookie", json!(self.cookie_name(version)));
        }
        let token = self.ctx.values.first_set(&self.config.token_from);
        if let Some((input, token)) = token {
            return self.given(input, token, version).await;
        }
        if strategy == "token" {
            return CheckResult::definitive_error(format!(
                "no session token given: set {}",
                self.config.token_from.join(" or ")
            ));
        }
        let mut failures = Vec::new();
        if matches!(strategy, "auto" | "jwt") {
            match self.minted(version).await {
                Ok(result) => return result,
                Err(failure) => failures.push(failure),
            }
        }
        // A cancel ends the item: no further way is tried, nothing more is made.
        if self.ctx.cancel.is_cancelled() || failures.iter().any(|f| f.status == Status::Pending) {
            return cancelled();
        }
        if matches!(strategy, "auto" | "database") {
            match self.config.connection.clone() {
                Some(connection) => match self.database(&connection, version).await {
                    Ok(result) => return result,
                    Err(failure) => failures.push(failure),
                },
                None if strategy == "database" => {
                    return CheckResult::definitive_error(
                        "the database strategy needs `connection`",
                    )
                }
                None => {}
            }
        }
        if self.ctx.cancel.is_cancelled() {
            return cancelled();
        }
        failures.retain(|f| f.status != Status::Skip);
        match failures.len() {
            0 => CheckResult::definitive_error(format!(
                "nothing to make a session with: set {}{}",
                self.config
                    .token_from
                    .iter()
                    .chain(&self.config.secret_from)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" or "),
                if self.config.connection.is_some() {
                    ""
                } else {
                    ", or give the item a connection"
                }
            )),
            1 => failures.remove(0),
            _ => {
                // A failure outweighs an error: some way did answer, and said no.
                let status = if failures.iter().any(|f| f.status == Status::Fail) {
                    Status::Fail
                } else {
                    failures[0].status
                };
                let summary = failures
                    .iter()
                    .map(|f| f.summary.as_str())
                    .collect::<Vec<_>>()
                    .join("; and ");
                CheckResult {
                    retryable: failures.iter().all(|f| f.retryable),
                    ..CheckResult::new(status, summary)
                }
            }
        }
    }

    /// The Auth.js version: pinned, else asked of the deployment (its anonymous session
    /// answer, then its csrf cookie's name), else read from a renamed cookie's name.
    async fn version(&mut self) -> Option<Version> {
        let pinned = match self.config.authjs_version.as_deref() {
            Some("4") => Some(Version::V4),
            Some("5") => Some(Version::V5),
            _ => None,
        };
        if let Some(version) = pinned {
            self.note("version_from", json!("authjs_version"));
            return Some(version);
        }
        let anonymous = self.get(self.url.clone()).await;
        let detected = match &anonymous {
            Ok((_, body, _)) if body.trim() == "null" => Some((Version::V5, "null")),
            Ok((_, body, _)) if serde_json::from_str::<Value>(body).ok() == Some(json!({})) => {
                Some((Version::V4, "{}"))
            }
            _ => None,
        };
        if let Some((version, body)) = detected {
            self.note(
                "version_from",
                json!(format!("the anonymous session answer ({body})")),
            );
            return Some(version);
        }
        let csrf = self.url.join("csrf").ok()?;
        if let Ok((_, _, names)) = self.get(csrf).await {
            let found = names.iter().find_map(|n| {
                if n.contains("authjs.csrf-token") {
                    Some(Version::V5)
                } else if n.contains("next-auth.csrf-token") {
                    Some(Version::V4)
                } else {
                    None
                }
            });
            if let Some(version) = found {
                self.note("version_from", json!("the csrf cookie's name"));
                return Some(version);
            }
        }
        let renamed = self.config.cookie_name.as_deref()?;
        let version = if renamed.contains("next-auth") {
            Version::V4
        } else if renamed.contains("authjs") {
            Version::V5
        } else {
            return None;
        };
        self.note("version_from", json!("cookie_name"));
        Some(version)
    }

    /// The session cookie's name for `version`.
    fn cookie_name(&self, version: Version) -> String {
        self.config
            .cookie_name
            .clone()
            .unwrap_or_else(|| version.cookie_name(self.https).to_string())
    }

    fn note(&mut self, key: &str, value: Value) {
        self.evidence.insert(key.to_string(), value);
    }

    /// Way 1: the given token, sent as the session cookie.
    async fn given(&mut self, input: &str, token: &str, version: Option<Version>) -> CheckResult {
        self.note("strategy", json!("token"));
        // Unknown version: both names in one request, so still one attempt.
        let versions = version.map_or(vec![Version::V5, Version::V4], |v| vec![v]);
        let names: Vec<String> = versions.iter().map(|v| self.cookie_name(*v)).collect();
        let cookies: Vec<(String, String)> = versions
            .iter()
            .zip(&names)
            .flat_map(|(version, name)| authjs::cookies(*version, name, token))
            .collect();
        let answer = match self.ask(&cookies, &names).await {
            Ok(answer) => answer,
            Err(result) => return result,
        };
        // Which configured secret the token is encrypted with, if it is a JWT session.
        let opened = self.open_locally(token, &names);
        let what = format!("the token from {input}");
        self.tried.push(what.clone());
        if answer.user.is_none() {
            let why = match opened.as_ref().and_then(|(_, claims)| expired(claims)) {
                Some(when) => format!("it expired {when}"),
                None => "it expired, was signed out, or was made for another deployment".into(),
            };
            return self.rejected(
                &answer,
                format!("the deployment did not accept {what}: {why}"),
            );
        }
        let mut findings = answer.cookie_findings.clone();
        match &opened {
            Some((secret_input, _)) => self.note("secret_input", json!(secret_input)),
            None if is_jwe(token) && !self.secrets().is_empty() => findings.insert(
                0,
                format!(
                    "the deployment accepted {what}, which no configured secret ({}) decrypts: it runs a different secret",
                    self.fingerprints()
                ),
            ),
            None => {}
        }
        let proof = opened.map_or(String::new(), |(secret_input, _)| {
            format!("; encrypted with {secret_input}")
        });
        self.signed_in(&answer, findings, proof)
    }

    /// Decrypts a given token with each configured secret: the input whose secret opens it,
    /// and its claims.
    fn open_locally(&self, token: &str, names: &[String]) -> Option<(String, Value)> {
        if !is_jwe(token) {
            return None;
        }
        for (input, secret) in self.secrets() {
            for version in [Version::V5, Version::V4] {
                for name in names {
                    let sealing = self.sealing(version, secret.as_bytes(), name);
                    if let Ok(claims) = sealing.decode(token) {
                        return Some((input.clone(), claims));
                    }
                }
            }
        }
        None
    }

    fn sealing<'s>(&self, version: Version, secret: &'s [u8], name: &'s str) -> Sealing<'s> {
        Sealing {
            version,
            secret,
            // v4 keys have no salt; v5 salts with the session cookie's name.
            salt: if version == Version::V4 { "" } else { name },
        }
    }

    /// The distinct configured secrets, in the checklist's order, with the input each came
    /// from.
    fn secrets(&self) -> Vec<(String, String)> {
        let mut secrets: Vec<(String, String)> = Vec::new();
        for name in &self.config.secret_from {
            if let Some(value) = self.ctx.values.input(name).filter(|v| !v.is_empty()) {
                if !secrets.iter().any(|(_, v)| v == value) {
                    secrets.push((name.clone(), value.to_string()));
                }
            }
        }
        secrets
    }

    fn fingerprints(&self) -> String {
        self.secrets()
            .iter()
            .map(|(input, secret)| format!("{input} {}", self.ctx.redactor.fingerprint(secret)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Way 2: a token for a probe user minted with each configured secret, one request each.
    async fn minted(&mut self, version: Option<Version>) -> Result<CheckResult, CheckResult> {
        let secrets = self.secrets();
        if secrets.is_empty() {
            return Err(CheckResult::new(Status::Skip, "no secret to mint with"));
        }
        let Some(version) = version else {
            return Err(CheckResult::new(
                Status::Fail,
                "cannot tell the deployment's Auth.js version (its anonymous session answer is neither {} nor null, and no csrf cookie names it), so no token was minted: set `authjs_version`",
            ));
        };
        let name = self.cookie_name(version);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let email = probe::Probe::new().email;
        let claims = json!({
            "name": "relcon probe",
            "email": email,
            "sub": format!("relcon-probe-{}", uuid::Uuid::now_v7()),
            "iat": now,
            "exp": now + self.lifetime.as_secs(),
            "jti": uuid::Uuid::now_v7().to_string(),
        });
        // v5 picks the key by the token's kid, so each token proves exactly one secret: every
        // configured secret is tried, and one the deployment does not run is a drift even
        // when another is accepted. v4 runs one secret: the first accepted is it.
        let mut accepted: Vec<(String, Answer)> = Vec::new();
        let mut rejected: Vec<(String, String)> = Vec::new();
        let mut last = None;
        for (input, secret) in &secrets {
            let token = self
                .sealing(version, secret.as_bytes(), &name)
                .encode(&claims);
            let cookies = authjs::cookies(version, &name, &token);
            self.ctx.redactor.add_secret(&token);
            cookies
                .iter()
                .for_each(|(_, chunk)| self.ctx.redactor.add_secret(chunk));
            self.tried.push(format!(
                "a v{} token minted with {input}",
                version_name(version)
            ));
            let answer = self.ask(&cookies, std::slice::from_ref(&name)).await?;
            if answer.user.is_some() && answer.email().is_none_or(|e| e == email) {
                accepted.push((input.clone(), answer));
                if version == Version::V4 {
                    break;
                }
            } else {
                rejected.push((input.clone(), self.ctx.redactor.fingerprint(secret)));
                last = Some(answer);
            }
        }
        if accepted.is_empty() {
            let answer = last.expect("one secret at least");
            return Err(self.rejected(
                &answer,
                format!(
                    "the deployment did not accept a session encrypted with the configured secret ({}): it runs a different secret, uses database sessions, or its callbacks reject an unknown user",
                    self.fingerprints()
                ),
            ));
        }
        self.note("strategy", json!("jwt"));
        let inputs: Vec<String> = accepted.iter().map(|(i, _)| i.clone()).collect();
        let answer = accepted.swap_remove(0).1;
        self.note("secret_input", json!(inputs[0]));
        self.note("secret_inputs_accepted", json!(inputs));
        let mut findings = answer.cookie_findings.clone();
        if version == Version::V5 {
            for (input, fingerprint) in &rejected {
                findings.insert(0, format!(
                    "the deployment did not accept the token minted with {input} (fingerprint {fingerprint}): it does not run that secret"
                ));
            }
        }
        Ok(self.signed_in(
            &answer,
            findings,
            format!(
                "; the deployment runs the secret in {}",
                inputs.join(" and ")
            ),
        ))
    }

    /// Way 3: a probe user and session row, sent once, removed whatever happens.
    async fn database(
        &mut self,
        connection: &str,
        version: Option<Version>,
    ) -> Result<CheckResult, CheckResult> {
        let (target, mut conn) = pg::open(self.ctx, connection).await?;
        self.note("connection", target.evidence());
        let schema = self
            .config
            .schema
            .clone()
            .unwrap_or_else(|| "public".into());
        let tables = probe::Tables::new(
            &schema,
            self.config.users_table.as_deref().unwrap_or("users"),
            self.config.sessions_table.as_deref().unwrap_or("sessions"),
        );
        let probe = probe::Probe::new();
        self.ctx.redactor.add_secret(&probe.token);
        self.tried.push(format!(
            "a probe session row through connection `{connection}`"
        ));
        let mut guard = probe::Guard::new(target.options(), &tables, &probe);
        let budget = self.ctx.remaining().saturating_sub(CLEANUP);
        let made = tokio::select! {
            made = tokio::time::timeout(budget, async {
                let swept = tables.sweep(&mut conn).await?;
                let id = tables.insert(&mut conn, &probe, self.lifetime).await?;
                Ok::<_, sqlx::Error>((swept, id))
            }) => Some(made),
            () = self.ctx.cancel.cancelled() => None,
        };
        // The connection is usable unless a statement was cut off (by the timeout or a
        // cancel): its transaction then never commits, and cleanup takes a new connection.
        let usable = matches!(made, Some(Ok(_)));
        let outcome = match made {
            None => Err(None),
            Some(Ok(Ok((swept, _)))) => {
                if swept > 0 {
                    self.note("swept_probes", json!(swept));
                }
                let names: Vec<String> = match version {
                    Some(version) => vec![self.cookie_name(version)],
                    None => [Version::V5, Version::V4]
                        .iter()
                        .map(|v| self.cookie_name(*v))
                        .collect(),
                };
                let cookies: Vec<(String, String)> = names
                    .iter()
                    .map(|n| (n.clone(), probe.token.clone()))
                    .collect();
                Ok(self.ask(&cookies, &names).await)
            }
            Some(Ok(Err(err))) => Err(Some(format!(
                "cannot make a probe session in {}: {}",
                tables.shown(),
                pg::describe(&err)
            ))),
            Some(Err(_)) => Err(Some("no time left to make a probe session".into())),
        };
        let removed = self
            .remove(&target, usable.then_some(conn), &tables, &probe)
            .await;
        if removed.is_ok() {
            guard.disarm();
        }
        self.note("strategy", json!("database"));
        let answer = match outcome {
            Ok(Ok(answer)) => answer,
            Ok(Err(result)) => return Err(with_cleanup(result, &removed)),
            Err(None) => return Err(with_cleanup(cancelled(), &removed)),
            Err(Some(why)) => {
                return Err(with_cleanup(CheckResult::new(Status::Fail, why), &removed));
            }
        };
        if answer.user.is_some() && answer.email().is_none_or(|e| e == probe.email) {
            let findings = answer.cookie_findings.clone();
            let result = self.signed_in(&answer, findings, String::new());
            return Ok(with_cleanup(result, &removed));
        }
        let result = self.rejected(
            &answer,
            "the deployment did not accept a probe session row: it uses JWT sessions, reads another database or schema, or its callbacks reject an unknown user".into(),
        );
        Err(with_cleanup(result, &removed))
    }

    /// Removes the probe's rows, on `conn` when it is usable, else on a new connection.
    async fn remove(
        &self,
        target: &pg::Target,
        conn: Option<sqlx::postgres::PgConnection>,
        tables: &probe::Tables,
        probe: &probe::Probe,
    ) -> Result<u64, String> {
        let work = async {
            let mut conn = match conn {
                Some(conn) => conn,
                None => pg::connect(self.ctx, target).await.map_err(|r| r.summary)?,
            };
            let removed = tables
                .remove(&mut conn, &probe.email)
                .await
                .map_err(|e| pg::describe(&e))?;
            let _ = conn.close().await;
            Ok(removed)
        };
        match tokio::time::timeout(CLEANUP, work).await {
            Ok(removed) => removed,
            Err(_) => Err(format!(
                "no answer within {}",
                humantime::format_duration(CLEANUP)
            )),
        }
    }

    /// The result of a signed-in answer: pass, or fail on the session cookie's attributes.
    fn signed_in(&mut self, answer: &Answer, findings: Vec<String>, proof: String) -> CheckResult {
        self.answered(answer);
        let email = answer.email().unwrap_or("(no email)");
        self.note("email", json!(email));
        self.note("findings", json!(findings));
        match findings.as_slice() {
            [] => CheckResult::new(
                Status::Pass,
                format!(
                    "signed in as {email} ({}){proof}",
                    self.evidence
                        .get("strategy")
                        .and_then(Value::as_str)
                        .unwrap_or("session")
                ),
            ),
            [only] => CheckResult::new(Status::Fail, format!("signed in as {email}, but {only}")),
            [first, rest @ ..] => CheckResult::new(
                Status::Fail,
                format!(
                    "signed in as {email}, but {first} (and {} more)",
                    rest.len()
                ),
            ),
        }
    }

    /// The result of an answer without the session's user.
    fn rejected(&mut self, answer: &Answer, message: String) -> CheckResult {
        self.answered(answer);
        let summary = if answer.status == 200 {
            message
        } else {
            format!("{message} (the endpoint answered {})", answer.status)
        };
        CheckResult::new(Status::Fail, summary)
    }

    fn answered(&mut self, answer: &Answer) {
        self.note("status", json!(answer.status));
        self.note("elapsed_ms", json!(answer.elapsed.as_millis() as u64));
    }
}

/// What a cancelled item ends as: pending, to be run again.
fn cancelled() -> CheckResult {
    CheckResult::new(Status::Pending, "cancelled")
}

/// `result`, with what became of the probe rows in its evidence (and a failure to remove
/// them made the item's failure).
fn with_cleanup(mut result: CheckResult, removed: &Result<u64, String>) -> CheckResult {
    let mut evidence = match std::mem::take(&mut result.evidence) {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    match removed {
        Ok(rows) => {
            evidence.insert("probe_rows_removed".into(), json!(rows));
        }
        Err(why) => {
            evidence.insert("probe_rows_removed".into(), json!(null));
            result.status = Status::Fail;
            result.summary = format!(
                "{}; the probe rows could not be removed ({why}): the next run removes them once they are an hour old",
                result.summary
            );
        }
    }
    result.evidence = Value::Object(evidence);
    result.retryable = false;
    result
}

/// Whether `token` looks like a compact JWE (five base64url parts).
fn is_jwe(token: &str) -> bool {
    token.split('.').count() == 5
}

/// When a token's claims say it expired, if it has.
fn expired(claims: &Value) -> Option<String> {
    let exp = claims.get("exp")?.as_u64()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    (exp < now).then(|| {
        let at = UNIX_EPOCH + Duration::from_secs(exp);
        format!("at {}", humantime::format_rfc3339_seconds(at))
    })
}

fn version_name(version: Version) -> &'static str {
    match version {
        Version::V4 => "4",
        Version::V5 => "5",
    }
}
