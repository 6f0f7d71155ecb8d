//! The store: sessions, results and sign-offs in an append-only, hash-chained event log,
//! with the output lines of runs kept up to a cap; in a SQLite file or a PostgreSQL
//! database, behind this one type and one set of queries. A session's state is a fold of
//! its events (see `session`); every open verifies its chain first.

mod append;
pub mod claims;
pub mod feed;
pub mod leases;
mod open;
pub mod output;
pub mod recorder;

use std::path::PathBuf;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Any, Connection, Row};
use sqlx::{AnyConnection, AnyPool};

pub use crate::dburl::Backend;
use crate::dburl::{self, Location};

use crate::session::chain::{verify_chain, Broken, Head};
use crate::session::rules::Refused;
use crate::session::{SessionState, StoredEvent};

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 4;

pub use crate::session::OUTPUT_CAP;

/// How many output lines one INSERT carries (5 parameters each, well under both backends'
/// limits).
const OUTPUT_ROWS_PER_INSERT: usize = 200;

/// The last event of a session (an append follows it).
pub const LAST_EVENT_SQL: &str =
    "SELECT seq, hash FROM events WHERE session_id = $1 ORDER BY seq DESC LIMIT 1";

/// Whether a session is closed (an append asks before anything but a few kinds).
pub const CLOSED_SQL: &str =
    "SELECT seq FROM events WHERE session_id = $1 AND type = 'session_closed' ORDER BY seq LIMIT 1";

/// Why the store refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("store {url}: {source}")]
    Database {
        /// Which store.
        url: String,
        /// The error.
        source: sqlx::Error,
    },
    /// The file is not a SQLite database, or one too damaged to open.
    #[error("store {url}: not a SQLite database (or damaged): {why}")]
    NotSqlite {
        /// Which store.
        url: String,
        /// What was found.
        why: String,
    },
    /// A newer relcon wrote this store.
    #[error("store {url} was written by a newer relcon (schema version {found}; this one knows {SCHEMA_VERSION}): upgrade relcon, or use another --store")]
    Newer {
        /// Which store.
        url: String,
        /// The version found.
        found: i64,
    },
    /// A SQLite store that does not exist, named to a command that works on what is in one.
    #[error("no store at {url}: nothing has been recorded there (is --store right? `relcon run` makes a store)")]
    Missing {
        /// Which store.
        url: String,
    },
    /// No such session.
    #[error("no session {0} in the store (relcon sessions lists them)")]
    NoSession(String),
    /// The session's chain is broken.
    #[error("{0}")]
    Broken(#[from] Broken),
    /// The session is closed.
    #[error("session {0} is closed: it accepts no new results")]
    Closed(String),
    /// The session's rules refused what was asked (a sign-off, a skip).
    #[error("{0}")]
    Refused(#[from] Refused),
    /// The log moved on since an event was prepared to follow it (a signed sign-off signs
    /// the hash it follows): it is prepared again.
    #[error("session {session} moved on past event {expected} while this was being signed")]
    Moved {
        /// The session.
        session: String,
        /// The hash the event was prepared to follow.
        expected: String,
    },
    /// Kept output lines differ from the digest the chain recorded for them.
    #[error("the kept output of run {run} does not match the digest its result recorded: it was changed in the store")]
    OutputChanged {
        /// The run.
        run: String,
    },
    /// A URL the store does not understand or will not use.
    #[error("{0}")]
    Url(#[from] dburl::LocationError),
    /// The store cannot be reached.
    #[error("cannot open store {url}: {why}")]
    Unreachable {
        /// Which store.
        url: String,
        /// What happened.
        why: String,
    },
}

/// How long opening a PostgreSQL store may take: a serverless database waking up (a Neon
/// compute starting) takes seconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where a signed event goes: its time and the hash of the event it follows, as its
/// signature covers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// When, RFC 3339 UTC with milliseconds.
    pub at: String,
    /// The hash of the event it follows.
    pub after: String,
}

/// One line of `relcon sessions`.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    /// The session id.
    pub id: String,
    /// The checklist id.
    pub checklist_id: String,
    /// The checklist's digest.
    pub checklist_sha256: String,
    /// The environment.
    pub environment: Option<String>,
    /// When it started.
    pub started_at: String,
}

