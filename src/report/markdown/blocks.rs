//! The blocks of the Markdown report: the head (verdict, facts, counts), the lists
//! (failures and warnings, items still open, items by section, sign-offs, who did what,
//! secrets) and the tail (the event chain and how to verify). Every text from the report
//! passes through `escape` here and nowhere else.

use std::fmt::Write;

use super::escape::{code, excerpt, fence, prose, Place};
use super::{Detail, Doc, Group};
use crate::report::diff::Diff;
use crate::report::model::{Report, ReportItem};
use crate::report::view::{self, SignoffView};
use crate::status::Status;

/// The longest title or summary shown, in characters.
const TEXT_MAX: usize = 500;

/// The most names of a short list (operators, scrubbed events) shown inline.
const NAMES_MAX: usize = 20;

/// Prose of `text`, cut to [`TEXT_MAX`] characters.
fn say(text: &str, place: Place) -> String {
    prose(&view::clip(text, TEXT_MAX), place)
}

/// A status as a word with its symbol, e.g. `✘ FAIL`.
fn status(item: &ReportItem) -> String {
    if !item.in_scope {
        return "○ LEFT OUT".into();
    }
    let optional = if item.required { "" } else { " (optional)" };
    format!(
        "{} {}{optional}",
        item.status.symbol(),
        view::status_word(item.status)
    )
}

/// `names` joined, at most [`NAMES_MAX`] of them, each escaped for `place`.
fn names<'a>(names: impl ExactSizeIterator<Item = &'a str>, place: Place) -> String {
    let total = names.len();
    let mut shown: Vec<String> = names
        .take(NAMES_MAX)
        .map(|n| prose(&view::clip(n, 80), place))
        .collect();
    if total > NAMES_MAX {
        shown.push(format!("and {} more", total - NAMES_MAX));
    }
    shown.join(", ")
}

/// The whole rendering at `detail`.
pub(super) fn compose(report: &Report, detail: Detail, since: Option<&Diff>) -> Doc {
    let mut groups = vec![
        attention(report, detail),
        report.bake.as_ref().map(super::bake::group),
        since.and_then(since_last),
        still_open(report),
    ];
    groups.push(if detail.every_item {
        every_item(report)
    } else {
        per_section(report)
    });
    groups.extend([signoffs(report), who(report), secrets(report)]);
    Doc {
        head: head(report),
        groups: groups.into_iter().flatten().collect(),
        tail: tail(report),
    }
}

/// The verdict, the facts of the session and the counts.
fn head(report: &Report) -> String {
    let verdict = format!(
        "{} {}",
        view::verdict_symbol(report.verdict),
        view::verdict_word(report.verdict)
    );
    let mut out = format!(
        "# {verdict} — {}\n\n**Verdict: {verdict}**",
        say(&report.checklist.title, Place::Text)
    );
    if let Some(state) = report.state {
        let _ = write!(out, " · **{}**: {}", state.name(), view::state_note(state));
    }
    out.push_str("\n\n");
    let checklist = &report.checklist;
    let _ = writeln!(
        out,
        "- **Checklist:** {} ({}, version {}, sha256 {})",
        say(&checklist.title, Place::Text),
        code(&view::clip(&checklist.id, 200), Place::Text),
        checklist.version,
        code(&view::clip(&checklist.sha256, 200), Place::Text)
    );
    let session = &report.session;
    if let Some(environment) = &session.environment {
        let production = if session.production {
            " (production)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "- **Environment:** {}{production}",
            say(environment, Place::Text)
        );
    }
    let _ = writeln!(
        out,
        "- **Session:** {}, started {}",
        code(&view::clip(&session.id, 200), Place::Text),
        say(&session.started_at, Place::Text)
    );
    let _ = writeln!(
        out,
        "- **Operators:** {}",
        names(session.operators.iter().map(String::as_str), Place::Text)
    );
    let _ = writeln!(
        out,
        "- **Made by:** {} {} ({})\n",
        say(&report.tool.name, Place::Text),
        say(&report.tool.version, Place::Text),
        say(&report.schema, Place::Text)
    );
    counts(report, &mut out);
    out
}

