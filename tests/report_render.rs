//! The Markdown and HTML reports against hostile text, the GitHub comment limit, the page's
//! policy and determinism. The Markdown is read back with a GitHub-flavoured parser
//! (comrak, raw HTML allowed, autolinks on), so "no link, no image, no HTML" is what a
//! renderer sees, not what a pattern guesses.

#[path = "common/sample_report.rs"]
mod sample;

use base64::Engine;
use comrak::nodes::NodeValue;
use comrak::{Arena, Options};
use relcon::redact::Redactor;
use relcon::report::markdown::LIMIT;
use relcon::report::model::Report;
use relcon::report::{html, markdown, scrub};
use relcon::status::Status;
use sha2::{Digest, Sha256};

/// GitHub's flavour, as permissive as a renderer could be: raw HTML kept, autolinks on.
fn gfm() -> Options<'static> {
    let mut options = Options::default();
    let ext = &mut options.extension;
    ext.strikethrough = true;
    ext.table = true;
    ext.autolink = true;
    ext.tasklist = true;
    ext.footnotes = true;
    ext.math_dollars = true;
    options.render.r#unsafe = true;
    options
}

/// What a GFM parser makes of `md`: the kinds of node it holds, and its fenced blocks'
/// info strings and text (with whether each was closed).
struct Parsed {
    kinds: Vec<&'static str>,
    blocks: Vec<(String, String, bool)>,
}

fn parse(md: &str) -> Parsed {
    let arena = Arena::new();
    let root = comrak::parse_document(&arena, md, &gfm());
    let mut parsed = Parsed {
        kinds: Vec::new(),
        blocks: Vec::new(),
    };
    for node in root.descendants() {
        let ast = node.data.borrow();
        parsed.kinds.push(ast.value.xml_node_name());
        if let NodeValue::CodeBlock(block) = &ast.value {
            parsed
                .blocks
                .push((block.info.clone(), block.literal.clone(), block.closed));
        }
    }
    parsed
}

fn canary_markdown() -> String {
    markdown::render(&sample::canary(), None)
}

#[test]
fn hostile_text_in_markdown_becomes_no_link_image_or_html() {
    let md = canary_markdown();
    let parsed = parse(&md);
    for kind in [
        "link",
        "image",
        "html_inline",
        "html_block",
        "footnote_reference",
    ] {
        assert!(!parsed.kinds.contains(&kind), "a {kind} survived:\n{md}");
    }
    let html = comrak::markdown_to_html(&md, &gfm());
    assert_inert(&html, MARKDOWN_ELEMENTS);
    // The canaries are there, as text a reader can see.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("![x](http://evil.example/x.png)"), "{html}");
    assert!(html.contains("[x](http://evil.example)"), "{html}");
}

#[test]
fn markdown_prose_has_no_raw_markup_outside_code() {
    let md = canary_markdown();
    let mut fence: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match fence {
            Some(open) if ticks >= open && line.trim_matches('`').is_empty() => fence = None,
            Some(_) => continue,
            None if ticks >= 3 => {
                fence = Some(ticks);
                continue;
            }
            None => {}
        }
        // Outside code, every `<`, `[` and `!` is escaped (code spans hold URL-like words).
        let outside_spans: String = line.split('`').step_by(2).collect();
        for (i, c) in outside_spans.char_indices() {
            if matches!(c, '<' | '[' | '!' | '>' | ']') {
                assert!(
                    outside_spans[..i].ends_with('\\'),
                    "unescaped {c:?} in {line:?}"
                );
            }
        }
    }
    assert_eq!(fence, None, "a fence was left open");
}

#[test]
fn markdown_evidence_stays_inside_its_fence() {
    let report = sample::canary();
    let md = markdown::render(&report, None);
    let parsed = parse(&md);
    let json: Vec<&(String, String, bool)> =
        parsed.blocks.iter().filter(|b| b.0 == "json").collect();
    // One excerpt per failure and warning with evidence: the failure and two warnings.
    assert_eq!(json.len(), 3, "{md}");
    assert!(parsed.blocks.iter().all(|b| b.2), "every fence is closed");
    let failed = report
        .items
        .iter()
        .find(|i| i.status == Status::Fail)
        .expect("a failure");
    let whole = serde_json::to_string_pretty(&failed.evidence).expect("json");
    let excerpt = &json
        .iter()
        .find(|b| b.1.contains("\"body\""))
        .expect("the failure's")
        .1;
    // The block holds exactly the start of the evidence: nothing broke out of it early.
    assert!(whole.starts_with(excerpt.trim_end()), "{excerpt}");
    assert!(excerpt.contains(sample::TICKS) && excerpt.contains(sample::SCRIPT));
    assert!(excerpt.chars().count() <= 2_001, "long evidence is cut");
    assert!(md.contains("more in the JSON export"), "the cut is said");
}

