//! The console's state and how it changes: the session as the store has it, output lines of
//! runs, and what the operator is looking at. Nothing here draws or waits; the event loop
//! feeds it messages and the view draws it.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::SystemTime;

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::keymap::{self, Action};
use crate::checklist::plan::Plan;
use crate::engine::event::{Event, Stream};
use crate::redact::Redactor;
use crate::report::model::Report;
use crate::session::SessionState as Session;
use crate::status::Status;
use crate::store::OUTPUT_CAP;

/// What the console shows of an item that does not change while it runs.
#[derive(Debug, Clone)]
pub struct ItemInfo {
    /// Its id.
    pub id: String,
    /// Its section's index in [`App::sections`].
    pub section: usize,
    /// Its title.
    pub title: String,
    /// Its kind's name.
    pub kind: &'static str,
    /// Its help text.
    pub help: String,
    /// Its configuration in this environment, as TOML, redacted.
    pub config: String,
    /// The evidence a sign-off of it gives (manual items).
    pub evidence: Vec<crate::session::rules::Field>,
    /// Whether running it writes to the target (consent first in production).
    pub writes: bool,
}

/// The output lines of an item's latest run: the last [`OUTPUT_CAP`], as the store keeps them.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The run they belong to, when read from the store.
    pub run: Option<String>,
    /// Whether this process is producing them now.
    pub live: bool,
    /// (from stderr, line).
    pub lines: VecDeque<(bool, String)>,
    /// Lines no longer kept.
    pub dropped: u64,
    /// When they were read from the store.
    pub read_at: Option<std::time::Instant>,
}

/// A line of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A section heading.
    Section(usize),
    /// An item.
    Item(usize),
}

pub use crate::service::Request;

/// Which items the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Every item.
    #[default]
    All,
    /// Failed and errored items.
    Failed,
    /// Items not settled yet: pending, running, blocked.
    Pending,
    /// Manual items.
    Manual,
}

impl Filter {
    /// The next filter in the cycle.
    pub fn next(self) -> Self {
        match self {
            Filter::All => Filter::Failed,
            Filter::Failed => Filter::Pending,
            Filter::Pending => Filter::Manual,
            Filter::Manual => Filter::All,
        }
    }

    /// Its name, as the list's title shows it.
    pub fn name(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Failed => "failed",
            Filter::Pending => "pending",
            Filter::Manual => "manual",
        }
    }

    fn admits(self, status: Status, kind: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Failed => matches!(status, Status::Fail | Status::Error),
            Filter::Pending => {
                matches!(status, Status::Pending | Status::Running | Status::Blocked)
            }
            Filter::Manual => kind == "manual",
        }
    }
}

/// Which pane has the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The list of items.
    List,
    /// The selected item's detail.
    Detail,
}

/// Where the last frame put things, for the mouse and for paging.
#[derive(Debug, Default)]
pub struct Areas {
    /// The list's inside.
    pub list: Cell<Rect>,
    /// The detail pane's inside.
    pub detail: Cell<Rect>,
    /// The first row the list showed.
    pub list_offset: Cell<usize>,
    /// How many lines the detail pane has in all.
    pub detail_lines: Cell<usize>,
}

