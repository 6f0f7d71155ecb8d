//! The engine's claims kept in the store, so that processes sharing a session share them.
//! A run refused a claim follows the session through one change feed per process (shared
//! by every item it waits on) until the holder's result arrives or its lease lapses.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, OnceCell};

use super::feed::Feed;
use super::leases::{ClaimOutcome, ClaimState};
use super::Store;
use crate::engine::claims::{Boxed, ClaimError, Claimed, Claims, Held};
use crate::engine::event::ItemResult;
use crate::session::{Outcome, StoredEvent};

/// The store failing, as a claims error.
fn unavailable(err: crate::store::StoreError) -> ClaimError {
    ClaimError::Unavailable(Box::new(err))
}

/// Another process's recorded result, as this run reports it.
fn item_result(outcome: Outcome) -> ItemResult {
    ItemResult {
        status: outcome.status,
        summary: outcome.summary,
        evidence: outcome.evidence,
        started_at: outcome.started_at.map(crate::session::Timestamp::system),
        duration: outcome.duration,
        attempts: outcome.attempts,
        run_by: outcome.run_by,
        observed: false,
        claim: None,
    }
}

/// A claim asked for: the item, the token, and where its answer goes.
type Queued = (
    String,
    String,
    tokio::sync::oneshot::Sender<Result<ClaimOutcome, String>>,
);

/// How often a waiting run looks at the claim it waits on.
const LOOK: Duration = Duration::from_millis(500);

/// Claims of one operator's run in one session.
pub struct StoreClaims {
    store: Store,
    session: String,
    holder: String,
    lease: Duration,
    since: i64,
    announce: bool,
    /// Claims asked for and not yet taken to the store, with where each answer goes.
    queue: std::sync::Mutex<Vec<Queued>>,
    /// The turn to take the queue to the store.
    claiming: tokio::sync::Mutex<()>,
    events: OnceCell<(
        broadcast::Sender<Arc<Vec<StoredEvent>>>,
        tokio::task::AbortHandle,
    )>,
}

impl StoreClaims {
    /// Claims of `holder`'s run in `session`, which started after event `since`, with the
    /// lease `RELCON_CLAIM_LEASE` sets (else 30 s). `announce`: say on stderr when live
    /// updates fall back to polling (not under the console, which says so itself).
    pub fn new(store: &Store, session: &str, holder: &str, since: i64, announce: bool) -> Self {
        let lease = crate::engine::claims::lease();
        StoreClaims {
            store: store.clone(),
            session: session.to_string(),
            holder: holder.to_string(),
            lease,
            since,
            announce,
            queue: Default::default(),
            claiming: Default::default(),
            events: OnceCell::new(),
        }
    }

    /// The session's new events, from the one feed this run keeps.
    async fn subscribe(&self) -> Result<broadcast::Receiver<Arc<Vec<StoredEvent>>>, ClaimError> {
        let (sender, _) = self
            .events
            .get_or_try_init(|| async {
                let seen = self
                    .store
                    .last_seq(&self.session)
                    .await
                    .map_err(unavailable)?;
                let mut feed = Feed::new(&self.store, &self.session, seen)
                    .await
                    .map_err(unavailable)?;
                if let (true, Some(warning)) = (self.announce, feed.warning()) {
                    eprintln!("warning: {warning}");
                }
                let (sender, _) = broadcast::channel(256);
                let publish = sender.clone();
                let task = tokio::spawn(async move {
                    loop {
                        match feed.next().await {
                            Ok(events) => {
                                let _ = publish.send(Arc::new(events));
                            }
                            // Waiters also look at the claim itself; the feed tries again.
                            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                        }
                    }
                });
                Ok::<_, ClaimError>((sender, task.abort_handle()))
            })
            .await?;
        Ok(sender.subscribe())
    }

    /// A result for `item` recorded after `seen`: Some(final result), Some(None) for a run
    /// that ended without one, None when there is none yet.
    async fn recorded(
        &self,
        item: &str,
        seen: i64,
    ) -> Result<Option<Option<ItemResult>>, ClaimError> {
        let record = self
            .store
            .result_since(&self.session, item, seen)
            .await
            .map_err(unavailable)?;
        Ok(record.map(|r| Some(item_result(r)).filter(|r| r.status.is_final())))
    }

