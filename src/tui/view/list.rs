//! The list: the checklist's sections and items, each with a status symbol and word (never
//! colour alone), its kind, duration and who ran or signed it; a folded section says what
//! it holds, worst first.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
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
    /// The colours.
    pub theme: &'a Theme,
}

impl List<'_> {
    /// Draws the list into `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let (app, theme) = (self.app, self.theme);
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
                    Row::Item(i) => item_line(app, *i, width, theme),
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

fn item_line<'a>(app: &App, i: usize, width: usize, theme: &Theme) -> Line<'a> {
    let item = &app.items[i];
    let status = app.status(i);
    let symbol = if status == Status::Running {
        SPINNER[app.spinner % SPINNER.len()]
    } else {
        status.symbol()
    };
    let state = app.item_state(i);
    let duration = state
        .and_then(|s| s.outcome())
        .filter(|o| o.attempts > 0)
        .map(|o| format_duration(o.duration))
        .unwrap_or_default();
    let who = if let Some(who) = app.running_by(&item.id) {
        who.to_string()
    } else {
        state
            .map(|s| {
                let signers: Vec<&str> = s.signoffs.iter().map(|s| s.by.as_str()).collect();
                if signers.is_empty() {
                    s.run_by().unwrap_or_default().to_string()
                } else {
                    signers.join(", ")
                }
            })
            .unwrap_or_default()
    };
    // Symbol and status word, id, kind, duration, who: the id gets what the others leave;
    // a narrow pane drops who, then the kind, then the word (the symbol always stays).
    // An item left out of this run shows what the session knows of it, if anything.
    let known = app.in_scope(i) || status != Status::Pending || app.is_running(&item.id);
    let (symbol, word, style) = if known {
        (symbol, status.name(), theme.status(status))
    } else {
        ("–", "out", Style::new().add_modifier(Modifier::DIM))
    };
    let head = if width >= 48 {
        format!("  {symbol} {word:<7} ")
    } else {
        format!("  {symbol} ")
    };
    let kind = if width >= 40 {
        let w = app.kind_width.min(14);
        format!(" {:<w$}", fit(item.kind, w))
    } else {
        String::new()
    };
    let duration = format!(" {duration:>6}");
    let fixed = head.width() + kind.width() + duration.width();
    // Who has a column of its own when there is room for one, filled or not.
    let who_width = width.saturating_sub(fixed + 18).min(16);
    let who = if who_width >= 4 {
        let who = fit(&clean(&who), who_width - 1);
        format!(" {who:<w$}", w = who_width - 1)
    } else {
        String::new()
    };
    let id_width = width.saturating_sub(fixed + who.width());
    Line::from(vec![
        Span::styled(head, style),
        Span::raw(format!("{:<id_width$}", fit(&item.id, id_width))),
        Span::styled(kind, Style::new().add_modifier(Modifier::DIM)),
        Span::raw(duration),
        Span::raw(who),
    ])
}
