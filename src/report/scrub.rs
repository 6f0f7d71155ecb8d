//! A report scrubbed of the secrets the exporting process knows: text values only, never
//! the document's structure, so a short secret that happens to be "pass" or "final" cannot
//! rewrite a status or a state. Events are recorded scrubbed already; one that still holds a
//! secret (recorded by a process that did not know it) is scrubbed too and named, since its
//! hash no longer matches.

use super::model::Report;
use crate::redact::Redactor;

/// Keys whose string values are the document's structure (names of statuses and kinds,
/// identifiers, times, digests), never scrubbed.
const STRUCTURE: &[&str] = &[
    "at",
    "format",
    "hash",
    "head",
    "id",
    "item",
    "kind",
    "prev_hash",
    "run_id",
    "schema",
    "session",
    "sha256",
    "signer",
    "started_at",
    "state",
    "status",
    "type",
    "verdict",
    "version",
];

/// Scrubs the strings of `value`, but those under a structural key; says whether any
/// changed.
fn scrub_value(redactor: &Redactor, value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => match redactor.scrub(text) {
            std::borrow::Cow::Owned(clean) => {
                *text = clean;
                true
            }
            std::borrow::Cow::Borrowed(_) => false,
        },
        serde_json::Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| scrub_value(redactor, v) | changed),
        serde_json::Value::Object(map) => map
            .iter_mut()
            .filter(|(key, v)| !(v.is_string() && STRUCTURE.contains(&key.as_str())))
            .fold(false, |changed, (_, v)| scrub_value(redactor, v) | changed),
        _ => false,
    }
}

/// Scrubs `report` with `redactor`; events that changed are listed in
/// `events.redacted`.
pub fn scrub(report: &mut Report, redactor: &Redactor) -> Result<(), serde_json::Error> {
    let mut redacted = Vec::new();
    if let Some(entries) = report.events.as_mut().and_then(|e| e.entries.as_mut()) {
        for entry in entries.iter_mut() {
            if scrub_value(redactor, &mut entry.payload) {
                redacted.push(entry.seq);
            }
        }
    }
    let entries = report.events.as_mut().and_then(|e| e.entries.take());
    let mut value = serde_json::to_value(&*report)?;
    scrub_value(redactor, &mut value);
    *report = serde_json::from_value(value)?;
    if let Some(events) = report.events.as_mut() {
        events.entries = entries;
        events.redacted = redacted;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_scrubbed_and_structure_is_not() {
        let redactor = Redactor::with_key([3; 32]);
        redactor.add_secret("pass");
        redactor.add_secret("hunter2-secret");
        let mut value = serde_json::json!({
            "status": "pass",
            "summary": "saw hunter2-secret and pass",
            "evidence": {"status": "pass", "body": ["hunter2-secret"]},
        });
        scrub_value(&redactor, &mut value);
        assert_eq!(value["status"], "pass");
        assert_eq!(value["evidence"]["status"], "pass");
        let text = value.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(value["summary"]
            .as_str()
            .is_some_and(|s| !s.contains(" pass")));
    }
}
