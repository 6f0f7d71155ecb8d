//! The report as one self-contained HTML page: a verdict banner, the counts, failures and
//! warnings with their evidence, a timeline of the session, a table of every item that
//! filters with CSS alone, the sign-offs, and the event chain with how to verify.
//!
//! The page asks nothing of the network and runs no script: its one stylesheet is inline
//! and a Content-Security-Policy (`default-src 'none'`, the stylesheet allowed by its
//! SHA-256) forbids anything else, so even text that slipped past escaping could not load
//! or run. Every text from the report is escaped ([`escape`]). Statuses are words and
//! symbols, never colour alone, and the print stylesheet shows everything: no filter, no
//! closed pane.

mod bake;
mod table;
mod timeline;

use std::fmt::Write;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::diff::Diff;
use super::model::Report;
use super::view::{self, SignoffView};
use crate::status::{Status, Verdict};

/// How many failures and warnings show their evidence open on screen.
const OPEN_PANES: usize = 5;

/// The page's one stylesheet.
const STYLE: &str = include_str!("style.css");

/// `text` escaped for HTML text and quoted attribute values: `& < > " '`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The Content-Security-Policy of a page whose one stylesheet is `style`: nothing may load
/// or run, but that stylesheet, allowed by its hash.
pub fn content_security_policy(style: &str) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
    format!("default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; base-uri 'none'; form-action 'none'")
}

/// The CSS class of a status (`s-pass`, …), for its colour; the word always goes with it.
fn status_class(status: Status) -> &'static str {
    match status {
        Status::Pending => "s-pending",
        Status::Running => "s-running",
        Status::Pass => "s-pass",
        Status::Warn => "s-warn",
        Status::Fail => "s-fail",
        Status::Error => "s-error",
        Status::Skip => "s-skip",
        Status::Blocked => "s-blocked",
    }
}

/// A status as a badge: symbol and word, coloured.
fn badge(status: Status) -> String {
    format!(
        "<span class=\"st {}\">{} {}</span>",
        status_class(status),
        status.symbol(),
        view::status_word(status)
    )
}

/// The report as HTML.
pub fn render(report: &Report, since: Option<&Diff>) -> String {
    let verdict = format!(
        "{} {}",
        view::verdict_symbol(report.verdict),
        view::verdict_word(report.verdict)
    );
    let mut out = String::with_capacity(64 * 1024 + report.items.len() * 1_024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{} {}\">\n\
         <title>{} — {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        content_security_policy(STYLE),
        escape(&report.tool.name),
        escape(&report.tool.version),
        escape(&verdict),
        escape(&report.checklist.title),
    );
    banner(report, &verdict, &mut out);
    let bake_link = if report.bake.is_some() {
        "<a href=\"#bake\">Post-deploy bake</a>"
    } else {
        ""
    };
    let since_link = if since.is_some() {
        "<a href=\"#since\">Since the last release</a>"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<nav class=\"toc\"><a href=\"#attention\">Failures and warnings</a>{bake_link}{since_link}<a href=\"#timeline\">Timeline</a><a href=\"#items\">Items</a><a href=\"#signoffs\">Sign-offs</a><a href=\"#integrity\">Integrity and how to verify</a></nav>",
    );
    facts(report, &mut out);
    counts(report, &mut out);
    out.push_str("<main>\n");
    attention(report, &mut out);
    if let Some(bake) = &report.bake {
        bake::render(bake, &mut out);
    }
    if let Some(diff) = since {
        since_last(diff, &mut out);
    }
    timeline::render(report, &mut out);
    table::items(report, &mut out);
    table::signoffs(report, &mut out);
    table::who(report, &mut out);
    table::secrets(report, &mut out);
    integrity(report, &mut out);
    let _ = write!(
        out,
        "</main>\n<footer>Made by {} {} ({}). This page loads nothing and runs no script.</footer>\n</body>\n</html>\n",
        escape(&report.tool.name),
        escape(&report.tool.version),
        escape(&report.schema)
    );
    out
}

