//! `env`: the deployment's configuration variables, judged without ever showing a value.
//!
//! How it runs: every finding names the variable and what was expected, never the value.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::CheckResult;
use super::{CheckContext, RunFuture};
use crate::redact::Redactor;
use crate::status::Status;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    #[default]
    Pass,
    Warn,
    Fail,
}

impl Outcome {
    fn status(self) -> Option<Status> {
        match self {
            Outcome::Pass => None,
            Outcome::Warn => Some(Status::Warn),
            Outcome::Fail => Some(Status::Fail),
        }
    }
}

fn fail_outcome() -> Outcome {
    Outcome::Fail
}

#[derive(Debug, Deserialize)]
struct Config {
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    one_of: Vec<Vec<String>>,
    #[serde(default)]
    pairs: Vec<Vec<String>>,
    #[serde(default)]
    agree: Vec<Vec<String>>,
    #[serde(default = "fail_outcome")]
    on_disagree: Outcome,
    #[serde(default)]
    provider_types: Vec<String>,
    providers_url: Option<String>,
    provider_input: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct Rule {
    names: Option<Vec<String>>,
    connection: Option<String>,
    #[serde(default)]
    on_unset: Outcome,
    format: Option<String>,
    pattern: Option<String>,
    equals: Option<String>,
    min_length: Option<usize>,
    min_entropy_bits: Option<u32>,
    #[serde(default)]
    forbidden: Vec<String>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(default)]
    allowed_paths: Vec<String>,
    warn_pattern: Option<String>,
    warn_message: Option<String>,
}

/// Estimated entropy of a value in whole bits, by the character class it is drawn from
/// (see `super::entropy`): a random hex secret is worth 4 bits a character whatever
/// digits it happens to repeat.
pub fn entropy_bits(value: &str) -> u32 {
    super::entropy::bits(value).floor() as u32
}

struct Findings {
    items: Vec<(Status, String)>,
}

impl Findings {
    fn add(&mut self, status: Status, message: String) {
        self.items.push((status, message));
    }

    fn fail(&mut self, message: String) {
        self.add(Status::Fail, message);
    }
}

