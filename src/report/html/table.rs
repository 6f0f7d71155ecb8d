//! The tables of the HTML report: every item, filtered with CSS alone (radio buttons
//! before the table and `:checked ~` selectors, so it works with scripts off and prints
//! whole), evidence panes, the sign-offs, who did what and the secrets' fingerprints.

use std::fmt::Write;

use super::{badge, escape, signature_badge, signoff_line};
use crate::report::model::{Report, ReportItem};
use crate::report::view::{self, SignoffView};
use crate::status::Status;

/// The table's filters: id, label, and which rows each keeps (by the row's class).
const FILTERS: [(&str, &str, &str); 5] = [
    ("f-all", "All", ""),
    ("f-failed", "✘ Failed", "m-failed"),
    ("f-warn", "▲ Warnings", "m-warn"),
    ("f-open", "· Still open", "m-open"),
    ("f-manual", "✍ Manual", "m-manual"),
];

/// The classes a row matches filters by.
fn row_classes(item: &ReportItem) -> String {
    let mut classes = Vec::new();
    if view::is_failure(item) {
        classes.push("m-failed");
    }
    if item.in_scope && item.status == Status::Warn {
        classes.push("m-warn");
    }
    if view::is_open(item) {
        classes.push("m-open");
    }
    if view::is_manual(item) {
        classes.push("m-manual");
    }
    if !item.in_scope {
        classes.push("left-out");
    }
    classes.join(" ")
}