/// The counts of the items in scope, as a table whose headers say each status's word.
fn counts(report: &Report, out: &mut String) {
    let c = &report.counts;
    let cells = [
        (Status::Pass, c.pass),
        (Status::Warn, c.warn),
        (Status::Fail, c.fail),
        (Status::Error, c.error),
        (Status::Skip, c.skip),
        (Status::Blocked, c.blocked),
        (Status::Pending, c.pending),
    ];
    out.push_str("**Counts** of the items in this run:\n\n|");
    for (status, _) in cells {
        let _ = write!(out, " {} {} |", status.symbol(), view::status_word(status));
    }
    out.push_str(" in all |\n|");
    out.push_str(&"---:|".repeat(cells.len() + 1));
    out.push_str("\n|");
    for (_, n) in cells {
        let _ = write!(out, " {n} |");
    }
    let _ = writeln!(out, " {} |\n", c.total());
    let left_out = report.items.iter().filter(|i| !i.in_scope).count();
    if left_out > 0 {
        let _ = writeln!(
            out,
            "{} left out of this run.\n",
            view::count(left_out, "more item was", "more items were")
        );
    }
}

/// Failures and warnings, each with its reason, its evidence and its sign-offs.
fn attention(report: &Report, detail: Detail) -> Option<Group> {
    let items: Vec<&ReportItem> = view::failures_and_warnings(report);
    if items.is_empty() {
        return Some(Group {
            heading: "## Failures and warnings\n\nNone: nothing failed and nothing warned.\n"
                .into(),
            entries: Vec::new(),
        });
    }
    Some(Group {
        heading: format!("## Failures and warnings ({})\n\n", items.len()),
        entries: items.iter().map(|i| failure(i, detail)).collect(),
    })
}

/// One failure or warning.
fn failure(item: &ReportItem, detail: Detail) -> String {
    let mut out = format!(
        "### {}: {}\n\n{} in {} · {}",
        status(item),
        say(&item.title, Place::Text),
        code(&view::clip(&item.id, 200), Place::Text),
        say(&item.section, Place::Text),
        say(&item.kind, Place::Text),
    );
    if let Some(by) = &item.run_by {
        let _ = write!(out, " · ran by {}", say(by, Place::Text));
    }
    if let Some(at) = &item.started_at {
        let _ = write!(out, " · started {}", say(at, Place::Text));
    }
    if item.attempts > 0 {
        let _ = write!(
            out,
            " · took {} · {}",
            view::duration(item.duration_ms),
            view::count(item.attempts as usize, "attempt", "attempts")
        );
    }
    let _ = write!(
        out,
        "\n\n**Reason:** {}\n\n",
        say(&item.summary, Place::Text)
    );
    for signoff in view::signoffs(item) {
        let _ = writeln!(out, "- {}\n", signoff_line(&signoff));
    }
    if let Some(json) = view::evidence_json(item).filter(|_| detail.excerpt > 0) {
        let (shown, left) = excerpt(&json, detail.excerpt);
        if left == 0 {
            out.push_str("**Evidence:**\n\n");
        } else {
            let _ = write!(
                out,
                "**Evidence** (its first {} characters; {left} more in the JSON export):\n\n",
                shown.chars().count()
            );
        }
        out.push_str(&fence(shown, "json"));
        out.push('\n');
    }
    out
}

/// A sign-off in one line: how, who, when, whether signed, the note.
fn signoff_line(signoff: &SignoffView<'_>) -> String {
    let mut out = format!(
        "**{}** by {} at {} ({})",
        say(signoff.status, Place::Text),
        say(signoff.by, Place::Text),
        say(signoff.at, Place::Text),
        signature(signoff)
    );
    if !signoff.note.is_empty() {
        let _ = write!(out, ": {}", say(signoff.note, Place::Text));
    }
    out
}