    async fn wait_for(&self, item: &str, held: &Held) -> Result<Option<ItemResult>, ClaimError> {
        let mut events = self.subscribe().await?;
        // What was committed before the subscription is read from the log.
        if let Some(result) = self.recorded(item, held.seen).await? {
            return Ok(result);
        }
        let mut look = tokio::time::interval(LOOK);
        look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A claim released with its result committed in the same transaction is never seen
        // free without the result; free without one means its holder gave up (a dropped
        // run), and the item is runnable after one more look.
        loop {
            tokio::select! {
                batch = events.recv() => match batch {
                    Ok(batch) => {
                        let found = batch.iter().rev().find_map(|event| {
                            let (done, outcome) = Outcome::of_result(event.body()?, &event.actor)?;
                            (done == item).then_some(outcome)
                        });
                        if let Some(outcome) = found {
                            let result = item_result(outcome);
                            return Ok(Some(result).filter(|r| r.status.is_final()));
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Some(result) = self.recorded(item, held.seen).await? {
                            return Ok(result);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return Err(ClaimError::Interrupted),
                },
                _ = look.tick() => {
                    let state = self.store.claim_state(&self.session, item).await.map_err(unavailable)?;
                    if matches!(state, ClaimState::Free | ClaimState::Lapsed(_)) {
                        return Ok(self.recorded(item, held.seen).await?.flatten());
                    }
                }
            }
        }
    }
}

impl Drop for StoreClaims {
    fn drop(&mut self) {
        if let Some((_, task)) = self.events.get() {
            task.abort();
        }
    }
}

impl StoreClaims {
    /// Claims `item`: the claims asked for meanwhile go to the store together. Whoever gets
    /// the turn first claims everything queued (its own among them) in one transaction and
    /// answers each; the others find their answer when their turn comes.
    async fn claim_queued(&self, item: &str, token: &str) -> Result<ClaimOutcome, ClaimError> {
        let (answer, mut answered) = tokio::sync::oneshot::channel();
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push((
            item.to_string(),
            token.to_string(),
            answer,
        ));
        // Items started together ask together: letting them all queue before taking the
        // turn makes their claims one transaction, and their requests leave together.
        tokio::task::yield_now().await;
        // An answer wakes its asker at once: those answered by one transaction go together,
        // not one after another through the turn.
        let _turn = tokio::select! {
            biased;
            outcome = &mut answered => {
                return outcome
                    .unwrap_or_else(|_| Err("the claim was not answered".into()))
                    .map_err(|e| ClaimError::Unavailable(e.into()));
            }
            turn = self.claiming.lock() => turn,
        };
        if let Ok(outcome) = answered.try_recv() {
            return outcome.map_err(|e| ClaimError::Unavailable(e.into()));
        }
        let queued = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()));
        let pairs: Vec<(&str, &str)> = queued
            .iter()
            .map(|(item, token, _)| (item.as_str(), token.as_str()))
            .collect();
        let outcomes = self
            .store
            .claim_many(&self.session, &pairs, &self.holder, self.lease, self.since)
            .await;
        match outcomes {
            Ok(outcomes) => {
                for ((item, token, answer), outcome) in queued.into_iter().zip(outcomes) {
                    // One who stopped asking (a cancelled run) does not keep what it got.
                    if let Err(Ok(ClaimOutcome::Granted)) = answer.send(Ok(outcome)) {
                        let _ = self.store.release(&self.session, &item, &token).await;
                    }
                }
            }
            Err(err) => {
                let said = err.to_string();
                for (_, _, answer) in queued {
                    let _ = answer.send(Err(said.clone()));
                }
            }
        }
        answered
            .try_recv()
            .unwrap_or_else(|_| Err("the claim was not answered".into()))
            .map_err(|e| ClaimError::Unavailable(e.into()))
    }
}

impl Claims for StoreClaims {
    fn claim<'a>(
        &'a self,
        item: &'a str,
        token: &'a str,
    ) -> Boxed<'a, Result<Claimed, ClaimError>> {
        Box::pin(async move {
            let claim = self.claim_queued(item, token).await?;
            Ok(match claim {
                ClaimOutcome::Granted => Claimed::Granted,
                ClaimOutcome::Held(held) => Claimed::Held(held),
                ClaimOutcome::Settled(outcome) => Claimed::Settled(item_result(outcome)),
            })
        })
    }

    fn renew<'a>(&'a self, item: &'a str, token: &'a str) -> Boxed<'a, Result<bool, ClaimError>> {
        Box::pin(async move {
            self.store
                .renew(&self.session, item, token, self.lease)
                .await
                .map_err(unavailable)
        })
    }

    fn wait<'a>(
        &'a self,
        item: &'a str,
        held: &'a Held,
    ) -> Boxed<'a, Result<Option<ItemResult>, ClaimError>> {
        Box::pin(self.wait_for(item, held))
    }

    fn release<'a>(&'a self, item: &'a str, token: &'a str) -> Boxed<'a, ()> {
        // A failed release only means the lease runs out.
        Box::pin(async move {
            let _ = self.store.release(&self.session, item, token).await;
        })
    }

    fn lease(&self) -> Duration {
        self.lease
    }
}
