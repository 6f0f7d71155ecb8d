//! Text from a report made inert for Markdown. Summaries, evidence, notes and names come
//! from checks and servers nobody here controls, and the Markdown lands in pull requests
//! and tickets: none of it may become HTML, a link, an image or a mention.
//!
//! Three ways in, each closed by construction rather than by a list of bad inputs:
//! - prose: control characters become spaces (no new line, so no new block), every
//!   character CommonMark could read as markup is backslash-escaped (an escaped ASCII
//!   punctuation character is always a literal), and a word a renderer could link on its
//!   own (a URL, `www.`, an address or mention with `@`, an issue `#1`) becomes a code span;
//! - code spans: delimited by a backtick run longer than any inside the text, on one line;
//! - fenced blocks: the fence is longer than any backtick run inside, at the top level, so
//!   no line of the text can close it.

/// Where a piece of prose goes: a table cell also needs its pipes escaped, even inside a
/// code span (GFM splits cells before it reads inlines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A paragraph, a heading or a list item.
    Text,
    /// A cell of a table.
    Cell,
}

/// Characters escaped wherever they are: emphasis, code, links and images, HTML and
/// entities, tables, strikethrough, math, headings.
const ALWAYS: &[char] = &[
    '\\', '`', '*', '_', '~', '[', ']', '(', ')', '{', '}', '<', '>', '&', '|', '!', '$', '#',
];

/// Characters that only start a block (a list, a heading's underline) when they open a
/// line: escaped at the start of a piece. A numbered list (`1.`) is stopped by escaping its
/// dot.
const LEADING: &[char] = &['+', '-', '='];

/// `text` with every character that could end a line or confuse a terminal made a space.
fn one_line(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().map(|c| {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            ' '
        } else {
            c
        }
    })
}

/// Whether a renderer could turn `word` into a link, a mention or a reference on its own,
/// escaped or not (GitHub links some of these after Markdown, in the text itself).
fn linkable(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    lower.contains("://")
        || lower.contains("www.")
        || lower.contains('@')
        || lower.contains("mailto:")
        || lower
            .as_bytes()
            .windows(2)
            .any(|w| w[0] == b'#' && w[1].is_ascii_digit())
}

