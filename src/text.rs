//! Text as relcon shows it: made safe for a terminal, a program's output line as a terminal
//! would leave it, and durations in words.

use std::time::Duration;

/// `word` as a shell reads it back: as is when it has nothing the shell treats specially,
/// else in single quotes.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@%+,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Text as a terminal may safely show it, on one line: line breaks read `\n` and `\r`
/// (a server's reply often ends in one), other control characters (escape sequences,
/// bells) become `�`, so a check's output or a server's reply cannot drive the operator's
/// terminal.
pub fn printable(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            c if c.is_control() && c != '\t' => shown.push('\u{fffd}'),
            c => shown.push(c),
        }
    }
    shown
}

/// A line of a program's output as a terminal would leave it: colour and other escape
/// sequences taken out, and of a line rewritten with carriage returns (a progress bar) only
/// the last version kept.
pub fn plain_line(line: &str) -> String {
    let line = line.trim_end_matches('\r');
    let last = line.rsplit('\r').next().unwrap_or(line);
    // Tabs are kept (the escape stripper would drop them).
    last.split('\t')
        .map(strip_ansi_escapes::strip_str)
        .collect::<Vec<_>>()
        .join("\t")
}

/// `38 ms`, `1.2 s`, `2m 03s`.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_are_shown_as_a_terminal_leaves_them() {
        assert_eq!(
            plain_line("\u{1b}[31mred\u{1b}[0m and \u{1b}[1mbold\u{1b}[0m"),
            "red and bold"
        );
        assert_eq!(plain_line("progress 10%\rprogress 100%\r"), "progress 100%");
        assert_eq!(plain_line("a\tb"), "a\tb");
        assert_eq!(plain_line("\u{1b}]0;title\u{7}text"), "text");
    }

    #[test]
    fn printable_text_stays_on_one_line_and_drives_no_terminal() {
        assert_eq!(printable("{\"ok\":true}\r\n"), "{\"ok\":true}\\r\\n");
        assert_eq!(printable("a\u{1b}[2Jb\u{7}\tc"), "a\u{fffd}[2Jb\u{fffd}\tc");
    }
}
