//! The change feed: a session's new events as they are committed by any process.
//! - SQLite: polls `PRAGMA data_version` on one connection (it changes when another
//!   connection commits), then reads what follows the last event seen; every 100 ms after
//!   a change, slowing to every 500 ms while nothing changes.
//! - PostgreSQL: LISTENs on `relcon_events` (a trigger notifies each committed event's
//!   session) and reads on each notification, with a slow poll behind it for notifications
//!   lost while the listener reconnected. Where LISTEN does not deliver (a transaction-mode
//!   pooler hands each statement to another server connection), a probe finds it out at
//!   start and the feed polls instead, with a warning.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use super::{Backend, Store, StoreError};
use crate::session::StoredEvent;

/// How often a store is asked whether anything changed, when it cannot say so itself.
pub const POLL: Duration = Duration::from_millis(100);

/// How far a SQLite feed slows its polling while nothing changes (an idle console then
/// costs next to nothing; a change is still seen within this).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// How often a listening feed reads anyway.
const SAFETY_POLL: Duration = Duration::from_secs(1);

/// How long a notification may take to come back before LISTEN is judged not to work.
const PROBE: Duration = Duration::from_secs(2);

/// The channel the store's trigger notifies.
const CHANNEL: &str = "relcon_events";

enum Wake {
    /// SQLite: one connection whose data_version is compared.
    DataVersion {
        conn: Box<sqlx::AnyConnection>,
        version: i64,
    },
    /// PostgreSQL with working LISTEN.
    Listen(Box<PgListener>),
    /// Ask every POLL.
    Poll,
}

/// Follows one session's events.
pub struct Feed {
    store: Store,
    session: String,
    seen: i64,
    wake: Wake,
    warning: Option<String>,
}

impl Feed {
    /// A feed of `session`'s events after `seen`.
    pub async fn new(store: &Store, session: &str, seen: i64) -> Result<Self, StoreError> {
        let (wake, warning) = match store.backend() {
            Backend::Sqlite => {
                // A connection of its own, outside the store's pool: a feed holds it for as
                // long as it lives.
                let mut conn = Box::new(
                    <sqlx::AnyConnection as sqlx::Connection>::connect(&store.location().connect)
                        .await
                        .map_err(|e| store.error(e))?,
                );
                let version = data_version(store, &mut conn).await?;
                (Wake::DataVersion { conn, version }, None)
            }
            Backend::Postgres => match listen(store).await {
                Ok(listener) => (Wake::Listen(Box::new(listener)), None),
                Err(why) => (
                    Wake::Poll,
                    Some(format!(
                        "store {}: LISTEN does not work on this connection ({why}); polling every {} instead (a transaction-mode pooler does this: connect without it for instant updates)",
                        store.url(),
                        humantime::format_duration(POLL)
                    )),
                ),
            },
        };
        Ok(Feed {
            store: store.clone(),
            session: session.to_string(),
            seen,
            wake,
            warning,
        })
    }

    /// Why the feed polls where it should not have to, to be shown to the operator.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// The next events committed after the last ones returned, waiting for some.
    pub async fn next(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        loop {
            let events = self.store.events_after(&self.session, self.seen).await?;
            if let Some(last) = events.last() {
                self.seen = last.seq;
                return Ok(events);
            }
            self.changed().await?;
        }
    }

    /// Waits until something may have changed.
    async fn changed(&mut self) -> Result<(), StoreError> {
        match &mut self.wake {
            Wake::DataVersion { conn, version } => {
                let mut pause = POLL;
                loop {
                    tokio::time::sleep(pause).await;
                    let now = data_version(&self.store, conn).await?;
                    if now != *version {
                        *version = now;
                        return Ok(());
                    }
                    pause = (pause * 5 / 4).min(IDLE_POLL);
                }
            }
            Wake::Listen(listener) => {
                let deadline = tokio::time::Instant::now() + SAFETY_POLL;
                loop {
                    match tokio::time::timeout_at(deadline, listener.recv()).await {
                        Err(_) => return Ok(()),
                        Ok(Ok(note)) if note.payload() == self.session => return Ok(()),
                        Ok(Ok(_)) => {}
                        // The listener reconnects on its next receive; read the log meanwhile.
                        Ok(Err(_)) => {
                            tokio::time::sleep(POLL).await;
                            return Ok(());
                        }
                    }
                }
            }
            Wake::Poll => {
                tokio::time::sleep(POLL).await;
                Ok(())
            }
        }
    }
}

/// A listener on the store's channel, proven to deliver: it hears a notification it sends
/// itself on a channel of its own, through another connection.
async fn listen(store: &Store) -> Result<PgListener, String> {
    let options: PgConnectOptions = store
        .location()
        .connect
        .parse()
        .map_err(|e: sqlx::Error| e.to_string())?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(super::CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| e.to_string())?;
    let mut listener = PgListener::connect_with(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let probe = format!("relcon_probe_{}", uuid::Uuid::now_v7().simple());
    listener
        .listen_all([CHANNEL, probe.as_str()])
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("SELECT pg_notify($1, 'probe')")
        .bind(&probe)
        .execute(&store.pool)
        .await
        .map_err(|e| e.to_string())?;
    let deadline = tokio::time::Instant::now() + PROBE;
    loop {
        match tokio::time::timeout_at(deadline, listener.recv()).await {
            Ok(Ok(note)) if note.channel() == probe => break,
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(err.to_string()),
            Err(_) => {
                return Err(format!(
                    "a test notification did not arrive within {}",
                    humantime::format_duration(PROBE)
                ))
            }
        }
    }
    let _ = listener.unlisten(&probe).await;
    Ok(listener)
}

async fn data_version(store: &Store, conn: &mut sqlx::AnyConnection) -> Result<i64, StoreError> {
    sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(conn)
        .await
        .map_err(|e| store.error(e))
}
