//! The detail pane: the selected item in sections the operator jumps between with `[` and
//! `]` (a bar on top names them): its summary (status, reason, who ran it and how long it
//! took), its evidence as labelled fields and tables, its output (the lines the store
//! keeps, following the end while it runs, scrolled sideways with ←/→), its sign-offs with
//! what each signed, and its instructions, help and configuration with the inputs it names.
//! Only the lines in the window are built.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use super::{clean, evidence, fit, pane_block, wrap, wrap_code};
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

/// The pane's text around the output: what comes before it (ending with the output's
/// heading, when there is output), what comes after, and where each section begins.
struct Document {
    head: Vec<Line<'static>>,
    tail: Vec<Line<'static>>,
    /// (name, line), lines counted with the output in place.
    sections: Vec<(&'static str, usize)>,
}

/// Lines of one section, collected in order.
struct Builder<'t> {
    lines: Vec<Line<'static>>,
    sections: Vec<(&'static str, usize)>,
    theme: &'t Theme,
}

impl Builder<'_> {
    fn section(&mut self, name: &'static str, body: Vec<Line<'static>>, offset: usize) {
        if body.is_empty() {
            return;
        }
        if !self.lines.is_empty() {
            self.lines.push(Line::raw(""));
        }
        self.sections.push((name, offset + self.lines.len()));
        self.lines.push(Line::from(Span::styled(
            name.to_string(),
            self.theme.heading(),
        )));
        self.lines.extend(body);
    }
}

fn text_lines(text: &str, width: usize) -> Vec<Line<'static>> {
    wrap(&clean(text), width)
        .into_iter()
        .map(Line::from)
        .collect()
}

fn summary(app: &App, i: usize, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let item = &app.items[i];
    let (status, summary) = app.status_of(i);
    let state = app.item_state(i);
    let outcome = state.and_then(|s| s.outcome());
    let mut lines = vec![Line::from(vec![
        Span::styled(clean(&item.id), theme.heading()),
        Span::raw(format!(" · {}", item.kind)),
    ])];
    lines.extend(text_lines(&item.title, width));
    if app.in_scope(i) {
        lines.push(Line::from(Span::styled(
            format!("{} {}", status.symbol(), status.name()),
            theme.status(status),
        )));
    } else {
        lines.push(Line::raw("– out"));
    }
    lines.extend(text_lines(&app.scrubbed(&summary), width));
    if !item.automated && app.in_scope(i) && status == Status::Pending {
        lines.push(Line::raw(""));
        lines.extend(text_lines(&app.signoff_hint(i), width));
    }
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
        lines.extend(text_lines(&facts.join(" · "), width));
    }
    lines
}

fn signoffs(app: &App, i: usize, width: usize) -> Vec<Line<'static>> {
    let Some(state) = app.item_state(i) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for s in &state.signoffs {
        let signed = if s.signature.is_some() {
            " · signed with an SSH key"
        } else {
            ""
        };
        lines.extend(text_lines(
            &format!(
                "{} · {} · {}{signed}",
                s.by,
                s.status.name(),
                s.at.seconds()
            ),
            width,
        ));
        let mut fields = serde_json::Map::new();
        if !s.note.is_empty() {
            fields.insert("note".into(), s.note.clone().into());
        }
        for (key, value) in &s.evidence {
            fields.insert(key.clone(), value.clone().into());
        }
        let fields = app.scrubbed_json(&serde_json::Value::Object(fields));
        lines.extend(
            evidence::lines(&fields, width.saturating_sub(2))
                .into_iter()
                .map(|l| Line::from(format!("  {l}"))),
        );
    }
    lines
}

/// The pane's text for item `i`, laid out `width` columns wide.
fn document(app: &App, i: usize, width: usize, theme: &Theme) -> Document {
    let item = &app.items[i];
    let outcome = app.item_state(i).and_then(|s| s.outcome());
    let mut b = Builder {
        lines: Vec::new(),
        sections: Vec::new(),
        theme,
    };
    b.sections.push(("Summary", 0));
    b.lines = summary(app, i, width, theme);
    if let Some(evidence) = outcome
        .map(|o| &o.evidence)
        .filter(|e| e.as_object().is_none_or(|o| !o.is_empty()))
    {
        let body = evidence::lines(&app.scrubbed_json(evidence), width)
            .into_iter()
            .map(Line::from)
            .collect();
        b.section("Evidence", body, 0);
    }
    let output = app.outputs.get(&item.id);
    if let Some(output) = output {
        let count = output.lines.len();
        let mut heading = format!("{count} line{}", if count == 1 { "" } else { "s" });
        if output.live {
            heading.push_str(", live");
        }
        if app.output_shift > 0 {
            heading.push_str(&format!(", from column {}", app.output_shift + 1));
        }
        let mut body = vec![Line::from(Span::styled(
            heading,
            Style::new().add_modifier(Modifier::DIM),
        ))];
        if output.dropped > 0 {
            body.push(Line::from(Span::styled(
                format!(
                    "… {} lines dropped (the store keeps the last {})",
                    output.dropped, OUTPUT_CAP
                ),
                Style::new().add_modifier(Modifier::ITALIC),
            )));
        }
        b.section("Output", body, 0);
    }
    let head = std::mem::take(&mut b.lines);
    let after = head.len() + output.map_or(0, |o| o.lines.len());
    b.section("Sign-offs", signoffs(app, i, width), after);
    b.section("Instructions", text_lines(&item.instructions, width), after);
    b.section("Help", text_lines(&item.help, width), after);
    let mut config: Vec<Line<'static>> = item
        .config
        .lines()
        .flat_map(|l| wrap_code(&clean(l), width))
        .map(Line::from)
        .collect();
    if !item.inputs.is_empty() {
        config.push(Line::from(Span::styled(
            "inputs",
            Style::new().add_modifier(Modifier::DIM),
        )));
        config.extend(
            item.inputs
                .iter()
                .flat_map(|l| wrap(&clean(l), width.saturating_sub(2)))
                .map(|l| Line::from(format!("  {l}"))),
        );
    }
    b.section("Configuration", config, after);
    // A blank line parts what comes before from what follows.
    let mut tail = b.lines;
    if !tail.is_empty() {
        tail.insert(0, Line::raw(""));
        for (_, start) in b.sections.iter_mut().filter(|(_, s)| *s >= after) {
            *start += 1;
        }
    }
    Document {
        head,
        tail,
        sections: b.sections,
    }
}

