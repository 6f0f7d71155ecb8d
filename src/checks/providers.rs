//! Whether a configuration item applies to the deployment: its Auth.js providers list (GET
//! the item's `providers_url`) names a provider of one of the item's `provider_types`. The
//! deployment says so, not the operator; an input (`provider_input`, "true" or "false") may
//! say it instead, where the list cannot be read.

use std::collections::BTreeMap;
use std::time::Duration;

use super::net::{describe_error, read_body};
use super::{CheckContext, CheckResult};
use crate::status::Status;

/// The largest providers list read (a list of a few providers is a few hundred bytes).
const BODY_CAP: u64 = 256 * 1024;

/// How an item learns whether it applies.
pub struct Gate<'c> {
    /// The provider types that make it apply, e.g. `["email"]`.
    pub types: &'c [String],
    /// The providers list's URL template, on the origin.
    pub url: Option<&'c str>,
    /// Request headers (templates).
    pub headers: &'c BTreeMap<String, String>,
    /// The input that says "true" or "false" instead.
    pub input: Option<&'c str>,
}

/// Whether it applies, with why.
pub struct Decision {
    /// It applies.
    pub applies: bool,
    /// Why (the skip reason when it does not).
    pub reason: String,
    /// What was read.
    pub evidence: serde_json::Value,
}

impl Gate<'_> {
    fn wanted(&self) -> String {
        self.types.join(" or ")
    }

    /// Decides, or the result that says why it cannot be told.
    pub async fn decide(&self, ctx: &CheckContext<'_>) -> Result<Decision, CheckResult> {
        if let Some((name, value)) = self
            .input
            .and_then(|name| Some((name, ctx.values.input(name).filter(|v| !v.is_empty())?)))
        {
            let applies = match value.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => true,
                "false" | "no" | "0" | "off" => false,
                _ => {
                    return Err(CheckResult::definitive_error(format!(
                        "{name} is '{value}': expected true or false"
                    )))
                }
            };
            let reason = if applies {
                format!(
                    "{name} says a provider of type {} is configured",
                    self.wanted()
                )
            } else {
                format!(
                    "{name} says no provider of type {} is configured",
                    self.wanted()
                )
            };
            let evidence = serde_json::json!({"source": name, "applies": applies});
            return Ok(Decision {
                applies,
                reason,
                evidence,
            });
        }
        let Some(template) = self.url else {
            let names = self.input.unwrap_or("the input");
            return Err(CheckResult::definitive_error(format!(
                "cannot tell whether a provider of type {} is configured: set {names} to true or false",
                self.wanted()
            )));
        };
        self.read(ctx, template).await
    }

    async fn read(&self, ctx: &CheckContext<'_>, template: &str) -> Result<Decision, CheckResult> {
        let url = ctx.values.render(template).map_err(|err| {
            CheckResult::definitive_error(format!("cannot build the providers URL: {err}"))
        })?;
        let parsed = url::Url::parse(&url)
            .map_err(|err| CheckResult::definitive_error(format!("bad URL {url}: {err}")))?;
        let path = parsed[url::Position::BeforePath..].to_string();
        let client = ctx
            .net
            .client_for(
                &parsed,
                crate::checks::net::Redirects::None,
                Duration::from_secs(5),
            )
            .map_err(|err| {
                CheckResult::definitive_error(format!("cannot build the HTTP client: {err}"))
            })?;
        let headers = ctx.headers(self.headers)?;
        let override_hint = match self.input {
            Some(name) => format!("; or set {name} to true or false"),
            None => String::new(),
        };
        let cannot = |why: String| {
            CheckResult::new(
                Status::Error,
                format!(
                    "cannot tell whether a provider of type {} is configured: GET {path} → {why}{override_hint}",
                    self.wanted()
                ),
            )
        };
        let fetch = async {
            let mut response = client
                .get(parsed.clone())
                .headers(headers)
                .send()
                .await
                .map_err(|err| describe_error(&err))?;
            let status = response.status();
            if !status.is_success() {
                return Err(status.as_u16().to_string());
            }
            read_body(&mut response, BODY_CAP)
                .await
                .map_err(|err| describe_error(&err))
        };
        let body = match tokio::time::timeout(ctx.remaining(), fetch).await {
            Ok(Ok(body)) => body,
            Ok(Err(why)) => return Err(cannot(why)),
            Err(_) => return Err(cannot("no response in time".into())),
        };
        let listed: serde_json::Map<String, serde_json::Value> =
            match serde_json::from_slice(&body.kept) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => return Err(cannot("not a JSON object of providers".into())),
            };
        let providers: Vec<(String, String)> = listed
            .iter()
            .map(|(id, provider)| {
                let kind = provider["type"].as_str().unwrap_or("unknown");
                (id.clone(), kind.to_string())
            })
            .collect();
        let matched: Vec<&(String, String)> = providers
            .iter()
            .filter(|(_, kind)| self.types.contains(kind))
            .collect();
        let shown = |list: &[&(String, String)]| {
            list.iter()
                .map(|(id, kind)| format!("{id} ({kind})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let all: Vec<&(String, String)> = providers.iter().collect();
        let reason = if matched.is_empty() {
            format!(
                "no provider of type {}: the deployment lists {}",
                self.wanted(),
                if all.is_empty() {
                    "none".to_string()
                } else {
                    shown(&all)
                }
            )
        } else {
            format!("the deployment lists {}", shown(&matched))
        };
        let evidence = serde_json::json!({
            "source": path,
            "applies": !matched.is_empty(),
            "providers": providers
                .iter()
                .map(|(id, kind)| serde_json::json!({"id": id, "type": kind}))
                .collect::<Vec<_>>(),
        });
        Ok(Decision {
            applies: !matched.is_empty(),
            reason,
            evidence,
        })
    }
}
