//! The footer: the key hints (from the keymap) after the latest message, or, while the
//! operator answers something (leaving, consent, a skip's reason, a search), the question.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clean, fit};
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
        let text = format!(
            "Checks are running here: q again cancels them and quits (the session stays open: relcon run … --session {}); any other key stays.",
            app.session_id
        );
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

impl Footer<'_> {
    /// Draws the footer into `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let (app, theme) = (self.app, self.theme);
        if let Some((text, style)) = footer_prompt(app, theme) {
            frame.render_widget(
                Paragraph::new(Span::styled(fit(&text, usize::from(area.width)), style)),
                area,
            );
            return;
        }
        let mut spans = Vec::new();
        if let Some(message) = &app.message {
            spans.push(Span::styled(format!("{} ", clean(message)), theme.alert()));
        }
        for (key, about) in keymap::footer() {
            spans.push(Span::styled(key, theme.key()));
            spans.push(Span::raw(format!(" {about}  ")));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }
}
