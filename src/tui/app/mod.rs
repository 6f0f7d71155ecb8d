//! The console's state: the session it is fed (folded, as every view has it), the output
//! lines of runs, and what the operator is looking at and typing (one [`Mode`] at a time).
//! Nothing here draws or waits: the event loop feeds it, the view draws it, and what the
//! operator asks of the run leaves as typed [`Request`]s, which the loop sends on.

mod bake;
mod filter;
mod gates;
mod input;
mod shown;

pub use filter::Filter;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::SystemTime;

use ratatui::layout::Rect;

use super::dialog::SignoffDialog;
use crate::checklist::plan::Plan;
use crate::engine::event::{Event, Stream};
use crate::redact::Redactor;
use crate::session::rules::{self, Counts, Field};
use crate::session::{Broken, ItemState, SessionState, StoredEvent, OUTPUT_CAP};
use crate::status::{Status, Verdict};

pub use crate::service::Request;

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
    /// Whether relcon runs it (else people sign it off).
    pub automated: bool,
    /// Whether this run covers it.
    pub in_scope: bool,
    /// Its help text.
    pub help: String,
    /// The steps a manual item asks for (`instructions`), empty when it has none.
    pub instructions: String,
    /// How many attempts a run makes at most (retries + 1).
    pub attempts: u32,
    /// The inputs its configuration names, as they may be shown: a value (scrubbed, a
    /// URL's credentials masked) or, for a secret, only whether it is set; and the source.
    pub inputs: Vec<String>,
    /// Its configuration in this environment, as TOML, redacted.
    pub config: String,
    /// The evidence a sign-off of it gives (manual items).
    pub evidence: Vec<Field>,
    /// Whether running it writes to the target (consent first in production).
    pub writes: bool,
    /// The items it needs, in this environment.
    pub needs: Vec<String>,
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

/// What keys do now: move around, or type into one thing, or look at an overlay.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// Moving around the list and the detail pane.
    #[default]
    Browse,
    /// Typing the search.
    Search,
    /// The sign-off dialog.
    SignOff(SignoffDialog),
    /// Typing the environment's name to allow writes: the items waiting to run, and what
    /// was typed so far.
    Consent {
        /// The items to run once allowed.
        items: Vec<String>,
        /// What was typed.
        typed: String,
    },
    /// Typing why an item is skipped.
    Skip {
        /// The item.
        item: usize,
        /// The reason so far.
        reason: String,
    },
    /// Checks run here: a second q leaves (and cancels them), any other key stays.
    ConfirmQuit,
    /// The help overlay.
    Help,
    /// Who works the session: attached, running what, signed what.
    Pair,
    /// What changed since the last release: its lines (none yet: being compared) and how
    /// far they are scrolled.
    Diff(Option<Result<Vec<String>, String>>, usize),
    /// The export dialog.
    Export(super::export_dialog::ExportDialog),
    /// The post-deploy bake.
    Bake,
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
    /// Where each of the detail pane's sections begins: (name, line).
    pub detail_sections: RefCell<Vec<(&'static str, usize)>>,
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
    /// The widest kind name, for the list's kind column.
    pub kind_width: usize,
    /// Section names, in order.
    pub sections: Vec<String>,
    /// Items, in checklist order.
    pub items: Vec<ItemInfo>,
    /// The session, as fed.
    pub session: Option<SessionState>,
    /// The verdict and the counts over this run's items, as the rules have them.
    pub tally: Option<(Verdict, Counts)>,
    /// Runs whose claim was found lapsed (their process died): shown as interrupted.
    pub stale_runs: BTreeSet<String>,
    /// The live claims: (item, who runs it).
    pub claims: Vec<(String, String)>,
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
    /// Whether the operator scrolled the detail pane since selecting the item (else a
    /// running item's pane follows its output).
    pub scrolled: bool,
    /// What keys do now.
    pub mode: Mode,
    /// Which items the list shows.
    pub filter: Filter,
    /// Text ids or titles must contain (kept once typed).
    pub search: Option<String>,
    /// A message for the operator (a store error, say).
    pub message: Option<String>,
    /// The spinner's frame.
    pub spinner: usize,
    /// Whether the operator asked to leave.
    pub quit: bool,
    /// Who this console signs as.
    pub operator: String,
    /// The fingerprint of the key this console signs with, when it has one.
    pub signer: Option<String>,
    /// What the run is asked to do, oldest first (the loop sends them on).
    pub requests: Vec<Request>,
    /// Whether this console can run items.
    pub can_run: bool,
    /// Blocked items asked to run because their needs passed (see `gates`).
    pub gates_opened: BTreeSet<String>,
    /// Whether writes to a production environment are allowed (`--yes-apply`, or the
    /// environment's name typed in this console).
    pub consented: bool,
    /// Where the last frame put things.
    pub areas: Areas,
    /// The store's URL as it may be shown, for the commands the console hints at.
    pub store: String,
    /// This run's redactor: results another process recorded (without knowing this run's
    /// secrets) are scrubbed with it before they are shown.
    pub redactor: Option<std::sync::Arc<Redactor>>,
    /// The command line that takes this session up again (none for the demo, whose
    /// sandbox ends with it).
    pub resume: Option<String>,
    /// How far the detail pane's output is scrolled sideways, in columns.
    pub output_shift: usize,
    /// This process's running attempts: item → (attempt, since when).
    pub attempts: HashMap<String, (u32, SystemTime)>,
    /// The bake to start once the automated items are done (`--bake`), until it is asked.
    pub bake_at_go: Option<crate::service::bake::Asked>,
    /// The start of the last bake whose no-go was announced.
    pub bake_alerted: Option<crate::session::Timestamp>,
    /// Whether the terminal's bell is to ring after this frame.
    pub bell: bool,
}