/// `text` from column `shift` on, cut to `width` (an ellipsis marks a cut at either end).
fn shifted(text: &str, shift: usize, width: usize) -> String {
    if shift == 0 {
        return fit(text, width);
    }
    let mut skipped = 0;
    let rest: String = text
        .chars()
        .skip_while(|c| {
            let take = skipped < shift;
            skipped += c.width().unwrap_or(0);
            take
        })
        .collect();
    if rest.is_empty() {
        return String::new();
    }
    format!("…{}", fit(&rest, width.saturating_sub(1)))
}

/// The bar naming the sections, the one in view marked.
fn section_bar(
    sections: &[(&'static str, usize)],
    top: usize,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let current = sections
        .iter()
        .rposition(|(_, start)| *start <= top)
        .unwrap_or(0);
    // Short names when the whole ones do not fit.
    let whole: usize = sections.iter().map(|(name, _)| name.len() + 3).sum();
    let short = whole > width;
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (n, (name, _)) in sections.iter().enumerate() {
        if n > 0 {
            spans.push(Span::raw(" "));
        }
        let name = if short { short_name(name) } else { name };
        let text = format!(" {name} ");
        spans.push(if n == current {
            Span::styled(text, theme.selected(true))
        } else {
            Span::styled(text, Style::new().add_modifier(Modifier::DIM))
        });
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if used + 10 <= width {
        spans.push(Span::styled(
            "  [ ] jump",
            Style::new().add_modifier(Modifier::DIM),
        ));
    }
    Line::from(spans)
}

/// A section's name in four letters or so, for a narrow pane.
fn short_name(name: &str) -> &str {
    match name {
        "Summary" => "Sum",
        "Evidence" => "Evid",
        "Output" => "Out",
        "Sign-offs" => "Sign",
        "Instructions" => "Steps",
        "Configuration" => "Conf",
        other => other,
    }
}

impl Detail<'_> {
    /// Draws the detail pane into `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let (app, theme) = (self.app, self.theme);
        let focused = app.focus == Pane::Detail;
        let block = pane_block(" Detail ", focused, theme);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let Some(i) = app.selected_item() else {
            let text = match app.rows().get(app.selected) {
                Some(Row::Section(s)) => {
                    format!("{} — Enter folds or unfolds it.", clean(&app.sections[*s]))
                }
                _ => String::new(),
            };
            app.areas.detail.set(inner);
            app.areas.detail_lines.set(0);
            app.areas.detail_sections.borrow_mut().clear();
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
            return;
        };
        let width = usize::from(inner.width);
        // The first line is the section bar; the text scrolls below it.
        let bar = Rect {
            height: inner.height.min(1),
            ..inner
        };
        let text = Rect {
            y: inner.y + bar.height,
            height: inner.height - bar.height,
            ..inner
        };
        app.areas.detail.set(text);
        let height = usize::from(text.height);
        let doc = document(app, i, width, theme);
        let output = app.outputs.get(&app.items[i].id);
        let output_len = output.map_or(0, |o| o.lines.len());
        let total = doc.head.len() + output_len + doc.tail.len();
        app.areas.detail_lines.set(total);
        let bottom = total.saturating_sub(height);
        let top = if app.following(i) {
            (doc.head.len() + output_len)
                .saturating_sub(height)
                .min(bottom)
        } else {
            app.detail_scroll.min(bottom)
        };
        frame.render_widget(
            Paragraph::new(section_bar(&doc.sections, top, width, theme)),
            bar,
        );
        *app.areas.detail_sections.borrow_mut() = doc.sections;
        // Only the lines in the window are built.
        let end = top + height;
        let head_len = doc.head.len();
        let mut lines: Vec<Line> = doc.head.into_iter().skip(top).take(height).collect();
        if let Some(output) = output {
            let first = top.saturating_sub(head_len).min(output_len);
            let last = end.saturating_sub(head_len).min(output_len);
            lines.extend(
                output
                    .lines
                    .range(first..last.max(first))
                    .map(|(stderr, line)| {
                        let text = shifted(&clean(&app.scrubbed(line)), app.output_shift, width);
                        if *stderr {
                            Line::from(Span::styled(text, theme.status(Status::Warn)))
                        } else {
                            Line::raw(text)
                        }
                    }),
            );
        }
        let tail_from = top.saturating_sub(head_len + output_len);
        let room = height.saturating_sub(lines.len());
        lines.extend(doc.tail.into_iter().skip(tail_from).take(room));
        frame.render_widget(Paragraph::new(lines), text);
    }
}

#[cfg(test)]
mod tests {
    use super::shifted;

    #[test]
    fn output_shifted_sideways_marks_both_cuts() {
        assert_eq!(shifted("abcdefghij", 0, 6), "abcde…");
        assert_eq!(shifted("abcdefghij", 4, 4), "…ef…");
        assert_eq!(shifted("abcdefghij", 7, 6), "…hij");
        assert_eq!(shifted("abc", 8, 6), "");
    }
}
