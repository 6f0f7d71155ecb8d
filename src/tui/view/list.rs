//! The list: the checklist's sections and items, each with a status symbol and word (never
//! colour alone), its kind, how long it took (or, running, its attempt and how long it has
//! run) and who ran or signed it, in columns sized from their content; a folded section
//! says what it holds, worst first.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::time::SystemTime;
use unicode_width::UnicodeWidthStr;

use super::{clean, fit, pane_block, SPINNER};
use crate::status::Status;
use crate::text::format_duration;
use crate::tui::app::{App, Filter, Pane, Row};
use crate::tui::theme::Theme;

/// The list pane.
pub struct List<'a> {
    /// The console.
    pub app: &'a App,
    /// The clock for running items' elapsed time.
    pub now: SystemTime,
    /// The colours.
    pub theme: &'a Theme,
}

impl List<'_> {
    /// Draws the list into `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let (app, theme, now) = (self.app, self.theme, self.now);
        let focused = app.focus == Pane::List;
        let mut title = String::from(" Checklist ");
        if app.filter != Filter::All {
            title.push_str(&format!("· {} ", app.filter.name()));
        }
        if let Some(text) = &app.search {
            title.push_str(&format!("· /{} ", clean(text)));
        }
        let block = pane_block(&title, focused, theme);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        app.areas.list.set(inner);
        if app.rows().is_empty() {
            frame.render_widget(
                Paragraph::new("No item matches: f changes the filter, / the search.")
                    .wrap(Wrap { trim: false }),
                inner,
            );
            return;
        }
        let rows = app.rows();
        let height = usize::from(inner.height);
        // The selection stays in view; the window moves only when it must.
        let mut offset = app.areas.list_offset.get();
        if app.selected < offset {
            offset = app.selected;
        } else if height > 0 && app.selected >= offset + height {
            offset = app.selected + 1 - height;
        }
        offset = offset.min(rows.len().saturating_sub(height));
        app.areas.list_offset.set(offset);
        let width = usize::from(inner.width);
        let columns = Columns::fit(app, width);
        let lines: Vec<Line> = rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(n, row)| {
                let line = match row {
                    Row::Section(s) => {
                        let folded = app.collapsed.contains(s);
                        // A folded section still says what it holds, worst first.
                        let tally = if folded {
                            section_tally(app, *s)
                        } else {
                            String::new()
                        };
                        Line::from(Span::styled(
                            fit(
                                &format!(
                                    "{} {}{tally}",
                                    if folded { "▸" } else { "▾" },
                                    clean(&app.sections[*s])
                                ),
                                width,
                            ),
                            theme.heading(),
                        ))
                    }
                    Row::Item(i) => item_line(app, *i, columns, now, theme),
                };
                if n == app.selected {
                    line.patch_style(theme.selected(focused))
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// A folded section's items counted by status, worst first: `  ✘1 ✔3`.
fn section_tally(app: &App, section: usize) -> String {
    let order = [
        Status::Fail,
        Status::Error,
        Status::Blocked,
        Status::Running,
        Status::Warn,
        Status::Pending,
        Status::Skip,
        Status::Pass,
    ];
    let statuses: Vec<Status> = (0..app.items.len())
        .filter(|&i| app.items[i].section == section && app.in_scope(i))
        .map(|i| app.status(i))
        .collect();
    let parts: Vec<String> = order
        .iter()
        .filter_map(|status| {
            let n = statuses.iter().filter(|s| *s == status).count();
            (n > 0).then(|| format!("{}{n}", status.symbol()))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("  {}", parts.join(" "))
    }
}

/// Each column's width, sized from the items' content and fitted to the pane by dropping
/// the least useful column first (who, then the kind, then the status word, then the time);
/// the id is cut only when nothing else is left to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    word: bool,
    id: usize,
    kind: usize,
    time: usize,
    who: usize,
}

/// The symbol's columns ("  ✔ ").
const SYMBOL: usize = 4;
/// The status word's columns ("pending ").
const WORD: usize = 8;
/// The time's columns (" 2/3 14s", " 38 ms").
const TIME: usize = 8;
/// The fewest columns who is worth showing in (cut).
const WHO_MIN: usize = 6;

impl Columns {
    /// The widths the content asks for: (id, kind, who).
    pub fn wanted(app: &App) -> (usize, usize, usize) {
        let id = app.items.iter().map(|i| i.id.width()).max().unwrap_or(0);
        let who = (0..app.items.len())
            .map(|i| who_of(app, i).width())
            .max()
            .unwrap_or(0);
        (id, app.kind_width, who)
    }

    /// The pane width that shows every column whole.
    pub fn full_width(app: &App) -> usize {
        let (id, kind, who) = Self::wanted(app);
        SYMBOL + WORD + id + 1 + kind + TIME + if who > 0 { 1 + who } else { 0 }
    }

    /// The columns for a pane `width` wide.
    pub fn fit(app: &App, width: usize) -> Self {
        let (id, kind, who) = Self::wanted(app);
        let mut c = Columns {
            word: true,
            id,
            kind: kind + 1,
            time: TIME,
            who: if who > 0 { who + 1 } else { 0 },
        };
        let used =
            |c: &Columns| SYMBOL + usize::from(c.word) * WORD + c.id + c.kind + c.time + c.who;
        if used(&c) > width {
            // Who is cut before it is dropped.
            let room = width.saturating_sub(used(&Columns { who: 0, ..c }));
            c.who = if room > WHO_MIN { room } else { 0 };
        }
        if used(&c) > width {
            c.kind = 0;
        }
        if used(&c) > width {
            c.word = false;
        }
        if used(&c) > width {
            c.time = 0;
        }
        if used(&c) > width {
            c.id = width.saturating_sub(used(&Columns { id: 0, ..c }));
        }
        // Room to spare goes to the id, so the columns after it line up at the right.
        c.id += width.saturating_sub(used(&c));
        c
    }
}

/// Who ran or signed item `i`, or runs it now.
fn who_of(app: &App, i: usize) -> String {
    let item = &app.items[i];
    if let Some(who) = app.running_by(&item.id) {
        return clean(who);
    }
    app.item_state(i)
        .map(|s| {
            let signers: Vec<&str> = s.signoffs.iter().map(|s| s.by.as_str()).collect();
            if signers.is_empty() {
                clean(s.run_by().unwrap_or_default())
            } else {
                clean(&signers.join(", "))
            }
        })
        .unwrap_or_default()
}

/// Whole seconds as a short time: `14s`, `2m05s`.
fn short_time(elapsed: std::time::Duration) -> String {
    let s = elapsed.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

fn item_line<'a>(
    app: &App,
    i: usize,
    columns: Columns,
    now: SystemTime,
    theme: &Theme,
) -> Line<'a> {
    let item = &app.items[i];
    let status = app.status(i);
    let symbol = if status == Status::Running {
        SPINNER[app.spinner % SPINNER.len()]
    } else {
        status.symbol()
    };
    // A running item shows its attempt (of how many) and how long it has run; a finished
    // one how long it took.
    let time = if status == Status::Running || app.is_running(&item.id) {
        app.running_since(i)
            .map(|(attempt, since)| {
                let elapsed = short_time(now.duration_since(since).unwrap_or_default());
                match attempt {
                    Some(n) if item.attempts > 1 => format!("{n}/{} {elapsed}", item.attempts),
                    _ => elapsed,
                }
            })
            .unwrap_or_default()
    } else {
        app.item_state(i)
            .and_then(|s| s.outcome())
            .filter(|o| o.attempts > 0)
            .map(|o| format_duration(o.duration))
            .unwrap_or_default()
    };
    // An item left out of this run shows what the session knows of it, if anything.
    let known = app.in_scope(i) || status != Status::Pending || app.is_running(&item.id);
    let (symbol, word, style) = if known {
        (symbol, status.name(), theme.status(status))
    } else {
        ("–", "out", Style::new().add_modifier(Modifier::DIM))
    };
    let head = if columns.word {
        format!("  {symbol} {word:<7} ")
    } else {
        format!("  {symbol} ")
    };
    let mut spans = vec![
        Span::styled(head, style),
        Span::raw(format!("{:<w$}", fit(&item.id, columns.id), w = columns.id)),
    ];
    if columns.kind > 0 {
        let w = columns.kind - 1;
        spans.push(Span::styled(
            format!(" {:<w$}", fit(item.kind, w)),
            Style::new().add_modifier(Modifier::DIM),
        ));
    }
    if columns.time > 0 {
        let w = columns.time - 1;
        spans.push(Span::raw(format!(" {:>w$}", fit(&time, w))));
    }
    if columns.who > 0 {
        let w = columns.who - 1;
        spans.push(Span::raw(format!(" {}", fit(&who_of(app, i), w))));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::short_time;
    use std::time::Duration;

    #[test]
    fn running_times_are_short() {
        assert_eq!(short_time(Duration::from_millis(14_900)), "14s");
        assert_eq!(short_time(Duration::from_secs(125)), "2m05s");
    }
}
