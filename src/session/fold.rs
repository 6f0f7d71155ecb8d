//! A session folded from its events: one state per item (its status as the rules settle
//! it, the result it stands on, a run that has not finished, its sign-offs), who worked on
//! it, whether it is closed, and the records kept about it. Every view of a session reads
//! this, and only this.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::chain::{verify_next, Broken, Head};
use super::event::{Body, ChecklistCopy, OutputDigest, SignoffStatus, StoredEvent};
use super::rules;
use super::time::Timestamp;
use crate::checklist::plan::Entry;
use crate::checklist::Checklist;
use crate::status::Status;

/// A session, folded from its events.
#[derive(Debug, Clone)]
pub struct SessionState {
    /// Its id.
    pub id: String,
    /// The checklist as it was when the session started.
    pub checklist: ChecklistCopy,
    /// The environment.
    pub environment: Option<String>,
    /// Whether it is a production one.
    pub production: bool,
    /// When it started (its first event).
    pub started_at: Timestamp,
    /// Everyone who worked on it, in order of appearance.
    pub operators: Vec<String>,
    /// Every item of its checklist, and any other item its events name.
    pub items: BTreeMap<String, ItemState>,
    /// Why it is closed, when it is.
    pub closed: Option<String>,
    /// Records about the session (exports, post-deploy bakes), in order.
    pub audit: Vec<Audit>,
    /// The chain's head.
    pub head: Head,
    /// Who may sign its sign-offs, with which keys: the environment's allowed_signers file
    /// as it was when the session started.
    pub allowed_signers: Option<String>,
    /// Whether its sign-offs must be signed with a key `allowed_signers` lists.
    pub require_signed_signoffs: bool,
    parsed: Option<Arc<Checklist>>,
}

/// An item as its session has it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemState {
    /// Its id.
    pub id: String,
    /// Whether people sign it off rather than relcon running it.
    pub manual: bool,
    /// How many distinct people must sign it, in the session's environment.
    pub signers_needed: usize,
    /// Its status, as the rules settle it from what follows.
    pub status: Status,
    /// One line on it.
    pub summary: String,
    /// What the status stands on.
    pub basis: Basis,
    /// Its latest result: a run's, one settled without running, or an operator's skip.
    pub result: Option<Outcome>,
    /// A run that started and has not finished (its claim was seen).
    pub running: Option<Run>,
    /// Its sign-offs, in order.
    pub signoffs: Vec<Signoff>,
}

/// What an item's status stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Nothing yet: not run, not signed.
    Nothing,
    /// Its latest result.
    Result,
    /// A run that never finished (its runner stopped or died).
    Interrupted,
    /// Its sign-offs.
    Signed,
}

/// A run of an item that started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The run's id.
    pub id: String,
    /// Who runs it.
    pub by: String,
    /// When it started, as the store stamped it.
    pub since: Option<Timestamp>,
}

/// An item's result, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Its status.
    pub status: Status,
    /// One line.
    pub summary: String,
    /// Structured evidence.
    pub evidence: serde_json::Value,
    /// When its run started.
    pub started_at: Option<Timestamp>,
    /// Wall time.
    pub duration: Duration,
    /// Attempts made.
    pub attempts: u32,
    /// Who ran it (none for a result settled without running).
    pub run_by: Option<String>,
    /// The run's kept output, when it had some.
    pub output: Option<RunOutput>,
    /// The operator's skip, when that is what it is.
    pub skipped: Option<Skip>,
}

/// Where a run's output lines are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// The run.
    pub run_id: String,
    /// How many lines are kept and dropped.
    pub digest: OutputDigest,
}

/// An operator's skip of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// Who skipped it.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// One sign-off.
#[derive(Debug, Clone, PartialEq)]
pub struct Signoff {
    /// Who.
    pub by: String,
    /// How.
    pub status: SignoffStatus,
    /// The note.
    pub note: String,
    /// The evidence fields.
    pub evidence: BTreeMap<String, String>,
    /// When.
    pub at: Timestamp,
    /// The signature, when signed with a key.
    pub signature: Option<String>,
}