/// Judges one value by a rule's format and content keys.
fn judge(
    label: &str,
    value: &str,
    rule: &Rule,
    values: &crate::checklist::values::Values,
    findings: &mut Findings,
) {
    if let Some(format) = &rule.format {
        if let Err(problem) = check_format(format, value, rule, values) {
            findings.fail(format!("{label} {problem}"));
        }
    }
    if let Some(pattern) = &rule.pattern {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(value) => {
                findings.fail(format!("{label} does not match {pattern}"))
            }
            Ok(_) => {}
            Err(_) => findings.add(
                Status::Error,
                format!("the pattern for {label} does not compile"),
            ),
        }
    }
    if let Some(expected) = &rule.equals {
        if value != expected {
            findings.fail(format!("{label} is not \"{expected}\""));
        }
    }
    let length = value.chars().count();
    if let Some(min) = rule.min_length {
        if length < min {
            findings.fail(format!(
                "{label} is {length} characters long, expected at least {min}"
            ));
        }
    }
    if let Some(min) = rule.min_entropy_bits {
        let bits = entropy_bits(value);
        if bits < min {
            findings.fail(format!(
                "{label} has about {bits} bits of entropy, expected at least {min}"
            ));
        }
    }
    let lower = value.to_lowercase();
    if let Some(word) = rule
        .forbidden
        .iter()
        .find(|w| lower.contains(&w.to_lowercase()))
    {
        // Which word is not said: a hostile checklist could learn a secret word by word.
        let _ = word;
        findings.fail(format!(
            "{label} contains a development value (one of the item's `forbidden` words)"
        ));
    }
    if let Some(pattern) = &rule.warn_pattern {
        if regex::Regex::new(pattern).is_ok_and(|re| re.is_match(value)) {
            let message = rule
                .warn_message
                .clone()
                .unwrap_or_else(|| format!("matches {pattern}"));
            findings.add(Status::Warn, format!("{label}: {message}"));
        }
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        // Hosts of non-special schemes (postgres://) come as opaque names, addresses included.
        url::Host::Domain(name) => {
            *name == "localhost"
                || name.ends_with(".localhost")
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Checks a value's format; the error completes "NAME …".
fn check_format(
    format: &str,
    value: &str,
    rule: &Rule,
    values: &crate::checklist::values::Values,
) -> Result<(), String> {
    let parse = || url::Url::parse(value).map_err(|_| format!("is not a URL (expected {format})"));
    match format {
        "url" => {
            let url = parse()?;
            if !url.has_host() {
                return Err("is not an absolute URL with a host".into());
            }
        }
        "https-url" => {
            let url = parse()?;
            if url.scheme() != "https" || !url.has_host() {
                return Err(format!("is not an https URL (scheme {})", url.scheme()));
            }
            if !url.username().is_empty()
                || url.password().is_some()
                || url.query().is_some()
                || url.fragment().is_some()
            {
                return Err(
                    "has credentials, a query or a fragment; expected the canonical origin".into(),
                );
            }
            if !rule.allowed_paths.is_empty() {
                let allowed: Vec<String> = rule
                    .allowed_paths
                    .iter()
                    .filter_map(|p| values.render(p).ok())
                    .collect();
                let path = url.path().trim_end_matches('/');
                if !allowed.iter().any(|a| a.trim_end_matches('/') == path) {
                    let shown: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
                    return Err(format!(
                        "has a path beyond the canonical origin (allowed: {})",
                        shown.join(", ")
                    ));
                }
            }
        }
        "postgres-url" => {
            let url = parse()?;
            if url.scheme() != "postgres" && url.scheme() != "postgresql" {
                return Err(format!(
                    "is not a postgres:// URL (scheme {})",
                    url.scheme()
                ));
            }
            let Some(host) = url.host() else {
                return Err("has no host".into());
            };
            let sslmode = url
                .query_pairs()
                .find(|(k, _)| k == "sslmode")
                .map(|(_, v)| v.into_owned());
            let encrypted = matches!(
                sslmode.as_deref(),
                Some("require" | "verify-ca" | "verify-full")
            );
            if !is_loopback(&host) && !encrypted {
                return Err("connects to a remote host without requiring TLS (add sslmode=require or verify-full)".into());
            }
        }
        "sentry-dsn" => {
            let url = parse()?;
            let project = url.path().trim_matches('/');
            let numeric = !project.is_empty()
                && project
                    .rsplit('/')
                    .next()
                    .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
            if url.scheme() != "https" || url.username().is_empty() || !url.has_host() || !numeric {
                return Err(
                    "is not a Sentry DSN (https://<key>@<host>/<numeric project id>)".into(),
                );
            }
        }
        "smtp-url" => {
            let url = parse()?;
            if (url.scheme() != "smtp" && url.scheme() != "smtps") || !url.has_host() {
                return Err("is not an smtp:// or smtps:// URL".into());
            }
        }
        "number" => {
            let number: f64 = value
                .trim()
                .parse()
                .map_err(|_| "is not a number".to_string())?;
            let below = rule.min.is_some_and(|min| number < min);
            let above = rule.max.is_some_and(|max| number > max);
            if below || above || !number.is_finite() {
                let bound =
                    |b: Option<f64>, open: &str| b.map_or(open.to_string(), |b| b.to_string());
                return Err(format!(
                    "is outside [{}, {}]",
                    bound(rule.min, "-∞"),
                    bound(rule.max, "∞")
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        let config = match ctx.config::<Config>() {
            Ok(config) => config,
            Err(result) => return result,
        };
        if config.provider_types.is_empty() {
            return evaluate(ctx, &config);
        }
        // Whether the deployment has what this configuration is for.
        let gate = super::providers::Gate {
            types: &config.provider_types,
            url: config.providers_url.as_deref(),
            headers: &config.headers,
            input: config.provider_input.as_deref(),
        };
        match gate.decide(ctx).await {
            Err(result) => result,
            Ok(decision) if !decision.applies => CheckResult::new(Status::Skip, decision.reason)
                .with_evidence(serde_json::json!({ "applies": decision.evidence })),
            Ok(decision) => {
                let mut result = evaluate(ctx, &config);
                if let Some(evidence) = result.evidence.as_object_mut() {
                    evidence.insert("applies".into(), decision.evidence);
                }
                if result.status == Status::Pass {
                    result.summary = format!("{}; {}", decision.reason, result.summary);
                }
                result
            }
        }
    })
}

/// A value of an input not declared secret, as it may be shown: scrubbed of every known
/// secret and, when it is a URL, its password (userinfo or `password=`) masked, since a
/// value nobody marked secret may still carry one.
pub fn shown_value(redactor: &Redactor, value: &str) -> String {
    let scrubbed = redactor.scrub(value);
    if url::Url::parse(&scrubbed).is_ok_and(|url| url.has_host()) {
        crate::dburl::shown(&scrubbed)
    } else {
        scrubbed.into_owned()
    }
}

/// Whether `name` is an input declared secret (a name the checklist does not declare is
/// treated as one: nothing says it may be shown).
fn is_secret(checklist: &crate::checklist::Checklist, name: &str) -> bool {
    checklist
        .inputs
        .iter()
        .find(|input| input.name == name)
        .is_none_or(|input| input.secret)
}

fn evaluate(ctx: &CheckContext<'_>, config: &Config) -> CheckResult {
    let values = ctx.values;
    let mut findings = Findings { items: Vec::new() };
    let mut variables: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut describe = |name: &str, value: Option<&str>| {
        let entry = match value.filter(|v| !v.is_empty()) {
            // Only declared secrets are fingerprinted; any other value is shown (what the
            // redactor lets through, a URL's credentials masked), with where it came from.
            Some(v) if !is_secret(ctx.checklist, name) => serde_json::json!({
                "set": true,
                "value": shown_value(ctx.redactor, v),
                "source": values.source(name),
            }),
            Some(v) => serde_json::json!({
                "set": true,
                "length": v.chars().count(),
                "entropy_bits": entropy_bits(v),
                "fingerprint": ctx.redactor.fingerprint(v),
                "source": values.source(name),
            }),
            None => serde_json::json!({ "set": false }),
        };
        variables.insert(name.to_string(), entry);
    };
    for rule in &config.rules {
        let mut targets: Vec<(String, Option<&str>)> = Vec::new();
        for name in rule.names.iter().flatten() {
            describe(name, values.input(name));
            targets.push((name.clone(), values.input(name).filter(|v| !v.is_empty())));
        }
        if let Some(name) = &rule.connection {
            let from = ctx
                .checklist
                .connections
                .iter()
                .find(|c| &c.name == name)
                .map(|c| c.from.clone())
                .unwrap_or_default();
            match values.first_set(&from) {
                Some((input, value)) => {
                    targets.push((format!("connection `{name}` (from {input})"), Some(value)))
                }
                None => targets.push((
                    format!("connection `{name}` (from {})", from.join(", ")),
                    None,
                )),
            }
        }
        for (label, value) in targets {
            match value {
                Some(value) => judge(&label, value, rule, values, &mut findings),
                None => {
                    if let Some(status) = rule.on_unset.status() {
                        findings.add(status, format!("{label} is not set"));
                    }
                }
            }
        }
    }
    for group in &config.one_of {
        group.iter().for_each(|n| describe(n, values.input(n)));
        if !group.iter().any(|n| values.is_set(n)) {
            findings.fail(format!("none of {} is set", group.join(", ")));
        }
    }
    for group in &config.pairs {
        group.iter().for_each(|n| describe(n, values.input(n)));
        let (set, unset): (Vec<&String>, Vec<&String>) =
            group.iter().partition(|n| values.is_set(n));
        if !set.is_empty() && !unset.is_empty() {
            let names = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
            findings.fail(format!("{} set without {}", names(&set), names(&unset)));
        }
    }
    for group in &config.agree {
        group.iter().for_each(|n| describe(n, values.input(n)));
        let set: Vec<(&String, &str)> = group
            .iter()
            .filter_map(|n| values.input(n).filter(|v| !v.is_empty()).map(|v| (n, v)))
            .collect();
        if set.windows(2).any(|w| w[0].1 != w[1].1) {
            if let Some(status) = config.on_disagree.status() {
                let names: Vec<&str> = set.iter().map(|(n, _)| n.as_str()).collect();
                findings.add(status, format!("{} differ", names.join(" and ")));
            }
        }
    }
    // A secret this short cannot be told apart from ordinary text, so it cannot be kept out
    // of outputs (nor does it resist guessing).
    for name in variables.keys() {
        let secret = ctx.checklist.input(name).is_some_and(|i| i.secret);
        let length = values.input(name).map_or(0, |v| v.chars().count());
        if secret && (1..crate::redact::MIN_PART_LEN).contains(&length) {
            findings.fail(format!(
                "{name} is a secret of under {} characters: too short to keep out of outputs or to resist guessing",
                crate::redact::MIN_PART_LEN
            ));
        }
    }
    let status = if findings.items.iter().any(|(s, _)| *s == Status::Error) {
        Status::Error
    } else if findings.items.iter().any(|(s, _)| *s == Status::Fail) {
        Status::Fail
    } else if findings.items.is_empty() {
        Status::Pass
    } else {
        Status::Warn
    };
    let mut ordered: Vec<&(Status, String)> = findings.items.iter().collect();
    ordered.sort_by_key(|(s, _)| match s {
        Status::Error => 0,
        Status::Fail => 1,
        _ => 2,
    });
    let summary = match ordered.as_slice() {
        [] => {
            let set = variables.values().filter(|v| v["set"] == true).count();
            format!(
                "all rules met in the configuration supplied ({set} of {} set)",
                variables.len()
            )
        }
        [only] => only.1.clone(),
        [first, rest @ ..] => format!("{} (and {} more)", first.1, rest.len()),
    };
    let findings_json: Vec<serde_json::Value> = findings
        .items
        .iter()
        .map(|(s, m)| serde_json::json!({"status": s.name(), "message": m}))
        .collect();
    CheckResult::new(status, summary).with_evidence(serde_json::json!({
        // What the operator gave relcon, not what the deployment runs: the fingerprints let
        // a reviewer compare with the platform's values.
        "checked": "the configuration supplied to relcon (env files, else the process environment), secrets by fingerprint; not read from the running deployment",
        "variables": variables,
        "findings": findings_json,
    }))
}
