//! `scan`: the files committed to the deployed repository (the git index, and with
//! `history` every blob reachable from HEAD) searched for secrets, credentialed connection
//! strings and dev defaults. Findings give rule, file:line (and the commit for history) and
//! an excerpt with the secret replaced by its fingerprint: the secret itself is registered
//! with the redactor the moment it is found and never shown.
//!
//! How it runs: git lists what is committed; worker threads read files in parallel (never
//! following a symbolic link, never leaving `--root`), skip binaries, large files and
//! vendored paths, and search each with one `RegexSet` pass; findings stream back to the
//! check, which masks them and sends a line for each. A cancel stops waiting at once and
//! the workers at their next file.

mod devdefaults;
mod git;
mod rules;
mod walk;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::{CheckContext, CheckResult, RunFuture, Stream};
use crate::status::Status;

#[derive(Debug, Deserialize)]
struct Config {
    paths: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    rules: Vec<String>,
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    secret_names: Vec<String>,
    #[serde(default)]
    history: bool,
    #[serde(default)]
    scan_inputs: bool,
    #[serde(default)]
    allow: Vec<Allow>,
}

/// A finding the checklist allows, with its reason.
#[derive(Debug, Clone, Deserialize)]
struct Allow {
    rule: String,
    path: String,
    reason: String,
}

/// A finding as the workers report it: the secret still in it.
pub struct Raw {
    rule: &'static str,
    path: String,
    line: usize,
    /// The line (or a window of it) and the spans of every hit on it; `target` is this
    /// finding's.
    text: String,
    spans: Vec<(std::ops::Range<usize>, bool)>,
    target: usize,
    /// The blob, for a finding only in history.
    blob: Option<String>,
    /// What a `relcon:allow` comment on the line says: the rule and the reason.
    inline_allow: Option<(String, String)>,
}

/// A finding, masked.
struct Finding {
    rule: &'static str,
    path: String,
    line: usize,
    /// The blob, for a finding only in history, and the commit that introduced it.
    blob: Option<String>,
    commit: Option<String>,
    excerpt: String,
    fingerprint: Option<String>,
    allowed: Option<String>,
}

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        let config = match ctx.config::<Config>() {
            Ok(config) => config,
            Err(result) => return result,
        };
        scan(ctx, config).await
    })
}

async fn scan(ctx: &CheckContext<'_>, config: Config) -> CheckResult {
    let plan = match walk::Plan::new(ctx.root, &config.paths, &config.exclude, &config.rules) {
        Ok(plan) => plan,
        Err(why) => return CheckResult::definitive_error(why),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let worker = {
        let (stop, words, names) = (
            stop.clone(),
            config.words.clone(),
            config.secret_names.clone(),
        );
        let history = config.history;
        std::thread::spawn(move || plan.run(&words, &names, history, &stop, &sender))
    };
    let mut findings: Vec<Finding> = Vec::new();
    // One finding per secret: the same one in many blobs of history is one leak.
    let mut seen = std::collections::HashSet::new();
    let mut repeats = 0usize;
    let deadline = tokio::time::sleep(ctx.remaining());
    tokio::pin!(deadline);
    let ended = loop {
        tokio::select! {
            raw = receiver.recv() => match raw {
                Some(raw) => {
                    let mut finding = mask(ctx, &config, raw);
                    let key = (finding.rule, finding.fingerprint.clone().unwrap_or_else(|| format!("{}:{}", finding.path, finding.line)));
                    if !seen.insert(key) {
                        repeats += 1;
                        continue;
                    }
                    if let Some(blob) = finding.blob.clone() {
                        finding.commit = Some(introduced(ctx, blob).await);
                    }
                    ctx.output.line(Stream::Stdout, &describe(&finding)).await;
                    findings.push(finding);
                }
                None => break None,
            },
            () = ctx.cancel.cancelled() => break Some(CheckResult::new(Status::Pending, "cancelled")),
            () = &mut deadline => break Some(CheckResult::new(
                Status::Fail,
                format!("the scan did not finish within {}", humantime::format_duration(ctx.timeout)),
            )),
        }
    };
    if let Some(result) = ended {
        stop.store(true, Ordering::SeqCst);
        return result;
    }
    let stats = match worker.join() {
        Ok(Ok(stats)) => stats,
        Ok(Err(why)) => return CheckResult::definitive_error(why),
        Err(_) => return CheckResult::definitive_error("the scan stopped unexpectedly"),
    };
    if config.scan_inputs {
        findings.extend(inputs(ctx, &config.words));
    }
    conclude(&stats, findings, repeats, config.scan_inputs)
}

/// The commit (abbreviated) that introduced `blob`.
async fn introduced(ctx: &CheckContext<'_>, blob: String) -> String {
    let root = ctx.root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let top = git::top(&root).ok()?;
        git::introduced(&top, &blob)
    })
    .await
    .ok()
    .flatten()
    .map_or("unknown".into(), |c| c[..12.min(c.len())].to_string())
}

