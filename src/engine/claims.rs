//! Claims: how processes working one session keep from running one item twice. Before it
//! runs an item, a run claims it; a claim is a lease its holder renews while the check
//! runs, and that ends in the same commit as the item's result. A run refused a claim waits
//! for the holder's result and reports it; an item another process already finished is not
//! run again; a crashed holder's lease lapses and the item becomes runnable.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::event::{Emitter, Event, ItemResult};
use crate::status::Status;

/// How long a claim lives without renewal, unless `RELCON_CLAIM_LEASE` says otherwise.
pub const LEASE: Duration = Duration::from_secs(30);

/// The shortest lease: one renewed every third of it must outlive a busy moment.
pub const MIN_LEASE: Duration = Duration::from_secs(2);

/// The lease `RELCON_CLAIM_LEASE` sets (a duration from 2 s to 7 days), else [`LEASE`]; a
/// value that is not such a duration is refused, not ignored.
pub fn lease_setting() -> Result<Duration, String> {
    let Ok(text) = std::env::var("RELCON_CLAIM_LEASE") else {
        return Ok(LEASE);
    };
    let lease = humantime::parse_duration(text.trim())
        .map_err(|_| format!("RELCON_CLAIM_LEASE=`{text}` is not a duration such as 30s"))?;
    let most = crate::checklist::spec::duration_cap("lease");
    if lease < MIN_LEASE || lease > most {
        return Err(format!(
            "RELCON_CLAIM_LEASE must be from 2s to {}; it is {text}",
            crate::checklist::spec::cap_text(most)
        ));
    }
    Ok(lease)
}

/// The lease of claims and presence (see [`lease_setting`]; a run refuses a bad setting
/// before it starts). A crashed process's claims and presence lapse after it.
pub fn lease() -> Duration {
    lease_setting().unwrap_or(LEASE)
}

/// A boxed future, as trait objects return them.
pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why claims could not be asked or followed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Where claims are kept failed (a store that cannot be reached, say).
    #[error(transparent)]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// The live updates a wait follows stopped.
    #[error("live updates stopped")]
    Interrupted,
}

/// Another process's live claim on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Who holds it.
    pub holder: String,
    /// How far the shared log was read when the claim was refused: the holder's result
    /// comes after it.
    pub seen: i64,
}

/// What asking for a claim gave.
#[derive(Debug, Clone)]
pub enum Claimed {
    /// The item is this run's to run.
    Granted,
    /// Another process runs it now.
    Held(Held),
    /// Another process ran it to a final result since this run started.
    Settled(ItemResult),
}

/// Where claims are kept (the store, for processes sharing a session).
pub trait Claims: Send + Sync {
    /// Claims `item` for this run's `token`.
    fn claim<'a>(&'a self, item: &'a str, token: &'a str)
        -> Boxed<'a, Result<Claimed, ClaimError>>;
    /// Pushes the lease of the claim made with `token` forward; false when it is no longer
    /// this token's.
    fn renew<'a>(&'a self, item: &'a str, token: &'a str) -> Boxed<'a, Result<bool, ClaimError>>;
    /// Waits for the run behind `held` to end: its final result, or none when it ended
    /// without one (cancelled, or its holder died and the lease lapsed).
    fn wait<'a>(
        &'a self,
        item: &'a str,
        held: &'a Held,
    ) -> Boxed<'a, Result<Option<ItemResult>, ClaimError>>;
    /// Gives up the claim made with `token` (a run that ends without a result to record).
    fn release<'a>(&'a self, item: &'a str, token: &'a str) -> Boxed<'a, ()>;
    /// How long a claim lives without renewal (it is renewed three times as often).
    fn lease(&self) -> Duration;
}

