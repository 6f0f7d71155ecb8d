//! The session's timeline as an inline SVG: a time axis from the session's start to its
//! last event, each item's run a bar (from `started_at`, `duration_ms` long) and each
//! sign-off a mark with the signer's name. Geometry lives in SVG attributes, not in
//! `style=` (the page's policy forbids inline styles); colours come from classes.
//!
//! Up to [`ROWS_MAX`] items get a row each, labelled with status and title. Past that, runs
//! are packed into as few lanes as overlap allows (first fit by start), and sign-offs into
//! lanes of their own, so a thousand items still make a timeline one can read; each bar
//! names its item on hover, and the table lists every item's times.

use std::fmt::Write;
use std::time::SystemTime;

use super::{escape, status_class};
use crate::report::model::{Report, ReportItem};
use crate::report::view;
use crate::session::Timestamp;

/// The drawing's width, in SVG units (it scales to the page).
const WIDTH: f64 = 1000.0;
/// Where the plot ends on the right.
const RIGHT: f64 = 990.0;
/// A lane's height.
const LANE: f64 = 22.0;
/// A bar's height.
const BAR: f64 = 12.0;
/// The axis's height above the first lane.
const AXIS: f64 = 26.0;
/// The average width of a label's character, in SVG units (labels are 12 units high).
const CHAR: f64 = 7.4;
/// The most items given a row each.
pub const ROWS_MAX: usize = 150;

/// One run of an item, in milliseconds from the session's start.
struct Run<'a> {
    item: &'a ReportItem,
    start: u64,
    end: u64,
}

/// One sign-off, at milliseconds from the session's start.
struct Mark<'a> {
    item: &'a ReportItem,
    signoff: view::SignoffView<'a>,
    at: u64,
}

/// Where time goes on the drawing.
struct Scale {
    left: f64,
    span: u64,
}

impl Scale {
    /// The x of `ms` after the session's start.
    fn x(&self, ms: u64) -> f64 {
        self.left + (RIGHT - self.left) * ms.min(self.span) as f64 / self.span as f64
    }
}

/// Milliseconds from `start` to the moment `text` names, if it names one (none before it).
fn offset(start: SystemTime, text: &str) -> Option<u64> {
    let at = Timestamp::parse(text)?.system();
    Some(at.duration_since(start).map_or(0, |d| d.as_millis() as u64))
}

/// Lanes for spans (`from`, `to`): each goes to the first lane free at its start, in order
/// of start. Returns each span's lane and how many lanes.
fn pack(spans: &[(f64, f64)]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by(|&a, &b| spans[a].0.total_cmp(&spans[b].0));
    let mut ends: Vec<f64> = Vec::new();
    let mut lanes = vec![0; spans.len()];
    for i in order {
        let (from, to) = spans[i];
        lanes[i] = match ends.iter().position(|&end| end <= from) {
            Some(lane) => lane,
            None => {
                ends.push(f64::MIN);
                ends.len() - 1
            }
        };
        ends[lanes[i]] = to;
    }
    (lanes, ends.len())
}

