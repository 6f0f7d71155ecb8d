//! The bake's pane: per baked item a sparkline of its latency over the last rounds, its
//! p50/p95 beside its baseline and limit, its failures; the time left, and how the bake
//! ended. Drawn from the session's records, so every attached console shows the same bake.

use std::time::SystemTime;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::dialogs::draw_popup;
use super::{clean, fit};
use crate::session::bake::{Bake, Outcome};
use crate::status::Status;
use crate::text::format_duration;
use crate::tui::app::App;
use crate::tui::theme::Theme;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The latencies as bars scaled to the largest shown, the most recent `width`; a failed
/// round is a `×`.
pub fn sparkline(latencies: &[u64], failed: &[bool], width: usize) -> String {
    let from = latencies.len().saturating_sub(width);
    let shown = &latencies[from..];
    let top = shown.iter().copied().max().unwrap_or(0).max(1);
    shown
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if failed.get(from + i).copied().unwrap_or(false) {
                '×'
            } else {
                let level = (l.saturating_mul(7) / top) as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}

/// The bake's state in a few words: BAKING with the round and the time left, or how it ended.
pub fn state(bake: &Bake, now: SystemTime) -> (String, Status) {
    match &bake.ended {
        None => {
            let left = bake.ends_at().duration_since(now).unwrap_or_default();
            (
                format!(
                    "BAKING round {}/{} · {} left",
                    bake.rounds.len(),
                    bake.planned_rounds().max(1),
                    format_duration(std::time::Duration::from_secs(left.as_secs()))
                ),
                Status::Running,
            )
        }
        Some((outcome, reason, _)) => {
            let status = match outcome {
                Outcome::Go => Status::Pass,
                Outcome::NoGo => Status::Fail,
                Outcome::Stopped => Status::Skip,
            };
            (
                format!("BAKE {}: {}", outcome.name().to_uppercase(), clean(reason)),
                status,
            )
        }
    }
}

/// Draws the bake's pane over `area`.
pub fn draw_bake(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, now: SystemTime) {
    let width = 110.min(area.width);
    let inner = usize::from(width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    match app.bake() {
        None => {
            lines.push(Line::raw(
                "No bake yet. Once traffic has moved to this release, Enter starts one: the items marked",
            ));
            lines.push(Line::raw(
                "`bake = true` re-run every interval (the checklist's [bake], else every 30s for 15m),",
            ));
            lines.push(Line::raw(
                "and a regression (2 failed rounds in a row, or a p95 far above the first rounds') ends it no-go.",
            ));
        }
        Some(bake) => {
            let (said, status) = state(&bake, now);
            lines.push(Line::from(Span::styled(
                fit(&said, inner),
                theme.status(status),
            )));
            lines.push(Line::raw(fit(
                &format!(
                    "every {} for {} · started by {}",
                    format_duration(bake.every),
                    format_duration(bake.duration),
                    clean(&bake.by)
                ),
                inner,
            )));
            lines.push(Line::raw(""));
            let id_width = bake
                .items
                .iter()
                .map(|i| i.len())
                .max()
                .unwrap_or(4)
                .min(28);
            let figures_width = 42;
            let spark_width = inner.saturating_sub(id_width + figures_width + 2).max(4);
            lines.push(Line::from(Span::styled(
                fit(
                    &format!(
                        "{:<id_width$} {:<spark_width$} {:>7} {:>7} {:>7} {:>7} {:>6}",
                        "item", "latency, last rounds", "p50", "p95", "base", "limit", "fails"
                    ),
                    inner,
                ),
                theme.heading(),
            )));
            for (index, item) in bake.items.iter().enumerate() {
                let figures = bake.figures(index);
                let failed: Vec<bool> = bake
                    .rounds
                    .iter()
                    .map(|r| {
                        r.status
                            .get(index)
                            .is_some_and(|s| matches!(s, Status::Fail | Status::Error))
                    })
                    .collect();
                let ms = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v}ms"));
                let text = format!(
                    "{:<id_width$} {:<spark_width$} {:>7} {:>7} {:>7} {:>7} {:>6}",
                    fit(item, id_width),
                    sparkline(&figures.latencies, &failed, spark_width),
                    ms(figures.p50),
                    ms(figures.p95),
                    ms(figures.baseline),
                    ms(bake.latency_limit(index)),
                    figures.failures
                );
                let style = if figures.streak > 0 {
                    theme.status(Status::Fail)
                } else {
                    ratatui::style::Style::default()
                };
                lines.push(Line::from(Span::styled(fit(&text, inner), style)));
            }
            for (item, why) in &bake.left_out {
                lines.push(Line::raw(fit(
                    &format!("left out: {item}: {}", clean(why)),
                    inner,
                )));
            }
            if let Some(round) = bake.rounds.last() {
                for (item, note) in &round.notes {
                    lines.push(Line::from(Span::styled(
                        fit(
                            &format!("round {}: {item}: {}", round.number, clean(note)),
                            inner,
                        ),
                        theme.status(Status::Fail),
                    )));
                }
            }
            if matches!(bake.ended, Some((Outcome::NoGo, _, _))) {
                lines.push(Line::raw(""));
                lines.push(Line::from(Span::styled(
                    fit(
                        "Next: roll back to the previous release, then start a new session with relcon run.",
                        inner,
                    ),
                    theme.alert(),
                )));
            }
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        fit(
            "Enter starts a bake · c stops it (recorded as stopped) · any other key closes",
            inner,
        ),
        theme.key(),
    )));
    draw_popup(
        frame,
        area,
        width,
        " post-deploy bake ",
        lines,
        theme.focused_border(),
        theme,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_largest_shown_and_mark_failures() {
        assert_eq!(
            sparkline(&[10, 20, 80, 40], &[false, false, false, true], 10),
            "▁▂█×"
        );
        assert_eq!(sparkline(&[10, 20, 80, 40], &[], 2), "█▄");
        assert_eq!(sparkline(&[], &[], 5), "");
    }
}
