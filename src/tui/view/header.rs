//! The header: the checklist, the environment (a production one stands out), the session,
//! who is attached, the clock while something runs, and the verdict with the counts over a
//! band that shows how much has settled.

use std::time::SystemTime;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::{clean, fit};
use crate::status::{Status, Verdict};
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// The header of the console.
pub struct Header<'a> {
    /// The console.
    pub app: &'a App,
    /// The colours.
    pub theme: &'a Theme,
    /// The clock for the elapsed time.
    pub now: SystemTime,
}

impl Header<'_> {
    /// Draws the header into `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let (app, theme, now) = (self.app, self.theme, self.now);
        let block = Block::default().borders(Borders::BOTTOM);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [title, first, second, third] =
            Layout::vertical([Constraint::Length(1); 4]).areas(inner);
        frame.render_widget(
            Paragraph::new(Span::styled(
                fit(
                    &format!("relcon · {}", clean(&app.title)),
                    usize::from(title.width),
                ),
                theme.heading(),
            )),
            title,
        );

        let environment = match (&app.environment, app.production) {
            (Some(env), true) if env.eq_ignore_ascii_case("production") => {
                Span::styled(format!(" {} ", env.to_uppercase()), theme.production())
            }
            (Some(env), true) => Span::styled(
                format!(" {} (production) ", env.to_uppercase()),
                theme.production(),
            ),
            (Some(env), false) => {
                Span::styled(env.clone(), Style::new().add_modifier(Modifier::BOLD))
            }
            (None, _) => Span::raw("no environment"),
        };
        // The clock moves only while the screen does (something runs); idle, the start time
        // says it without redrawing.
        let elapsed = app
            .started_at
            .and_then(|t| now.duration_since(t).ok())
            .map(|d| {
                let s = d.as_secs();
                match s {
                    0..60 => format!("{s}s"),
                    60..3600 => format!("{}m {:02}s", s / 60, s % 60),
                    _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
                }
            })
            .unwrap_or_else(|| "-".into());
        let started = app
            .started_at
            .map(|t| {
                let text = humantime::format_rfc3339_seconds(t).to_string();
                format!("started {} UTC", text.get(11..19).unwrap_or(&text))
            })
            .unwrap_or_default();
        let clock = if app.animating() {
            format!("{started} · elapsed {elapsed}")
        } else {
            started
        };
        let attached = if app.attached.is_empty() {
            "nobody".to_string()
        } else {
            app.attached.join(", ")
        };
        // The session id is never cut (it is pasted into commands): on a narrow screen the
        // clock moves to the next line instead.
        let session = format!("   session {}", app.session_id);
        let whole =
            "environment ".len() + environment.width() + session.width() + 3 + clock.width();
        let (same_line, next_line) = if whole <= usize::from(first.width) {
            (format!("   {clock}"), String::new())
        } else {
            (String::new(), format!("{clock} · "))
        };
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::raw("environment "),
                environment,
                Span::raw(format!("{session}{same_line}")),
            ])),
            first,
        );
        frame.render_widget(
            Paragraph::new(Line::from(
                [
                    vec![
                        Span::raw(next_line),
                        Span::raw("attached: "),
                        Span::styled(clean(&attached), Style::new().add_modifier(Modifier::BOLD)),
                    ],
                    app.closed()
                        .into_iter()
                        .map(|why| {
                            Span::styled(format!("   CLOSED: {}", clean(why)), theme.alert())
                        })
                        .collect(),
                    app.bake()
                        .map(|bake| {
                            let (said, status) = super::bake::state(&bake, now);
                            Span::styled(format!("   {said}"), theme.status(status))
                        })
                        .into_iter()
                        .collect(),
                ]
                .concat(),
            )),
            second,
        );

        let (verdict, counts) = match &app.tally {
            Some((verdict, counts)) => (Some(*verdict), counts.clone()),
            None => (None, Default::default()),
        };
        let total = counts.total();
        let settled = total - counts.pending;
        let running = app.running_count() as u32;
        let mut tally = vec![
            (Status::Pass, counts.pass),
            (Status::Warn, counts.warn),
            (Status::Fail, counts.fail),
            (Status::Error, counts.error),
            (Status::Blocked, counts.blocked),
            (Status::Skip, counts.skip),
            (Status::Pending, counts.pending.saturating_sub(running)),
        ];
        if running > 0 {
            tally.push((Status::Running, running));
        }
        // The verdict first, so a narrow terminal cuts the counts, not the verdict.
        let long: Vec<String> = tally
            .iter()
            .map(|(s, n)| format!("{} {n} {}", s.symbol(), s.name()))
            .collect();
        let verdict_word = verdict.map_or("LOADING", Verdict::name).to_uppercase();
        let mut label = format!(
            "verdict {verdict_word} · {settled}/{total} settled · {}",
            long.join("  ")
        );
        if label.width() > usize::from(third.width) {
            let short: Vec<String> = tally
                .iter()
                .map(|(s, n)| format!("{}{n}", s.symbol()))
                .collect();
            label = format!(
                "verdict {verdict_word} · {settled}/{total} · {}",
                short.join(" ")
            );
        }
        let verdict_status = match verdict {
            Some(Verdict::Go) => Status::Pass,
            Some(Verdict::NoGo) => Status::Fail,
            Some(Verdict::Incomplete) | None => Status::Pending,
        };
        // Progress is a band behind the text (reversed, in the verdict's colour) as wide as
        // the share of settled items; the text stays readable over it and past it.
        let width = usize::from(third.width);
        let text = format!("{:<width$}", fit(&label, width));
        let filled = if total == 0 {
            0
        } else {
            width * settled as usize / total as usize
        };
        let split = text
            .char_indices()
            .nth(filled)
            .map_or(text.len(), |(at, _)| at);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(
                    text[..split].to_string(),
                    theme
                        .status(verdict_status)
                        .add_modifier(Modifier::REVERSED),
                ),
                Span::styled(text[split..].to_string(), theme.status(verdict_status)),
            ])),
            third,
        );
    }
}