impl App {
    /// The console of `plan` in session `session_id`; what it shows of configuration is
    /// scrubbed with `redactor`.
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
                    evidence: rules::fields(&entry.resolved.config),
                    id: entry.item.id.clone(),
                    section,
                    title: entry.item.title.clone(),
                    kind: entry.item.kind.name,
                    automated: entry.item.kind.automated,
                    in_scope: entry.in_scope,
                    help: entry.item.help.trim().to_string(),
                    instructions: entry
                        .resolved
                        .config
                        .get("instructions")
                        .and_then(toml::Value::as_str)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    attempts: entry.resolved.retries.saturating_add(1),
                    inputs: Vec::new(),
                    config: redactor.scrub(config.trim()).into_owned(),
                    writes: entry.resolved.writes,
                    needs: entry.resolved.needs.clone(),
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
            production: plan.production(),
            session_id: session_id.to_string(),
            started_at: None,
            kind_width,
            sections,
            items,
            session: None,
            tally: None,
            stale_runs: BTreeSet::new(),
            claims: Vec::new(),
            attached: Vec::new(),
            outputs: HashMap::new(),
            collapsed: BTreeSet::new(),
            selected: 0,
            focus: Pane::List,
            detail_scroll: 0,
            follow: false,
            scrolled: false,
            mode: Mode::Browse,
            filter: Filter::All,
            search: None,
            message: None,
            spinner: 0,
            quit: false,
            operator: String::new(),
            signer: None,
            requests: Vec::new(),
            can_run: false,
            gates_opened: BTreeSet::new(),
            consented: false,
            areas: Areas::default(),
            store: String::new(),
            redactor: None,
            resume: None,
            output_shift: 0,
            attempts: HashMap::new(),
            bake_at_go: None,
            bake_alerted: None,
            bell: false,
        };
        // The first item, not its section's heading, is selected to begin with.
        app.selected = app
            .rows()
            .iter()
            .position(|r| matches!(r, Row::Item(_)))
            .unwrap_or(0);
        app
    }

    /// Takes in the session as it is now.
    pub fn refresh(&mut self, plan: &Plan<'_>, session: &SessionState) {
        self.hold(plan, session.clone());
    }

    /// Holds `session` from now on, to be followed by its events.
    pub fn hold(&mut self, plan: &Plan<'_>, session: SessionState) {
        self.session = Some(session);
        self.settled(plan);
    }

    /// Follows the session by `events` (committed by any process, in order).
    pub fn follow_events(&mut self, plan: &Plan<'_>, events: &[StoredEvent]) -> Result<(), Broken> {
        let followed = match self.session.as_mut() {
            Some(session) => events.iter().try_for_each(|event| session.follow(event)),
            None => Ok(()),
        };
        self.settled(plan);
        self.run_opened_gates();
        followed
    }

    /// What follows from the session: its start and the rules' tally.
    fn settled(&mut self, plan: &Plan<'_>) {
        if let Some(session) = &self.session {
            self.started_at = Some(session.started_at.system());
            self.tally = Some(rules::tally(plan, session));
        }
        self.watch_bake();
    }

    /// Why the session is closed, when it is.
    pub fn closed(&self) -> Option<&str> {
        self.session.as_ref()?.closed.as_deref()
    }

    /// Item `i` as the session has it.
    pub fn item_state(&self, i: usize) -> Option<&ItemState> {
        self.session.as_ref()?.item(&self.items.get(i)?.id)
    }

    /// The run of item `id` that started and has not finished, and who runs it.
    fn run_of(&self, id: &str) -> Option<&crate::session::fold::Run> {
        self.session.as_ref()?.item(id)?.running.as_ref()
    }

    /// A running item's attempt (this process's runs only: another process does not say)
    /// and since when it runs.
    pub fn running_since(&self, i: usize) -> Option<(Option<u32>, SystemTime)> {
        let id = &self.items.get(i)?.id;
        if let Some((attempt, at)) = self.attempts.get(id) {
            return Some((Some(*attempt), *at));
        }
        let run = self.run_of(id)?;
        Some((None, run.since.as_ref()?.system()))
    }

    /// Whether this run covers item `i` (else the list shows it as left out).
    pub fn in_scope(&self, i: usize) -> bool {
        self.items[i].in_scope
    }

    /// Takes in an event of this process's engine (already committed to the store).
    pub fn on_engine(&mut self, event: &Event) {
        match event {
            Event::Started { id, attempt, at } => {
                self.attempts.insert(id.clone(), (*attempt, *at));
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
                self.attempts.remove(id);
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
            let run = &self.run_of(id)?.id;
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
        let run = &self
            .item_state(item)?
            .result
            .as_ref()?
            .output
            .as_ref()?
            .run_id;
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
            .session
            .iter()
            .flat_map(|s| s.items.values())
            .filter(|item| !live.contains(item.id.as_str()))
            .filter_map(|item| item.running.as_ref().map(|run| run.id.clone()))
            .collect();
        let changed = stale != self.stale_runs || (claims_changed && self.pair_open());
        self.stale_runs = stale;
        changed
    }

    /// Whether `item` runs now (its run started and its runner lives).
    pub fn is_running(&self, item: &str) -> bool {
        self.run_of(item)
            .is_some_and(|run| !self.stale_runs.contains(&run.id))
    }

    /// Who runs `item` now, when it runs.
    pub fn running_by(&self, item: &str) -> Option<&str> {
        self.run_of(item)
            .filter(|run| !self.stale_runs.contains(&run.id))
            .map(|run| run.by.as_str())
    }

    /// How many items run now.
    pub fn running_count(&self) -> usize {
        self.items.iter().filter(|i| self.is_running(&i.id)).count()
    }

    /// Whether something moves on screen (a check runs): the spinner then ticks.
    pub fn animating(&self) -> bool {
        self.session.as_ref().is_some_and(|s| {
            s.items.values().any(|item| {
                item.running
                    .as_ref()
                    .is_some_and(|run| !self.stale_runs.contains(&run.id))
            })
        })
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

    /// Whether the filter and the search let item `i` into the list.
    fn shown(&self, i: usize) -> bool {
        let item = &self.items[i];
        let found = self.search.as_deref().is_none_or(|text| {
            let text = text.to_lowercase();
            item.id.to_lowercase().contains(&text) || item.title.to_lowercase().contains(&text)
        });
        found && self.filter.admits(self.status(i), item)
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

    /// An item's status as shown: running while its run lives.
    pub fn status(&self, item: usize) -> Status {
        if self.running_by(&self.items[item].id).is_some() {
            return Status::Running;
        }
        self.item_state(item).map_or(Status::Pending, |i| i.status)
    }

    /// An item's status and summary as shown: running items say so and by whom.
    pub fn status_of(&self, item: usize) -> (Status, String) {
        let id = &self.items[item].id;
        if let Some(who) = self.running_by(id) {
            return (Status::Running, format!("running ({who})"));
        }
        let in_scope = self.in_scope(item);
        self.item_state(item)
            .map_or((Status::Pending, "not run yet".into()), |i| {
                (i.status, i.summary_in(in_scope).to_string())
            })
    }

    /// Whether the pair-run view is open.
    pub fn pair_open(&self) -> bool {
        matches!(self.mode, Mode::Pair)
    }

    /// Whether the help is open.
    pub fn help_open(&self) -> bool {
        matches!(self.mode, Mode::Help)
    }

    /// The sign-off dialog, when open.
    pub fn dialog(&self) -> Option<&SignoffDialog> {
        match &self.mode {
            Mode::SignOff(dialog) => Some(dialog),
            _ => None,
        }
    }

    /// Takes in the run's answer to an export: the dialog closes and the message says where
    /// the report went, or the dialog says why not.
    pub fn exported(&mut self, outcome: Result<String, String>) {
        match (outcome, &mut self.mode) {
            (Ok(said), mode) => {
                if matches!(mode, Mode::Export(_)) {
                    *mode = Mode::Browse;
                }
                self.message = Some(said);
            }
            (Err(refused), Mode::Export(dialog)) => {
                dialog.sending = false;
                if refused.contains("passphrase") {
                    dialog.focus = 4;
                }
                dialog.error = Some(refused);
            }
            (Err(refused), _) => self.message = Some(refused),
        }
    }

    /// Takes in the run's answer to a sign-off: the dialog closes, or says why not.
    pub fn signed(&mut self, outcome: Result<String, String>) {
        match (outcome, &mut self.mode) {
            (Ok(said), mode) => {
                if matches!(mode, Mode::SignOff(_)) {
                    *mode = Mode::Browse;
                }
                self.message = Some(said);
            }
            (Err(refused), Mode::SignOff(dialog)) => {
                dialog.sending = false;
                dialog.error = Some(refused);
            }
            (Err(refused), _) => self.message = Some(refused),
        }
    }
}