/// A record about the session (an export, a round of a post-deploy bake).
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: String,
    /// What.
    pub body: Body,
}

impl Outcome {
    /// The item and outcome a result event records (`actor` recorded it); none for other
    /// events.
    pub fn of_result(body: Body, actor: &str) -> Option<(String, Outcome)> {
        let Body::Result {
            item,
            run_id,
            status,
            summary,
            evidence,
            started_at,
            duration_ms,
            attempts,
            output,
        } = body
        else {
            return None;
        };
        let run_by = run_id.is_some().then(|| actor.to_string());
        let output = run_id
            .zip(output)
            .map(|(run_id, digest)| RunOutput { run_id, digest });
        Some((
            item,
            Outcome {
                status,
                summary,
                evidence,
                started_at: started_at.as_deref().and_then(Timestamp::parse),
                duration: Duration::from_millis(duration_ms),
                attempts,
                run_by,
                output,
                skipped: None,
            },
        ))
    }

    /// The outcome of `by` skipping an item for `reason`.
    fn skip(by: &str, reason: String) -> Self {
        Outcome {
            status: Status::Skip,
            summary: format!("skipped by {by}: {reason}"),
            evidence: serde_json::json!({}),
            started_at: None,
            duration: Duration::ZERO,
            attempts: 0,
            run_by: Some(by.to_string()),
            output: None,
            skipped: Some(Skip {
                by: by.to_string(),
                reason,
            }),
        }
    }
}

impl ItemState {
    /// An item nothing has happened to yet.
    fn new(id: &str, manual: bool, signers_needed: usize) -> Self {
        let mut item = ItemState {
            id: id.to_string(),
            manual,
            signers_needed,
            status: Status::Pending,
            summary: String::new(),
            basis: Basis::Nothing,
            result: None,
            running: None,
            signoffs: Vec::new(),
        };
        rules::settle(&mut item);
        item
    }

    /// The plan's `entry` as it is before anything happens to it.
    pub fn waiting(entry: &Entry<'_>) -> Self {
        ItemState::new(
            &entry.item.id,
            !entry.item.kind.automated,
            rules::signers_needed(&entry.resolved.config),
        )
    }

    /// The result its status stands on, if a result is what it stands on.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.result.as_ref().filter(|_| self.basis == Basis::Result)
    }

    /// Who ran it: the runner of the result it stands on, or of its unfinished run.
    pub fn run_by(&self) -> Option<&str> {
        match self.basis {
            Basis::Result => self.result.as_ref()?.run_by.as_deref(),
            Basis::Interrupted => self.running.as_ref().map(|r| r.by.as_str()),
            Basis::Nothing | Basis::Signed => None,
        }
    }

    /// Whether the session knows anything of it (a result, a run, a sign-off).
    pub fn known(&self) -> bool {
        self.result.is_some() || self.running.is_some() || !self.signoffs.is_empty()
    }

    /// Its summary as a view of some of the session shows it: an item that view leaves out
    /// and that nothing has happened to is "left out of this run".
    pub fn summary_in(&self, in_scope: bool) -> &str {
        if in_scope || self.known() {
            &self.summary
        } else {
            "left out of this run"
        }
    }
}

/// Checklist copies already read, by file name and text (the last [`KEPT`]).
type Read = Vec<((String, String), Option<Arc<Checklist>>)>;
static READ: std::sync::Mutex<Read> = std::sync::Mutex::new(Vec::new());
const KEPT: usize = 8;

/// The checklist a session's copy holds, when this relcon can read it. Copies already read
/// are kept (the last few), so that opening a session again, or each of a store's sessions
/// of one checklist, does not read the same checklist again.
fn read_copy(copy: &ChecklistCopy) -> Option<Arc<Checklist>> {
    if let Ok(read) = READ.lock() {
        if let Some((_, checklist)) = read
            .iter()
            .find(|((name, source), _)| *name == copy.name && *source == copy.source)
        {
            return checklist.clone();
        }
    }
    let checklist = Checklist::from_bytes(&copy.name, copy.source.as_bytes())
        .ok()
        .map(Arc::new);
    keep(&copy.name, &copy.source, checklist.clone());
    checklist
}