/// Whether a sign-off is signed, with a symbol beside the word.
fn signature(signoff: &SignoffView<'_>) -> &'static str {
    if signoff.signed {
        "✔ signed"
    } else {
        "unsigned"
    }
}

/// Items in scope still pending, running or blocked.
fn still_open(report: &Report) -> Option<Group> {
    let items: Vec<&ReportItem> = report.items.iter().filter(|i| view::is_open(i)).collect();
    if items.is_empty() {
        return None;
    }
    Some(Group {
        heading: format!(
            "## Still open ({})\n\n| status | item | section | why |\n|---|---|---|---|\n",
            items.len()
        ),
        entries: items
            .iter()
            .map(|i| {
                format!(
                    "| {} | {} | {} | {} |\n",
                    status(i),
                    item_name(i),
                    say(&i.section, Place::Cell),
                    say(&i.summary, Place::Cell)
                )
            })
            .collect(),
    })
}

/// An item's title and id, for a table cell.
fn item_name(item: &ReportItem) -> String {
    format!(
        "{} ({})",
        say(&item.title, Place::Cell),
        code(&view::clip(&item.id, 200), Place::Cell)
    )
}

/// The sections in checklist order, each with its items.
fn sections(report: &Report) -> Vec<(&str, Vec<&ReportItem>)> {
    let mut sections: Vec<(&str, Vec<&ReportItem>)> = Vec::new();
    for item in &report.items {
        match sections.iter_mut().find(|(s, _)| *s == item.section) {
            Some((_, items)) => items.push(item),
            None => sections.push((&item.section, vec![item])),
        }
    }
    sections
}

/// Who ran an item, or who signed it.
fn actor(item: &ReportItem) -> String {
    match &item.run_by {
        Some(by) => say(by, Place::Cell),
        None => {
            let signers: Vec<SignoffView<'_>> = view::signoffs(item);
            names(signers.iter().map(|s| s.by), Place::Cell)
        }
    }
}

/// Every item by section, one table row each.
fn every_item(report: &Report) -> Option<Group> {
    let entries = sections(report)
        .into_iter()
        .map(|(section, items)| {
            let mut out = format!(
                "### {} ({})\n\n| status | item | summary | ran or signed by | started | took |\n|---|---|---|---|---|---|\n",
                say(section, Place::Text),
                view::count(items.len(), "item", "items")
            );
            for item in items {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    status(item),
                    item_name(item),
                    say(&item.summary, Place::Cell),
                    actor(item),
                    item.started_at.as_deref().map_or(String::new(), |at| say(at, Place::Cell)),
                    if item.attempts > 0 { view::duration(item.duration_ms) } else { String::new() }
                );
            }
            out.push('\n');
            out
        })
        .collect();
    Some(Group {
        heading: "## Items by section\n\n".into(),
        entries,
    })
}

/// Per section, how many items passed, were skipped, need attention or were left out.
fn per_section(report: &Report) -> Option<Group> {
    let entries = sections(report)
        .into_iter()
        .map(|(section, items)| {
            let count = |f: &dyn Fn(&ReportItem) -> bool| items.iter().filter(|i| f(i)).count();
            format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                say(section, Place::Cell),
                items.len(),
                count(&|i| i.in_scope && i.status == Status::Pass),
                count(&|i| i.in_scope && i.status == Status::Skip),
                count(&view::needs_attention),
                count(&|i| !i.in_scope),
            )
        })
        .collect();
    Some(Group {
        heading: "## Items by section\n\nPassing and skipped items are counted here, not listed; the others are listed above.\n\n| section | items | ✔ PASS | ↷ SKIP | listed above | left out |\n|---|---:|---:|---:|---:|---:|\n".into(),
        entries,
    })
}