/// A span of milliseconds as a tick says it: `0`, `30 s`, `2 min`, `1 h 30 min`.
fn tick_label(ms: u64) -> String {
    let (h, m, s) = (ms / 3_600_000, ms % 3_600_000 / 60_000, ms % 60_000 / 1_000);
    match (h, m, s) {
        (0, 0, 0) => "0".into(),
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// The tick step for `span` milliseconds: a round step giving at most eight ticks.
fn tick_step(span: u64) -> u64 {
    const STEPS: [u64; 17] = [
        1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
        1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
    ];
    STEPS
        .into_iter()
        .find(|step| span / step <= 8)
        .unwrap_or_else(|| span.div_ceil(8).next_multiple_of(86_400_000))
}

/// The timeline section of the page.
pub(super) fn render(report: &Report, out: &mut String) {
    out.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    let Some(start) = Timestamp::parse(&report.session.started_at).map(Timestamp::system) else {
        out.push_str("<p>No timeline: the session's start time cannot be read.</p>\n</section>\n");
        return;
    };
    let runs: Vec<Run<'_>> = report
        .items
        .iter()
        .filter_map(|item| {
            let begin = offset(start, item.started_at.as_deref()?)?;
            Some(Run {
                item,
                start: begin,
                end: begin + item.duration_ms,
            })
        })
        .collect();
    let marks: Vec<Mark<'_>> = report
        .items
        .iter()
        .flat_map(|item| {
            view::signoffs(item).into_iter().filter_map(move |signoff| {
                let at = offset(start, signoff.at)?;
                Some(Mark { item, signoff, at })
            })
        })
        .collect();
    if runs.is_empty() && marks.is_empty() {
        out.push_str("<p>Nothing has run and nothing is signed yet.</p>\n</section>\n");
        return;
    }
    let last_event = report
        .events
        .as_ref()
        .and_then(|e| e.entries.as_ref()?.last())
        .and_then(|e| offset(start, &e.at));
    let span = runs
        .iter()
        .map(|r| r.end)
        .chain(marks.iter().map(|m| m.at))
        .chain(last_event)
        .max()
        .unwrap_or(0)
        .max(1_000);
    let rows = runs
        .iter()
        .map(|r| r.item.id.as_str())
        .chain(marks.iter().map(|m| m.item.id.as_str()))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let mut svg = String::with_capacity(256 * (runs.len() + marks.len()) + 4_096);
    let by_items = rows <= ROWS_MAX;
    let height = if by_items {
        by_item(report, &runs, &marks, span, &mut svg)
    } else {
        packed(&runs, &marks, span, &mut svg)
    };
    let _ = write!(
        out,
        "<figure class=\"timeline\">\n<svg viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"100%\" role=\"img\" aria-label=\"Timeline of the session: {} runs and {} sign-offs\">\n",
        runs.len(),
        marks.len()
    );
    axis(span, height, left(by_items), out);
    out.push_str(&svg);
    let end = Timestamp::from(start + std::time::Duration::from_millis(span)).seconds();
    let until = if last_event.is_some() {
        "its last event"
    } else {
        "its last run or sign-off"
    };
    let _ = write!(
        out,
        "</svg>\n<figcaption>From <time>{}</time> (the session's start) to <time>{}</time> ({until}), {}. Bars are runs of items, ◆ marks are sign-offs with the signer's name.",
        escape(&report.session.started_at),
        end,
        view::duration(span)
    );
    if !by_items {
        let _ = write!(
            out,
            " {rows} items are too many for a row each: runs share lanes where they do not overlap; hover a bar for its item, and the table below gives each item's times."
        );
    }
    out.push_str("</figcaption>\n</figure>\n</section>\n");
}

/// Where the plot starts: after the labels of rows, or after a narrow band's name.
fn left(by_item: bool) -> f64 {
    if by_item {
        330.0
    } else {
        90.0
    }
}

/// The time axis: a tick and a line every round step.
fn axis(span: u64, height: f64, left: f64, out: &mut String) {
    let scale = Scale { left, span };
    let step = tick_step(span);
    let mut tick = 0;
    while tick <= span {
        let x = scale.x(tick);
        // The first and last labels stay inside the drawing.
        let anchor = match x {
            x if tick == 0 || x < left + 30.0 => "start",
            x if x > RIGHT - 30.0 => "end",
            _ => "middle",
        };
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{height:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"14\" text-anchor=\"{anchor}\">{}</text>",
            AXIS - 6.0,
            tick_label(tick)
        );
        tick += step;
    }
}

/// A run's bar at lane top `y`, with its item on hover.
fn bar(scale: &Scale, run: &Run<'_>, y: f64, out: &mut String) {
    let (x, to) = (scale.x(run.start), scale.x(run.end));
    let item = run.item;
    let _ = writeln!(
        out,
        "<rect class=\"bar {}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{BAR}\" rx=\"2\"><title>{} {}: {} ({}), started {}, took {}{}</title></rect>",
        status_class(item.status),
        y + (LANE - BAR) / 2.0,
        (to - x).max(2.0),
        item.status.symbol(),
        view::status_word(item.status),
        escape(&item.title),
        escape(&item.id),
        escape(item.started_at.as_deref().unwrap_or("")),
        view::duration(item.duration_ms),
        item.run_by
            .as_deref()
            .map_or(String::new(), |by| format!(", ran by {}", escape(by)))
    );
}

/// A sign-off's name as drawn.
fn mark_name(mark: &Mark<'_>) -> String {
    view::clip(mark.signoff.by, 24).into_owned()
}

/// The span a sign-off's mark and name take: the name goes right of the mark, or left of
/// it where the plot ends.
fn mark_span(scale: &Scale, mark: &Mark<'_>) -> (f64, f64, bool) {
    let x = scale.x(mark.at);
    let width = mark_name(mark).chars().count() as f64 * CHAR + 14.0;
    if x + width <= RIGHT {
        (x - 6.0, x + width, false)
    } else {
        (x - width, x + 6.0, true)
    }
}

/// A sign-off's mark and name at lane top `y`.
fn mark(scale: &Scale, mark: &Mark<'_>, y: f64, out: &mut String) {
    let x = scale.x(mark.at);
    let mid = y + LANE / 2.0;
    let (_, _, left) = mark_span(scale, mark);
    let (tx, anchor) = if left {
        (x - 8.0, "end")
    } else {
        (x + 8.0, "start")
    };
    let s = &mark.signoff;
    let _ = writeln!(
        out,
        "<g class=\"mark\"><path d=\"M{x:.1} {:.1}l6 6-6 6-6-6z\"/><text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text><title>{} {} by {} at {} ({}): {}</title></g>",
        mid - 6.0,
        mid + 4.0,
        escape(&mark_name(mark)),
        escape(&mark.item.title),
        escape(s.status),
        escape(s.by),
        escape(s.at),
        s.signature_word(),
        escape(s.note)
    );
}

/// A row per item that ran or was signed, labelled; returns the drawing's height.
fn by_item(
    report: &Report,
    runs: &[Run<'_>],
    marks: &[Mark<'_>],
    span: u64,
    out: &mut String,
) -> f64 {
    let scale = Scale {
        left: left(true),
        span,
    };
    let mut y = AXIS;
    let mut shaded = false;
    for item in &report.items {
        let run = runs.iter().find(|r| std::ptr::eq(r.item, item));
        let own: Vec<&Mark<'_>> = marks
            .iter()
            .filter(|m| std::ptr::eq(m.item, item))
            .collect();
        if run.is_none() && own.is_empty() {
            continue;
        }
        // Names of sign-offs close in time would overlap: they take lanes of their own
        // within the row, below the run's bar if there is one.
        let spans: Vec<(f64, f64)> = own
            .iter()
            .map(|m| {
                let (from, to, _) = mark_span(&scale, m);
                (from, to)
            })
            .collect();
        let (lanes, count) = pack(&spans);
        let first = usize::from(run.is_some());
        let height = LANE * (first + count).max(1) as f64;
        if shaded {
            let _ = writeln!(
                out,
                "<rect class=\"shade\" x=\"0\" y=\"{y:.1}\" width=\"{WIDTH}\" height=\"{height:.1}\"/>"
            );
        }
        shaded = !shaded;
        let status = if item.in_scope {
            format!(
                "{} {}",
                item.status.symbol(),
                view::status_word(item.status)
            )
        } else {
            "○ LEFT OUT".into()
        };
        let _ = writeln!(
            out,
            "<text class=\"label\" x=\"4\" y=\"{:.1}\"><tspan class=\"{}\">{status}</tspan> {}<title>{} ({})</title></text>",
            y + LANE / 2.0 + 4.0,
            status_class(item.status),
            escape(&view::clip(&item.title, 30)),
            escape(&item.title),
            escape(&item.id)
        );
        if let Some(run) = run {
            bar(&scale, run, y, out);
        }
        for (m, lane) in own.iter().zip(lanes) {
            mark(&scale, m, y + LANE * (first + lane) as f64, out);
        }
        y += height;
    }
    y + 4.0
}

/// Runs packed into shared lanes, then sign-offs into theirs; returns the drawing's height.
fn packed(runs: &[Run<'_>], marks: &[Mark<'_>], span: u64, out: &mut String) -> f64 {
    let scale = Scale {
        left: left(false),
        span,
    };
    let mut y = AXIS;
    let spans: Vec<(f64, f64)> = runs
        .iter()
        .map(|r| {
            let x = scale.x(r.start);
            (x, scale.x(r.end).max(x + 2.0) + 1.0)
        })
        .collect();
    let (lanes, count) = pack(&spans);
    if count > 0 {
        let _ = writeln!(
            out,
            "<text class=\"label\" x=\"4\" y=\"{:.1}\">Runs</text>",
            y + LANE / 2.0 + 4.0
        );
    }
    for (run, lane) in runs.iter().zip(&lanes) {
        bar(&scale, run, y + LANE * *lane as f64, out);
    }
    y += LANE * count as f64;
    let spans: Vec<(f64, f64)> = marks
        .iter()
        .map(|m| {
            let (from, to, _) = mark_span(&scale, m);
            (from, to)
        })
        .collect();
    let (lanes, count) = pack(&spans);
    if count > 0 {
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"0\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"label\" x=\"4\" y=\"{:.1}\">Sign-offs</text>",
            y + LANE / 2.0 + 4.0
        );
    }
    for (m, lane) in marks.iter().zip(&lanes) {
        mark(&scale, m, y + LANE * *lane as f64, out);
    }
    y + LANE * count as f64 + 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_share_a_lane_only_when_they_do_not_overlap() {
        let (lanes, count) = pack(&[(0.0, 10.0), (5.0, 15.0), (10.0, 20.0), (16.0, 30.0)]);
        assert_eq!(lanes, vec![0, 1, 0, 1]);
        assert_eq!(count, 2);
        // Order of start decides, whatever the order given.
        let (lanes, _) = pack(&[(10.0, 20.0), (0.0, 10.0)]);
        assert_eq!(lanes, vec![0, 0]);
        assert_eq!(pack(&[]), (vec![], 0));
    }

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(tick_step(1_000), 1_000);
        assert_eq!(tick_step(60_000), 10_000);
        assert_eq!(tick_step(45 * 60_000), 600_000);
        assert_eq!(tick_step(3 * 86_400_000), 43_200_000);
        assert_eq!(tick_step(10 * 86_400_000), 2 * 86_400_000);
        assert_eq!(tick_label(0), "0");
        assert_eq!(tick_label(90_000), "1 min 30 s");
        assert_eq!(tick_label(5_400_000), "1 h 30 min");
    }

    #[test]
    fn time_maps_into_the_plot_and_stays_there() {
        let scale = Scale {
            left: 100.0,
            span: 1_000,
        };
        assert_eq!(scale.x(0), 100.0);
        assert_eq!(scale.x(1_000), RIGHT);
        assert_eq!(scale.x(5_000), RIGHT);
    }
}