/// `text` as literal Markdown prose.
pub fn prose(text: &str, place: Place) -> String {
    let line: String = one_line(text).collect();
    let mut out = String::with_capacity(line.len() + line.len() / 4);
    let mut start = true;
    for piece in line.split_inclusive(' ') {
        let (word, space) = match piece.strip_suffix(' ') {
            Some(word) => (word, " "),
            None => (piece, ""),
        };
        if linkable(word) {
            out.push_str(&code(word, place));
        } else {
            let digits = word.chars().take_while(char::is_ascii_digit).count();
            for (i, c) in word.chars().enumerate() {
                // `1.` alone opens a numbered list; `0.1.0` does not.
                let numbered = i == digits && i > 0 && c == '.' && i + 1 == word.len();
                let leading = start && ((i == 0 && LEADING.contains(&c)) || numbered);
                if ALWAYS.contains(&c) || leading {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        if !word.is_empty() {
            start = false;
        }
        out.push_str(space);
    }
    out
}

/// The longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// `text` as a code span: literal, whatever it holds (empty text gives nothing). In a
/// cell, a backslash right before a pipe shows doubled (GFM has no way to write that pair
/// in a code span in a table); it stays inside the one cell either way.
pub fn code(text: &str, place: Place) -> String {
    let mut inner: String = one_line(text).collect();
    if inner.is_empty() {
        return inner;
    }
    if place == Place::Cell {
        inner = inner.replace('|', "\\|");
    }
    let ticks = "`".repeat(longest_backtick_run(&inner) + 1);
    // One space each side keeps a backtick at either end from joining the delimiter, and
    // CommonMark strips exactly that space again.
    let pad = if inner.starts_with(['`', ' ']) || inner.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{inner}{pad}{ticks}")
}

/// `text` as a fenced code block tagged `info`, ending with a new line. It must start at the
/// beginning of a line, outside any list or quote.
pub fn fence(text: &str, info: &str) -> String {
    let body = text.replace("\r\n", "\n").replace('\r', "\n");
    let ticks = "`".repeat((longest_backtick_run(&body) + 1).max(3));
    let newline = if body.ends_with('\n') { "" } else { "\n" };
    format!("{ticks}{info}\n{body}{newline}{ticks}\n")
}

/// At most `max` characters of `text`, cut at a line's end when one is near, and how many
/// characters were left out.
pub fn excerpt(text: &str, max: usize) -> (&str, usize) {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return (text, 0);
    };
    let head = &text[..cut];
    let head = match head.rfind('\n') {
        Some(end) if end >= cut / 2 => &head[..end],
        _ => head,
    };
    (head, text[head.len()..].chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_prose_is_escaped() {
        assert_eq!(
            prose("<script>alert(1)</script>", Place::Text),
            "\\<script\\>alert\\(1\\)\\</script\\>"
        );
        assert_eq!(prose("a_b*c* [x]", Place::Text), "a\\_b\\*c\\* \\[x\\]");
        assert_eq!(prose("a|b", Place::Cell), "a\\|b");
        assert_eq!(prose("&lt;", Place::Text), "\\&lt;");
    }

    #[test]
    fn block_starters_are_escaped_only_at_the_start() {
        assert_eq!(prose("- item", Place::Text), "\\- item");
        assert_eq!(prose("1. first", Place::Text), "1\\. first");
        assert_eq!(prose("a-b 2.0", Place::Text), "a-b 2.0");
        assert_eq!(prose("0.1.0", Place::Text), "0.1.0");
        assert_eq!(prose("  # title", Place::Text), "  \\# title");
    }

    #[test]
    fn new_lines_cannot_start_a_block() {
        assert_eq!(prose("a\n\n# b\r\n---", Place::Text), "a  \\# b  ---");
    }

    #[test]
    fn words_a_renderer_links_on_its_own_become_code() {
        assert_eq!(
            prose("see http://evil.example now", Place::Text),
            "see `http://evil.example` now"
        );
        assert_eq!(
            prose("![x](http://evil.example/x.png)", Place::Text),
            "`![x](http://evil.example/x.png)`"
        );
        assert_eq!(prose("ping @alice", Place::Text), "ping `@alice`");
        assert_eq!(prose("fixes #12", Place::Text), "fixes `#12`");
        assert_eq!(
            prose("www.evil.example|x", Place::Cell),
            "`www.evil.example\\|x`"
        );
    }

    #[test]
    fn code_spans_outlast_any_backticks_inside() {
        assert_eq!(code("a", Place::Text), "`a`");
        assert_eq!(code("a``b", Place::Text), "```a``b```");
        assert_eq!(code("`x", Place::Text), "`` `x ``");
        assert_eq!(code("a\nb", Place::Text), "`a b`");
        assert_eq!(code("", Place::Text), "");
    }

    #[test]
    fn fences_outlast_any_backticks_inside() {
        assert_eq!(fence("x", "json"), "```json\nx\n```\n");
        assert_eq!(
            fence("```\nnot the end", ""),
            "````\n```\nnot the end\n````\n"
        );
        assert_eq!(fence("a`````b\n", ""), "``````\na`````b\n``````\n");
    }

    #[test]
    fn excerpts_cut_at_a_line_when_near() {
        assert_eq!(excerpt("short", 10), ("short", 0));
        assert_eq!(excerpt("line one\nline two", 12), ("line one", 9));
        assert_eq!(excerpt("abcdefgh", 4), ("abcd", 4));
        assert_eq!(excerpt("éééé", 2), ("éé", 2));
    }

    /// Inputs meant to break out: markup, links, HTML, fences, tables, block starters.
    const HOSTILE: &[&str] = &[
        "<script>alert(1)</script>",
        "![x](http://evil.example/x.png)",
        "[x](http://evil.example)",
        "<img src=x onerror=alert(1)>",
        "<http://evil.example> <!-- c --> <div>",
        "[x]: http://evil.example",
        "![x][ref] [ref]",
        "``````",
        "a\n\n# b\n```\n<b>bold</b>",
        "`x` ``y`` `",
        "1. item",
        "- item",
        "+ item",
        "===",
        "&amp; &#60; &lt;",
        "\\ a\\ \\|",
        "*a* _b_ **c** ~~d~~ $e$ [^1]",
        "www.evil.example user@example.com @alice #12",
        "| a | b |",
        "trailing\\",
    ];

    /// The text a GFM parser (comrak, raw HTML allowed, autolinks on) reads from `md`:
    /// the literals of its text and code nodes in order, or `None` if anything else
    /// (a link, an image, HTML, a block of another kind) appears.
    fn read_back(md: &str) -> Result<String, String> {
        use comrak::nodes::NodeValue;
        let mut options = comrak::Options::default();
        options.extension.table = true;
        options.extension.autolink = true;
        options.extension.strikethrough = true;
        options.extension.footnotes = true;
        options.extension.math_dollars = true;
        options.render.r#unsafe = true;
        let arena = comrak::Arena::new();
        let root = comrak::parse_document(&arena, md, &options);
        let mut text = String::new();
        for node in root.descendants() {
            match &node.data.borrow().value {
                NodeValue::Text(t) => text.push_str(t),
                NodeValue::Code(c) => text.push_str(&c.literal),
                NodeValue::CodeBlock(b) => text.push_str(&b.literal),
                NodeValue::Document
                | NodeValue::Paragraph
                | NodeValue::Table(_)
                | NodeValue::TableRow(_)
                | NodeValue::TableCell => {}
                other => return Err(format!("{} in {md:?}", other.xml_node_name())),
            }
        }
        Ok(text)
    }

    #[test]
    fn a_gfm_parser_reads_prose_back_as_the_same_text() {
        for &hostile in HOSTILE {
            let line: String = one_line(hostile).collect();
            let md = format!("A {} Z", prose(hostile, Place::Text));
            assert_eq!(read_back(&md), Ok(format!("A {line} Z")), "{md}");
            let md = format!("| h |\n|---|\n| A {} Z |\n", prose(hostile, Place::Cell));
            assert_eq!(read_back(&md), Ok(format!("hA {line} Z")), "{md}");
        }
    }

    #[test]
    fn a_gfm_parser_reads_code_back_as_the_same_text() {
        for &hostile in HOSTILE {
            let line: String = one_line(hostile).collect();
            let md = format!("A {} Z", code(hostile, Place::Text));
            assert_eq!(read_back(&md), Ok(format!("A {line} Z")), "{md}");
            let md = format!("| h |\n|---|\n| A {} Z |\n", code(hostile, Place::Cell));
            if line.contains("\\|") {
                // GFM cannot write a backslash before a pipe in a cell's code span: it
                // shows doubled, still one literal cell.
                assert!(read_back(&md).is_ok(), "{md}");
            } else {
                assert_eq!(read_back(&md), Ok(format!("hA {line} Z")), "{md}");
            }
            let md = format!("before\n\n{}after\n", fence(hostile, "json"));
            let body = if hostile.ends_with('\n') {
                hostile.to_string()
            } else {
                format!("{hostile}\n")
            };
            assert_eq!(read_back(&md), Ok(format!("before{body}after")), "{md}");
        }
    }
}
