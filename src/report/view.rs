//! What the human-readable views (Markdown and HTML) read from a report alike: the words
//! for the verdict, the state and each status, sign-offs as typed values, which items need
//! attention, durations, and how to verify a signed export. Both renderers say the same
//! things, each in its own markup, so a pull request and a browser never disagree.

use super::model::{Report, ReportItem, State};
use crate::status::{Status, Verdict};

/// The signature's namespace, as `ssh-keygen -Y` takes it.
pub const NAMESPACE: &str = "relcon-report";

/// How anyone checks a signed export with OpenSSH alone (`FILE` the export, `FILE.sig` the
/// signature written beside it, `allowed_signers` the keys they trust).
pub const VERIFY_SSH: &str =
    "ssh-keygen -Y verify -f allowed_signers -I <principal> -n relcon-report -s FILE.sig < FILE";

/// How anyone checks a signed export with relcon, which also recomputes the event chain.
pub const VERIFY_RELCON: &str = "relcon verify FILE --allowed-signers allowed_signers";

/// The verdict as a word a reader cannot mistake: `GO`, `NO-GO`, `INCOMPLETE`.
pub fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Go => "GO",
        Verdict::NoGo => "NO-GO",
        Verdict::Incomplete => "INCOMPLETE",
    }
}

/// A symbol that goes with the verdict's word (never instead of it).
pub fn verdict_symbol(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Go => "✔",
        Verdict::NoGo => "✘",
        Verdict::Incomplete => "…",
    }
}

/// What an export's state means for whoever reads it.
pub fn state_note(state: State) -> &'static str {
    match state {
        State::Interim => "the session was still open when this was exported: more may come",
        State::Final => "the session is closed: this is its last word",
    }
}

/// A status as an upper-case word, so that it reads without colour.
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pending => "PENDING",
        Status::Running => "RUNNING",
        Status::Pass => "PASS",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
        Status::Skip => "SKIP",
        Status::Blocked => "BLOCKED",
    }
}

/// Whether an item is a failure (it failed or could not be evaluated), in scope.
pub fn is_failure(item: &ReportItem) -> bool {
    item.in_scope && matches!(item.status, Status::Fail | Status::Error)
}

/// Whether an item is still open (waiting, running or blocked), in scope.
pub fn is_open(item: &ReportItem) -> bool {
    item.in_scope
        && matches!(
            item.status,
            Status::Pending | Status::Running | Status::Blocked
        )
}

/// Whether a reader must look at the item: a failure, a warning or still open. Passed and
/// skipped items, and items left out of this run, need no one.
pub fn needs_attention(item: &ReportItem) -> bool {
    item.in_scope && !matches!(item.status, Status::Pass | Status::Skip)
}

/// Whether an item failed, could not be evaluated or warned, in scope: the items whose
/// reason and evidence a reader sees first.
pub fn is_failure_or_warning(item: &ReportItem) -> bool {
    is_failure(item) || (item.in_scope && item.status == Status::Warn)
}

/// Failures, then warnings, checklist order within each.
pub fn failures_and_warnings(report: &Report) -> Vec<&ReportItem> {
    let mut items: Vec<&ReportItem> = report
        .items
        .iter()
        .filter(|i| is_failure_or_warning(i))
        .collect();
    // A stable sort keeps checklist order within each rank.
    items.sort_by_key(|i| i.status == Status::Warn);
    items
}

/// Whether the item is a manual one (a person signs it instead of a check running it).
pub fn is_manual(item: &ReportItem) -> bool {
    item.kind == "manual"
}

/// A sign-off, read from the report's JSON form. Missing fields read as empty, so a report
/// written by hand or by another version still renders.
#[derive(Debug, Clone, PartialEq)]
pub struct SignoffView<'a> {
    /// Who signed.
    pub by: &'a str,
    /// How (`done`, `failed`, `na`).
    pub status: &'a str,
    /// What they said.
    pub note: &'a str,
    /// The evidence fields they gave, by name.
    pub evidence: Vec<(&'a str, String)>,
    /// When, RFC 3339 UTC with milliseconds.
    pub at: &'a str,
    /// Whether the sign-off carries a signature made with the signer's key.
    pub signed: bool,
}