/// The console's state.
#[derive(Debug)]
pub struct App {
    /// The checklist's title.
    pub title: String,
    /// The environment.
    pub environment: Option<String>,
    /// Whether it is a production one.
    pub production: bool,
    /// The session id.
    pub session_id: String,
    /// When the session started.
    pub started_at: Option<SystemTime>,
    /// Why the session is closed, when it is.
    pub closed: Option<String>,
    /// The widest kind name, for the list's kind column.
    pub kind_width: usize,
    /// Section names, in order.
    pub sections: Vec<String>,
    /// Items, in checklist order.
    pub items: Vec<ItemInfo>,
    /// The session's report.
    pub report: Option<Report>,
    /// Items running now: id → who.
    pub running: BTreeMap<String, String>,
    /// The runs of those items: id → run id.
    pub running_runs: BTreeMap<String, String>,
    /// Runs whose claim was found lapsed (their process died): shown as interrupted.
    pub stale_runs: BTreeSet<String>,
    /// Whether the operator scrolled the detail pane since selecting the item (else a
    /// running item's pane follows its output).
    pub scrolled: bool,
    /// Stored output of each item's latest run: id → run id.
    pub stored_runs: HashMap<String, String>,
    /// Operators attached now.
    pub attached: Vec<String>,
    /// Output lines per item.
    pub outputs: HashMap<String, Output>,
    /// Folded sections.
    pub collapsed: BTreeSet<usize>,
    /// The selected row.
    pub selected: usize,
    /// The pane with the focus.
    pub focus: Pane,
    /// The detail pane's first line.
    pub detail_scroll: usize,
    /// Whether the detail pane follows the end of the output.
    pub follow: bool,
    /// Whether the help is open.
    pub help: bool,
    /// A message for the operator (a store error, say).
    pub message: Option<String>,
    /// The spinner's frame.
    pub spinner: usize,
    /// Whether the operator asked to leave.
    pub quit: bool,
    /// Whether leaving waits for a confirmation (checks run in this process).
    pub confirm_quit: bool,
    /// Which items the list shows.
    pub filter: Filter,
    /// Text ids or titles must contain, when searching.
    pub search: Option<String>,
    /// Whether keys type into the search.
    pub searching: bool,
    /// Who this console signs as.
    pub operator: String,
    /// The sign-off dialog, when open.
    pub dialog: Option<super::dialog::SignoffDialog>,
    /// What the engine is asked to do, oldest first.
    pub requests: Vec<Request>,
    /// The item being skipped and the reason typed so far.
    pub skipping: Option<(usize, String)>,
    /// Whether this console can run items (it has an engine).
    pub can_run: bool,
    /// Whether writes to a production environment are allowed (`--yes-apply`, or the
    /// environment's name typed in this console).
    pub consented: bool,
    /// Items waiting to run until the operator types the environment's name, and what was
    /// typed so far.
    pub consenting: Option<(Vec<String>, String)>,
    /// The live claims: (item, who runs it).
    pub claims: Vec<(String, String)>,
    /// Whether the pair-run view is open.
    pub pair: bool,
    /// Where the last frame put things.
    pub areas: Areas,
}

impl App {
    /// The console of `plan` in session `session_id`.
    pub fn new(plan: &Plan<'_>, session_id: &str, redactor: &Redactor) -> Self {
        let mut sections: Vec<String> = plan.checklist.sections.clone();
        let items = plan
            .entries
            .iter()
            .map(|entry| {
                let section = match sections.iter().position(|s| *s == entry.item.section) {
                    Some(i) => i,
                    None => {
                        sections.push(entry.item.section.clone());
                        sections.len() - 1
                    }
                };
                let config = toml::to_string(&entry.resolved.config).unwrap_or_default();
                ItemInfo {
                    evidence: crate::session::rules::fields(&entry.resolved.config),
                    id: entry.item.id.clone(),
                    section,
                    title: entry.item.title.clone(),
                    kind: entry.item.kind.name,
                    help: entry.item.help.trim().to_string(),
                    config: redactor.scrub(config.trim()).into_owned(),
                    writes: entry.resolved.writes,
                }
            })
            .collect();
        let kind_width = plan
            .entries
            .iter()
            .map(|e| e.item.kind.name.len())
            .max()
            .unwrap_or(0);
        let mut app = App {
            title: plan.checklist.title.clone(),
            environment: plan.environment.clone(),
            production: plan
                .environment
                .as_deref()
                .and_then(|e| plan.checklist.environment(e))
                .is_some_and(|e| e.production),
            session_id: session_id.to_string(),
            started_at: None,
            closed: None,
            kind_width,
            sections,
            items,
            report: None,
            running: BTreeMap::new(),
            running_runs: BTreeMap::new(),
            stale_runs: BTreeSet::new(),
            scrolled: false,
            stored_runs: HashMap::new(),
            attached: Vec::new(),
            outputs: HashMap::new(),
            collapsed: BTreeSet::new(),
            selected: 0,
            focus: Pane::List,
            detail_scroll: 0,
            follow: false,
            help: false,
            message: None,
            spinner: 0,
            quit: false,
            confirm_quit: false,
            filter: Filter::All,
            search: None,
            searching: false,
            operator: String::new(),
            dialog: None,
            requests: Vec::new(),
            skipping: None,
            can_run: false,
            consented: false,
            consenting: None,
            claims: Vec::new(),
            pair: false,
            areas: Areas::default(),
        };
        // The first item, not its section's heading, is selected to begin with.
        app.selected = app
            .rows()
            .iter()
            .position(|r| matches!(r, Row::Item(_)))
            .unwrap_or(0);
        app
    }