fn keep(name: &str, source: &str, checklist: Option<Arc<Checklist>>) {
    if let Ok(mut read) = READ.lock() {
        read.retain(|((n, s), _)| (n.as_str(), s.as_str()) != (name, source));
        if read.len() >= KEPT {
            read.remove(0);
        }
        read.push(((name.to_string(), source.to_string()), checklist));
    }
}

/// Keeps `checklist`, read from its file, as what a session's copy of that file reads as:
/// the session a run starts or resumes with it is folded without reading it again.
pub fn keep_copy(checklist: &Checklist) {
    keep(
        &checklist.source.name,
        &checklist.source.text,
        Some(Arc::new(checklist.clone())),
    );
}

impl SessionState {
    /// Folds a verified event log; an event it cannot read is refused by its number.
    pub fn fold(events: &[StoredEvent], head: Head) -> Result<Self, Broken> {
        let first = events.first().ok_or_else(|| Broken::unreadable("", 1))?;
        let Some(Body::SessionStarted {
            checklist,
            environment,
            production,
            allowed_signers,
        }) = first.body()
        else {
            return Err(Broken::unreadable(&first.session, 1));
        };
        // The copy decides which items are signed and by how many; a copy this relcon
        // cannot read leaves every item run by relcon.
        let parsed = read_copy(&checklist);
        let items = parsed
            .iter()
            .flat_map(|c| c.items.iter())
            .map(|item| {
                let config = item.resolve(environment.as_deref()).config;
                (
                    item.id.clone(),
                    ItemState::new(
                        &item.id,
                        !item.kind.automated,
                        rules::signers_needed(&config),
                    ),
                )
            })
            .collect();
        let require_signed_signoffs = parsed
            .as_deref()
            .zip(environment.as_deref())
            .and_then(|(c, e)| c.environment(e))
            .is_some_and(|e| e.require_signed_signoffs);
        let mut session = SessionState {
            id: first.session.clone(),
            checklist,
            environment,
            production,
            started_at: Timestamp::parse(&first.at)
                .unwrap_or_else(|| Timestamp::from(std::time::UNIX_EPOCH)),
            operators: Vec::new(),
            items,
            closed: None,
            audit: Vec::new(),
            head,
            require_signed_signoffs,
            allowed_signers,
            parsed,
        };
        for event in events {
            session
                .apply(event)
                .map_err(|seq| Broken::unreadable(&session.id, seq))?;
        }
        // Settled once, at the end: only an item's last state matters here.
        session.items.values_mut().for_each(rules::settle);
        Ok(session)
    }

    /// Follows the log by one event: verified to follow the head, then folded in.
    pub fn follow(&mut self, event: &StoredEvent) -> Result<(), Broken> {
        let head = verify_next(&self.id, &self.head, event)?;
        let touched = self
            .apply(event)
            .map_err(|seq| Broken::unreadable(&self.id, seq))?;
        if let Some(id) = touched {
            rules::settle(self.item_mut(&id));
        }
        self.head = head;
        Ok(())
    }

    /// The checklist the session started with, when this relcon can read it.
    pub fn parsed_checklist(&self) -> Option<&Checklist> {
        self.parsed.as_deref()
    }

    /// Item `id`.
    pub fn item(&self, id: &str) -> Option<&ItemState> {
        self.items.get(id)
    }

