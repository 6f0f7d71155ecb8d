//! A checklist file's text, and its problems rendered as `file:line:column` reports with the
//! source line, a caret under the culprit and a hint.

use std::ops::Range;

use unicode_width::UnicodeWidthChar;

/// Characters of a source line shown at most; longer lines are cut around the caret.
const MAX_SHOWN: usize = 120;

/// One problem found in a checklist, located by a byte span in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte range in the file text.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it. Every diagnostic has one.
    pub hint: String,
}

impl Diagnostic {
    /// A diagnostic at `span`.
    pub fn new(span: Range<usize>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// A checklist file: its display name (as the user gave it) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as given on the command line, used in every report.
    pub name: String,
    /// The file's text (invalid UTF-8 replaced, see [`SourceFile::from_bytes`]).
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// A source from text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// A source from raw bytes; invalid UTF-8 becomes a diagnostic at its first bad byte
    /// (the text keeps everything before it unchanged, so locations stay right).
    pub fn from_bytes(name: impl Into<String>, bytes: &[u8]) -> (Self, Option<Diagnostic>) {
        match std::str::from_utf8(bytes) {
            Ok(text) => (Self::new(name, text), None),
            Err(err) => {
                let at = err.valid_up_to();
                let text = String::from_utf8_lossy(bytes).into_owned();
                let diagnostic = Diagnostic::new(
                    at..at + 1,
                    "the file is not valid UTF-8",
                    "save the checklist as UTF-8 text",
                );
                (Self::new(name, text), Some(diagnostic))
            }
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn location(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset);
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        (line + 1, column)
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.location(offset).0
    }

    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        self.text[start..end].trim_end_matches('\r')
    }

    /// Renders one diagnostic:
    ///
    /// ```text
    /// file.toml:12:1: error: unknown key `tiemout` in item `health.live`
    ///    |
    /// 12 | tiemout = "5s"
    ///    | ^^^^^^^
    ///    = hint: did you mean `timeout`?
    /// ```
    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        let start = self.clamp(diagnostic.span.start);
        let (line, column) = self.location(start);
        let chars: Vec<char> = self.line_text(line).chars().map(printable).collect();
        let end = self.clamp(diagnostic.span.end.max(start));
        let line_end = self.line_starts[line - 1] + self.line_text(line).len();
        let span_chars = self.text[start..end.min(line_end).max(start)]
            .chars()
            .count()
            .max(1);
        // A long line is shown as a window around the caret, so one line cannot flood the
        // terminal; the column stays the true one.
        let caret = (column - 1).min(chars.len());
        let (from, to) = if chars.len() > MAX_SHOWN {
            let from = caret.saturating_sub(MAX_SHOWN / 3);
            (from, (from + MAX_SHOWN).min(chars.len()))
        } else {
            (0, chars.len())
        };
        let shown: String = chars[from..to].iter().collect();
        let (before, after) = (
            if from > 0 { "…" } else { "" },
            if to < chars.len() { "…" } else { "" },
        );
        // The caret line keeps the source's tabs and the display width of wide characters,
        // so the caret stays under its column.
        let lead: String = before
            .chars()
            .map(|_| " ".to_string())
            .chain(chars[from..caret].iter().map(|&c| {
                if c == '\t' {
                    "\t".to_string()
                } else {
                    " ".repeat(c.width().unwrap_or(0))
                }
            }))
            .collect();
        let culprit = &chars[caret..(caret + span_chars).min(to)];
        let width = culprit
            .iter()
            .map(|c| c.width().unwrap_or(0))
            .sum::<usize>()
            .max(1);
        let number = line.to_string();
        let pad = " ".repeat(number.len());
        format!(
            "{name}:{line}:{column}: error: {message}\n\
             {pad} |\n\
             {number} | {before}{shown}{after}\n\
             {pad} | {lead}{carets}\n\
             {pad} = hint: {hint}\n",
            name = self.name,
            message = diagnostic
                .message
                .chars()
                .map(printable)
                .collect::<String>(),
            carets = "^".repeat(width),
            hint = diagnostic.hint.chars().map(printable).collect::<String>(),
        )
    }
}

/// Control characters (but tab) become `�`: a checklist cannot drive the reader's terminal.
fn printable(c: char) -> char {
    if c.is_control() && c != '\t' {
        '\u{fffd}'
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_columns_in_characters() {
        let source = SourceFile::new("f.toml", "a = 1\nbé = 'x'\n");
        assert_eq!(source.location(0), (1, 1));
        assert_eq!(source.location(6), (2, 1));
        assert_eq!(source.location(9), (2, 3));
    }

    #[test]
    fn renders_caret_under_the_span() {
        let source = SourceFile::new("f.toml", "[x]\n\ttiemout = 1\n");
        let text = source.render(&Diagnostic::new(5..12, "unknown key", "did you mean"));
        assert_eq!(
            text,
            "f.toml:2:2: error: unknown key\n  |\n2 | \ttiemout = 1\n  | \t^^^^^^^\n  = hint: did you mean\n"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line = format!("x = \"{}\"", "a".repeat(500));
        let source = SourceFile::new("f.toml", line);
        let text = source.render(&Diagnostic::new(300..302, "bad", "fix"));
        let shown = text.lines().nth(2).unwrap_or_default();
        let carets = text.lines().nth(3).unwrap_or_default();
        assert!(shown.chars().count() < 140, "{shown}");
        assert!(text.starts_with("f.toml:1:301: error: bad"));
        assert_eq!(shown.find('…').map(|_| ()), Some(()));
        assert_eq!(carets.chars().filter(|&c| c == '^').count(), 2);
        assert_eq!(carets.chars().count(), "  | ".chars().count() + 1 + 40 + 2);
    }

    #[test]
    fn control_characters_and_wide_characters() {
        let text = "# \u{1b}]0;x\u{7}\nk = \"日本\" # x\n";
        let source = SourceFile::new("f.toml", text);
        let rendered = source.render(&Diagnostic::new(0..1, "bad", "fix"));
        assert!(
            !rendered.contains('\u{1b}') && !rendered.contains('\u{7}'),
            "{rendered}"
        );
        let hash = text.rfind('#').unwrap_or_default();
        let rendered = source.render(&Diagnostic::new(hash..hash + 1, "bad", "fix"));
        let carets = rendered.lines().nth(3).unwrap_or_default();
        // `k = "日本" ` is 11 columns wide on screen: the caret sits under the `#`.
        assert_eq!(carets.find('^'), Some("  | ".len() + 11), "{rendered}");
    }

    #[test]
    fn invalid_utf8_is_located() {
        let (source, diagnostic) = SourceFile::from_bytes("f.toml", b"a = 1\nb = \"\xff\"\n");
        let diagnostic = diagnostic.expect("invalid utf-8 is reported");
        assert_eq!(source.location(diagnostic.span.start), (2, 6));
    }
}