impl<'a> SignoffView<'a> {
    /// The sign-off `value` of a report item.
    pub fn of(value: &'a serde_json::Value) -> Self {
        let text = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or("");
        let evidence = value
            .get("evidence")
            .and_then(|e| e.as_object())
            .map(|fields| {
                fields
                    .iter()
                    .map(|(name, v)| {
                        let shown = v.as_str().map_or_else(|| v.to_string(), String::from);
                        (name.as_str(), shown)
                    })
                    .collect()
            })
            .unwrap_or_default();
        SignoffView {
            by: text("by"),
            status: text("status"),
            note: text("note"),
            evidence,
            at: text("at"),
            signed: value
                .get("signature")
                .and_then(|s| s.as_str())
                .is_some_and(|s| !s.is_empty()),
        }
    }

    /// Whether the sign-off is signed, in words.
    pub fn signature_word(&self) -> &'static str {
        if self.signed {
            "signed"
        } else {
            "unsigned"
        }
    }
}

/// Every sign-off of `item`.
pub fn signoffs(item: &ReportItem) -> Vec<SignoffView<'_>> {
    item.signoffs.iter().map(SignoffView::of).collect()
}

/// The item's evidence as indented JSON, or `None` when it has none (`{}` or null).
pub fn evidence_json(item: &ReportItem) -> Option<String> {
    let empty = match &item.evidence {
        serde_json::Value::Null => true,
        serde_json::Value::Object(map) => map.is_empty(),
        _ => false,
    };
    if empty {
        return None;
    }
    // A `Value` always serialises (its keys are strings); an empty pane is the safe fallback.
    serde_json::to_string_pretty(&item.evidence).ok()
}

/// What one person did in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person<'a> {
    /// Their name, as the session has it.
    pub name: &'a str,
    /// How many items they ran.
    pub ran: usize,
    /// How many sign-offs they gave.
    pub signed: usize,
}

/// Everyone who worked on the session: its operators first, in its order, then anyone
/// else who ran or signed an item, in checklist order.
pub fn people(report: &Report) -> Vec<Person<'_>> {
    let mut people: Vec<Person<'_>> = report
        .session
        .operators
        .iter()
        .map(|name| Person {
            name,
            ran: 0,
            signed: 0,
        })
        .collect();
    fn add<'a>(people: &mut Vec<Person<'a>>, name: &'a str, ran: usize, signed: usize) {
        match people.iter_mut().find(|p| p.name == name) {
            Some(person) => {
                person.ran += ran;
                person.signed += signed;
            }
            None => people.push(Person { name, ran, signed }),
        }
    }
    for item in &report.items {
        if let Some(by) = &item.run_by {
            add(&mut people, by, 1, 0);
        }
        for by in item.signoffs.iter().filter_map(|s| s.get("by")?.as_str()) {
            add(&mut people, by, 0, 1);
        }
    }
    people
}

/// A wall time for people: `8 ms`, `1.2 s`, `3 min 4 s`, `1 h 2 min`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{}.{} s", ms / 1_000, ms % 1_000 / 100),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1_000),
        _ => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// `n` and a noun, singular or plural as `n` asks: `1 item`, `2 items`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text` cut to at most `max` characters (an ellipsis marks the cut), for names and titles
/// that could otherwise flood a compact view.
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some(_) => {
            let cut = text
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(0, |(i, _)| i);
            format!("{}…", &text[..cut]).into()
        }
    }
}

/// Milliseconds, or a dash for none: `12 ms`, `–`.
pub fn ms_or_dash(ms: Option<u64>) -> String {
    ms.map_or("–".into(), |v| format!("{v} ms"))
}

/// A duration in milliseconds as people write it: `30s`, `15m`, `1m 30s`, `500ms`.
pub fn duration_ms(ms: u64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration(0), "0 ms");
        assert_eq!(duration(999), "999 ms");
        assert_eq!(duration(1_250), "1.2 s");
        assert_eq!(duration(184_000), "3 min 4 s");
        assert_eq!(duration(3_720_000), "1 h 2 min");
    }

    #[test]
    fn clipping_counts_characters_and_marks_the_cut() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("abc", 3), "abc");
    }

    #[test]
    fn a_signoff_reads_from_its_json_and_tolerates_missing_fields() {
        let value = serde_json::json!({
            "by": "alice", "status": "done", "note": "ok", "at": "2026-01-01T00:00:00.000Z",
            "evidence": {"n": 3}, "signature": "-----BEGIN SSH SIGNATURE-----"
        });
        let view = SignoffView::of(&value);
        assert_eq!(view.by, "alice");
        assert!(view.signed);
        assert_eq!(view.signature_word(), "signed");
        assert_eq!(view.evidence, vec![("n", "3".to_string())]);
        let value = serde_json::json!({"signature": null});
        let bare = SignoffView::of(&value);
        assert_eq!((bare.by, bare.signed), ("", false));
    }
}
