//! The session endpoint, asked: anonymously (to learn the Auth.js version) and with a
//! session cookie, whose answer's user and re-issued cookie are what the item judges.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{Smoke, CLEANUP};
use crate::checks::cookies::{judge, Rules};
use crate::checks::net::{describe_error, read_body};
use crate::checks::CheckResult;
use crate::status::Status;

/// The most of a session answer that is read.
const BODY_CAP: u64 = 64 * 1024;

/// What the session endpoint answered a signed-in request.
pub(super) struct Answer {
    pub status: u16,
    /// The `user` of the session, when there is one.
    pub user: Option<Value>,
    /// What was wrong with the session cookie it set again, if anything.
    pub cookie_findings: Vec<String>,
    pub elapsed: Duration,
}

impl Answer {
    pub fn email(&self) -> Option<&str> {
        self.user.as_ref()?.get("email")?.as_str()
    }
}

impl Smoke<'_> {
    /// A signed-in request with `cookies`: the answer, or the result that says why there is
    /// none. The run's cancel stops waiting at once.
    pub(super) async fn ask(
        &mut self,
        cookies: &[(String, String)],
        names: &[String],
    ) -> Result<Answer, CheckResult> {
        let header: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let started = Instant::now();
        let request = self
            .client
            .get(self.url.clone())
            .headers(self.headers.clone())
            .header(reqwest::header::COOKIE, header.join("; "))
            .send();
        let budget = self.ctx.remaining().saturating_sub(CLEANUP);
        let response = tokio::select! {
            sent = tokio::time::timeout(budget, request) => sent,
            () = self.ctx.cancel.cancelled() => {
                return Err(CheckResult::new(Status::Pending, "cancelled"));
            }
        };
        let path = self.url.path().to_string();
        let mut response = match response {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => {
                return Err(CheckResult::new(
                    Status::Fail,
                    format!("GET {path} → {}", describe_error(&err)),
                ))
            }
            Err(_) => {
                return Err(CheckResult::new(
                    Status::Fail,
                    format!("GET {path} → no response in time"),
                ))
            }
        };
        let status = response.status().as_u16();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let cookie_findings = self.reissued(&set_cookies, names);
        let body = read_body(&mut response, BODY_CAP)
            .await
            .map(|b| String::from_utf8_lossy(&b.kept).into_owned())
            .unwrap_or_default();
        let user = serde_json::from_str::<Value>(&body)
            .ok()
            .filter(|_| status == 200)
            .and_then(|v| v.get("user").filter(|u| u.is_object()).cloned());
        Ok(Answer {
            status,
            user,
            cookie_findings,
            elapsed: started.elapsed(),
        })
    }

    /// Judges the session cookie the deployment sets again (a real credential: redacted
    /// from here on and never kept) by the `cookies` kind's rules.
    fn reissued(&mut self, set_cookies: &[String], names: &[String]) -> Vec<String> {
        let rules = Rules {
            same_site: self.config.same_site.as_deref().unwrap_or("Lax"),
            path: "/",
            http_only: true,
            allow_domain: true,
        };
        let mut findings = Vec::new();
        let mut seen = Vec::new();
        for text in set_cookies {
            let Ok(cookie) = cookie::Cookie::parse(text.as_str()) else {
                continue;
            };
            let name = cookie.name();
            if authjs_cookie(name) {
                self.ctx.redactor.add_secret(cookie.value());
            }
            let ours = names.iter().any(|n| {
                name == n
                    || name
                        .strip_prefix(n.as_str())
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|i| i.chars().all(|c| c.is_ascii_digit()))
            });
            if !ours {
                continue;
            }
            // The session cookie, whatever it is named: a credential valid for weeks.
            self.ctx.redactor.add_secret(cookie.value());
            let mut problems = judge(&cookie, self.https, &rules);
            // A renamed cookie escapes the Auth.js name rules; a session cookie still must be
            // HttpOnly, and Secure on https.
            if cookie.http_only() != Some(true) && !problems.iter().any(|p| p == "not HttpOnly") {
                problems.push("not HttpOnly".into());
            }
            if self.https
                && cookie.secure() != Some(true)
                && !problems.iter().any(|p| p.contains("Secure"))
            {
                problems.push("not Secure on https".into());
            }
            findings.extend(problems.iter().map(|p| format!("{name}: {p}")));
            seen.push(json!({
                "name": name,
                "value": self.ctx.redactor.mask(cookie.value()),
                "secure": cookie.secure().unwrap_or(false),
                "http_only": cookie.http_only().unwrap_or(false),
                "same_site": cookie.same_site().map(|s| s.to_string()),
                "path": cookie.path(),
            }));
        }
        if !seen.is_empty() {
            self.note("reissued_cookie", json!(seen));
        }
        findings
    }

    /// An anonymous GET: status, body (capped) and the names of the cookies it set.
    pub(super) async fn get(&self, url: url::Url) -> Result<(u16, String, Vec<String>), String> {
        let budget = self.ctx.remaining().saturating_sub(CLEANUP);
        let sent = tokio::select! {
            sent = tokio::time::timeout(budget, self.client.get(url).headers(self.headers.clone()).send()) => sent,
            () = self.ctx.cancel.cancelled() => return Err("cancelled".into()),
        };
        let mut response = match sent {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => return Err(describe_error(&err)),
            Err(_) => return Err("no response in time".into()),
        };
        let names = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| {
                let text = String::from_utf8_lossy(v.as_bytes()).into_owned();
                let cookie = cookie::Cookie::parse(text).ok()?;
                if authjs_cookie(cookie.name()) {
                    self.ctx.redactor.add_secret(cookie.value());
                }
                Some(cookie.name().to_string())
            })
            .collect();
        let status = response.status().as_u16();
        let body = read_body(&mut response, BODY_CAP)
            .await
            .map(|b| String::from_utf8_lossy(&b.kept).into_owned())
            .map_err(|e| describe_error(&e))?;
        Ok((status, body, names))
    }
}

/// Whether a cookie is one of Auth.js's own (csrf, callback, session…), whose values are
/// credentials; a platform's cookies (a locale, a CDN's) are left readable.
fn authjs_cookie(name: &str) -> bool {
    name.contains("authjs.") || name.contains("next-auth.")
}