/// Every sign-off: item, who, how, when, whether signed, note and evidence fields.
fn signoffs(report: &Report) -> Option<Group> {
    let mut entries = Vec::new();
    for item in &report.items {
        for s in view::signoffs(item) {
            let mut note = say(s.note, Place::Cell);
            for (name, value) in &s.evidence {
                if !note.is_empty() {
                    note.push_str(" · ");
                }
                let field = format!("{name}: {value}");
                note.push_str(&say(&field, Place::Cell));
            }
            entries.push(format!(
                "| {} | {} | {} | {} | {} | {note} |\n",
                item_name(item),
                say(s.by, Place::Cell),
                say(s.status, Place::Cell),
                say(s.at, Place::Cell),
                signature(&s)
            ));
        }
    }
    if entries.is_empty() {
        return Some(Group {
            heading: "## Sign-offs\n\nNone.\n".into(),
            entries,
        });
    }
    Some(Group {
        heading: format!(
            "## Sign-offs ({})\n\n| item | by | how | when | signature | note and evidence |\n|---|---|---|---|---|---|\n",
            entries.len()
        ),
        entries,
    })
}

/// Each person: the items they ran and the sign-offs they gave.
fn who(report: &Report) -> Option<Group> {
    let people = view::people(report);
    if people.is_empty() {
        return None;
    }
    Some(Group {
        heading: "## Who did what\n\n| who | items run | sign-offs |\n|---|---:|---:|\n".into(),
        entries: people
            .into_iter()
            .map(|p| {
                format!(
                    "| {} | {} | {} |\n",
                    say(p.name, Place::Cell),
                    p.ran,
                    p.signed
                )
            })
            .collect(),
    })
}

/// The keyed fingerprints of the secrets the checks saw.
fn secrets(report: &Report) -> Option<Group> {
    let prints = report.secrets.as_ref().filter(|p| !p.is_empty())?;
    Some(Group {
        heading: "## Secrets the checks saw\n\nKeyed fingerprints only, never values: the same secret gives the same fingerprint within one store.\n\n| input | item | fingerprint |\n|---|---|---|\n".into(),
        entries: prints
            .iter()
            .map(|p| {
                format!(
                    "| {} | {} | {} |\n",
                    say(&p.name, Place::Cell),
                    code(&view::clip(&p.item, 200), Place::Cell),
                    code(&view::clip(&p.fingerprint, 200), Place::Cell)
                )
            })
            .collect(),
    })
}

/// The event chain's head, the signature and how to verify.
fn tail(report: &Report) -> String {
    let mut out = String::from("## Integrity\n\n");
    match &report.events {
        Some(events) => {
            let _ = writeln!(
                out,
                "- **Event log:** {} events, head {}",
                events.count,
                code(&view::clip(&events.head, 200), Place::Text)
            );
            if !events.redacted.is_empty() {
                let seqs: Vec<String> = events.redacted.iter().map(i64::to_string).collect();
                let _ = writeln!(
                    out,
                    "- **Scrubbed after recording:** events {}: they held a secret the exporting process knows, so their hashes no longer match",
                    names(seqs.iter().map(String::as_str), Place::Text)
                );
            }
        }
        None => out.push_str("- **Event log:** not included\n"),
    }
    match &report.signed_by {
        Some(key) => {
            let _ = writeln!(
                out,
                "- **Signed by:** {} (SSHSIG, namespace {})\n\nTo verify, with FILE the export and FILE.sig the signature beside it, and the signers you trust in `allowed_signers`:\n",
                code(&view::clip(key, 200), Place::Text),
                code(view::NAMESPACE, Place::Text)
            );
        }
        None => out.push_str(
            "- **Signature:** none: this report is not signed, so nothing in it proves who made it\n\nA signed export (FILE, with FILE.sig beside it) is verified with:\n\n",
        ),
    }
    out.push_str(&fence(
        &format!("{}\n{}", view::VERIFY_SSH, view::VERIFY_RELCON),
        "sh",
    ));
    out
}

/// What changed since the last release: new failures and secret warnings first.
fn since_last(diff: &Diff) -> Option<Group> {
    let entries: Vec<String> = diff
        .entries()
        .into_iter()
        .map(|(kind, text)| format!("- **{kind}** {}\n", prose(&text, Place::Text)))
        .collect();
    let nothing = if entries.is_empty() {
        "\nNothing changed.\n"
    } else {
        "\n"
    };
    Some(Group {
        heading: format!(
            "## Since the last release ({})\n\n{}\n{nothing}",
            entries.len(),
            prose(&diff.against_line(), Place::Text)
        ),
        entries,
    })
}