/// Masks a raw finding: every secret on its line registered and replaced by its keyed
/// fingerprint, quoted literals hidden, then cut to at most 80 characters around it.
fn mask(ctx: &CheckContext<'_>, config: &Config, raw: Raw) -> Finding {
    let mut shown = String::new();
    let mut target_at = 0;
    let mut last = 0;
    let mut fingerprint = None;
    for (i, (span, secret)) in raw.spans.iter().enumerate() {
        let value = &raw.text[span.clone()];
        shown.push_str(&hide_literals(&raw.text[last..span.start]));
        if i == raw.target {
            target_at = shown.len();
        }
        if *secret {
            // Registered, so that no other output shows it either; a dev default or a
            // short value is not (it is a common word, and would be scrubbed out of every
            // text that happens to hold it), but its excerpt masks it all the same.
            if raw.rule != "dev-default" && value.len() >= 8 {
                ctx.redactor.add_secret(value);
            }
            let masked = ctx.redactor.mask(value);
            if i == raw.target {
                fingerprint = Some(ctx.redactor.fingerprint(value));
            }
            shown.push_str(&masked);
        } else {
            shown.push_str(value);
        }
        last = span.end;
    }
    shown.push_str(&hide_literals(&raw.text[last..]));
    let excerpt = ctx
        .redactor
        .scrub(&printable(&cut_around(&shown, target_at, 80)))
        .into_owned();
    let allowed = allowed(config, &raw);
    Finding {
        rule: raw.rule,
        path: raw.path,
        line: raw.line,
        blob: raw.blob,
        commit: None,
        excerpt,
        fingerprint,
        allowed,
    }
}

