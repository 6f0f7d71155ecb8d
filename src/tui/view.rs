//! Drawing the console: header, list, detail pane, footer and the help overlay. Drawing
//! reads the state and never changes what it means; it only notes where things went, for
//! the mouse. Long texts are cut to the window before they are laid out, so a frame costs
//! the same with 10 output lines or 100,000.

use std::time::SystemTime;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::app::{App, Pane, Row};
use super::dialog::SignoffDialog;
use super::keymap::{self, KEYMAP};
use super::theme::Theme;
use crate::session::SignoffStatus;
use crate::status::Status;
use crate::text::format_duration;

const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Draws the whole console; `now` is the clock for the elapsed time.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, now: SystemTime) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app, theme, now);
    let list_width = u16::try_from(u32::from(body.width) * 45 / 100)
        .unwrap_or(u16::MAX)
        .clamp(34.min(body.width), 72);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)]).areas(body);
    draw_list(frame, list, app, theme);
    draw_detail(frame, detail, app, theme);
    draw_footer(frame, footer, app, theme);
    if let Some(dialog) = &app.dialog {
        draw_dialog(frame, frame.area(), dialog, theme);
    }
    if app.pair {
        draw_pair(frame, frame.area(), app, theme);
    }
    if app.help {
        draw_help(frame, frame.area(), theme);
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

fn draw_header(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, now: SystemTime) {
    let block = Block::default().borders(Borders::BOTTOM);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [title, first, second, third] = Layout::vertical([Constraint::Length(1); 4]).areas(inner);
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
        (Some(env), false) => Span::styled(env.clone(), Style::new().add_modifier(Modifier::BOLD)),
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
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw("environment "),
            environment,
            Span::raw(format!("   session {}   {clock}", app.session_id)),
        ])),
        first,
    );
    frame.render_widget(
        Paragraph::new(Line::from(
            [
                vec![
                    Span::raw("attached: "),
                    Span::styled(clean(&attached), Style::new().add_modifier(Modifier::BOLD)),
                ],
                app.closed
                    .iter()
                    .map(|why| Span::styled(format!("   CLOSED: {}", clean(why)), theme.alert()))
                    .collect(),
            ]
            .concat(),
        )),
        second,
    );

    let (verdict, counts) = match &app.report {
        Some(report) => (report.verdict.name().to_uppercase(), report.counts.clone()),
        None => ("LOADING".into(), Default::default()),
    };
    let total = counts.pass
        + counts.warn
        + counts.fail
        + counts.error
        + counts.skip
        + counts.blocked
        + counts.pending;
    let settled = total - counts.pending;
    let running = app
        .running
        .keys()
        .filter(|item| app.is_running(item))
        .count() as u32;
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
    let mut label = format!(
        "verdict {verdict} · {settled}/{total} settled · {}",
        long.join("  ")
    );
    if label.width() > usize::from(third.width) {
        let short: Vec<String> = tally
            .iter()
            .map(|(s, n)| format!("{}{n}", s.symbol()))
            .collect();
        label = format!(
            "verdict {verdict} · {settled}/{total} · {}",
            short.join(" ")
        );
    }
    let verdict_status = match verdict.as_str() {
        "GO" => Status::Pass,
        "NO-GO" => Status::Fail,
        _ => Status::Pending,
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

fn pane_block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    let block = Block::default().borders(Borders::ALL).title(title);
    if focused {
        block.border_style(theme.focused_border())
    } else {
        block
    }
}

