//! The detail pane: the selected item's status and reason, who ran it and how long it took,
//! its evidence, sign-offs, help and configuration, and its output (the lines the store
//! keeps, following the end while it runs). Only the lines in the window are built.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{clean, fit, pane_block, wrap, wrap_code};
use crate::session::OUTPUT_CAP;
use crate::status::Status;
use crate::text::format_duration;
use crate::tui::app::{App, Pane, Row};
use crate::tui::theme::Theme;

/// The detail pane.
pub struct Detail<'a> {
    /// The console.
    pub app: &'a App,
    /// The colours.
    pub theme: &'a Theme,
}

/// The detail pane's lines above the output, and the output's heading.
fn detail_head(app: &App, i: usize, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let item = &app.items[i];
    let (status, summary) = app.status_of(i);
    let state = app.item_state(i);
    let outcome = state.and_then(|s| s.outcome());
    let mut lines = vec![Line::from(vec![
        Span::styled(clean(&item.id), theme.heading()),
        Span::raw(format!(" · {}", item.kind)),
    ])];
    lines.extend(wrap(&clean(&item.title), width).into_iter().map(Line::from));
    if app.in_scope(i) {
        lines.push(Line::from(Span::styled(
            format!("{} {}", status.symbol(), status.name()),
            theme.status(status),
        )));
    } else {
        lines.push(Line::raw("– out"));
    }
    lines.extend(wrap(&clean(&summary), width).into_iter().map(Line::from));
    // Until the console has its sign-off dialog, the command that signs.
    if !item.automated && app.in_scope(i) && status == Status::Pending {
        lines.push(Line::raw(""));
        lines.extend(
            wrap(
                &format!(
                    "s signs it off here; from a shell: relcon signoff {} --session {} --status done|failed|na [--note TEXT]",
                    item.id, app.session_id
                ),
                width,
            )
            .into_iter()
            .map(Line::from),
        );
    }
    let section = |name: &str, body: Vec<String>, lines: &mut Vec<Line<'static>>| {
        if body.is_empty() {
            return;
        }
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(name.to_string(), theme.heading())));
        lines.extend(body.into_iter().map(Line::from));
    };
    if let Some(state) = state {
        let mut facts = Vec::new();
        if let Some(who) = state.run_by() {
            facts.push(format!("run by {}", clean(who)));
        }
        if let Some(outcome) = outcome.filter(|o| o.attempts > 0) {
            facts.push(format!(
                "{} attempt{} in {}",
                outcome.attempts,
                if outcome.attempts == 1 { "" } else { "s" },
                format_duration(outcome.duration)
            ));
        }
        if let Some(at) = outcome.and_then(|o| o.started_at) {
            facts.push(format!("started {}", at.seconds()));
        }
        lines.extend(wrap(&facts.join(" · "), width).into_iter().map(Line::from));
    }
    if let Some(state) = state {
        if let Some(evidence) = outcome
            .map(|o| &o.evidence)
            .filter(|e| e.as_object().is_some_and(|o| !o.is_empty()))
        {
            let text = serde_json::to_string_pretty(evidence).unwrap_or_default();
            section(
                "Evidence",
                text.lines()
                    .flat_map(|l| wrap_code(&clean(l), width))
                    .collect(),
                &mut lines,
            );
        }
        let signoffs: Vec<String> = state
            .signoffs
            .iter()
            .flat_map(|s| {
                let note = s.note.as_str();
                wrap(
                    &clean(&format!(
                        "{} {} at {}{}",
                        s.by,
                        s.status.name(),
                        s.at.millis(),
                        if note.is_empty() {
                            String::new()
                        } else {
                            format!(": {note}")
                        }
                    )),
                    width,
                )
            })
            .collect();
        section("Sign-offs", signoffs, &mut lines);
    }
    section("Help", wrap(&clean(&item.help), width), &mut lines);
    section(
        "Configuration",
        item.config
            .lines()
            .flat_map(|l| wrap_code(&clean(l), width))
            .collect(),
        &mut lines,
    );
    if let Some(output) = app.outputs.get(&item.id) {
        lines.push(Line::raw(""));
        let count = output.lines.len();
        let mut heading = format!("Output ({count} line{}", if count == 1 { "" } else { "s" });
        if output.live {
            heading.push_str(", live");
        }
        heading.push(')');
        lines.push(Line::from(Span::styled(heading, theme.heading())));
        if output.dropped > 0 {
            lines.push(Line::from(Span::styled(
                format!(
                    "… {} lines dropped (the store keeps the last {})",
                    output.dropped, OUTPUT_CAP
                ),
                Style::new().add_modifier(Modifier::ITALIC),
            )));
        }
    }
    lines
}

impl Detail<'_> {
    /// Draws the detail pane into `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let (app, theme) = (self.app, self.theme);
        let focused = app.focus == Pane::Detail;
        let block = pane_block(" Detail ", focused, theme);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        app.areas.detail.set(inner);
        let Some(i) = app.selected_item() else {
            let text = match app.rows().get(app.selected) {
                Some(Row::Section(s)) => {
                    format!("{} — Enter folds or unfolds it.", clean(&app.sections[*s]))
                }
                _ => String::new(),
            };
            app.areas.detail_lines.set(0);
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
            return;
        };
        let width = usize::from(inner.width);
        let height = usize::from(inner.height);
        let head = detail_head(app, i, width, theme);
        let output = app.outputs.get(&app.items[i].id);
        let output_len = output.map_or(0, |o| o.lines.len());
        let total = head.len() + output_len;
        app.areas.detail_lines.set(total);
        let bottom = total.saturating_sub(height);
        let top = if app.following(i) {
            bottom
        } else {
            app.detail_scroll.min(bottom)
        };
        // Only the lines in the window are built.
        let mut lines: Vec<Line> = head.into_iter().skip(top).take(height).collect();
        if let Some(output) = output {
            let first = top.saturating_sub(total - output_len);
            let room = height - lines.len();
            lines.extend(
                output
                    .lines
                    .range(first..(first + room).min(output_len))
                    .map(|(stderr, line)| {
                        let text = fit(&clean(line), width);
                        if *stderr {
                            Line::from(Span::styled(text, theme.status(Status::Warn)))
                        } else {
                            Line::raw(text)
                        }
                    }),
            );
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
