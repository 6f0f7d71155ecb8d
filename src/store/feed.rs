//! The change feed: a session's new events as they are committed by any process. On SQLite
//! it polls `PRAGMA data_version` on one connection (it changes when another connection
//! commits), then reads what follows the last event seen.

use std::time::Duration;

use sqlx::Connection;

use super::chain::StoredEvent;
use super::{Store, StoreError};

/// How often SQLite is asked whether anything changed.
pub const POLL: Duration = Duration::from_millis(100);

/// Follows one session's events.
pub struct Feed {
    store: Store,
    session: String,
    seen: i64,
    watcher: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    version: i64,
}

impl Feed {
    /// A feed of `session`'s events after `seen`.
    pub async fn new(store: &Store, session: &str, seen: i64) -> Result<Self, StoreError> {
        let mut watcher = store.raw().await?;
        let version = data_version(store, &mut watcher).await?;
        Ok(Feed {
            store: store.clone(),
            session: session.to_string(),
            seen,
            watcher,
            version,
        })
    }

    /// The next events committed after the last ones returned, waiting for some.
    pub async fn next(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        loop {
            let events = self.store.events_after(&self.session, self.seen).await?;
            if let Some(last) = events.last() {
                self.seen = last.seq;
                return Ok(events);
            }
            loop {
                tokio::time::sleep(POLL).await;
                let version = data_version(&self.store, &mut self.watcher).await?;
                if version != self.version {
                    self.version = version;
                    break;
                }
            }
        }
    }
}

async fn data_version(
    store: &Store,
    conn: &mut sqlx::pool::PoolConnection<sqlx::Sqlite>,
) -> Result<i64, StoreError> {
    conn.ping().await.map_err(|e| store.error(e))?;
    sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(&mut **conn)
        .await
        .map_err(|e| store.error(e))
}