#[test]
fn markdown_says_verdict_counts_signoffs_and_how_to_verify() {
    let md = canary_markdown();
    let first = md.lines().next().unwrap_or_default();
    assert!(first.starts_with("# ✘ NO-GO — "), "{first}");
    assert!(md.contains("**Verdict: ✘ NO-GO** · **interim**"), "{md}");
    assert!(
        md.contains("| 2 | 2 | 1 | 0 | 1 | 1 | 1 | 8 |"),
        "counts: {md}"
    );
    assert!(md.contains("1 more item was left out of this run"));
    for word in [
        "✘ FAIL",
        "▲ WARN",
        "✔ PASS",
        "⊘ BLOCKED",
        "· PENDING",
        "↷ SKIP",
        "○ LEFT OUT",
    ] {
        assert!(md.contains(word), "{word} missing");
    }
    assert!(
        md.contains("| alice | done | 2026-12-02T09:02:30.000Z | ✔ signed |"),
        "{md}"
    );
    assert!(
        md.contains("| bob | done | 2026-12-02T09:02:31.500Z | unsigned |"),
        "{md}"
    );
    assert!(md.contains("**Event log:** 24 events, head `"));
    assert!(md.contains("**Signed by:** `SHA256:q4Rk2bT0bsVYa0Rz9b3Yq0a8xLwz1Lq8GkzvX2b0cUo`"));
    assert!(md.contains(
        "ssh-keygen -Y verify -f allowed_signers -I <principal> -n relcon-report -s FILE.sig < FILE"
    ));
    assert!(md.contains("relcon verify FILE --allowed-signers allowed_signers"));
    assert!(!md.contains("Summarised"), "a small report is whole");
}

#[test]
fn markdown_of_a_thousand_items_and_ten_thousand_events_fits_in_one_comment() {
    let report = sample::large(1_000, 10_000);
    let md = markdown::render(&report, None);
    let length = md.encode_utf16().count();
    assert!(length <= LIMIT, "{length} characters");
    assert!(md.contains("**Summarised:**"), "it says it summarised");
    for item in report
        .items
        .iter()
        .filter(|i| i.in_scope && !matches!(i.status, Status::Pass | Status::Skip))
    {
        assert!(
            md.contains(&format!("`{}`", item.id)),
            "{} is listed",
            item.id
        );
    }
    let signoffs = report.items.iter().map(|i| i.signoffs.len()).sum::<usize>();
    assert!(md.contains(&format!("## Sign-offs ({signoffs})")));
    assert_eq!(
        md.matches("| bob | done |").count(),
        signoffs,
        "every sign-off kept"
    );
    assert!(
        md.contains("| Section 00 | 84 |"),
        "passing items counted per section"
    );
    assert!(!md.contains("more not shown here"), "nothing had to be cut");
}

#[test]
fn markdown_of_a_report_of_only_failures_still_fits_and_says_what_it_left_out() {
    let mut report = sample::large(1_000, 100);
    for item in &mut report.items {
        item.status = Status::Fail;
        item.summary = format!("{} ", sample::hostile()).repeat(20);
    }
    let md = markdown::render(&report, None);
    assert!(md.encode_utf16().count() <= LIMIT);
    assert!(md.contains("more not shown here"), "the cut is said");
    assert!(md.contains("## Sign-offs ("), "sign-offs still have room");
    assert!(md.contains("| bob | done |"), "some sign-offs are shown");
    let parsed = parse(&md);
    assert!(!parsed.kinds.contains(&"link") && !parsed.kinds.contains(&"html_inline"));
}

/// Every tag of `page`: escaping leaves `<` only at the start of real markup.
fn tags(page: &str) -> Vec<&str> {
    page.split('<')
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or_default())
        .collect()
}

/// Asserts every tag of `page` is one of `elements`, with nothing that loads, links or runs.
fn assert_inert(page: &str, elements: &[&str]) {
    assert!(!page.contains("<script"), "a script tag");
    for tag in tags(page) {
        let tag = tag.trim_end_matches('/');
        let name = tag
            .trim_start_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            elements.contains(&name.as_str()),
            "unexpected element <{tag}>"
        );
        // In-page links alone: `href="#…"`.
        let lower = tag.to_ascii_lowercase().replace(" href=\"#", " ");
        for attribute in [
            " src=", " href=", " style=", " on", "http:", "https:", "url(",
        ] {
            assert!(!lower.contains(attribute), "{attribute} in <{tag}>");
        }
    }
}

/// What the Markdown report may become in HTML.
const MARKDOWN_ELEMENTS: &[&str] = &[
    "h1",
    "h2",
    "h3",
    "p",
    "strong",
    "em",
    "code",
    "pre",
    "ul",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "blockquote",
    "br",
];

