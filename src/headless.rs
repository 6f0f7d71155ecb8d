//! The headless view: one progress line per item start and end on stderr (status symbol and
//! word, id, duration, one-line reason), check output indented under its item, and a
//! closing verdict line.

use std::io::Write;
use std::time::Duration;

use crate::engine::event::{Event, Stream};
use crate::engine::status::Status;
use crate::report::model::Report;

/// Writes progress lines for events.
pub struct Printer<W: Write> {
    out: W,
    id_width: usize,
}

/// Text as a terminal may safely show it, on one line: control characters (escape
/// sequences, carriage returns, bells) become `�`, so a check's output or a server's reply
/// cannot drive the operator's terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
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

impl<W: Write> Printer<W> {
    /// A printer whose id column fits `ids`.
    pub fn new<'i>(out: W, ids: impl Iterator<Item = &'i str>) -> Self {
        Self {
            out,
            id_width: ids.map(str::len).max().unwrap_or(0).min(40),
        }
    }

    /// Prints one event. Write errors (a closed stderr) are ignored: the run goes on.
    pub fn event(&mut self, event: &Event) {
        let width = self.id_width;
        let _ = match event {
            Event::Started { id, attempt: 1, .. } => {
                writeln!(self.out, "{} {:<7} {id}", Status::Running.symbol(), "start")
            }
            Event::Started { id, attempt, .. } => writeln!(
                self.out,
                "{} {:<7} {id} (attempt {attempt})",
                Status::Running.symbol(),
                "retry"
            ),
            Event::Output { id, stream, line } => {
                let mark = if *stream == Stream::Stderr {
                    "!"
                } else {
                    "│"
                };
                writeln!(self.out, "  {id:<width$} {mark} {}", printable(line))
            }
            Event::Waiting { id, holder } => writeln!(
                self.out,
                "{} {:<7} {id:<width$}           running ({}) in another process: waiting for its result",
                Status::Running.symbol(),
                "wait",
                printable(holder)
            ),
            Event::Finished { id, result } => {
                // Another process's result says whose it is.
                let by = match (&result.run_by, result.observed) {
                    (Some(who), true) => format!(" (run by {})", printable(who)),
                    _ => String::new(),
                };
                let duration = if result.attempts > 0 {
                    format_duration(result.duration)
                } else {
                    String::new()
                };
                writeln!(
                    self.out,
                    "{} {:<7} {id:<width$} {duration:>8}  {}",
                    result.status.symbol(),
                    result.status.name(),
                    printable(&result.summary) + &by
                )
            }
        };
    }

    /// The closing line: verdict and counts.
    pub fn verdict(&mut self, report: &Report) {
        let c = &report.counts;
        let _ = writeln!(
            self.out,
            "verdict: {} ({} pass, {} warn, {} fail, {} error, {} skip, {} blocked, {} pending)",
            report.verdict.name(),
            c.pass,
            c.warn,
            c.fail,
            c.error,
            c.skip,
            c.blocked,
            c.pending
        );
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
}