fn draw_list(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let focused = app.focus == Pane::List;
    let mut title = String::from(" Checklist ");
    if app.filter != super::app::Filter::All {
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
        .map(|i| app.status_of(i).0)
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
    let (status, _) = app.status_of(i);
    let symbol = if status == Status::Running {
        SPINNER[app.spinner % SPINNER.len()]
    } else {
        status.symbol()
    };
    let report = app.report_item(i);
    let duration = report
        .filter(|r| r.attempts > 0)
        .map(|r| format_duration(std::time::Duration::from_millis(r.duration_ms)))
        .unwrap_or_default();
    let who = if let Some(who) = app
        .running
        .get(&item.id)
        .filter(|_| app.is_running(&item.id))
    {
        who.clone()
    } else {
        report
            .map(|r| {
                let signers: Vec<&str> =
                    r.signoffs.iter().filter_map(|s| s["by"].as_str()).collect();
                if signers.is_empty() {
                    r.run_by.clone().unwrap_or_default()
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

/// The detail pane's lines above the output, and the output's heading.
fn detail_head(app: &App, i: usize, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let item = &app.items[i];
    let (status, summary) = app.status_of(i);
    let report = app.report_item(i);
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
    if item.kind == "manual" && app.in_scope(i) && status == Status::Pending {
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
    if let Some(report) = report {
        let mut facts = Vec::new();
        if let Some(who) = &report.run_by {
            facts.push(format!("run by {}", clean(who)));
        }
        if report.attempts > 0 {
            facts.push(format!(
                "{} attempt{} in {}",
                report.attempts,
                if report.attempts == 1 { "" } else { "s" },
                format_duration(std::time::Duration::from_millis(report.duration_ms))
            ));
        }
        if let Some(at) = &report.started_at {
            facts.push(format!("started {at}"));
        }
        lines.extend(wrap(&facts.join(" · "), width).into_iter().map(Line::from));
    }
    if let Some(report) = report {
        let evidence = report.evidence.as_object().is_some_and(|o| !o.is_empty());
        if evidence {
            let text = serde_json::to_string_pretty(&report.evidence).unwrap_or_default();
            section(
                "Evidence",
                text.lines()
                    .flat_map(|l| wrap_code(&clean(l), width))
                    .collect(),
                &mut lines,
            );
        }
        let signoffs: Vec<String> = report
            .signoffs
            .iter()
            .flat_map(|s| {
                let note = s["note"].as_str().unwrap_or_default();
                wrap(
                    &clean(&format!(
                        "{} {} at {}{}",
                        s["by"].as_str().unwrap_or("?"),
                        s["status"].as_str().unwrap_or("?"),
                        s["at"].as_str().unwrap_or("?"),
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
                    output.dropped,
                    crate::store::OUTPUT_CAP
                ),
                Style::new().add_modifier(Modifier::ITALIC),
            )));
        }
    }
    lines
}

fn draw_detail(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
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

/// What the footer asks while the operator answers something (leaving, consent, a skip's
/// reason, a search), in place of the key hints.
fn footer_prompt(app: &App, theme: &Theme) -> Option<(String, Style)> {
    if app.confirm_quit {
        let text = format!(
            "Checks are running here: q again cancels them and quits (the session stays open: relcon run … --session {}); any other key stays.",
            app.session_id
        );
        return Some((text, theme.alert()));
    }
    if let Some((items, typed)) = &app.consenting {
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
    if let Some((i, reason)) = &app.skipping {
        let text = format!(
            "skip {} because: {}▏  Enter records it, Esc does not",
            app.items[*i].id,
            clean(reason)
        );
        return Some((text, theme.key()));
    }
    if app.searching {
        let text = format!(
            "/{}▏  Enter keeps the search, Esc clears it",
            clean(app.search.as_deref().unwrap_or_default())
        );
        return Some((text, theme.key()));
    }
    None
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
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

fn draw_dialog(frame: &mut Frame, area: Rect, dialog: &SignoffDialog, theme: &Theme) {
    let width = 72.min(area.width);
    let inner_width = usize::from(width.saturating_sub(2));
    let focus = |n: usize, text: String| {
        if dialog.focus == n {
            Span::styled(text, theme.selected(true))
        } else {
            Span::raw(text)
        }
    };
    let mut lines = vec![
        Line::from(format!(
            "{} · {}",
            clean(&dialog.item),
            clean(&dialog.title)
        )),
        Line::from(format!("now: {}", clean(&dialog.progress))),
        Line::from(vec![
            Span::raw("signing as "),
            Span::styled(clean(&dialog.signer), theme.heading()),
        ]),
        Line::raw(""),
    ];
    let choice = |status: SignoffStatus, label: &str| {
        let mark = if dialog.status == status {
            "(•)"
        } else {
            "( )"
        };
        format!("{mark} {label}  ")
    };
    lines.push(Line::from(vec![
        Span::raw("status  "),
        focus(
            0,
            choice(SignoffStatus::Done, "d done")
                + &choice(SignoffStatus::Failed, "f failed")
                + &choice(SignoffStatus::Na, "n not applicable"),
        ),
    ]));
    lines.push(Line::raw(""));
    let needs_note = dialog.status != SignoffStatus::Done;
    lines.push(Line::from(format!(
        "note{}",
        if needs_note { " (required)" } else { "" }
    )));
    let note_lines: Vec<String> = if dialog.note.is_empty() {
        vec![String::new()]
    } else {
        dialog
            .note
            .split('\n')
            .flat_map(|l| wrap_code(&clean(l), inner_width.saturating_sub(2)))
            .collect()
    };
    let last_note = note_lines.len().saturating_sub(1);
    for (n, line) in note_lines.into_iter().enumerate() {
        let cursor = if dialog.focus == 1 && n == last_note {
            "▏"
        } else {
            ""
        };
        lines.push(Line::from(vec![
            Span::raw("  "),
            focus(1, format!("{line}{cursor}")),
        ]));
    }
    for (n, (field, value)) in dialog.fields.iter().enumerate() {
        lines.push(Line::raw(""));
        let required = if field.required && dialog.status == SignoffStatus::Done {
            " (required)"
        } else {
            ""
        };
        lines.push(Line::from(format!("{}{required}", clean(&field.label))));
        let cursor = if dialog.focus == n + 2 { "▏" } else { "" };
        lines.push(Line::from(vec![
            Span::raw("  "),
            focus(
                n + 2,
                fit(
                    &format!("{}{cursor}", clean(value)),
                    inner_width.saturating_sub(2),
                ),
            ),
        ]));
    }
    lines.push(Line::raw(""));
    if let Some(error) = &dialog.error {
        lines.extend(
            wrap(&clean(error), inner_width)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, theme.alert()))),
        );
    }
    let hint = if dialog.sending {
        "signing…"
    } else {
        "Tab moves · Ctrl-S (or Enter on the last field) signs · Esc closes"
    };
    lines.push(Line::from(Span::styled(
        fit(hint, inner_width),
        theme.key(),
    )));
    draw_popup(
        frame,
        area,
        width,
        " Sign off ",
        lines,
        theme.focused_border(),
        theme,
    );
}

/// A box of `lines`, `width` wide and as high as they need, in the middle of `area`.
fn draw_popup(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    title: &str,
    lines: Vec<Line>,
    border: Style,
    theme: &Theme,
) {
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(border)
                .title(Span::styled(title, theme.heading())),
        ),
        popup,
    );
}

/// The pair-run view: everyone who worked the session, attached or not, with what each
/// runs now and what each signed.
fn draw_pair(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let width = 76.min(area.width);
    let inner = usize::from(width.saturating_sub(2));
    let mut people: Vec<String> = app.attached.clone();
    if let Some(report) = &app.report {
        for who in &report.session.operators {
            if !people.contains(who) {
                people.push(who.clone());
            }
        }
    }
    let mut lines = Vec::new();
    for who in &people {
        let attached = app.attached.contains(who);
        lines.push(Line::from(vec![
            Span::styled(clean(who), theme.heading()),
            Span::raw(if attached {
                "  attached now"
            } else {
                "  not attached"
            }),
        ]));
        let running: Vec<&str> = app
            .claims
            .iter()
            .filter(|(_, holder)| holder == who)
            .map(|(item, _)| item.as_str())
            .collect();
        let signed: Vec<String> = app
            .report
            .iter()
            .flat_map(|r| r.items.iter())
            .flat_map(|item| {
                item.signoffs
                    .iter()
                    .filter(|s| s["by"].as_str() == Some(who.as_str()))
                    .map(|s| format!("{} {}", item.id, s["status"].as_str().unwrap_or("?")))
            })
            .collect();
        for (what, list) in [
            ("running", running.join(", ")),
            ("signed", signed.join(", ")),
        ] {
            if !list.is_empty() {
                lines.extend(
                    wrap(
                        &format!("{what}: {}", clean(&list)),
                        inner.saturating_sub(2),
                    )
                    .into_iter()
                    .map(|l| Line::raw(format!("  {l}"))),
                );
            }
        }
    }
    if lines.is_empty() {
        lines.push(Line::raw("nobody yet"));
    }
    draw_popup(
        frame,
        area,
        width,
        " People · any key closes ",
        lines,
        Style::new(),
        theme,
    );
}

fn draw_help(frame: &mut Frame, area: Rect, theme: &Theme) {
    let width = 76.min(area.width);
    let about_width = usize::from(width).saturating_sub(12);
    let mut lines: Vec<Line> = Vec::new();
    for binding in KEYMAP {
        for (n, part) in wrap(binding.about, about_width).into_iter().enumerate() {
            let key = if n == 0 { binding.label } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {key:<8}"), theme.key()),
                Span::raw(part),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        " Mouse: click selects, the wheel scrolls the pane under it.",
    ));
    draw_popup(
        frame,
        area,
        width,
        " Keys · any key closes this help ",
        lines,
        Style::new(),
        theme,
    );
}
