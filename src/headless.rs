//! The headless view: one progress line per item start and end on stderr (status symbol and
//! word, id, duration, one-line reason), check output indented under its item, and a
//! closing verdict line.

use std::io::Write;

use crate::engine::event::{Event, Stream};
use crate::report::model::Report;
use crate::status::Status;
use crate::text::{format_duration, printable};

/// Writes progress lines for events.
pub struct Printer<W: Write> {
    out: W,
    id_width: usize,
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
        self.verdict_of("verdict", report);
    }

    /// A verdict line named `what`.
    pub fn verdict_of(&mut self, what: &str, report: &Report) {
        let c = &report.counts;
        let _ = writeln!(
            self.out,
            "{what}: {} ({} pass, {} warn, {} fail, {} error, {} skip, {} blocked, {} pending)",
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
