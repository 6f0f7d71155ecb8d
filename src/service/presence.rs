//! This process's presence in a session: a lease it renews while it works there, so that
//! other terminals count it among the operators attached now, and that lapses if it dies.

use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError};

/// A presence lease held, and renewed in the background until [`Presence::leave`].
pub struct Presence {
    store: Store,
    session: String,
    token: String,
    renewing: CancellationToken,
    /// The renewer, until it is stopped.
    renewer: Option<tokio::task::JoinHandle<()>>,
}

impl Presence {
    /// Takes a presence lease of `operator` on `session` and keeps it renewed.
    pub async fn attend(store: &Store, session: &str, operator: &str) -> Result<Self, StoreError> {
        let token = uuid::Uuid::now_v7().to_string();
        let lease = crate::engine::claims::lease();
        store.attend(session, operator, &token, lease).await?;
        let renewing = CancellationToken::new();
        let renewer = {
            let (store, session, operator, token, renewing) = (
                store.clone(),
                session.to_string(),
                operator.to_string(),
                token.clone(),
                renewing.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        // Once stopped, never renewed again (the lease may be given up).
                        biased;
                        () = renewing.cancelled() => break,
                        () = tokio::time::sleep(lease / 3) => {
                            let _ = store.attend(&session, &operator, &token, lease).await;
                        }
                    }
                }
            })
        };
        Ok(Presence {
            store: store.clone(),
            session: session.to_string(),
            token,
            renewing,
            renewer: Some(renewer),
        })
    }

    /// The lease's token, for a commit that gives it up (the run's end).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Stops renewing the lease, once a renewal under way has been written (a renewal
    /// writes the lease again: one written after the lease is given up would bring it
    /// back): the next commit gives it up (see [`Presence::token`]).
    pub async fn stop_renewing(&mut self) {
        self.renewing.cancel();
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.await;
        }
    }

    /// Gives the lease up (best effort: a lease that cannot be given up lapses).
    pub async fn leave(mut self) {
        self.stop_renewing().await;
        let _ = self.store.leave(&self.session, &self.token).await;
    }
}
