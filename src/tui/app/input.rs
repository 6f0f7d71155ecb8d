//! What keys and the mouse do to the console: each key goes to the current mode (a
//! dialog, a prompt being typed, an overlay) or becomes a named action of the keymap; an
//! action the run must carry out leaves as a request, once the rules let the console offer
//! it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::{App, Mode, Pane, Request, Row};
use crate::session::rules;
use crate::session::EventKind;
use crate::status::Status;
use crate::tui::dialog::{Outcome, SignoffDialog};
use crate::tui::export_dialog::{ExportDialog, Outcome as ExportOutcome};
use crate::tui::keymap::{self, Action};

/// How far ←/→ move the detail pane's output sideways, in columns.
const OUTPUT_STEP: usize = 8;

/// Whether Control is held.
fn control(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
}

impl App {
    /// Handles a key; true when something changed.
    pub fn on_key(&mut self, key: &KeyEvent) -> bool {
        match std::mem::take(&mut self.mode) {
            Mode::SignOff(mut dialog) => {
                match dialog.on_key(key) {
                    Outcome::Stay => self.mode = Mode::SignOff(dialog),
                    Outcome::Cancel => {}
                    Outcome::Submit(request) => {
                        self.requests.push(Request::SignOff(request));
                        self.mode = Mode::SignOff(dialog);
                    }
                }
                true
            }
            Mode::Export(mut dialog) => {
                match dialog.on_key(key) {
                    ExportOutcome::Stay => self.mode = Mode::Export(dialog),
                    ExportOutcome::Cancel => {}
                    ExportOutcome::Submit(request) => {
                        self.requests.push(request);
                        self.mode = Mode::Export(dialog);
                    }
                }
                true
            }
            Mode::Search => {
                self.type_search(key);
                true
            }
            Mode::Bake => {
                self.on_bake_key(key);
                true
            }
            Mode::Consent { items, typed } => {
                self.type_consent(key, items, typed);
                true
            }
            Mode::Skip { item, reason } => {
                self.type_skip(key, item, reason);
                true
            }
            // q again leaves; anything else stays.
            Mode::ConfirmQuit => {
                if keymap::action(key) == Some(Action::Quit) {
                    self.quit = true;
                }
                true
            }
            // The comparison scrolls with the movement keys; any other key closes it.
            Mode::Diff(lines, top) => {
                let last = lines
                    .as_ref()
                    .and_then(|l| l.as_ref().ok())
                    .map_or(0, |l| l.len().saturating_sub(1));
                match keymap::action(key) {
                    Some(Action::Down) => self.mode = Mode::Diff(lines, (top + 1).min(last)),
                    Some(Action::Up) => self.mode = Mode::Diff(lines, top.saturating_sub(1)),
                    Some(Action::PageDown) => {
                        self.mode = Mode::Diff(lines, (top + self.page()).min(last))
                    }
                    Some(Action::PageUp) => {
                        self.mode = Mode::Diff(lines, top.saturating_sub(self.page()))
                    }
                    Some(Action::Quit) => self.act(Action::Quit),
                    _ => {}
                }
                true
            }
            // With the help or the pair-run view open, any key but quit closes it.
            overlay @ (Mode::Help | Mode::Pair) => match keymap::action(key) {
                Some(Action::Quit) => {
                    self.mode = overlay;
                    self.act(Action::Quit);
                    true
                }
                _ => true,
            },
            // Esc clears a kept search (and the footer's message), then does nothing.
            Mode::Browse if key.code == KeyCode::Esc => {
                let changed = self.search.is_some() || self.message.is_some();
                if self.search.take().is_some() {
                    self.select_first_item();
                }
                self.message = None;
                changed
            }
            Mode::Browse => match keymap::action(key) {
                Some(action) => {
                    self.act(action);
                    true
                }
                None => false,
            },
        }
    }

    fn type_search(&mut self, key: &KeyEvent) {
        let text = self.search.get_or_insert_with(String::new);
        let mut searching = true;
        match key.code {
            KeyCode::Char(c) if !control(key) => text.push(c),
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Enter => searching = false,
            KeyCode::Esc => {
                searching = false;
                self.search = None;
            }
            _ => {}
        }
        if searching {
            self.mode = Mode::Search;
        } else if self.search.as_deref() == Some("") {
            self.search = None;
        }
        self.select_first_item();
    }

