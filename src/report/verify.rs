//! Verifying an exported report offline, from its own bytes: the event log it carries is
//! recomputed (every hash, every link, the head it names), the session is folded again from
//! those events by the same fold every view uses, and the verdict, counts and items the
//! document states must be what the events say. With the checklist file, its digest must be
//! the session's. Signatures are checked by the caller's signature checks, added to the
//! same list.

use sha2::{Digest, Sha256};

use super::model::{Report, ReportItem, State};
use crate::checklist::plan::{Plan, Scope};
use crate::session::chain::{verify_chain, Head};
use crate::session::rules::{checklist_of, Signed};
use crate::session::{Body, SessionState, SignoffStatus, StoredEvent, Timestamp};
use crate::sshsig::{self, AllowedSigners};
use serde_json::Value;

/// One thing checked, as `relcon verify` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Whether it holds.
    pub ok: bool,
    /// What was checked and what was found.
    pub what: String,
}

impl Check {
    /// A check that holds.
    pub fn pass(what: impl Into<String>) -> Self {
        Check {
            ok: true,
            what: what.into(),
        }
    }

    /// A check that does not hold.
    pub fn fail(what: impl Into<String>) -> Self {
        Check {
            ok: false,
            what: what.into(),
        }
    }
}

/// A report read for verification: the document, and the session its events fold into.
pub struct Recomputed {
    /// The document as it states things.
    pub document: Report,
    /// Its events, as stored (payloads in canonical form).
    pub events: Vec<StoredEvent>,
    /// The session folded from them, when they verify.
    pub session: Option<SessionState>,
}

/// Why a report cannot be verified at all (it is not one): bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAReport(pub String);

/// Reads `bytes` as an exported report and checks everything it carries about itself:
/// the chain, the head, the verdict, counts and items recomputed from its events, its
/// interim or final state; with `checklist`, that file's digest.
pub fn recompute(
    bytes: &[u8],
    checklist: Option<&[u8]>,
) -> Result<(Recomputed, Vec<Check>), NotAReport> {
    let document: Report = serde_json::from_slice(bytes).map_err(|e| {
        NotAReport(format!(
            "not a relcon report ({e}): verify the JSON export (relcon export --format json)"
        ))
    })?;
    if document.schema != super::model::SCHEMA {
        return Err(NotAReport(format!(
            "not a relcon.report/v1 document (schema {})",
            document.schema
        )));
    }
    let Some(log) = document.events.as_ref() else {
        return Err(NotAReport(
            "the report carries no event log: verify an export (relcon export --format json), not a run's --json document".into(),
        ));
    };
    let Some(entries) = log.entries.as_ref() else {
        return Err(NotAReport(
            "the report carries no event entries: verify an export (relcon export --format json), not a run's --json document".into(),
        ));
    };
    let events = entries
        .iter()
        .map(|e| e.stored())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| NotAReport(format!("an event entry cannot be read: {e}")))?;
    let mut checks = Vec::new();
    let named = Head {
        count: log.count,
        hash: log.head.clone(),
    };
    let session = match verify_chain(&document.session.id, &events, Some(&named)) {
        Ok(head) if head.count == named.count => {
            checks.push(Check::pass(format!(
                "event chain: {} events recomputed, ending at the head the report names ({})",
                head.count,
                &head.hash[..12]
            )));
            SessionState::fold(&events, head)
                .map_err(|broken| checks.push(Check::fail(broken.to_string())))
                .ok()
        }
        Ok(head) => {
            checks.push(Check::fail(format!(
                "event chain: the report names {} events, but carries {} after them",
                named.count,
                head.count - named.count
            )));
            None
        }
        Err(broken) => {
            let why = if log.redacted.contains(&broken.seq) {
                format!("{broken} (the export scrubbed a secret out of it after it was recorded)")
            } else {
                broken.to_string()
            };
            checks.push(Check::fail(format!("event chain: {why}")));
            None
        }
    };
    if let Some(session) = &session {
        checks.extend(restated(&document, session));
    }
    if let Some(checklist) = checklist {
        let digest = hex::encode(Sha256::digest(checklist));
        checks.push(if digest == document.checklist.sha256 {
            Check::pass(format!(
                "checklist: the file is the one the session ran (sha256 {})",
                &digest[..12]
            ))
        } else {
            Check::fail(format!(
                "checklist: the file's sha256 is {digest}, the session ran {}",
                document.checklist.sha256
            ))
        });
    }
    Ok((
        Recomputed {
            document,
            events,
            session,
        },
        checks,
    ))
}

