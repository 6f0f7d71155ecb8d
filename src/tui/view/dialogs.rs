//! What opens over the panes: the sign-off dialog, the pair-run view (who works the
//! session) and the help (from the keymap), each a box in the middle of the screen.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::{clean, fit, wrap, wrap_code};
use crate::report::Format;
use crate::session::SignoffStatus;
use crate::tui::app::App;
use crate::tui::dialog::SignoffDialog;
use crate::tui::export_dialog::{ExportDialog, SignChoice};
use crate::tui::keymap::KEYMAP;
use crate::tui::theme::Theme;

pub fn draw_dialog(frame: &mut Frame, area: Rect, dialog: &SignoffDialog, theme: &Theme) {
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
    let hint = if dialog.sending {
        "signing…"
    } else {
        "Tab moves · Ctrl-S (or Enter on the last field) signs · Esc closes"
    };
    push_footer(
        &mut lines,
        dialog.error.as_deref(),
        hint,
        inner_width,
        theme,
    );
    // The steps to perform go under who signs, in what room the screen leaves.
    if !dialog.instructions.trim().is_empty() {
        let room = usize::from(area.height)
            .saturating_sub(2 + lines.len() + 2)
            .max(1);
        let mut steps = wrap(&clean(dialog.instructions.trim()), inner_width);
        if steps.len() > room {
            steps.truncate(room.saturating_sub(1));
            steps.push("… (the detail pane shows all of it)".into());
        }
        let block = std::iter::once(Line::raw(""))
            .chain(std::iter::once(Line::from(Span::styled(
                "instructions",
                theme.heading(),
            ))))
            .chain(steps.into_iter().map(Line::from));
        lines.splice(3..3, block);
    }
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
pub(super) fn draw_popup(
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
pub fn draw_pair(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let width = 76.min(area.width);
    let inner = usize::from(width.saturating_sub(2));
    let mut people: Vec<String> = app.attached.clone();
    for who in app.session.iter().flat_map(|s| &s.operators) {
        if !people.contains(who) {
            people.push(who.clone());
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
        let signed: Vec<String> = (0..app.items.len())
            .filter_map(|i| app.item_state(i))
            .flat_map(|item| {
                item.signoffs
                    .iter()
                    .filter(|s| s.by == *who)
                    .map(|s| format!("{} {}", item.id, s.status.name()))
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

pub fn draw_help(frame: &mut Frame, area: Rect, theme: &Theme) {
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

/// What changed since the last release, scrolled to `top`; "comparing…" until it comes.
pub fn draw_diff(
    frame: &mut Frame,
    area: Rect,
    compared: Option<&Result<Vec<String>, String>>,
    top: usize,
    theme: &Theme,
) {
    let width = 100.min(area.width);
    let inner = usize::from(width.saturating_sub(2));
    let room = usize::from(area.height.saturating_sub(4)).max(1);
    let lines: Vec<Line> = match compared {
        None => vec![Line::raw("comparing with the last release…")],
        Some(Err(why)) => wrap(&clean(why), inner)
            .into_iter()
            .map(Line::from)
            .collect(),
        Some(Ok(text)) => {
            let wrapped: Vec<String> = text
                .iter()
                .flat_map(|l| {
                    let indent = l.len() - l.trim_start().len();
                    wrap(&clean(l), inner.saturating_sub(indent))
                        .into_iter()
                        .map(move |w| format!("{}{w}", " ".repeat(indent)))
                })
                .collect();
            let shown: Vec<Line> = wrapped
                .iter()
                .skip(top)
                .take(room)
                .map(|l| Line::from(l.clone()))
                .collect();
            let mut shown = shown;
            if wrapped.len() > top + room {
                shown.push(Line::from(Span::styled(
                    format!("… {} more lines: ↓ scrolls", wrapped.len() - top - room),
                    theme.key(),
                )));
            }
            shown
        }
    };
    draw_popup(
        frame,
        area,
        width,
        " Since the last release · ↑ ↓ scroll · any other key closes ",
        lines,
        Style::new(),
        theme,
    );
}

/// The export dialog: format, file, how it is signed (a key file's passphrase masked).
pub fn draw_export(
    frame: &mut Frame,
    area: Rect,
    dialog: &ExportDialog,
    closed: bool,
    theme: &Theme,
) {
    let width = 76.min(area.width);
    let inner_width = usize::from(width.saturating_sub(2));
    let focus = |n: usize, text: String| {
        if dialog.focus == n {
            Span::styled(text, theme.selected(true))
        } else {
            Span::raw(text)
        }
    };
    let choice =
        |chosen: bool, label: &str| format!("{} {label}  ", if chosen { "(•)" } else { "( )" });
    let cursor = |n: usize| if dialog.focus == n { "▏" } else { "" };
    let formats: String = Format::ALL
        .iter()
        .map(|f| choice(*f == dialog.format, f.name()))
        .collect();
    let signing: String = dialog
        .choices
        .iter()
        .map(|c| choice(*c == dialog.sign, c.label()))
        .collect();
    let mut lines = vec![
        Line::from(if closed {
            "the session is closed: a final report"
        } else {
            "the session is open: an interim report"
        }),
        Line::raw(""),
        Line::from(vec![Span::raw("format   "), focus(0, formats)]),
        Line::from(vec![
            Span::raw("file     "),
            focus(
                1,
                fit(
                    &format!("{}{}", clean(&dialog.path), cursor(1)),
                    inner_width.saturating_sub(9),
                ),
            ),
        ]),
        Line::from(vec![Span::raw("signed   "), focus(2, signing)]),
    ];
    if dialog.sign == SignChoice::File {
        lines.push(Line::from(vec![
            Span::raw("key file "),
            focus(
                3,
                fit(
                    &format!("{}{}", clean(&dialog.key), cursor(3)),
                    inner_width.saturating_sub(9),
                ),
            ),
        ]));
        // The passphrase is shown as dots, its length only.
        let masked = "•".repeat(dialog.passphrase_len());
        lines.push(Line::from(vec![
            Span::raw("passphrase "),
            focus(4, format!("{masked}{}", cursor(4))),
        ]));
    }
    let hint = if dialog.sending {
        "exporting…"
    } else {
        "Tab moves · ←/→ chooses · Enter on the last field exports · Esc closes"
    };
    push_footer(
        &mut lines,
        dialog.error.as_deref(),
        hint,
        inner_width,
        theme,
    );
    draw_popup(
        frame,
        area,
        width,
        " Export the report ",
        lines,
        theme.focused_border(),
        theme,
    );
}

/// A dialog's last lines: a blank, its error (wrapped) when it has one, and its key hint.
fn push_footer(
    lines: &mut Vec<Line<'static>>,
    error: Option<&str>,
    hint: &str,
    inner_width: usize,
    theme: &Theme,
) {
    lines.push(Line::raw(""));
    if let Some(error) = error {
        lines.extend(
            wrap(&clean(error), inner_width)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, theme.alert()))),
        );
    }
    lines.push(Line::from(Span::styled(
        fit(hint, inner_width),
        theme.key(),
    )));
}