    /// A key typed into the consent prompt, which waits to run `items`.
    fn type_consent(&mut self, key: &KeyEvent, items: Vec<String>, mut typed: String) {
        match key.code {
            KeyCode::Char('c') if control(key) => return,
            KeyCode::Char(c) if !control(key) => typed.push(c),
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Esc => {
                self.message = Some("nothing written: writes were not allowed".into());
                return;
            }
            KeyCode::Enter => {
                let environment = self.environment.clone().unwrap_or_default();
                if typed == environment {
                    self.consented = true;
                    self.message = Some(format!(
                        "writes to {environment} allowed in this console; running {}",
                        items.join(", ")
                    ));
                    self.requests.push(Request::Consent);
                    self.requests.push(Request::Run(items));
                } else {
                    self.message = Some(format!(
                        "nothing written: \"{typed}\" is not the environment's name"
                    ));
                }
                return;
            }
            _ => {}
        }
        self.mode = Mode::Consent { items, typed };
    }

    /// A key typed into the reason for skipping item `item`.
    fn type_skip(&mut self, key: &KeyEvent, item: usize, mut reason: String) {
        match key.code {
            KeyCode::Char('c') if control(key) => return,
            KeyCode::Char(c) if !control(key) => reason.push(c),
            KeyCode::Backspace => {
                reason.pop();
            }
            KeyCode::Esc => return,
            KeyCode::Enter if !reason.trim().is_empty() => {
                self.requests.push(Request::Skip {
                    item: self.items[item].id.clone(),
                    reason: reason.trim().to_string(),
                });
                return;
            }
            _ => {}
        }
        self.mode = Mode::Skip { item, reason };
    }

    /// Selects the list's first item (after the list changed under the selection).
    fn select_first_item(&mut self) {
        let row = self
            .rows()
            .iter()
            .position(|r| matches!(r, Row::Item(_)))
            .unwrap_or(0);
        self.selected = usize::MAX;
        self.select(row);
    }

    /// Why this console may not run item `i` now, if it may not.
    fn refuse_run(&self, i: usize) -> Option<String> {
        let item = &self.items[i];
        if !self.can_run {
            Some("this console runs nothing".to_string())
        } else if !item.automated {
            Some(format!("{} is a manual item: s signs it off", item.id))
        } else if !self.in_scope(i) {
            Some(format!("{} is left out of this run", item.id))
        } else if let Some(who) = self.running_by(&item.id) {
            Some(format!(
                "{} is running ({who}); wait for its result",
                item.id
            ))
        } else {
            self.refuse_closed(EventKind::RunStarted)
        }
    }

    /// Why the session takes no event of `kind` now, if it takes none (it is closed).
    fn refuse_closed(&self, kind: EventKind) -> Option<String> {
        let session = self.session.as_ref()?;
        (!rules::accepts(session, kind)).then(|| {
            format!(
                "the session is closed ({})",
                session.closed.as_deref().unwrap_or_default()
            )
        })
    }

    fn open_signoff(&mut self) {
        let Some(i) = self.selected_item() else {
            self.message = Some("select a manual item to sign it off".into());
            return;
        };
        let item = &self.items[i];
        let refusal = if item.automated {
            Some(format!(
                "{} is a {} check: it is run, not signed",
                item.id, item.kind
            ))
        } else if !self.in_scope(i) {
            Some(format!("{} is left out of this run", item.id))
        } else {
            self.refuse_closed(EventKind::Signoff)
        };
        if let Some(refusal) = refusal {
            self.message = Some(refusal);
            return;
        }
        let (_, progress) = self.status_of(i);
        let item = &self.items[i];
        self.mode = Mode::SignOff(SignoffDialog::new(
            &item.id,
            &item.title,
            &progress,
            &item.instructions,
            &self.operator,
            item.evidence.clone(),
        ));
    }

    fn page(&self) -> usize {
        let area = match self.focus {
            Pane::List => self.areas.list.get(),
            Pane::Detail => self.areas.detail.get(),
        };
        usize::from(area.height).max(2) - 1
    }

    /// Runs `items`, once the operator has typed the environment's name when one of them
    /// writes to a production environment.
    fn ask_run(&mut self, items: Vec<String>) {
        let writes = items
            .iter()
            .any(|id| self.items.iter().any(|i| &i.id == id && i.writes));
        if writes && self.production && !self.consented {
            self.mode = Mode::Consent {
                items,
                typed: String::new(),
            };
        } else {
            self.requests.push(Request::Run(items));
        }
    }

    /// The automated items of this run, not running now, whose status `wanted` accepts.
    fn runnable_where(&self, wanted: impl Fn(Status) -> bool) -> Vec<String> {
        (0..self.items.len())
            .filter(|&i| {
                self.items[i].automated
                    && self.in_scope(i)
                    && !self.is_running(&self.items[i].id)
                    && wanted(self.status(i))
            })
            .map(|i| self.items[i].id.clone())
            .collect()
    }