/// Whether what the document states (verdict, counts, items, state, checklist) is what
/// its events say.
fn restated(document: &Report, session: &SessionState) -> Vec<Check> {
    let mut checks = Vec::new();
    let checklist = match checklist_of(session) {
        Ok(checklist) => checklist,
        Err(err) => return vec![Check::fail(format!("recomputed verdict: {err}"))],
    };
    let plan = match Plan::new(checklist, session.environment.clone(), &Scope::default()) {
        Ok(plan) => plan,
        Err(err) => return vec![Check::fail(format!("recomputed verdict: {err}"))],
    };
    // The document's statements, not its event log (checked above): no entries rebuilt.
    let again = Report::of_session(&plan, session);
    if again.checklist.sha256 != document.checklist.sha256 {
        checks.push(Check::fail(format!(
            "checklist digest: the report says {}, its events {}",
            document.checklist.sha256, again.checklist.sha256
        )));
    }
    if again.verdict == document.verdict && again.counts == document.counts {
        checks.push(Check::pass(format!(
            "verdict and counts recomputed from the events: {} ({})",
            again.verdict.name(),
            again.counts.text()
        )));
    } else {
        checks.push(Check::fail(format!(
            "verdict and counts: the report says {} ({}), its events say {} ({})",
            document.verdict.name(),
            document.counts.text(),
            again.verdict.name(),
            again.counts.text()
        )));
    }
    let differing: Vec<String> = again
        .items
        .iter()
        .zip(&document.items)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{} ({})", a.id, item_differences(b, a)))
        .collect();
    if again.items.len() != document.items.len() {
        checks.push(Check::fail(format!(
            "items: the report lists {}, its checklist has {}",
            document.items.len(),
            again.items.len()
        )));
    } else if differing.is_empty() {
        checks.push(Check::pass(format!(
            "items: all {} as their events say",
            again.items.len()
        )));
    } else {
        checks.push(Check::fail(format!(
            "items: {} not as their events say",
            differing.join(", ")
        )));
    }
    checks.extend(bake(document, &again, session));
    let state = if session.closed.is_some() {
        State::Final
    } else {
        State::Interim
    };
    if document.state != Some(state) {
        checks.push(Check::fail(format!(
            "state: the report says {}, its events say {}",
            document.state.map_or("nothing", State::name),
            state.name()
        )));
    }
    checks
}

