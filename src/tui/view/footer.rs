//! The footer: the key hints (from the keymap) with the latest message on a line of its
//! own above them (Esc dismisses it), or, while the operator answers something (leaving,
//! consent, a skip's reason, a search), the question.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clean, wrap};
use crate::tui::app::{App, Mode};
use crate::tui::keymap;
use crate::tui::theme::Theme;

/// The footer line.
pub struct Footer<'a> {
    /// The console.
    pub app: &'a App,
    /// The colours.
    pub theme: &'a Theme,
}

/// What the footer asks while the operator answers something (leaving, consent, a skip's
/// reason, a search), in place of the key hints.
fn footer_prompt(app: &App, theme: &Theme) -> Option<(String, Style)> {
    if matches!(app.mode, Mode::ConfirmQuit) {
        let text = match &app.resume {
            Some(resume) => format!(
                "Checks are running here: q again cancels them and quits (the session stays open: {resume}); any other key stays."
            ),
            // The demo: its sandbox ends with it, so only its store's record stays.
            None => format!(
                "Checks are running here: q again cancels them and quits (the session's record stays in {}); any other key stays.",
                app.store
            ),
        };
        return Some((text, theme.alert()));
    }
    if let Mode::Consent { items, typed } = &app.mode {
        let writing: Vec<&str> = app
            .items
            .iter()
            .filter(|i| i.writes && items.contains(&i.id))
            .map(|i| i.id.as_str())
            .collect();
        let environment = app.environment.as_deref().unwrap_or_default();
        let text = format!(
            "writes to {environment}: type \"{environment}\" to allow: {}▏  Esc: no · {}",
            clean(typed),
            writing.join(", ")
        );
        return Some((text, theme.alert()));
    }
    if let Mode::Skip { item: i, reason } = &app.mode {
        let text = format!(
            "skip {} because: {}▏  Enter records it, Esc does not",
            app.items[*i].id,
            clean(reason)
        );
        return Some((text, theme.key()));
    }
    if matches!(app.mode, Mode::Search) {
        let text = format!(
            "/{}▏  Enter keeps the search, Esc clears it",
            clean(app.search.as_deref().unwrap_or_default())
        );
        return Some((text, theme.key()));
    }
    None
}

/// How many lines the footer takes at `width`: a question, wrapped (at most three lines), or
/// the keys with the message's lines (at most three) above them.
pub fn height(app: &App, width: u16, theme: &Theme) -> u16 {
    let lines = |text: &str| wrap(text, usize::from(width)).len().clamp(1, 3) as u16;
    match footer_prompt(app, theme) {
        Some((text, _)) => lines(&text),
        None => 1 + app.message.as_deref().map_or(0, |m| lines(&clean(m))),
    }
}

impl Footer<'_> {
    /// Draws the footer into `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let (app, theme) = (self.app, self.theme);
        if let Some((text, style)) = footer_prompt(app, theme) {
            let lines: Vec<Line> = wrap(&text, usize::from(area.width))
                .into_iter()
                .take(usize::from(area.height))
                .map(|l| Line::from(Span::styled(l, style)))
                .collect();
            frame.render_widget(Paragraph::new(lines), area);
            return;
        }
        // A message has a line of its own above the keys, so it never pushes them away.
        let keys_area = match &app.message {
            Some(message) if area.height >= 2 => {
                let width = usize::from(area.width);
                let lines: Vec<Line> = wrap(&clean(message), width)
                    .into_iter()
                    .take(usize::from(area.height - 1))
                    .map(|l| Line::from(Span::styled(l, theme.alert())))
                    .collect();
                frame.render_widget(
                    Paragraph::new(lines),
                    Rect {
                        height: area.height - 1,
                        ..area
                    },
                );
                Rect {
                    y: area.y + area.height - 1,
                    height: 1,
                    ..area
                }
            }
            _ => area,
        };
        let mut spans = Vec::new();
        for (key, about) in keymap::footer() {
            spans.push(Span::styled(key, theme.key()));
            spans.push(Span::raw(format!(" {about}  ")));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), keys_area);
    }
}