impl SessionSummary {
    /// Whether the row says what the session's first event says (the row is an index
    /// outside the chain).
    pub fn agrees_with(&self, session: &SessionState) -> bool {
        self.checklist_id == session.checklist.id
            && self.checklist_sha256 == session.checklist.sha256
            && self.environment == session.environment
    }
}

/// A store.
#[derive(Debug, Clone)]
pub struct Store {
    location: Location,
    pool: AnyPool,
    /// Where leases and markers are written (see [`Store::write_lenient`]): for SQLite a
    /// connection of its own whose commits do not wait for the disk, for PostgreSQL `pool`.
    lenient: AnyPool,
    key: [u8; 32],
    /// A head every session opened must extend (`--expect-head`): known from outside the
    /// store, it catches a log rewritten up to it.
    expect: Option<Head>,
    /// This process's writers of a SQLite store take turns here, so they never meet on the
    /// file's write lock: there a loser sleeps in SQLite's busy handler (milliseconds each)
    /// instead of waiting its turn. Other processes still meet on the file's lock.
    turns: std::sync::Arc<tokio::sync::Mutex<Writers>>,
}

/// The connections a store's writers write through, kept from one turn to the next for
/// SQLite: a connection handed back to a pool is first pinged on its own thread, so the
/// next writer would find none idle and open another.
#[derive(Debug, Default)]
pub(crate) struct Writers {
    durable: Option<PoolConnection<Any>>,
    lenient: Option<PoolConnection<Any>>,
}

/// A writer's turn: for SQLite this process's one turn, with the connections it keeps; for
/// PostgreSQL (which needs no turns) connections of its own, handed back when it ends.
pub(crate) struct Turn {
    shared: Option<tokio::sync::OwnedMutexGuard<Writers>>,
    own: Writers,
}

impl Turn {
    fn writers(&mut self) -> &mut Writers {
        match &mut self.shared {
            Some(shared) => shared,
            None => &mut self.own,
        }
    }
}

/// The store's migrations: one per schema version.
fn migrator(backend: Backend) -> sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    }
}

/// Where relcon keeps its files: `$XDG_DATA_HOME/relcon`, else `~/.local/share/relcon`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("relcon")
}

/// The default store: `store.sqlite` in the [`data_dir`].
pub fn default_url() -> String {
    format!("sqlite://{}", data_dir().join("store.sqlite").display())
}

/// Whether the store at `url` is a SQLite file that exists already (opening it writes
/// nothing).
pub fn exists(url: &str) -> bool {
    dburl::parse(url).is_ok_and(|location| {
        location.backend == Backend::Sqlite
            && location
                .path
                .as_deref()
                .is_some_and(|path| std::path::Path::new(path).is_file())
    })
}

impl Store {
    /// [`Store::open`] of an owned URL, for a task of its own.
    pub async fn open_owned(url: String) -> Result<Self, StoreError> {
        Self::open(&url).await
    }

    /// Opens the store at `url` for a command that works on what is recorded in it (lists,
    /// exports, watches, signs, closes): a SQLite file that does not exist is said, not made,
    /// so that a mistyped path leaves no empty store behind.
    pub async fn open_existing(url: &str) -> Result<Self, StoreError> {
        let location = dburl::parse(url)?;
        if location.backend == Backend::Sqlite && !exists(url) {
            return Err(StoreError::Missing {
                url: location.shown.clone(),
            });
        }
        Self::open(url).await
    }