/// A granted claim while its item runs: renewed in the background; a renewal that finds
/// the claim taken over cancels the item's run.
pub struct Claim {
    claims: Arc<dyn Claims>,
    item: String,
    token: Option<String>,
    renewal: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

impl Claim {
    /// Whether another process took the claim over while the item ran.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing; the token, to be released in the commit of the item's result (none
    /// when the claim was lost).
    pub async fn finish(mut self) -> Option<String> {
        self.renewal.abort();
        let _ = (&mut self.renewal).await;
        let token = self.token.take();
        token.filter(|_| !self.lost())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.renewal.abort();
        // Dropped before `finish` (the run was abandoned): released in the background, as a
        // drop cannot wait. A lost release only means the lease runs out.
        if let Some(token) = self.token.take() {
            let (claims, item) = (self.claims.clone(), std::mem::take(&mut self.item));
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { claims.release(&item, &token).await });
            }
        }
    }
}

/// A result this run reports without having run the item, and does not record: another
/// process's, or why this run could not find out.
fn observed(mut result: ItemResult) -> ItemResult {
    result.observed = true;
    result
}

/// Takes the claim on `item` for `token`, waiting while another process runs it, for at
/// most `patience` (a claim whose expiry lies far ahead is no reason to wait for ever).
/// Either the claim (the item is this run's to run; `item_cancel` is cancelled should the
/// claim be taken over) or the result to report instead.
pub async fn acquire(
    claims: &Arc<dyn Claims>,
    item: &str,
    token: &str,
    emitter: &Emitter,
    cancel: &CancellationToken,
    item_cancel: CancellationToken,
    patience: Duration,
) -> Result<Claim, ItemResult> {
    let now = tokio::time::Instant::now();
    let give_up = now.checked_add(patience).unwrap_or(now);
    loop {
        let held = match claims.claim(item, token).await {
            Ok(Claimed::Granted) => break,
            Ok(Claimed::Settled(result)) => return Err(observed(result)),
            Ok(Claimed::Held(held)) => held,
            Err(err) => {
                return Err(observed(ItemResult::not_run(
                    Status::Error,
                    format!("cannot claim the item: {err}"),
                )))
            }
        };
        emitter.send(Event::Waiting {
            id: item.to_string(),
            holder: held.holder.clone(),
        });
        let waited = tokio::select! {
            waited = claims.wait(item, &held) => waited,
            () = cancel.cancelled() => Ok(Some(ItemResult::not_run(
                Status::Pending,
                format!("running ({}) in another process; cancelled while waiting for its result", held.holder),
            ))),
            () = tokio::time::sleep_until(give_up) => Ok(Some(ItemResult::not_run(
                Status::Pending,
                format!(
                    "claimed ({}) for longer than a run of it can take ({} with its retries and lease); not waiting any longer",
                    held.holder,
                    crate::text::format_duration(patience)
                ),
            ))),
        };
        match waited {
            Ok(Some(result)) => return Err(observed(result)),
            Ok(None) => {}
            Err(err) => {
                return Err(observed(ItemResult::not_run(
                    Status::Pending,
                    format!(
                        "running ({}) in another process; cannot follow it: {err}",
                        held.holder
                    ),
                )))
            }
        }
    }
    // A failpoint for the test that a panic gives the process's leases up (tests/store.rs).
    if std::env::var_os("RELCON_FAILPOINT").is_some_and(|f| f == "panic-after-claim") {
        panic!("failpoint panic-after-claim");
    }
    let lost = Arc::new(AtomicBool::new(false));
    let renewal = {
        let (claims, item, token, lost) = (
            claims.clone(),
            item.to_string(),
            token.to_string(),
            lost.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(claims.lease() / 3).await;
                if let Ok(false) = claims.renew(&item, &token).await {
                    lost.store(true, Ordering::SeqCst);
                    item_cancel.cancel();
                    return;
                }
            }
        })
    };
    Ok(Claim {
        claims: claims.clone(),
        item: item.to_string(),
        token: Some(token.to_string()),
        renewal,
        lost,
    })
}