/// What the HTML report is made of.
const ELEMENTS: &[&str] = &[
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "p",
    "h1",
    "h2",
    "h3",
    "dl",
    "dt",
    "dd",
    "code",
    "span",
    "ul",
    "li",
    "b",
    "strong",
    "main",
    "section",
    "article",
    "details",
    "summary",
    "pre",
    "figure",
    "figcaption",
    "svg",
    "line",
    "text",
    "tspan",
    "rect",
    "g",
    "path",
    "input",
    "label",
    "table",
    "colgroup",
    "col",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "time",
    "br",
    "footer",
    "nav",
    "a",
];

#[test]
fn hostile_text_in_html_is_only_text() {
    let page = html::render(&sample::canary(), None);
    assert_inert(&page, ELEMENTS);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;img src=&quot;http://evil.example/y.png&quot;"));
}

#[test]
fn html_policy_allows_exactly_its_stylesheet() {
    let page = html::render(&sample::canary(), None);
    assert_eq!(page.matches("<style>").count(), 1);
    let style = page
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(style, _)| style)
        .expect("a stylesheet");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
    let policy = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-{hash}';"
    );
    let at = page
        .find(&policy)
        .expect("the policy with the stylesheet's hash");
    assert!(
        at < page.find("<style>").unwrap_or(0),
        "the policy comes first"
    );
    assert!(!page.contains("unsafe-inline"));
    assert!(
        !style.contains("@import") && !style.contains("url("),
        "the style loads nothing"
    );
}

#[test]
fn html_shows_verdict_timeline_filters_evidence_and_signoffs() {
    let page = html::render(&sample::canary(), None);
    assert!(page.contains("<header class=\"banner v-nogo\">\n<p class=\"verdict\">✘ NO-GO</p>"));
    assert!(page.contains("<strong>interim</strong>"));
    assert!(page.contains("<span class=\"st s-fail\">✘ FAIL</span>"));
    // Four items ran: four bars; three sign-offs... two, each a mark with its signer.
    assert_eq!(page.matches("<rect class=\"bar ").count(), 4);
    assert_eq!(page.matches("<g class=\"mark\">").count(), 2);
    assert!(page.contains(">alice</text>") && page.contains(">bob</text>"));
    for filter in ["f-all", "f-failed", "f-warn", "f-open", "f-manual"] {
        assert!(page.contains(&format!("id=\"{filter}\"")), "{filter}");
    }
    assert!(page.contains("<label for=\"f-failed\">✘ Failed (1)</label>"));
    assert!(page.contains("<tr class=\"m-failed\">"));
    assert!(page.contains("<tr class=\"m-open m-manual\">"));
    assert!(
        page.contains("<details class=\"evidence\" open><summary>"),
        "failure opens"
    );
    assert!(page.contains("<span class=\"sig signed\">✔ signed</span>"));
    assert!(page.contains("head <code class=\"hash\">"));
    assert!(page.contains("relcon verify FILE --allowed-signers allowed_signers"));
    assert!(page.contains(
        "ssh-keygen -Y verify -f allowed_signers -I &lt;principal&gt; -n relcon-report -s FILE.sig &lt; FILE"
    ));
}

#[test]
fn html_of_a_thousand_items_packs_the_timeline() {
    let page = html::render(&sample::large(1_000, 10_000), None);
    assert!(page.contains("too many for a row each"));
    let ran = page.matches("<rect class=\"bar ").count();
    assert!(ran > 800, "{ran} bars");
    assert!(page.matches("<tr class=").count() >= 1_000);
}

#[test]
fn secrets_scrubbed_from_an_export_stay_out_of_every_view() {
    let mut report = sample::canary();
    assert!(
        markdown::render(&report, None).contains(sample::SECRET),
        "planted"
    );
    assert!(
        html::render(&report, None).contains(sample::SECRET),
        "planted"
    );
    let redactor = Redactor::with_key([7; 32]);
    redactor.add_secret(sample::SECRET);
    scrub::scrub(&mut report, &redactor).expect("scrubbed");
    assert!(!markdown::render(&report, None).contains(sample::SECRET));
    assert!(!html::render(&report, None).contains(sample::SECRET));
}

#[test]
fn the_same_report_renders_to_the_same_bytes() {
    for report in [sample::canary(), sample::large(300, 1_000)] {
        let copy: Report = serde_json::from_str(&serde_json::to_string(&report).expect("json"))
            .expect("read back");
        assert_eq!(
            markdown::render(&report, None),
            markdown::render(&copy, None)
        );
        assert_eq!(html::render(&report, None), html::render(&copy, None));
    }
}