    /// Opens (creating when needed) the store at `url`, applying the schema.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let location = dburl::parse(url)?;
        let db = |source| StoreError::Database {
            url: location.shown.clone(),
            source,
        };
        let (pool, lenient) = match location.backend {
            Backend::Sqlite => {
                let existing = open::check_sqlite_file(&location)?;
                // The lenient connection is made first-hand, with the check that the file
                // opens, beside the pool's first connection: a file that does not open fails
                // the check at once, which drops the pool's wait.
                let pool = async { open::open_sqlite(&location).await.map_err(db) };
                let lenient = open::lenient_sqlite(&location, existing);
                let (pool, lenient) = tokio::try_join!(pool, lenient)?;
                (pool, Some(lenient))
            }
            Backend::Postgres => (open::open_postgres(&location).await?, None),
        };
        // A store from a newer relcon is refused before anything is written to it.
        // The version and the fingerprint key are read together (a new store has neither,
        // nor the table).
        let meta: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, value FROM meta WHERE key IN ('schema_version', 'hmac_key')",
        )
        .fetch_all(&pool)
        .await
        .unwrap_or_default();
        let read = |name: &str| {
            meta.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let version = read("schema_version").and_then(|v| v.parse::<i64>().ok());
        if let Some(found) = version.filter(|v| *v > SCHEMA_VERSION) {
            return Err(StoreError::Newer {
                url: location.shown.clone(),
                found,
            });
        }
        // A store at this version has had every migration (the version is written after
        // them, and each migration raises it): asking again is a few statements per start.
        if version != Some(SCHEMA_VERSION) {
            migrator(location.backend)
                .run(&pool)
                .await
                .map_err(|e| db(e.into()))?;
        }
        // A store already at this version is not written to (a commit, and a wait for the
        // disk, on every start).
        if version != Some(SCHEMA_VERSION) {
            sqlx::query("INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(SCHEMA_VERSION.to_string())
                .execute(&pool)
                .await
                .map_err(db)?;
        }
        // The fingerprint key is made once per store and never leaves it (read above: an
        // insert that finds it takes the write lock for nothing). Another process may make
        // it first: the one kept is read back.
        let key_hex = match read("hmac_key") {
            Some(key) => key,
            None => {
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ('hmac_key', $1) ON CONFLICT (key) DO NOTHING",
                )
                .bind(hex::encode(rand::random::<[u8; 32]>()))
                .execute(&pool)
                .await
                .map_err(db)?;
                sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = 'hmac_key'")
                    .fetch_optional(&pool)
                    .await
                    .map_err(db)?
                    .unwrap_or_default()
            }
        };
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(key_hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
        }
        let (lenient, kept) = match lenient {
            Some((lenient, kept)) => (lenient, Some(kept)),
            None => (pool.clone(), None),
        };
        Ok(Store {
            location,
            pool,
            lenient,
            key,
            expect: None,
            turns: std::sync::Arc::new(tokio::sync::Mutex::new(Writers {
                durable: None,
                lenient: kept,
            })),
        })
    }

    /// This store, checking that every session it opens begins with the events up to
    /// `head` (a prefix: other terminals may have appended since).
    pub fn expecting(mut self, head: Option<Head>) -> Self {
        self.expect = head;
        self
    }

    /// The head every session opened must extend, when one was given.
    pub fn expected_head(&self) -> Option<&Head> {
        self.expect.as_ref()
    }

    pub(crate) fn db(&self, source: sqlx::Error) -> StoreError {
        StoreError::Database {
            url: self.location.shown.clone(),
            source,
        }
    }

    /// A database error of this store.
    pub fn error(&self, source: sqlx::Error) -> StoreError {
        self.db(source)
    }

    /// The store's URL, without any password.
    pub fn url(&self) -> &str {
        &self.location.shown
    }

    /// The database the store lives in.
    pub fn backend(&self) -> Backend {
        self.location.backend
    }

    /// Where the store lives (with the URL to connect with).
    pub(crate) fn location(&self) -> &Location {
        &self.location
    }

    /// The connection `turn` writes durably through.
    pub(crate) async fn writer<'t>(
        &self,
        turn: &'t mut Turn,
    ) -> Result<&'t mut AnyConnection, StoreError> {
        self.kept(&mut turn.writers().durable, &self.pool).await
    }

    /// The connection `turn` writes leases and markers through (see
    /// [`Store::write_lenient`]).
    pub(crate) async fn lenient_writer<'t>(
        &self,
        turn: &'t mut Turn,
    ) -> Result<&'t mut AnyConnection, StoreError> {
        self.kept(&mut turn.writers().lenient, &self.lenient).await
    }

    /// The connection kept in `slot`, taken from `pool` the first time.
    async fn kept<'t>(
        &self,
        slot: &'t mut Option<PoolConnection<Any>>,
        pool: &AnyPool,
    ) -> Result<&'t mut AnyConnection, StoreError> {
        if slot.is_none() {
            *slot = Some(pool.acquire().await.map_err(|e| self.db(e))?);
        }
        slot.as_deref_mut()
            .ok_or_else(|| self.db(sqlx::Error::PoolClosed))
    }

    /// A write transaction on `session` in `turn`. Writers of one session take turns:
    /// SQLite takes its write lock first (IMMEDIATE), so two processes cannot read the same
    /// last event and both append after it; PostgreSQL takes a per-session advisory lock
    /// for the same. A transaction dropped before its commit rolls back.
    pub(crate) async fn write<'t>(
        &self,
        turn: &'t mut Turn,
        session: &str,
    ) -> Result<sqlx::Transaction<'t, Any>, StoreError> {
        let backend = self.location.backend;
        let conn = self.writer(turn).await?;
        match backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                let mut tx = conn.begin().await.map_err(|e| self.db(e))?;
                sqlx::query(
                    "SELECT pg_advisory_xact_lock(hashtextextended('relcon session ' || $1, 0))",
                )
                .bind(session)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db(e))?;
                Ok(tx)
            }
        }
        .map_err(|e| self.db(e))
    }

    /// [`Store::write`] for what is a lease or a marker, not a fact anyone is told of (a
    /// claim, a run's start): its commit does not wait for the disk. Logs keep commits in
    /// order, so the next durable commit takes it to the disk too.
    pub(crate) async fn write_lenient<'t>(
        &self,
        turn: &'t mut Turn,
        session: &str,
    ) -> Result<sqlx::Transaction<'t, Any>, StoreError> {
        match self.location.backend {
            Backend::Sqlite => self
                .lenient_writer(turn)
                .await?
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(|e| self.db(e)),
            Backend::Postgres => {
                let mut tx = self.write(turn, session).await?;
                sqlx::query("SET LOCAL synchronous_commit TO OFF")
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.db(e))?;
                Ok(tx)
            }
        }
    }

    /// This process's turn to write to a SQLite store (none needed for PostgreSQL): held
    /// for the whole write transaction.
    pub(crate) async fn turn(&self) -> Turn {
        let shared = match self.location.backend {
            Backend::Sqlite => Some(self.turns.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        Turn {
            shared,
            own: Writers::default(),
        }
    }

    /// The store's key for fingerprints.
    pub fn fingerprint_key(&self) -> [u8; 32] {
        self.key
    }

    /// A session's events, in order.
    pub async fn events(&self, session: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.events_after(session, 0).await
    }

    /// A session's events after sequence number `after`, in order.
    pub async fn events_after(
        &self,
        session: &str,
        after: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.db(e))?;
        read_events(&mut conn, session, after)
            .await
            .map_err(|e| self.db(e))
    }

    /// Opens a session: its chain verified (against `expected` when given), its events folded.
    pub async fn open_session(
        &self,
        id: &str,
        expected: Option<&Head>,
    ) -> Result<SessionState, StoreError> {
        verified_state(
            id,
            &self.events(id).await?,
            expected.or(self.expect.as_ref()),
        )
    }

    /// `known` brought up to date through `conn`: only the events after its head are read,
    /// each verified to follow it (a run's end need not read back and fold the whole log it
    /// just wrote). A log that no longer extends `known` is read whole, which says where it
    /// broke.
    pub(crate) async fn follow_log(
        &self,
        conn: &mut AnyConnection,
        mut known: SessionState,
    ) -> Result<SessionState, StoreError> {
        let newer = read_events(conn, &known.id, known.head.count)
            .await
            .map_err(|e| self.db(e))?;
        if newer.iter().all(|event| known.follow(event).is_ok()) {
            return Ok(known);
        }
        let events = read_events(conn, &known.id, 0)
            .await
            .map_err(|e| self.db(e))?;
        verified_state(&known.id, &events, self.expect.as_ref())
    }

    /// Every session, newest first.
    pub async fn sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        let rows = sqlx::query("SELECT id, checklist_id, checklist_sha256, environment, started_at FROM sessions ORDER BY started_at DESC, id DESC").fetch_all(&self.pool).await.map_err(|e| self.db(e))?;
        Ok(rows
            .into_iter()
            .map(|r| SessionSummary {
                id: r.get(0),
                checklist_id: r.get(1),
                checklist_sha256: r.get(2),
                environment: r.get(3),
                started_at: r.get(4),
            })
            .collect())
    }

    /// The latest session of `checklist_id` in `environment` that is not closed.
    pub async fn latest_open(
        &self,
        checklist_id: &str,
        environment: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT s.id FROM sessions s WHERE s.checklist_id = $1 AND s.environment IS NOT DISTINCT FROM $2 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.id AND e.type = 'session_closed') ORDER BY s.started_at DESC, s.id DESC LIMIT 1",
        )
        .bind(checklist_id)
        .bind(environment)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        Ok(id)
    }

    /// Closes the pool (pending writes are already committed).
    pub async fn close(self) {
        let kept = {
            let mut writers = self.turns.lock().await;
            [writers.durable.take(), writers.lenient.take()]
        };
        let kept = futures::future::join_all(kept.into_iter().flatten().map(|conn| async {
            let _ = conn.close().await;
        }));
        // Side by side: whichever connection is last checkpoints the log into the file.
        tokio::join!(kept, self.lenient.close(), self.pool.close());
    }

    /// A connection for tests that tamper with the log on purpose.
    pub async fn raw(&self) -> Result<sqlx::pool::PoolConnection<Any>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.db(e))?;
        conn.ping().await.map_err(|e| self.db(e))?;
        Ok(conn)
    }
}

