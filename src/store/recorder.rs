//! Records a run's events in the store as they happen, and passes each on only once it is
//! committed: what the operator sees has been acknowledged by the store.

use std::collections::{BTreeMap, VecDeque};
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

/// Records `input` in `known`'s session as `actor`, forwarding each event to `output` after
/// its commit, and giving each output line's permit back to `budget` once it is taken in.
/// At the first store error (a closed session, a full disk) it cancels the run: results
/// that cannot be kept are not worth running for. The session as this run's commits left
/// it: `known` followed by each of them, up to the first another writer came before.
pub async fn record(
    store: Store,
    mut known: SessionState,
    actor: String,
    input: UnboundedReceiver<Event>,
    output: UnboundedSender<Event>,
    budget: Arc<Semaphore>,
    cancel: CancellationToken,
) -> Result<SessionState, StoreError> {
    let result = record_all(&store, &mut known, &actor, input, output, &budget).await;
    // Nothing is taken in any more: no line may wait for room.
    budget.add_permits(Semaphore::MAX_PERMITS / 2);
    if result.is_err() {
        cancel.cancel();
    }
    result.map(|()| known)
}

async fn record_all(
    store: &Store,
    known: &mut SessionState,
    actor: &str,
    mut input: UnboundedReceiver<Event>,
    output: UnboundedSender<Event>,
    budget: &Semaphore,
) -> Result<(), StoreError> {
    let session = known.id.clone();
    let session = session.as_str();
    // Whether `known` is still the whole log: another writer's event in between ends it
    // (the log is read from there when the run ends).
    let mut whole = true;
    let mut runs: BTreeMap<String, Run> = BTreeMap::new();
    while let Some(first) = input.recv().await {
        // Everything already waiting is committed together (group commit): one fsync for a
        // burst of results instead of one each.
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match input.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        let mut bodies = Vec::new();
        let mut releases = Vec::new();
        for event in &batch {
            match event {
                Event::Started { id, attempt, .. } => {
                    if *attempt == 1 || !runs.contains_key(id) {
                        let run_id = uuid::Uuid::now_v7().to_string();
                        bodies.push(Body::RunStarted {
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
                            flush(store, session, run).await?;
                        }
                    }
                }
                Event::Waiting { .. } => {}
                // Another process recorded it already, or this run has nothing to say of it.
                Event::Finished { result, .. } if result.observed => {}
                Event::Finished { id, result } => {
                    if let Some(token) = &result.claim {
                        releases.push((id.clone(), token.clone()));
                    }
                    let mut run = runs.remove(id);
                    if let Some(run) = run.as_mut() {
                        flush(store, session, run).await?;
                    }
                    bodies.push(Body::Result {
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
            flush(store, session, run).await?;
        }
        let appended = store
            .append_many(session, actor, &bodies, &releases)
            .await?;
        for event in &appended {
            if !whole {
                break;
            }
            whole = known.follow(event).is_ok();
        }
        let lines = batch
            .iter()
            .filter(|e| matches!(e, Event::Output { .. }))
            .count();
        budget.add_permits(lines);
        for event in batch {
            // The consumer may have gone (a closed terminal): recording goes on regardless.
            let _ = output.send(event);
        }
    }
    Ok(())
}