/// Control characters (a terminal's escapes among them) shown as spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Quoted literals other than the secret are hidden: they may hold what no rule knows.
fn hide_literals(text: &str) -> String {
    static QUOTED: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let quoted =
        QUOTED.get_or_init(|| regex::Regex::new(r#""[^"]{3,}"|'[^']{3,}'"#).expect("a regex"));
    quoted.replace_all(text, "\"…\"").into_owned()
}

/// At most `width` characters of `text` around byte `at`.
fn cut_around(text: &str, at: usize, width: usize) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    if chars.len() <= width {
        return text.trim().to_string();
    }
    let index = chars.iter().position(|(i, _)| *i >= at).unwrap_or(0);
    let start = index.saturating_sub(width / 4).min(chars.len() - width);
    let piece: String = chars[start..start + width].iter().map(|(_, c)| c).collect();
    format!(
        "{}{}{}",
        if start > 0 { "…" } else { "" },
        piece.trim(),
        if start + width < chars.len() {
            "…"
        } else {
            ""
        }
    )
}

/// The reason a finding is allowed: a `relcon:allow <rule> <reason>` comment on its line,
/// or an `allow` entry of the checklist for its rule and path.
fn allowed(config: &Config, raw: &Raw) -> Option<String> {
    if let Some((rule, reason)) = &raw.inline_allow {
        if (rule == raw.rule || rule == "*") && !reason.is_empty() {
            return Some(format!("relcon:allow on the line: {reason}"));
        }
    }
    config.allow.iter().find_map(|a| {
        let path = globset::Glob::new(&a.path).ok()?.compile_matcher();
        ((a.rule == raw.rule || a.rule == "*") && path.is_match(&raw.path))
            .then(|| format!("allowed by the checklist: {}", a.reason))
    })
}

/// Dev defaults among the loaded secret inputs.
fn inputs(ctx: &CheckContext<'_>, words: &[String]) -> Vec<Finding> {
    let mut found = Vec::new();
    for input in &ctx.checklist.inputs {
        let name = &input.name;
        if !input.secret && !devdefaults::secret_looking(name) {
            continue;
        }
        let Some(value) = ctx.values.input(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        if devdefaults::dev_word(value, words).is_some() {
            found.push(Finding {
                rule: "dev-default",
                path: format!("input {name}"),
                line: 0,
                blob: None,
                commit: None,
                excerpt: format!("{name}={}", ctx.redactor.mask(value)),
                fingerprint: Some(ctx.redactor.fingerprint(value)),
                allowed: None,
            });
        }
    }
    found
}

fn location(f: &Finding) -> String {
    match (f.line, &f.blob) {
        (0, _) => f.path.clone(),
        (line, Some(_)) => format!(
            "{}:{line} in history (introduced by commit {}; no longer in the tree)",
            f.path,
            f.commit.as_deref().unwrap_or("unknown")
        ),
        (line, None) => format!("{}:{line}", f.path),
    }
}

fn describe(f: &Finding) -> String {
    match &f.allowed {
        Some(why) => format!("allowed {} at {}: {why}", f.rule, location(f)),
        None => format!("{} at {}: {}", f.rule, location(f), f.excerpt),
    }
}

fn conclude(
    stats: &walk::Stats,
    findings: Vec<Finding>,
    repeats: usize,
    inputs: bool,
) -> CheckResult {
    let (allowed, open): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.allowed.is_some());
    let evidence = json!({
        "files_scanned": stats.files,
        "blobs_scanned": stats.blobs,
        "skipped": {
            "binary": stats.binary,
            "too_large": stats.large,
            "vendored": stats.vendored,
            "symlink_or_outside": stats.unsafe_paths,
        },
        "history": stats.history,
        "repeated_findings": repeats,
        "findings": findings.iter().map(|f| json!({
            "rule": f.rule,
            "location": location(f),
            "excerpt": f.excerpt,
            "fingerprint": f.fingerprint,
            "allowed": f.allowed,
        })).collect::<Vec<_>>(),
        "hint": (!open.is_empty()).then_some("rotate each secret found (it is in the repository's history for good), then remove it and read it from the platform's secret store"),
    });
    let scanned = format!(
        "{} file{}{}{}",
        stats.files,
        if stats.files == 1 { "" } else { "s" },
        if stats.history == "scanned" {
            format!(" and their history ({} more blobs)", stats.blobs)
        } else {
            String::new()
        },
        if inputs {
            " and the loaded secret inputs"
        } else {
            ""
        }
    );
    let allowed_note = if allowed.is_empty() {
        String::new()
    } else {
        format!(", {} allowed", allowed.len())
    };
    let result = match open.as_slice() {
        [] => match &stats.history_skipped {
            Some(why) => CheckResult::new(
                Status::Warn,
                format!("{scanned} scanned, no findings{allowed_note}; history not scanned: {why}"),
            ),
            None => CheckResult::new(
                Status::Pass,
                format!("{scanned} scanned, no findings{allowed_note}"),
            ),
        },
        [first, rest @ ..] => {
            let more = if rest.is_empty() {
                String::new()
            } else {
                format!(" (and {} more)", rest.len())
            };
            CheckResult::new(
                Status::Fail,
                format!(
                    "{} at {}{more}: rotate it, then remove it",
                    first.rule,
                    location(first)
                ),
            )
        }
    };
    CheckResult {
        retryable: false,
        ..result.with_evidence(evidence)
    }
}