    /// Whether this run covers the item (else the list shows it as left out).
    pub fn in_scope(&self, item: usize) -> bool {
        self.report_item(item).is_none_or(|i| i.in_scope)
    }

    /// Takes in the session as the store has it now.
    pub fn refresh(&mut self, plan: &Plan<'_>, session: &Session) {
        self.report = Some(Report::of_session(plan, session));
        let running = session
            .items
            .values()
            .filter_map(|item| item.running.as_ref().map(|run| (item.id.clone(), run)));
        self.running = running
            .clone()
            .map(|(item, run)| (item, run.by.clone()))
            .collect();
        self.running_runs = running.map(|(item, run)| (item, run.id.clone())).collect();
        self.stored_runs = session
            .items
            .values()
            .filter_map(|item| {
                item.result
                    .as_ref()?
                    .output
                    .as_ref()
                    .map(|output| (item.id.clone(), output.run_id.clone()))
            })
            .collect();
        self.started_at = Some(session.started_at.system());
        self.closed = session.closed.clone();
    }

    /// Takes in an event of this process's engine (already committed to the store).
    pub fn on_engine(&mut self, event: &Event) {
        match event {
            Event::Started { id, attempt, .. } => {
                let output = self.outputs.entry(id.clone()).or_default();
                if *attempt == 1 || !output.live {
                    *output = Output {
                        live: true,
                        ..Output::default()
                    };
                }
            }
            Event::Output { id, stream, line } => {
                let output = self.outputs.entry(id.clone()).or_default();
                output
                    .lines
                    .push_back((*stream == Stream::Stderr, line.clone()));
                if output.lines.len() as u64 > OUTPUT_CAP {
                    output.lines.pop_front();
                    output.dropped += 1;
                }
            }
            Event::Finished { id, .. } => {
                if let Some(output) = self.outputs.get_mut(id) {
                    output.live = false;
                }
            }
            Event::Waiting { .. } => {}
        }
    }

