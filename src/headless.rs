//! The headless view: one progress line per item start and end on stderr (status symbol and
//! word, id, duration, one-line reason), check output indented under its item, and a
//! closing verdict line.

use std::io::Write;
use std::time::Duration;

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
        let _ = writeln!(
            self.out,
            "{what}: {} ({})",
            report.verdict.name(),
            report.counts.text()
        );
    }
}

/// The headless lines of a post-deploy bake: its start, one line per round (and a line per
/// item that did not pass), and how it ended. Each round is said once, however often the
/// bake is shown.
#[derive(Debug, Default)]
pub struct BakeLines {
    started: bool,
    rounds: usize,
    ended: bool,
}

impl BakeLines {
    /// The lines `bake` adds to what was said before.
    pub fn lines(&mut self, bake: &crate::session::bake::Bake) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.started {
            self.started = true;
            self.rounds = bake.rounds.len();
            let resumed = if bake.rounds.is_empty() {
                String::new()
            } else {
                format!(", taken up after round {}", bake.rounds.len())
            };
            lines.push(format!(
                "bake: {} items every {} for {}{resumed}",
                bake.items.len(),
                format_duration(bake.every),
                format_duration(bake.duration)
            ));
            for (item, why) in &bake.left_out {
                lines.push(format!("  left out: {item}: {}", printable(why)));
            }
        }
        for round in bake.rounds.iter().skip(self.rounds) {
            lines.extend(round_lines(bake, round));
        }
        self.rounds = bake.rounds.len();
        if let (Some((outcome, reason, _)), false) = (&bake.ended, self.ended) {
            self.ended = true;
            lines.push(format!(
                "bake {}: {}",
                crate::session::bake::Outcome::name(*outcome).to_uppercase(),
                printable(reason)
            ));
            for (index, item) in bake.items.iter().enumerate() {
                let figures = bake.figures(index);
                let ms = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
                lines.push(format!(
                    "  {item}: {} rounds, {} failed, p50 {}, p95 {} (baseline {})",
                    figures.latencies.len(),
                    figures.failures,
                    ms(figures.p50),
                    ms(figures.p95),
                    ms(figures.baseline)
                ));
            }
            if *outcome == crate::session::bake::Outcome::NoGo {
                lines.push(
                    "next: roll back to the previous release, then start a new session with `relcon run`"
                        .into(),
                );
            }
        }
        lines
    }
}

fn round_lines(
    bake: &crate::session::bake::Bake,
    round: &crate::session::bake::Round,
) -> Vec<String> {
    let passed = round
        .status
        .iter()
        .filter(|s| matches!(s, Status::Pass | Status::Warn))
        .count();
    let slowest = round
        .latency_ms
        .iter()
        .zip(&bake.items)
        .max_by_key(|(l, _)| **l)
        .map(|(l, item)| format!(", slowest {item} {l} ms"))
        .unwrap_or_default();
    let left = bake
        .ends_at()
        .duration_since(round.at.system())
        .unwrap_or_default();
    let symbol = if passed == round.status.len() {
        Status::Pass.symbol()
    } else {
        Status::Fail.symbol()
    };
    let mut lines = vec![format!(
        "{symbol} round {}/{}: {passed} of {} passed{slowest} ({} left)",
        round.number,
        bake.planned_rounds().max(1),
        round.status.len(),
        format_duration(Duration::from_secs(left.as_secs()))
    )];
    for (i, status) in round.status.iter().enumerate() {
        if matches!(status, Status::Pass | Status::Warn) {
            continue;
        }
        let item = bake.items.get(i).map_or("?", String::as_str);
        let note = round.notes.get(item).map_or("", String::as_str);
        lines.push(format!(
            "  {} {item} {}: {}",
            status.symbol(),
            status.name(),
            printable(note)
        ));
    }
    lines
}
