//! Secret continuity between two releases, by keyed fingerprint only (never values): a
//! secret shared by two environments, and a changed session secret (the inputs the
//! checklist's signed-in smoke names in `secret_from`) that would end every JWT session at
//! deploy unless the old value is still among them (Auth.js v5's rotation inputs).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{SecretFinding, Secrets};
use crate::report::model::Report;
use crate::status::Status;

/// The fingerprints the items' evidence gives each secret input (`NAME: {fingerprint}`,
/// at any depth), by name.
fn fingerprints(report: &Report) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for item in &report.items {
        let mut seen = Vec::new();
        crate::report::model::fingerprinted(&item.evidence, &mut seen);
        for (name, print) in seen {
            out.entry(name).or_default().insert(print);
        }
    }
    if let Some(prints) = &report.secrets {
        for print in prints {
            out.entry(print.name.clone())
                .or_default()
                .insert(print.fingerprint.clone());
        }
    }
    out
}

/// How the deployment keeps sessions and which Auth.js it runs, as a signed-in smoke that
/// passed saw (one that failed may have stopped at a guess).
fn session_strategy(report: &Report) -> Option<(Option<String>, Option<String>)> {
    report
        .items
        .iter()
        .filter(|item| item.status.satisfies_needs() && item.status != Status::Skip)
        .find_map(|item| {
            let strategy = item.evidence.get("strategy")?.as_str()?.to_string();
            let version = item
                .evidence
                .get("version")
                .and_then(Value::as_str)
                .map(String::from);
            Some((Some(strategy), version))
        })
}

/// `session_secrets`: the inputs the deployment signs sessions with, rotation inputs
/// included, as the checklist names them.
pub(super) fn secrets(
    now: &Report,
    before: &Report,
    same_store: bool,
    session_secrets: &[String],
) -> Secrets {
    if !same_store {
        return Secrets {
            comparable: false,
            why_not: Some(
                "not comparable: fingerprints are keyed per store, and the other side is a report file"
                    .into(),
            ),
            findings: Vec::new(),
        };
    }
    let (a, b) = (fingerprints(before), fingerprints(now));
    let mut findings = Vec::new();
    let other_environment = before.session.environment != now.session.environment;
    for (name, prints) in &b {
        let Some(old) = a.get(name) else {
            continue;
        };
        if other_environment {
            if !prints.is_disjoint(old) {
                findings.push(SecretFinding {
                    status: Status::Warn,
                    name: name.clone(),
                    message: format!(
                        "{name} is the same in {} and {}: each environment needs its own secret",
                        before.session.environment.as_deref().unwrap_or("(none)"),
                        now.session.environment.as_deref().unwrap_or("(none)")
                    ),
                });
            }
            continue;
        }
        if prints == old {
            continue;
        }
        if !session_secrets.contains(name) {
            findings.push(SecretFinding {
                status: Status::Pass,
                name: name.clone(),
                message: format!("{name} changed since the last release (rotated)"),
            });
            continue;
        }
        // The old value still among the session secrets: signed-in users stay signed in.
        let kept = session_secrets
            .iter()
            .filter(|other| *other != name)
            .find(|other| b.get(*other).is_some_and(|p| !p.is_disjoint(old)));
        if kept.is_none()
            && session_secrets
                .iter()
                .any(|other| other != name && a.get(other).is_some_and(|p| !p.is_disjoint(prints)))
        {
            // A rotation slot taking the new value of another is part of the same rotation.
            continue;
        }
        // This release's smoke, else the last release's: a deployment that failed its smoke
        // is judged by what was last proven of it.
        let (strategy, version) = session_strategy(now)
            .or_else(|| session_strategy(before))
            .unwrap_or((None, None));
        let (status, message) = match (kept, strategy.as_deref()) {
            (Some(slot), _) => (
                Status::Pass,
                format!("{name} changed since the last release; the old one is kept in {slot}, so signed-in users stay signed in"),
            ),
            (None, Some("database")) => (
                Status::Pass,
                format!("{name} changed since the last release; the deployment keeps database sessions, which survive it"),
            ),
            (None, strategy) => {
                let rotation = if version.as_deref() == Some("4") {
                    "Auth.js v4 has no rotation inputs".to_string()
                } else {
                    let slots: Vec<&str> = session_secrets
                        .iter()
                        .filter(|other| *other != name)
                        .map(String::as_str)
                        .collect();
                    let slots = match slots.as_slice() {
                        [one] => one.to_string(),
                        many => format!("one of {}", many.join(", ")),
                    };
                    format!("keep the old one in {slots} for a release to rotate without that")
                };
                let jwt = if strategy == Some("jwt") {
                    "the deployment keeps JWT sessions"
                } else {
                    "if the deployment keeps JWT sessions"
                };
                (
                    Status::Warn,
                    format!("{name} changed since the last release and the old one is not kept: {jwt}, so every signed-in user's session ends at deploy ({rotation})"),
                )
            }
        };
        findings.push(SecretFinding {
            status,
            name: name.clone(),
            message,
        });
    }
    Secrets {
        comparable: true,
        why_not: None,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A release's report: its signed-in smoke with `status` and the strategy it
    /// reported, and SIGNING_KEY's fingerprint.
    fn release(status: &str, strategy: &str, print: &str) -> Report {
        serde_json::from_value(json!({
            "schema": "relcon.report/v1",
            "tool": {"name": "relcon", "version": "0"},
            "checklist": {"id": "c", "title": "C", "version": 1, "sha256": "0"},
            "session": {"id": "s", "environment": "production", "production": true,
                        "started_at": "2026-12-04T00:00:00Z", "operators": []},
            "verdict": "go",
            "counts": {"pass": 0, "warn": 0, "fail": 0, "error": 0, "skip": 0, "blocked": 0, "pending": 0},
            "items": [{"id": "smoke.session", "section": "S", "title": "T", "kind": "authjs.session",
                       "required": true, "in_scope": true, "status": status, "summary": "",
                       "started_at": null, "duration_ms": 0, "attempts": 1, "run_by": null,
                       "evidence": {"strategy": strategy, "version": "4"}, "signoffs": []}],
            "secrets": [{"name": "SIGNING_KEY", "item": "secrets", "fingerprint": print}]
        }))
        .expect("a report")
    }

    #[test]
    fn a_failed_smoke_does_not_say_how_sessions_are_kept() {
        let names = ["SIGNING_KEY".to_string()];
        // The last release proved JWT sessions; this one's smoke failed at a guess.
        let before = release("pass", "jwt", "aaaaaaaa");
        let now = release("fail", "database", "bbbbbbbb");
        let found = secrets(&now, &before, true, &names).findings;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].status, Status::Warn);
        assert!(
            found[0]
                .message
                .contains("the deployment keeps JWT sessions, so every signed-in user's session ends at deploy"),
            "{}",
            found[0].message
        );
        // A passing smoke that saw database sessions is believed.
        let now = release("pass", "database", "bbbbbbbb");
        let found = secrets(&now, &before, true, &names).findings;
        assert_eq!(found[0].status, Status::Pass, "{found:?}");
    }
}