    /// The selected item's stored output to read, when it is not here yet: (item, run id).
    pub fn wanted_output(&self) -> Option<(String, String)> {
        let item = self.selected_item()?;
        let id = &self.items[item].id;
        // Another process's run, still going: its stored lines are read again each second.
        if self.is_running(id) && !self.outputs.get(id).is_some_and(|o| o.live) {
            let run = self.running_runs.get(id)?;
            return match self.outputs.get(id) {
                Some(output)
                    if output.run.as_ref() == Some(run)
                        && output
                            .read_at
                            .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) =>
                {
                    None
                }
                _ => Some((id.clone(), run.clone())),
            };
        }
        let run = self.stored_runs.get(id)?;
        match self.outputs.get(id) {
            Some(output) if output.live || output.run.as_ref() == Some(run) => None,
            // Lines this process saw as they came are the stored ones.
            Some(output) if output.run.is_none() && !output.lines.is_empty() => None,
            _ => Some((id.clone(), run.clone())),
        }
    }

    /// Takes in a run's stored output.
    pub fn set_output(
        &mut self,
        item: &str,
        run: &str,
        lines: Vec<(String, String)>,
        dropped: u64,
    ) {
        self.outputs.insert(
            item.to_string(),
            Output {
                run: Some(run.to_string()),
                live: false,
                lines: lines
                    .into_iter()
                    .map(|(stream, line)| (stream == "stderr", line))
                    .collect(),
                dropped,
                read_at: Some(std::time::Instant::now()),
            },
        );
    }

    /// Takes in the live claims (item, holder): runs not among them died.
    pub fn claims_live(&mut self, claims: &[(String, String)]) -> bool {
        let live: BTreeSet<&str> = claims.iter().map(|(item, _)| item.as_str()).collect();
        let claims_changed = self.claims != claims;
        self.claims = claims.to_vec();
        let stale: BTreeSet<String> = self
            .running_runs
            .iter()
            .filter(|(item, _)| !live.contains(item.as_str()))
            .map(|(_, run)| run.clone())
            .collect();
        let changed = stale != self.stale_runs || (claims_changed && self.pair);
        self.stale_runs = stale;
        changed
    }

    /// Whether `item` runs now (its run started and its runner lives).
    pub fn is_running(&self, item: &str) -> bool {
        self.running_runs
            .get(item)
            .is_some_and(|run| !self.stale_runs.contains(run))
    }

    /// Whether something moves on screen (a check runs): the spinner then ticks.
    pub fn animating(&self) -> bool {
        self.running_runs.keys().any(|item| self.is_running(item))
    }

    /// Whether the detail pane shows the end of the output: asked for, or the item is
    /// producing it and the operator has not scrolled away.
    pub fn following(&self, item: usize) -> bool {
        self.follow
            || (!self.scrolled
                && self
                    .outputs
                    .get(&self.items[item].id)
                    .is_some_and(|o| o.live || self.is_running(&self.items[item].id)))
    }

    /// The list's rows, folded sections showing only their heading.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::with_capacity(self.items.len() + self.sections.len());
        for (s, _) in self.sections.iter().enumerate() {
            let mut members = self
                .items
                .iter()
                .enumerate()
                .filter(|(i, item)| item.section == s && self.shown(*i))
                .peekable();
            if members.peek().is_none() {
                continue;
            }
            rows.push(Row::Section(s));
            if !self.collapsed.contains(&s) {
                rows.extend(members.map(|(i, _)| Row::Item(i)));
            }
        }
        rows
    }

    /// Item `i`'s entry in the report (the report lists the plan's items in order).
    pub fn report_item(&self, i: usize) -> Option<&crate::report::model::ReportItem> {
        let id = &self.items.get(i)?.id;
        let items = &self.report.as_ref()?.items;
        items
            .get(i)
            .filter(|r| r.id == *id)
            .or_else(|| items.iter().find(|r| r.id == *id))
    }

    /// Whether the filter and the search let item `i` into the list.
    fn shown(&self, i: usize) -> bool {
        let item = &self.items[i];
        let found = self.search.as_deref().is_none_or(|text| {
            let text = text.to_lowercase();
            item.id.to_lowercase().contains(&text) || item.title.to_lowercase().contains(&text)
        });
        found && self.filter.admits(self.status_of(i).0, item.kind)
    }

    /// Whether checks run in this process now (quitting would cancel them).
    pub fn running_here(&self) -> bool {
        self.outputs.values().any(|o| o.live)
    }

    /// The selected item, when an item (not a heading) is selected.
    pub fn selected_item(&self) -> Option<usize> {
        match self.rows().get(self.selected) {
            Some(Row::Item(i)) => Some(*i),
            _ => None,
        }
    }

    /// An item's status and summary as shown: running items say so and by whom.
    pub fn status_of(&self, item: usize) -> (Status, String) {
        let id = &self.items[item].id;
        if let Some(who) = self.running.get(id).filter(|_| self.is_running(id)) {
            return (Status::Running, format!("running ({who})"));
        }
        self.report_item(item)
            .map_or((Status::Pending, "not run yet".into()), |i| {
                (i.status, i.summary.clone())
            })
    }

    /// Handles a key; true when something changed.
    pub fn on_key(&mut self, key: &KeyEvent) -> bool {
        if let Some(dialog) = &mut self.dialog {
            match dialog.on_key(key) {
                super::dialog::Outcome::Stay => {}
                super::dialog::Outcome::Cancel => self.dialog = None,
                super::dialog::Outcome::Submit(request) => {
                    self.requests.push(Request::SignOff(request))
                }
            }
            return true;
        }
        if self.searching {
            self.type_search(key);
            return true;
        }
        if self.consenting.is_some() {
            self.type_consent(*key);
            return true;
        }
        if let Some((i, reason)) = &mut self.skipping {
            use crossterm::event::KeyCode;
            let control = key
                .modifiers
                .contains(crossterm::event::KeyModifiers::CONTROL);
            match key.code {
                KeyCode::Char('c') if control => self.skipping = None,
                KeyCode::Char(c) if !control => reason.push(c),
                KeyCode::Backspace => {
                    reason.pop();
                }
                KeyCode::Esc => self.skipping = None,
                KeyCode::Enter if !reason.trim().is_empty() => {
                    self.requests.push(Request::Skip {
                        item: self.items[*i].id.clone(),
                        reason: reason.trim().to_string(),
                    });
                    self.skipping = None;
                }
                _ => {}
            }
            return true;
        }
        if self.confirm_quit {
            // q again leaves; anything else stays.
            self.confirm_quit = false;
            if keymap::action(key) == Some(Action::Quit) {
                self.quit = true;
            }
            return true;
        }
        let Some(action) = keymap::action(key) else {
            // Any key closes the help and the pair-run view.
            let open = self.help || self.pair;
            self.help = false;
            self.pair = false;
            return open;
        };
        // With the help or the pair-run view open, any key but quit closes it.
        if (self.help || self.pair) && action != Action::Quit {
            self.help = false;
            self.pair = false;
            return true;
        }
        self.act(action);
        true
    }

    fn type_search(&mut self, key: &KeyEvent) {
        use crossterm::event::KeyCode;
        let text = self.search.get_or_insert_with(String::new);
        match key.code {
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .contains(crossterm::event::KeyModifiers::CONTROL) =>
            {
                text.push(c)
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Enter => self.searching = false,
            KeyCode::Esc => {
                self.searching = false;
                self.search = None;
            }
            _ => {}
        }
        if self.search.as_deref() == Some("") && !self.searching {
            self.search = None;
        }
        self.select_first_item();
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

    /// The item `i` if this console may run it now, else none (and the operator is told why).
    fn runnable(&mut self, i: Option<usize>) -> Option<usize> {
        let Some(i) = i else {
            self.message = Some("select an item to run it".into());
            return None;
        };
        let item = &self.items[i];
        let refusal = if !self.can_run {
            Some("this console runs nothing".to_string())
        } else if item.kind == "manual" {
            Some(format!("{} is a manual item: s signs it off", item.id))
        } else if !self.in_scope(i) {
            Some(format!("{} is left out of this run", item.id))
        } else if self.is_running(&item.id) {
            Some(format!(
                "{} is running ({}); wait for its result",
                item.id,
                self.running.get(&item.id).cloned().unwrap_or_default()
            ))
        } else {
            self.closed
                .as_ref()
                .map(|why| format!("the session is closed ({why})"))
        };
        match refusal {
            Some(refusal) => {
                self.message = Some(refusal);
                None
            }
            None => Some(i),
        }
    }

    fn open_signoff(&mut self) {
        let Some(i) = self.selected_item() else {
            self.message = Some("select a manual item to sign it off".into());
            return;
        };
        let item = &self.items[i];
        let refusal = if item.kind != "manual" {
            Some(format!(
                "{} is a {} check: it is run, not signed",
                item.id, item.kind
            ))
        } else if !self.in_scope(i) {
            Some(format!("{} is left out of this run", item.id))
        } else {
            self.closed
                .as_ref()
                .map(|why| format!("the session is closed ({why})"))
        };
        if let Some(refusal) = refusal {
            self.message = Some(refusal);
            return;
        }
        let (_, progress) = self.status_of(i);
        self.dialog = Some(super::dialog::SignoffDialog::new(
            &item.id,
            &item.title,
            &progress,
            &self.operator,
            item.evidence.clone(),
        ));
    }

    /// Takes in the store's answer to a sign-off: the dialog closes, or says why not.
    pub fn signed(&mut self, outcome: Result<String, String>) {
        match outcome {
            Ok(said) => {
                self.dialog = None;
                self.message = Some(said);
            }
            Err(refused) => {
                if let Some(dialog) = &mut self.dialog {
                    dialog.sending = false;
                    dialog.error = Some(refused);
                } else {
                    self.message = Some(refused);
                }
            }
        }
    }

    fn page(&self) -> usize {
        let area = match self.focus {
            Pane::List => self.areas.list.get(),
            Pane::Detail => self.areas.detail.get(),
        };
        usize::from(area.height).max(2) - 1
    }

    /// Does what `action` asks.
    /// Runs `items`, once the operator has typed the environment's name when one of them
    /// writes to a production environment.
    fn ask_run(&mut self, items: Vec<String>) {
        let writes = items
            .iter()
            .any(|id| self.items.iter().any(|i| &i.id == id && i.writes));
        if writes && self.production && !self.consented {
            self.consenting = Some((items, String::new()));
        } else {
            self.requests.push(Request::Run(items));
        }
    }

    /// A key typed into the consent prompt.
    fn type_consent(&mut self, key: crossterm::event::KeyEvent) {
        use crossterm::event::{KeyCode, KeyModifiers};
        let Some((items, typed)) = &mut self.consenting else {
            return;
        };
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if control => self.consenting = None,
            KeyCode::Char(c) if !control => typed.push(c),
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Esc => {
                self.consenting = None;
                self.message = Some("nothing written: writes were not allowed".into());
            }
            KeyCode::Enter => {
                let environment = self.environment.clone().unwrap_or_default();
                if *typed == environment {
                    let items = std::mem::take(items);
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
                self.consenting = None;
            }
            _ => {}
        }
    }

    pub fn act(&mut self, action: Action) {
        let rows = self.rows().len();
        let last = rows.saturating_sub(1);
        match (action, self.focus) {
            (Action::Quit, _) if self.running_here() => self.confirm_quit = true,
            (Action::Quit, _) => self.quit = true,
            (Action::Filter, _) => {
                self.filter = self.filter.next();
                self.select_first_item();
            }
            (Action::Search, _) => {
                self.searching = true;
                self.search.get_or_insert_with(String::new);
            }
            (Action::NextFailure, _) => {
                let rows = self.rows();
                let failed = |row: &Row| matches!(row, Row::Item(i) if matches!(self.status_of(*i).0, Status::Fail | Status::Error));
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
            (Action::SaveEvidence, _) => {
                if let Some(i) = self.selected_item() {
                    self.requests.push(Request::Save(self.items[i].id.clone()));
                }
            }
            (Action::SignOff, _) => self.open_signoff(),
            (Action::Pair, _) => self.pair = !self.pair,
            (Action::Run, _) => {
                if let Some(i) = self.runnable(self.selected_item()) {
                    self.ask_run(vec![self.items[i].id.clone()]);
                }
            }
            (Action::RunAll | Action::RerunFailed, _) => {
                let wanted: Vec<String> = (0..self.items.len())
                    .filter(|&i| {
                        let status = self.status_of(i).0;
                        self.items[i].kind != "manual"
                            && self.in_scope(i)
                            && !self.is_running(&self.items[i].id)
                            && if action == Action::RunAll {
                                !matches!(status, Status::Pass | Status::Skip)
                            } else {
                                matches!(status, Status::Fail | Status::Error)
                            }
                    })
                    .map(|i| self.items[i].id.clone())
                    .collect();
                if !self.can_run {
                    self.message = Some("this console runs nothing".into());
                } else if wanted.is_empty() {
                    self.message = Some("nothing to run".into());
                } else {
                    self.message = Some(format!("running {} items", wanted.len()));
                    self.ask_run(wanted);
                }
            }
            (Action::Cancel, _) => match self.selected_item() {
                Some(i) if self.outputs.get(&self.items[i].id).is_some_and(|o| o.live) => {
                    self.requests
                        .push(Request::Cancel(self.items[i].id.clone()));
                }
                Some(i) if self.is_running(&self.items[i].id) => {
                    self.message = Some(format!(
                        "{} runs in another process ({}): it is cancelled there",
                        self.items[i].id,
                        self.running
                            .get(&self.items[i].id)
                            .cloned()
                            .unwrap_or_default()
                    ));
                }
                _ => self.message = Some("nothing runs here to cancel".into()),
            },
            (Action::Skip, _) => match self.selected_item() {
                Some(i) if self.is_running(&self.items[i].id) => {
                    self.message =
                        Some(format!("{} is running: cancel it first", self.items[i].id));
                }
                Some(i) if self.items[i].kind == "manual" => {
                    self.message = Some(format!(
                        "{} is a manual item: s signs it not applicable, with a note",
                        self.items[i].id
                    ));
                }
                Some(i) if self.in_scope(i) => self.skipping = Some((i, String::new())),
                _ => self.message = Some("select an item of this run to skip it".into()),
            },
            (Action::Help, _) => self.help = !self.help,
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
            (Action::Collapse | Action::Expand | Action::Toggle, _) => self.fold(action),
        }
    }

    fn select(&mut self, row: usize) {
        if row != self.selected {
            self.selected = row;
            self.detail_scroll = 0;
            self.follow = false;
            self.scrolled = false;
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
