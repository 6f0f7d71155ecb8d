//! The engine's claims kept in the store, so that processes sharing a session share them:
//! a claim is a lease its runner renews; a process refused a claim waits for the holder's
//! result through the change feed.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::feed::Feed;
use super::session::Body;
use super::{ClaimState, Store};
use crate::engine::event::ItemResult;
use crate::engine::run::{Claims, Held, LEASE};

/// How often a waiting process looks at the claim it waits on.
const LOOK: Duration = Duration::from_millis(500);

/// Claims of one operator in one session.
pub struct StoreClaims {
    store: Store,
    session: String,
    holder: String,
    lease: Duration,
}

impl StoreClaims {
    /// Claims of `holder` in `session`, with the lease `RELCON_CLAIM_LEASE` sets (30 s unless).
    pub fn new(store: &Store, session: &str, holder: &str) -> Self {
        let lease = std::env::var("RELCON_CLAIM_LEASE")
            .ok()
            .and_then(|d| humantime::parse_duration(&d).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(LEASE);
        StoreClaims {
            store: store.clone(),
            session: session.to_string(),
            holder: holder.to_string(),
            lease,
        }
    }

    async fn wait_for(&self, item: &str, held: &Held) -> Result<Option<ItemResult>, String> {
        let mut feed = Feed::new(&self.store, &self.session, held.seen)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(warning) = feed.warning() {
            eprintln!("warning: {warning}");
        }
        // A released claim whose result has not arrived yet: its holder is recording it.
        let mut released: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                events = feed.next() => {
                    let events = events.map_err(|e| e.to_string())?;
                    let finished = events.iter().any(|event| {
                        matches!(Body::join(&event.kind, &event.payload_json), Some(Body::Result { item: done, .. }) if done == item)
                    });
                    if finished {
                        let session = self.store.open_session(&self.session, None).await.map_err(|e| e.to_string())?;
                        let result: Option<ItemResult> = session.record(item).map(Into::into);
                        // Only a final result stands; a cancelled run is this process's to do.
                        return Ok(result.filter(|r| r.status.is_final()));
                    }
                }
                () = tokio::time::sleep(LOOK) => {
                    match self.store.claim_state(&self.session, item).await.map_err(|e| e.to_string())? {
                        ClaimState::Live(_) => released = None,
                        ClaimState::Lapsed(_) => return Ok(None),
                        ClaimState::Free => {
                            if released.get_or_insert_with(tokio::time::Instant::now).elapsed() > self.lease {
                                return Ok(None);
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Claims for StoreClaims {
    fn claim<'a>(
        &'a self,
        item: &'a str,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Held>, String>> + Send + 'a>> {
        Box::pin(async move {
            self.store
                .claim(&self.session, item, &self.holder, token, self.lease)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn wait<'a>(
        &'a self,
        item: &'a str,
        held: &'a Held,
    ) -> Pin<Box<dyn Future<Output = Result<Option<ItemResult>, String>> + Send + 'a>> {
        Box::pin(self.wait_for(item, held))
    }

    fn lease(&self) -> Duration {
        self.lease
    }

    fn release<'a>(
        &'a self,
        item: &'a str,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        // A failed release only means the lease runs out.
        Box::pin(async move {
            let _ = self.store.release(&self.session, item, token).await;
        })
    }
}
