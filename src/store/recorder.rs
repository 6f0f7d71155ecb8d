//! Records a run's events in the store as they happen, and passes each on only once it is
//! committed: what the operator sees has been acknowledged by the store.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use tokio::sync::Semaphore;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::{output, Store, StoreError, OUTPUT_CAP};
use crate::engine::event::Event;
use crate::session::{Body, OutputDigest, SessionState, Timestamp};

/// How many output lines are written at once (one transaction).
const BATCH: usize = 2048;

/// How many output lines may wait between the checks and the recorder (see
/// [`crate::engine::event::Emitter::with_output_budget`]).
pub const OUTPUT_BUDGET: usize = 8192;

/// How many events at most are committed together.
const MAX_GROUP: usize = 1024;

/// How long a result that lands while more of the run's items are in flight waits for
/// them before it is committed (group commit, as databases delay a commit for its
/// siblings): results of a fan-out land within a few milliseconds of each other, and
/// waiting that long makes them one commit, one disk sync, instead of a commit that the
/// rest then queue behind. Short enough that nobody sees a result late.
const COMMIT_DELAY: std::time::Duration = std::time::Duration::from_millis(5);

struct Run {
    id: String,
    lines: u64,
    pending: Vec<(String, String)>,
    /// The hashes of the kept lines (the last [`OUTPUT_CAP`]), for the digest its result
    /// records.
    hashes: VecDeque<[u8; 32]>,
}

async fn flush(store: &Store, session: &str, run: &mut Run) -> Result<(), StoreError> {
    if run.pending.is_empty() {
        return Ok(());
    }
    let first = run.lines - run.pending.len() as u64;
    store
        .add_output(session, &run.id, first, &run.pending)
        .await?;
    run.pending.clear();
    Ok(())
}

/// What a run's end adds to its session, decided from the session as it is then, with
/// every other writer kept out (leaving it; closing it on go).
pub type Decide = Box<dyn FnOnce(&SessionState) -> Vec<Body> + Send>;

/// A run's end, committed with its last results.
pub struct Ending {
    /// What the end adds to the session.
    pub decide: Decide,
    /// The presence lease (its token) the run held, given up in the same commit.
    pub presence: String,
}

/// One run's recording: its events committed to `known`'s session as `actor`, each passed
/// on to `output` after its commit, each output line's permit given back to `budget` once
/// it is taken in. At the first store error (a closed session, a full disk) it cancels the
/// run: results that cannot be kept are not worth running for.
pub struct Recording {
    store: Store,
    known: SessionState,
    actor: String,
    output: UnboundedSender<Event>,
    budget: Arc<Semaphore>,
    cancel: CancellationToken,
}

/// Results taken in and not yet committed: their events, the claims they end, and what
/// is forwarded once they are.
#[derive(Default)]
struct Taken {
    bodies: Vec<Body>,
    releases: Vec<(String, String)>,
    events: Vec<Event>,
}

impl Recording {
    /// The recording of a run in `known`'s session by `actor`.
    pub fn new(
        store: &Store,
        known: &SessionState,
        actor: &str,
        output: UnboundedSender<Event>,
        budget: Arc<Semaphore>,
        cancel: &CancellationToken,
    ) -> Self {
        Recording {
            store: store.clone(),
            known: known.clone(),
            actor: actor.to_string(),
            output,
            budget,
            cancel: cancel.clone(),
        }
    }

    /// Records `input` until it ends. With an `ending` (a run whose events end when it
    /// does: headless), the ending is decided then and committed with the results that came
    /// once nothing was running any more (when nothing runs, the next event starts
    /// something, or the events end at once). The session as this run's commits left it
    /// (`known` followed by each of them, up to the first another writer came before), and
    /// whether the ending closed it.
    pub async fn record(
        mut self,
        input: UnboundedReceiver<Event>,
        ending: Option<Ending>,
    ) -> Result<(SessionState, bool), StoreError> {
        let result = self.record_all(input, ending).await;
        // Nothing is taken in any more: no line may wait for room.
        self.budget.add_permits(Semaphore::MAX_PERMITS / 2);
        if result.is_err() {
            self.cancel.cancel();
        }
        result.map(|closed| (self.known, closed))
    }

    /// Commits `taken` and forwards its events.
    async fn commit(&mut self, taken: Taken, whole: &mut bool) -> Result<(), StoreError> {
        let appended = self
            .store
            .append_many(&self.known.id, &self.actor, &taken.bodies, &taken.releases)
            .await?;
        for event in &appended {
            if !*whole {
                break;
            }
            *whole = self.known.follow(event).is_ok();
        }
        self.forward(taken.events);
        Ok(())
    }

    /// Passes committed events on, giving their output lines' permits back.
    fn forward(&self, events: Vec<Event>) {
        let lines = events
            .iter()
            .filter(|e| matches!(e, Event::Output { .. }))
            .count();
        self.budget.add_permits(lines);
        for event in events {
            // The consumer may have gone (a closed terminal): recording goes on regardless.
            let _ = self.output.send(event);
        }
    }