/// Every item in checklist order, with a filter above.
pub(super) fn items(report: &Report, out: &mut String) {
    let matches = |class: &str| {
        report
            .items
            .iter()
            .filter(|i| class.is_empty() || row_classes(i).split(' ').any(|c| c == class))
            .count()
    };
    out.push_str("<section id=\"items\">\n<h2>Items</h2>\n");
    for (i, (id, _, _)) in FILTERS.iter().enumerate() {
        let checked = if i == 0 { " checked" } else { "" };
        let _ = writeln!(
            out,
            "<input type=\"radio\" name=\"filter\" class=\"filter\" id=\"{id}\"{checked}>"
        );
    }
    out.push_str("<p class=\"filters\">Show: ");
    for (id, label, class) in FILTERS {
        let _ = write!(
            out,
            "<label for=\"{id}\">{label} ({})</label> ",
            matches(class)
        );
    }
    out.push_str(
        "</p>\n<table class=\"items fixed\">\n<colgroup><col class=\"c-status\"><col class=\"c-item\"><col><col class=\"c-who\"><col class=\"c-when\"></colgroup>\n\
         <thead><tr><th>Status</th><th>Item</th><th>Summary and evidence</th><th>Ran or signed by</th><th>Started, took</th></tr></thead>\n<tbody>\n",
    );
    for item in &report.items {
        row(item, out);
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// One item's row.
fn row(item: &ReportItem, out: &mut String) {
    let status = if item.in_scope {
        badge(item.status)
    } else {
        "<span class=\"st s-out\">○ LEFT OUT</span>".into()
    };
    let optional = if item.required {
        ""
    } else {
        " <span class=\"optional\">optional</span>"
    };
    let _ = write!(
        out,
        "<tr class=\"{}\"><td>{status}{optional}</td><td><span class=\"title\">{}</span> <code class=\"id\">{}</code> <span class=\"section\">{} · {}</span></td><td class=\"summary\">{}",
        row_classes(item),
        escape(&item.title),
        escape(&item.id),
        escape(&item.section),
        escape(&item.kind),
        escape(&item.summary)
    );
    let signoffs = view::signoffs(item);
    if !signoffs.is_empty() {
        out.push_str("<ul class=\"signoffs\">");
        for s in &signoffs {
            let _ = write!(out, "<li>{}</li>", signoff_line(s));
        }
        out.push_str("</ul>");
    }
    if view::is_failure_or_warning(item) {
        // Shown open under "Failures and warnings": on paper, once is enough.
        out.push_str("<span class=\"print-only\">Evidence: under Failures and warnings.</span>");
        evidence(item, Pane::ShownAbove, out);
    } else {
        evidence(item, Pane::Closed, out);
    }
    let who = match &item.run_by {
        Some(by) => escape(by),
        None => signoffs
            .iter()
            .map(|s| escape(s.by))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let _ = write!(out, "</td><td>{who}</td><td>");
    if let Some(at) = &item.started_at {
        let _ = write!(out, "<time>{}</time>", escape(at));
    }
    if item.attempts > 0 {
        let retried = if item.attempts > 1 {
            format!(", {} attempts", item.attempts)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            " <span class=\"took\">{}{retried}</span>",
            view::duration(item.duration_ms)
        );
    }
    out.push_str("</td></tr>\n");
}

/// How an evidence pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pane {
    /// Open, on screen and on paper.
    Open,
    /// Closed on screen, open on paper.
    Closed,
    /// Closed on screen, left out on paper: the same evidence is shown open above.
    ShownAbove,
}

/// The item's evidence as indented JSON in a pane.
pub(super) fn evidence(item: &ReportItem, pane: Pane, out: &mut String) {
    let Some(json) = view::evidence_json(item) else {
        return;
    };
    let lines = json.lines().count();
    let _ = write!(
        out,
        "<details class=\"evidence{}><summary>Evidence ({})</summary><pre>{}</pre></details>",
        match pane {
            Pane::Open => "\" open",
            Pane::Closed => "\"",
            Pane::ShownAbove => " above\"",
        },
        view::count(lines, "line", "lines"),
        escape(&json)
    );
}

/// Every sign-off: item, who, how, when, whether signed, note and evidence fields.
pub(super) fn signoffs(report: &Report, out: &mut String) {
    let all: Vec<(&ReportItem, SignoffView<'_>)> = report
        .items
        .iter()
        .flat_map(|i| view::signoffs(i).into_iter().map(move |s| (i, s)))
        .collect();
    out.push_str("<section id=\"signoffs\">\n<h2>Sign-offs</h2>\n");
    if all.is_empty() {
        out.push_str("<p>None.</p>\n</section>\n");
        return;
    }
    out.push_str("<table class=\"fixed\">\n<colgroup><col class=\"c-item\"><col class=\"c-by\"><col class=\"c-how\"><col class=\"c-when\"><col class=\"c-sig\"><col></colgroup>\n<thead><tr><th>Item</th><th>By</th><th>How</th><th>When</th><th>Signature</th><th>Note and evidence</th></tr></thead>\n<tbody>\n");
    for (item, s) in &all {
        let fields: Vec<String> = s
            .evidence
            .iter()
            .map(|(name, value)| format!("<code>{}</code>: {}", escape(name), escape(value)))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{} <code class=\"id\">{}</code></td><td>{}</td><td>{}</td><td><time>{}</time></td><td>{}</td><td>{}{}{}</td></tr>",
            escape(&item.title),
            escape(&item.id),
            escape(s.by),
            escape(s.status),
            escape(s.at),
            signature_badge(s),
            escape(s.note),
            if s.note.is_empty() || fields.is_empty() { "" } else { "<br>" },
            fields.join("<br>")
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Each person: the items they ran and the sign-offs they gave.
pub(super) fn who(report: &Report, out: &mut String) {
    let people = view::people(report);
    if people.is_empty() {
        return;
    }
    out.push_str("<section id=\"who\">\n<h2>Who did what</h2>\n<table class=\"narrow\">\n<thead><tr><th>Who</th><th>Items run</th><th>Sign-offs</th></tr></thead>\n<tbody>\n");
    for person in people {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(person.name),
            person.ran,
            person.signed
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// The keyed fingerprints of the secrets the checks saw.
pub(super) fn secrets(report: &Report, out: &mut String) {
    let Some(prints) = report.secrets.as_ref().filter(|p| !p.is_empty()) else {
        return;
    };
    out.push_str("<section id=\"secrets\">\n<h2>Secrets the checks saw</h2>\n<p>Keyed fingerprints only, never values: the same secret gives the same fingerprint within one store.</p>\n<table class=\"narrow\">\n<thead><tr><th>Input</th><th>Item</th><th>Fingerprint</th></tr></thead>\n<tbody>\n");
    for p in prints {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape(&p.name),
            escape(&p.item),
            escape(&p.fingerprint)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}
