//! Drawing the console, one pane per module: the header, the list, the detail pane, the
//! footer, and the boxes that open over them. Drawing reads the state and never changes
//! what it means; it only notes where things went, for the mouse. Long texts are cut to the
//! window before they are laid out, so a frame costs the same with 10 output lines or
//! 100,000.

mod bake;
mod detail;
mod dialogs;
mod evidence;
mod footer;
mod header;
mod list;

pub use detail::Detail;
pub use footer::Footer;
pub use header::Header;
pub use list::List;

use std::time::SystemTime;

use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::app::{App, Mode};
use super::theme::Theme;

const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Draws the whole console; `now` is the clock for the elapsed time.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, now: SystemTime) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Min(3),
        Constraint::Length(footer::height(app, frame.area().width, theme)),
    ])
    .areas(frame.area());
    Header { app, theme, now }.draw(frame, header);
    // The list is as wide as its content (and its borders) asks, but never takes more than
    // 55 % of the screen (leaving the detail pane 40 columns) or less than 34: the detail
    // pane needs the room more.
    let wanted = list::Columns::full_width(app) + 2;
    let most = (usize::from(body.width) * 55 / 100).min(usize::from(body.width).saturating_sub(40));
    let list_width = u16::try_from(wanted.min(most).max(34))
        .unwrap_or(u16::MAX)
        .min(body.width);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)]).areas(body);
    List { app, theme, now }.draw(frame, list);
    Detail { app, theme }.draw(frame, detail);
    Footer { app, theme }.draw(frame, footer);
    match &app.mode {
        Mode::SignOff(dialog) => dialogs::draw_dialog(frame, frame.area(), dialog, theme),
        Mode::Pair => dialogs::draw_pair(frame, frame.area(), app, theme),
        Mode::Bake => bake::draw_bake(frame, frame.area(), app, theme, now),
        Mode::Help => dialogs::draw_help(frame, frame.area(), theme),
        Mode::Diff(lines, top) => {
            dialogs::draw_diff(frame, frame.area(), lines.as_ref(), *top, theme)
        }
        Mode::Export(dialog) => {
            dialogs::draw_export(frame, frame.area(), dialog, app.closed().is_some(), theme)
        }
        _ => {}
    }
}

/// One line of text cut to `width` columns (an ellipsis marks the cut).
fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Text made safe for a terminal: control characters shown as �, tabs as spaces.
fn clean(text: &str) -> String {
    crate::text::printable(&text.replace('\t', "    "))
}

fn pane_block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    let block = Block::default().borders(Borders::ALL).title(title);
    if focused {
        block.border_style(theme.focused_border())
    } else {
        block
    }
}

/// Words wrapped to `width` columns; a word longer than a line is broken across lines.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(4);
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.width() + 1 + word.width() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            while line.width() > width {
                let rest = split_at_width(&mut line, width);
                out.push(std::mem::replace(&mut line, rest));
            }
        }
        out.push(line);
    }
    out
}

/// A line of code or data broken every `width` columns, nothing dropped.
fn wrap_code(text: &str, width: usize) -> Vec<String> {
    let width = width.max(4);
    let mut line = text.to_string();
    let mut out = Vec::new();
    while line.width() > width {
        let rest = split_at_width(&mut line, width);
        out.push(std::mem::replace(&mut line, rest));
    }
    out.push(line);
    out
}

/// Cuts `line` after `width` columns; returns what followed.
fn split_at_width(line: &mut String, width: usize) -> String {
    let mut used = 0;
    let mut at = line.len();
    for (i, c) in line.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width {
            at = i;
            break;
        }
        used += w;
    }
    // At least one character moves on, so a character wider than the line cannot loop.
    if at == 0 {
        at = line.chars().next().map_or(line.len(), char::len_utf8);
    }
    line.split_off(at)
}