/// Which fields of an item the report states otherwise than its events: short values
/// (status, attempts…) with both sides, the rest by name.
fn item_differences(stated: &ReportItem, events: &ReportItem) -> String {
    let (Ok(Value::Object(stated)), Ok(Value::Object(events))) =
        (serde_json::to_value(stated), serde_json::to_value(events))
    else {
        return "unreadable".into();
    };
    events
        .iter()
        .filter(|(key, value)| stated.get(*key) != Some(*value))
        .map(|(key, value)| match (stated.get(key), value) {
            (Some(said), Value::String(_) | Value::Bool(_) | Value::Number(_))
                if matches!(
                    key.as_str(),
                    "status" | "required" | "in_scope" | "attempts" | "duration_ms" | "kind"
                ) =>
            {
                format!("{key}: the report says {said}, its events {value}")
            }
            _ => key.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The bake the document states is the one its events hold, and its recorded end is what
/// its rounds say by the rule (an edited verdict shows here even when the chain was
/// recomputed after the edit).
fn bake(document: &Report, again: &Report, session: &SessionState) -> Vec<Check> {
    let Some(baked) = crate::session::bake::bakes(&session.audit).pop() else {
        return if document.bake.is_some() {
            vec![Check::fail(
                "bake: the report states one, its events hold none",
            )]
        } else {
            Vec::new()
        };
    };
    let mut checks = Vec::new();
    if document.bake != again.bake {
        checks.push(Check::fail(
            "bake: the report's account of it is not what its events say",
        ));
    }
    match baked.disagreement() {
        Some(why) => checks.push(Check::fail(format!("bake: {why}"))),
        None => checks.push(Check::pass(match &baked.ended {
            Some((outcome, reason, _)) => format!(
                "bake: {} ({reason}), as its {} rounds say",
                outcome.name(),
                baked.rounds.len()
            ),
            None => format!("bake: still baking, {} rounds so far", baked.rounds.len()),
        })),
    }
    checks
}

/// The namespace of a report's signature.
pub const REPORT_NAMESPACE: &str = "relcon-report";

/// The namespace of a sign-off's signature.
pub const SIGNOFF_NAMESPACE: &str = "relcon-signoff";

/// Who signed the report's exact bytes, and whether `allowed` lets that key sign reports at
/// `at`; none when there is no signature to check.
pub fn report_signature(
    bytes: &[u8],
    signature: Option<&str>,
    document: &Report,
    allowed: &AllowedSigners,
    at: std::time::SystemTime,
    when: &str,
) -> Check {
    let Some(signature) = signature else {
        return Check::fail(
            "report signature: none (export it with --sign KEYFILE or --sign-agent; it is written as REPORT.sig)",
        );
    };
    let verified = match sshsig::verify(signature, REPORT_NAMESPACE, bytes) {
        Ok(verified) => verified,
        Err(err) => return Check::fail(format!("report signature: {err}")),
    };
    if let Some(named) = document
        .signed_by
        .as_deref()
        .filter(|named| *named != verified.fingerprint)
    {
        return Check::fail(format!(
            "report signature: made by {}, but the report names {named}",
            verified.fingerprint
        ));
    }
    let principals = allowed.find_principals(&verified.public_key, REPORT_NAMESPACE, at);
    if principals.is_empty() {
        return Check::fail(format!(
            "report signature: by {}, a key the allowed signers do not list for {REPORT_NAMESPACE} {when}",
            verified.fingerprint
        ));
    }
    Check::pass(format!(
        "report signature: by {} ({}), allowed {when}",
        principals.join(", "),
        verified.fingerprint
    ))
}

/// Every sign-off's signature: made over what the sign-off says (its item, signer, status,
/// note, evidence, time and place in the log) by a key `allowed` lists for the signer; an
/// unsigned sign-off where the session required signatures fails; an item signed by several
/// people needs as many distinct keys.
pub fn signoff_signatures(
    session: &SessionState,
    events: &[StoredEvent],
    allowed: &AllowedSigners,
    at: Option<std::time::SystemTime>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut keys: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    let mut unsigned = 0;
    for event in events {
        let Some(Body::Signoff {
            item,
            status,
            note,
            evidence,
            signature,
        }) = event.body()
        else {
            continue;
        };
        let what = format!(
            "sign-off of {item} by {} (event {})",
            event.actor, event.seq
        );
        let Some(signature) = signature else {
            unsigned += 1;
            if session.require_signed_signoffs {
                checks.push(Check::fail(format!(
                    "{what}: unsigned, where the session's environment requires signed sign-offs"
                )));
            }
            continue;
        };
        let message = Signed {
            session: &event.session,
            checklist_sha256: &session.checklist.sha256,
            item: &item,
            by: &event.actor,
            status,
            note: &note,
            evidence: &evidence,
            at: &event.at,
            prev_hash: &event.prev_hash,
        }
        .message();
        let verified = match sshsig::verify(&signature, SIGNOFF_NAMESPACE, &message) {
            Ok(verified) => verified,
            Err(err) => {
                checks.push(Check::fail(format!("{what}: {err}")));
                continue;
            }
        };
        // A sign-off's key is judged as of when it was signed, unless asked otherwise.
        let when = at
            .or_else(|| Timestamp::parse(&event.at).map(Timestamp::system))
            .unwrap_or_else(std::time::SystemTime::now);
        match allowed.check(&event.actor, &verified.public_key, SIGNOFF_NAMESPACE, when) {
            Ok(()) => {
                checks.push(Check::pass(format!(
                    "{what}: signed by {} ({})",
                    event.actor, verified.fingerprint
                )));
                if status == SignoffStatus::Done {
                    keys.entry(item.clone())
                        .or_default()
                        .push((verified.fingerprint, event.actor.clone()));
                }
            }
            Err(refusal) => checks.push(Check::fail(format!(
                "{what}: signed by {}, but {refusal}",
                verified.fingerprint
            ))),
        }
    }
    for (item, signers) in &keys {
        let mut fingerprints: Vec<&str> = signers.iter().map(|(f, _)| f.as_str()).collect();
        fingerprints.sort_unstable();
        fingerprints.dedup();
        if fingerprints.len() < signers.len() {
            let names: Vec<&str> = signers.iter().map(|(_, by)| by.as_str()).collect();
            checks.push(Check::fail(format!(
                "{item}: signed done by {} with {} distinct key(s): one key stands for one person",
                names.join(", "),
                fingerprints.len()
            )));
        }
    }
    if unsigned > 0 && !session.require_signed_signoffs {
        checks.push(Check::pass(format!(
            "{unsigned} unsigned sign-off(s), where the session's environment does not require signatures"
        )));
    }
    checks
}