    /// Does what `action` asks.
    pub fn act(&mut self, action: Action) {
        let rows = self.rows().len();
        let last = rows.saturating_sub(1);
        match (action, self.focus) {
            (Action::Quit, _) if self.running_here() => self.mode = Mode::ConfirmQuit,
            (Action::Quit, _) => self.quit = true,
            (Action::Filter, _) => {
                self.filter = self.filter.next();
                self.select_first_item();
            }
            (Action::Search, _) => {
                self.mode = Mode::Search;
                self.search.get_or_insert_with(String::new);
            }
            (Action::NextFailure, _) => self.next_failure(),
            (Action::SaveEvidence, _) => {
                if let Some(i) = self.selected_item() {
                    self.requests.push(Request::Save {
                        item: self.items[i].id.clone(),
                        shown: self.item_state(i).cloned().map(Box::new),
                    });
                }
            }
            (Action::SignOff, _) => self.open_signoff(),
            (Action::Export, _) => {
                self.mode =
                    Mode::Export(ExportDialog::new(&self.session_id, self.signer.as_deref()))
            }
            (Action::Pair, _) => self.mode = Mode::Pair,
            (Action::Bake, _) => self.mode = Mode::Bake,
            (Action::Diff, _) => {
                self.requests.push(Request::Diff);
                self.mode = Mode::Diff(None, 0);
            }
            (Action::Run, _) => match self.selected_item() {
                None => self.message = Some("select an item to run it".into()),
                Some(i) => match self.refuse_run(i) {
                    Some(refusal) => self.message = Some(refusal),
                    None => self.ask_run(vec![self.items[i].id.clone()]),
                },
            },
            (Action::RunAll | Action::RerunFailed, _) => {
                let wanted = if action == Action::RunAll {
                    self.runnable_where(|s| !matches!(s, Status::Pass | Status::Skip))
                } else {
                    self.runnable_where(|s| matches!(s, Status::Fail | Status::Error))
                };
                if !self.can_run {
                    self.message = Some("this console runs nothing".into());
                } else if wanted.is_empty() {
                    self.message = Some("nothing to run".into());
                } else {
                    self.message = Some(match wanted.as_slice() {
                        [one] => format!("running {one}"),
                        many => format!("running {} items", many.len()),
                    });
                    self.ask_run(wanted);
                }
            }
            (Action::Cancel, _) => self.cancel_selected(),
            (Action::Skip, _) => self.skip_selected(),
            (Action::Help, _) => self.mode = Mode::Help,
            (Action::SwitchPane, Pane::List) => self.focus = Pane::Detail,
            (Action::SwitchPane, Pane::Detail) => self.focus = Pane::List,
            (Action::Up, Pane::List) => self.select(self.selected.saturating_sub(1)),
            (Action::Down, Pane::List) => self.select((self.selected + 1).min(last)),
            (Action::PageUp, Pane::List) => self.select(self.selected.saturating_sub(self.page())),
            (Action::PageDown, Pane::List) => self.select((self.selected + self.page()).min(last)),
            (Action::First, Pane::List) => self.select(0),
            (Action::Last, Pane::List) => self.select(last),
            (Action::Up, Pane::Detail) => self.scroll_detail(-1),
            (Action::Down, Pane::Detail) => self.scroll_detail(1),
            (Action::PageUp, Pane::Detail) => self.scroll_detail(-(self.page() as isize)),
            (Action::PageDown, Pane::Detail) => self.scroll_detail(self.page() as isize),
            (Action::First, Pane::Detail) => {
                self.detail_scroll = 0;
                self.follow = false;
                self.scrolled = true;
            }
            (Action::Last, Pane::Detail) => self.follow = true,
            (Action::Collapse, Pane::Detail) => {
                self.output_shift = self.output_shift.saturating_sub(OUTPUT_STEP)
            }
            (Action::Expand, Pane::Detail) => self.output_shift += OUTPUT_STEP,
            (Action::NextSection, _) => self.jump_section(true),
            (Action::PrevSection, _) => self.jump_section(false),
            (Action::Collapse | Action::Expand | Action::Toggle, _) => self.fold(action),
        }
    }

    fn next_failure(&mut self) {
        let rows = self.rows();
        let failed = |row: &Row| matches!(row, Row::Item(i) if matches!(self.status(*i), Status::Fail | Status::Error));
        let next = (self.selected + 1..rows.len())
            .chain(0..self.selected.saturating_add(1).min(rows.len()))
            .find(|&r| rows.get(r).is_some_and(failed));
        if let Some(row) = next {
            self.focus = Pane::List;
            self.select(row);
        } else {
            self.message = Some("no failed item".into());
        }
    }