/// What changed since the last release: new failures and secret warnings first.
fn since_last(diff: &Diff, out: &mut String) {
    let entries = diff.entries();
    let _ = write!(
        out,
        "<section id=\"since\"><h2>Since the last release ({})</h2>\n<p>{}</p>\n",
        entries.len(),
        escape(&diff.against_line())
    );
    if entries.is_empty() {
        out.push_str("<p>Nothing changed.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for (kind, text) in entries {
            let _ = writeln!(
                out,
                "<li><strong>{}</strong> {}</li>",
                escape(kind),
                escape(&text)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

/// The verdict as a banner: word, symbol and colour, with the export's state.
fn banner(report: &Report, verdict: &str, out: &mut String) {
    let class = match report.verdict {
        Verdict::Go => "v-go",
        Verdict::NoGo => "v-nogo",
        Verdict::Incomplete => "v-incomplete",
    };
    let _ = write!(
        out,
        "<header class=\"banner {class}\">\n<p class=\"verdict\">{}</p>\n<h1>{}</h1>\n",
        escape(verdict),
        escape(&report.checklist.title)
    );
    if let Some(state) = report.state {
        let _ = writeln!(
            out,
            "<p class=\"state\"><strong>{}</strong>: {}</p>",
            state.name(),
            escape(view::state_note(state))
        );
    }
    out.push_str("</header>\n");
}

/// The checklist, environment, session and operators.
fn facts(report: &Report, out: &mut String) {
    let checklist = &report.checklist;
    let session = &report.session;
    let _ = write!(
        out,
        "<dl class=\"facts\">\n<dt>Checklist</dt><dd>{} <code>{}</code> version {} <span class=\"hash\">sha256 <code>{}</code></span></dd>\n",
        escape(&checklist.title),
        escape(&checklist.id),
        checklist.version,
        escape(&checklist.sha256)
    );
    if let Some(environment) = &session.environment {
        let production = if session.production {
            " <strong>(production)</strong>"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<dt>Environment</dt><dd>{}{production}</dd>",
            escape(environment)
        );
    }
    let operators: Vec<String> = session.operators.iter().map(|o| escape(o)).collect();
    let _ = write!(
        out,
        "<dt>Session</dt><dd><code>{}</code> started {}</dd>\n<dt>Operators</dt><dd>{}</dd>\n</dl>\n",
        escape(&session.id),
        escape(&session.started_at),
        operators.join(", ")
    );
}

/// The counts of the items in scope, each with its status's word.
fn counts(report: &Report, out: &mut String) {
    let c = &report.counts;
    out.push_str("<ul class=\"counts\" aria-label=\"Counts of the items in this run\">\n");
    for (status, n) in [
        (Status::Pass, c.pass),
        (Status::Warn, c.warn),
        (Status::Fail, c.fail),
        (Status::Error, c.error),
        (Status::Skip, c.skip),
        (Status::Blocked, c.blocked),
        (Status::Pending, c.pending),
    ] {
        let zero = if n == 0 { " zero" } else { "" };
        let _ = writeln!(
            out,
            "<li class=\"{}{zero}\"><b>{n}</b> {} {}</li>",
            status_class(status),
            status.symbol(),
            view::status_word(status)
        );
    }
    let left_out = report.items.iter().filter(|i| !i.in_scope).count();
    let _ = writeln!(out, "<li class=\"total\"><b>{}</b> in all</li>", c.total());
    if left_out > 0 {
        let _ = writeln!(
            out,
            "<li class=\"total\"><b>{left_out}</b> left out of this run</li>"
        );
    }
    out.push_str("</ul>\n");
}

/// Failures and warnings, each a card with its reason, sign-offs and open evidence.
fn attention(report: &Report, out: &mut String) {
    let items: Vec<_> = view::failures_and_warnings(report);
    out.push_str("<section id=\"attention\">\n<h2>Failures and warnings</h2>\n");
    if items.is_empty() {
        out.push_str("<p>None: nothing failed and nothing warned.</p>\n</section>\n");
        return;
    }
    for (i, item) in items.into_iter().enumerate() {
        let _ = write!(
            out,
            "<article class=\"card {}\">\n<h3>{} {}</h3>\n<p class=\"meta\"><code>{}</code> in {} · {}",
            status_class(item.status),
            badge(item.status),
            escape(&item.title),
            escape(&item.id),
            escape(&item.section),
            escape(&item.kind)
        );
        if !item.required {
            out.push_str(" · optional");
        }
        if let Some(by) = &item.run_by {
            let _ = write!(out, " · ran by {}", escape(by));
        }
        if item.attempts > 0 {
            let _ = write!(
                out,
                " · took {} in {}",
                view::duration(item.duration_ms),
                view::count(item.attempts as usize, "attempt", "attempts")
            );
        }
        let _ = write!(
            out,
            "</p>\n<p class=\"reason\"><strong>Reason:</strong> {}</p>\n",
            escape(&item.summary)
        );
        let signoffs = view::signoffs(item);
        if !signoffs.is_empty() {
            out.push_str("<ul class=\"signoffs\">\n");
            for s in &signoffs {
                let _ = writeln!(out, "<li>{}</li>", signoff_line(s));
            }
            out.push_str("</ul>\n");
        }
        // The first few panes open; past them a long list stays short on screen (all print).
        let pane = if i < OPEN_PANES {
            table::Pane::Open
        } else {
            table::Pane::Closed
        };
        table::evidence(item, pane, out);
        out.push_str("</article>\n");
    }
    out.push_str("</section>\n");
}

/// A sign-off in one line of HTML: how, who, when, whether signed, the note.
fn signoff_line(s: &SignoffView<'_>) -> String {
    let mut line = format!(
        "<strong>{}</strong> by {} at <time>{}</time> {}",
        escape(s.status),
        escape(s.by),
        escape(s.at),
        signature_badge(s)
    );
    if !s.note.is_empty() {
        let _ = write!(line, ": {}", escape(s.note));
    }
    line
}

/// Whether a sign-off is signed, as a word with a symbol.
fn signature_badge(s: &SignoffView<'_>) -> &'static str {
    if s.signed {
        "<span class=\"sig signed\">✔ signed</span>"
    } else {
        "<span class=\"sig unsigned\">unsigned</span>"
    }
}

/// The event chain's head, the signature and how to verify.
fn integrity(report: &Report, out: &mut String) {
    out.push_str("<section id=\"integrity\">\n<h2>Integrity</h2>\n<dl class=\"facts\">\n");
    match &report.events {
        Some(events) => {
            let _ = writeln!(
                out,
                "<dt>Event log</dt><dd>{} events, head <code class=\"hash\">{}</code></dd>",
                events.count,
                escape(&events.head)
            );
            if !events.redacted.is_empty() {
                let seqs: Vec<String> = events.redacted.iter().map(i64::to_string).collect();
                let _ = writeln!(
                    out,
                    "<dt>Scrubbed after recording</dt><dd>events {}: they held a secret the exporting process knows, so their hashes no longer match</dd>",
                    seqs.join(", ")
                );
            }
        }
        None => out.push_str("<dt>Event log</dt><dd>not included</dd>\n"),
    }
    match &report.signed_by {
        Some(key) => {
            let _ = write!(
                out,
                "<dt>Signature</dt><dd><span class=\"sig signed\">✔ signed</span> by key <code class=\"hash\">{}</code> (SSHSIG, namespace <code>{}</code>)</dd>\n</dl>\n<p>To verify, with FILE the export and FILE.sig the signature beside it, and the signers you trust in <code>allowed_signers</code>:</p>\n",
                escape(key),
                view::NAMESPACE
            );
        }
        None => out.push_str(
            "<dt>Signature</dt><dd><span class=\"sig unsigned\">unsigned</span>: nothing in this report proves who made it</dd>\n</dl>\n<p>A signed export (FILE, with FILE.sig beside it) is verified with:</p>\n",
        ),
    }
    let _ = write!(
        out,
        "<pre class=\"verify\">{}\n{}</pre>\n</section>\n",
        escape(view::VERIFY_SSH),
        escape(view::VERIFY_RELCON)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_character_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain ✔"), "plain ✔");
    }

    #[test]
    fn the_policy_allows_the_stylesheet_by_its_hash_and_nothing_else() {
        let policy = content_security_policy("body{}");
        // printf 'body{}' | openssl dgst -sha256 -binary | base64
        assert!(
            policy.contains("style-src 'sha256-fJgEClQWV1hGkK4qHMO0KotTsVnMYMXTq7/suurGyUo='"),
            "{policy}"
        );
        assert!(policy.starts_with("default-src 'none';"));
        assert!(!policy.contains("unsafe"));
    }

    #[test]
    fn the_stylesheet_hides_nothing_when_printed() {
        let print = STYLE.split("@media print").nth(1).unwrap_or_default();
        assert!(
            print.contains("::details-content"),
            "closed evidence prints"
        );
        assert!(
            print.contains("display: table-row !important"),
            "filters print all rows"
        );
    }
}