/// The session `events` (all of `id`'s, in order) fold into, once their chain is verified
/// (against `expected` when given); none is no such session.
pub fn verified_state(
    id: &str,
    events: &[StoredEvent],
    expected: Option<&Head>,
) -> Result<SessionState, StoreError> {
    if events.is_empty() {
        return Err(StoreError::NoSession(id.to_string()));
    }
    let head = verify_chain(id, events, expected)?;
    Ok(SessionState::fold(events, head)?)
}

/// A session's events after `after`, in order, on `conn` (a transaction's or the pool's).
/// They come as one JSON array built by the database: the drivers hand rows over one at a
/// time from a worker thread, which costs more than the whole read for a long session.
async fn read_events(
    conn: &mut sqlx::AnyConnection,
    session: &str,
    after: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let query = if conn.backend_name() == "PostgreSQL" {
        "SELECT CAST(COALESCE(json_agg(json_build_array(seq, at, actor, type, payload, prev_hash, hash) ORDER BY seq), '[]') AS TEXT) FROM events WHERE session_id = $1 AND seq > $2"
    } else {
        "SELECT json_group_array(json_array(seq, at, actor, type, payload, prev_hash, hash) ORDER BY seq) FROM events WHERE session_id = $1 AND seq > $2"
    };
    let array: String = sqlx::query_scalar(query)
        .bind(session)
        .bind(after)
        .fetch_one(conn)
        .await?;
    type Row = (i64, String, String, String, String, String, String);
    let rows: Vec<Row> =
        serde_json::from_str(&array).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(rows
        .into_iter()
        .map(
            |(seq, at, actor, kind, payload_json, prev_hash, hash)| StoredEvent {
                session: session.to_string(),
                seq,
                at,
                actor,
                kind,
                payload_json,
                prev_hash,
                hash,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store at [`SCHEMA_VERSION`] is not migrated again, so each migration must raise it.
    #[test]
    fn each_migration_raises_the_schema_version() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            assert_eq!(
                migrator(backend).iter().count() as i64,
                SCHEMA_VERSION,
                "{backend:?}: add a migration, raise SCHEMA_VERSION"
            );
        }
    }
}