    async fn record_all(
        &mut self,
        mut input: UnboundedReceiver<Event>,
        ending: Option<Ending>,
    ) -> Result<bool, StoreError> {
        let store = self.store.clone();
        let session = self.known.id.clone();
        let session = session.as_str();
        // Whether `known` is still the whole log: another writer's event in between ends it
        // (the log is read from there when the run ends).
        let mut whole = true;
        let mut runs: BTreeMap<String, Run> = BTreeMap::new();
        // Items waiting for another process's run of them.
        let mut waiting: HashSet<String> = HashSet::new();
        // What is taken in and not committed yet: with an ending, what came once nothing
        // was running (held for the next event, or for the ending); results waiting for
        // their siblings until `due`.
        let mut held: Option<Taken> = None;
        let mut due: Option<tokio::time::Instant> = None;
        loop {
            let next = match due {
                Some(at) => match tokio::time::timeout_at(at, input.recv()).await {
                    Ok(next) => next,
                    Err(_) => {
                        due = None;
                        if let Some(taken) = held.take() {
                            self.commit(taken, &mut whole).await?;
                        }
                        continue;
                    }
                },
                None => input.recv().await,
            };
            let Some(first) = next else { break };
            // Everything already waiting is committed together (group commit): one fsync for
            // a burst of results instead of one each.
            let mut batch = vec![first];
            while batch.len() < MAX_GROUP {
                match input.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            let mut taken = held.take().unwrap_or_default();
            for event in &batch {
                match event {
                    Event::Started { id, attempt, .. } => {
                        if *attempt == 1 || !runs.contains_key(id) {
                            let run_id = uuid::Uuid::now_v7().to_string();
                            taken.bodies.push(Body::RunStarted {
                                item: id.clone(),
                                run_id: run_id.clone(),
                            });
                            runs.insert(
                                id.clone(),
                                Run {
                                    id: run_id,
                                    lines: 0,
                                    pending: Vec::new(),
                                    hashes: VecDeque::new(),
                                },
                            );
                        }
                    }
                    Event::Output { id, stream, line } => {
                        if let Some(run) = runs.get_mut(id) {
                            run.lines += 1;
                            let stream = serde_json::to_value(stream)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default();
                            if run.hashes.len() as u64 == OUTPUT_CAP {
                                run.hashes.pop_front();
                            }
                            run.hashes.push_back(output::line_hash(&stream, line));
                            run.pending.push((stream, line.clone()));
                            if run.pending.len() >= BATCH {
                                flush(&store, session, run).await?;
                            }
                        }
                    }
                    Event::Waiting { id, .. } => {
                        waiting.insert(id.clone());
                    }
                    // Another process recorded it already, or this run has nothing to say of it.
                    Event::Finished { id, result } if result.observed => {
                        waiting.remove(id);
                    }
                    Event::Finished { id, result } => {
                        waiting.remove(id);
                        if let Some(token) = &result.claim {
                            taken.releases.push((id.clone(), token.clone()));
                        }
                        let mut run = runs.remove(id);
                        if let Some(run) = run.as_mut() {
                            flush(&store, session, run).await?;
                        }
                        taken.bodies.push(Body::Result {
                            item: id.clone(),
                            run_id: run.as_ref().map(|r| r.id.clone()),
                            status: result.status,
                            summary: result.summary.clone(),
                            evidence: result.evidence.clone(),
                            started_at: result.started_at.map(|at| Timestamp::from(at).seconds()),
                            duration_ms: result.duration.as_millis() as u64,
                            attempts: result.attempts,
                            output: run.filter(|r| r.lines > 0).map(|r| OutputDigest {
                                lines: r.lines.min(OUTPUT_CAP),
                                dropped: r.lines.saturating_sub(OUTPUT_CAP),
                                sha256: Some(output::digest(&r.hashes)),
                            }),
                        });
                    }
                }
            }
            // Output lines are committed before they are shown, like everything else: another
            // console sees them as they come, and a killed run keeps what it printed.
            for run in runs.values_mut() {
                flush(&store, session, run).await?;
            }
            taken.events.extend(batch);
            // Nothing runs: the next event starts something, or the events end and these
            // go with the ending.
            if ending.is_some() && runs.is_empty() && waiting.is_empty() {
                held = Some(taken);
                due = None;
                continue;
            }
            // Results wait a moment for the runs still in flight.
            let results = taken
                .bodies
                .iter()
                .any(|body| matches!(body, Body::Result { .. }));
            if results && !runs.is_empty() && taken.bodies.len() < MAX_GROUP {
                let at = *due.get_or_insert_with(|| tokio::time::Instant::now() + COMMIT_DELAY);
                if tokio::time::Instant::now() < at {
                    held = Some(taken);
                    continue;
                }
            }
            due = None;
            self.commit(taken, &mut whole).await?;
        }
        let Some(ending) = ending else {
            if let Some(taken) = held {
                self.commit(taken, &mut whole).await?;
            }
            return Ok(false);
        };
        // The run is over: what it held and its ending, in one commit.
        let taken = held.unwrap_or_default();
        let (now, appended) = store
            .append_following(
                self.known.clone(),
                &self.actor,
                &taken.bodies,
                &taken.releases,
                Some(&ending.presence),
                ending.decide,
            )
            .await?;
        self.known = now;
        self.forward(taken.events);
        Ok(appended
            .iter()
            .any(|event| event.event_kind() == Some(crate::session::EventKind::SessionClosed)))
    }
}