    fn cancel_selected(&mut self) {
        match self.selected_item() {
            Some(i) if self.outputs.get(&self.items[i].id).is_some_and(|o| o.live) => {
                self.requests
                    .push(Request::Cancel(self.items[i].id.clone()));
                self.message = Some(format!("cancelling {}…", self.items[i].id));
            }
            Some(i) if self.is_running(&self.items[i].id) => {
                self.message = Some(format!(
                    "{} runs in another process ({}): it is cancelled there",
                    self.items[i].id,
                    self.running_by(&self.items[i].id).unwrap_or_default()
                ));
            }
            _ => self.message = Some("nothing runs here to cancel".into()),
        }
    }

    fn skip_selected(&mut self) {
        match self.selected_item() {
            Some(i) if self.is_running(&self.items[i].id) => {
                self.message = Some(format!("{} is running: cancel it first", self.items[i].id));
            }
            Some(i) if !self.items[i].automated => {
                self.message = Some(format!(
                    "{} is a manual item: s signs it not applicable, with a note",
                    self.items[i].id
                ));
            }
            Some(i) if self.in_scope(i) => {
                self.mode = Mode::Skip {
                    item: i,
                    reason: String::new(),
                }
            }
            _ => self.message = Some("select an item of this run to skip it".into()),
        }
    }

    fn select(&mut self, row: usize) {
        if row != self.selected {
            self.selected = row;
            self.detail_scroll = 0;
            self.output_shift = 0;
            self.follow = false;
            self.scrolled = false;
        }
    }

    /// Shows the detail pane's next (or previous) section at the top.
    fn jump_section(&mut self, next: bool) {
        let Some(i) = self.selected_item() else {
            return;
        };
        let total = self.areas.detail_lines.get();
        let height = usize::from(self.areas.detail.get().height);
        let bottom = total.saturating_sub(height);
        let top = if self.following(i) {
            bottom
        } else {
            self.detail_scroll.min(bottom)
        };
        let sections = self.areas.detail_sections.borrow();
        let mut starts = sections.iter().map(|(_, start)| *start);
        let target = if next {
            starts.clone().find(|s| *s > top)
        } else {
            starts.rfind(|s| *s < top)
        };
        drop(sections);
        if let Some(target) = target {
            self.detail_scroll = target.min(bottom);
            self.follow = false;
            self.scrolled = true;
        }
    }

    fn scroll_detail(&mut self, by: isize) {
        let total = self.areas.detail_lines.get();
        let height = usize::from(self.areas.detail.get().height);
        let bottom = total.saturating_sub(height);
        let from = match self.selected_item() {
            Some(i) if self.following(i) => bottom,
            _ => self.detail_scroll,
        };
        self.detail_scroll = from.saturating_add_signed(by).min(bottom);
        self.follow = false;
        self.scrolled = true;
    }

    fn fold(&mut self, action: Action) {
        let rows = self.rows();
        let section = match rows.get(self.selected) {
            Some(Row::Section(s)) => *s,
            Some(Row::Item(i)) => self.items[*i].section,
            None => return,
        };
        let fold = match action {
            Action::Collapse => true,
            Action::Expand => false,
            _ => !self.collapsed.contains(&section),
        };
        if fold {
            self.collapsed.insert(section);
        } else {
            self.collapsed.remove(&section);
        }
        // The selection stays on the section's heading.
        if let Some(at) = self.rows().iter().position(|r| *r == Row::Section(section)) {
            self.selected = at;
        }
    }

    /// Handles the mouse; true when something changed.
    pub fn on_mouse(&mut self, mouse: &MouseEvent) -> bool {
        let (list, detail) = (self.areas.list.get(), self.areas.detail.get());
        let at = ratatui::layout::Position::new(mouse.column, mouse.row);
        let pane = if list.contains(at) {
            Pane::List
        } else if detail.contains(at) {
            Pane::Detail
        } else {
            return false;
        };
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                if pane == Pane::List {
                    let row = self.areas.list_offset.get() + usize::from(mouse.row - list.y);
                    if row < self.rows().len() {
                        self.select(row);
                    }
                }
                true
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let down = mouse.kind == MouseEventKind::ScrollDown;
                let saved = self.focus;
                self.focus = pane;
                for _ in 0..3 {
                    self.act(if down { Action::Down } else { Action::Up });
                }
                self.focus = saved;
                true
            }
            _ => false,
        }
    }
}