    /// The plan's `entry` as the session has it (as nothing has happened to it yet, when the
    /// session's checklist copy does not know it).
    pub fn item_for(&self, entry: &Entry<'_>) -> Cow<'_, ItemState> {
        match self.items.get(&entry.item.id) {
            Some(item) => Cow::Borrowed(item),
            None => Cow::Owned(ItemState::waiting(entry)),
        }
    }

    /// Item `id`, made (as relcon's to run) when the checklist copy does not know it.
    fn item_mut(&mut self, id: &str) -> &mut ItemState {
        if !self.items.contains_key(id) {
            self.items
                .insert(id.to_string(), ItemState::new(id, false, 1));
        }
        self.items.get_mut(id).expect("the item was just made")
    }

    /// Adds one more event (verified to follow the head) to the fold; the item it touched,
    /// whose status is to be settled again.
    fn apply(&mut self, event: &StoredEvent) -> Result<Option<String>, i64> {
        if !self.operators.contains(&event.actor) {
            self.operators.push(event.actor.clone());
        }
        let Some(body) = event.body() else {
            return Err(event.seq);
        };
        let touched = match body {
            Body::RunStarted { item, run_id } => {
                self.item_mut(&item).running = Some(Run {
                    id: run_id,
                    by: event.actor.clone(),
                    since: Timestamp::parse(&event.at),
                });
                Some(item)
            }
            body @ Body::Result { .. } => {
                let (id, outcome) = Outcome::of_result(body, &event.actor).ok_or(event.seq)?;
                let item = self.item_mut(&id);
                item.running = None;
                item.result = Some(outcome);
                Some(id)
            }
            Body::Signoff {
                item,
                status,
                note,
                evidence,
                signature,
            } => {
                let at = Timestamp::parse(&event.at).ok_or(event.seq)?;
                self.item_mut(&item).signoffs.push(Signoff {
                    by: event.actor.clone(),
                    status,
                    note,
                    evidence,
                    at,
                    signature,
                });
                Some(item)
            }
            Body::Skipped { item, reason } => {
                self.item_mut(&item).result = Some(Outcome::skip(&event.actor, reason));
                Some(item)
            }
            Body::SessionClosed { reason } => {
                self.closed = Some(reason);
                None
            }
            body @ (Body::Exported { .. }
            | Body::BakeStarted { .. }
            | Body::BakeRound { .. }
            | Body::BakeEnded { .. }) => {
                self.audit.push(Audit {
                    at: Timestamp::parse(&event.at).ok_or(event.seq)?,
                    by: event.actor.clone(),
                    body,
                });
                None
            }
            Body::SessionStarted { .. } | Body::SessionJoined {} | Body::SessionLeft {} => None,
        };
        Ok(touched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::chain::verify_chain;
    use crate::session::testing::{closed, fold, log, result};

    fn signoff(item: &str, status: SignoffStatus) -> Body {
        Body::Signoff {
            item: item.into(),
            status,
            note: "noted".into(),
            evidence: BTreeMap::new(),
            signature: None,
        }
    }

    #[test]
    fn every_item_of_the_checklist_is_there_before_anything_happens() {
        let session = fold("production", &[]);
        let ids: Vec<&str> = session.items.keys().map(String::as_str).collect();
        assert_eq!(ids, ["backup", "live", "ready", "staging-only"]);
        let live = session.item("live").expect("live");
        assert_eq!(
            (live.status, live.summary.as_str(), live.basis),
            (Status::Pending, "not run yet", Basis::Nothing)
        );
        let backup = session.item("backup").expect("backup");
        assert!(backup.manual);
        assert_eq!(backup.signers_needed, 2, "the production override");
        assert_eq!(backup.summary, "awaiting sign-off");
        assert_eq!(
            fold("staging", &[])
                .item("backup")
                .expect("b")
                .signers_needed,
            1
        );
        assert!(!live.known());
        assert_eq!(live.summary_in(false), "left out of this run");
    }

    #[test]
    fn a_result_stands_until_another_run_starts_and_then_that_run_is_interrupted() {
        let session = fold(
            "staging",
            &[
                ("alice", result("live", Status::Pass, true)),
                ("bob", result("ready", Status::Skip, false)),
            ],
        );
        let live = session.item("live").expect("live");
        assert_eq!((live.status, live.basis), (Status::Pass, Basis::Result));
        let outcome = live.outcome().expect("the result");
        assert_eq!(outcome.duration, Duration::from_millis(38));
        assert_eq!(outcome.evidence, serde_json::json!({"seen": "live"}));
        assert_eq!(live.run_by(), Some("alice"));
        // Settled without running: nobody ran it.
        assert_eq!(session.item("ready").expect("ready").run_by(), None);

        let session = fold(
            "staging",
            &[
                ("alice", result("live", Status::Pass, true)),
                (
                    "bob",
                    Body::RunStarted {
                        item: "live".into(),
                        run_id: "run-2".into(),
                    },
                ),
            ],
        );
        let live = session.item("live").expect("live");
        assert_eq!(live.basis, Basis::Interrupted);
        assert_eq!(
            (live.status, live.summary.as_str()),
            (
                Status::Pending,
                "interrupted (its run by bob never finished)"
            )
        );
        assert_eq!(
            live.outcome(),
            None,
            "the earlier result is not what it stands on"
        );
        assert_eq!(live.run_by(), Some("bob"));
        assert!(live.known());
    }

    #[test]
    fn a_skip_is_the_operators_with_the_reason() {
        let session = fold(
            "staging",
            &[(
                "carol",
                Body::Skipped {
                    item: "ready".into(),
                    reason: "covered elsewhere".into(),
                },
            )],
        );
        let ready = session.item("ready").expect("ready");
        assert_eq!(ready.status, Status::Skip);
        assert_eq!(ready.summary, "skipped by carol: covered elsewhere");
        let skipped = ready.outcome().and_then(|o| o.skipped.as_ref());
        assert_eq!(
            skipped,
            Some(&Skip {
                by: "carol".into(),
                reason: "covered elsewhere".into()
            })
        );
    }

    #[test]
    fn sign_offs_decide_a_manual_item_and_record_who_and_when() {
        let session = fold(
            "production",
            &[
                ("alice", signoff("backup", SignoffStatus::Done)),
                ("bob", signoff("live", SignoffStatus::Done)),
            ],
        );
        let backup = session.item("backup").expect("backup");
        assert_eq!(backup.basis, Basis::Signed);
        assert_eq!(
            (backup.status, backup.summary.as_str()),
            (Status::Pending, "1 of 2: alice")
        );
        assert_eq!(backup.signoffs[0].at.millis(), "2026-11-26T07:00:01.000Z");
        // A sign-off of an automated item is kept but decides nothing.
        let live = session.item("live").expect("live");
        assert_eq!((live.status, live.signoffs.len()), (Status::Pending, 1));
        assert_eq!(session.operators, ["alice", "bob"]);
    }

    #[test]
    fn records_about_the_session_and_its_close_are_kept() {
        let session = fold(
            "staging",
            &[
                ("alice", closed("closed by alice")),
                (
                    "bob",
                    Body::Exported {
                        format: "json".into(),
                        sha256: "a".repeat(64),
                        signer: None,
                    },
                ),
            ],
        );
        assert_eq!(session.closed.as_deref(), Some("closed by alice"));
        assert_eq!(session.audit.len(), 1);
        assert_eq!(session.audit[0].by, "bob");
        assert_eq!(session.head.count, 3);
    }

    #[test]
    fn following_verifies_each_event_and_an_unreadable_one_is_refused_by_number() {
        let events = log("staging", &[("alice", result("live", Status::Pass, true))]);
        let head = verify_chain("s", &events[..1], None).expect("verifies");
        let mut session = SessionState::fold(&events[..1], head).expect("folds");
        session.follow(&events[1]).expect("follows");
        assert_eq!(session.item("live").expect("live").status, Status::Pass);
        // The same event again does not follow the head.
        assert_eq!(session.follow(&events[1]).expect_err("refused").seq, 3);

        let mut events = log("staging", &[("alice", Body::SessionLeft {})]);
        events[1].kind = "from_the_future".into();
        assert_eq!(
            SessionState::fold(
                &events,
                Head {
                    count: 2,
                    hash: String::new()
                }
            )
            .expect_err("unreadable")
            .seq,
            2
        );
    }
}
