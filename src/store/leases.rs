//! Leases in the store, outside the event log: claims (which process runs an item now) and
//! presence (which processes are attached to a session now). A lease lives until a time its
//! holder keeps pushing forward; times are the database's clock, so that processes on
//! machines whose clocks disagree still agree on whose lease is live.

use std::time::Duration;

use sqlx::Row;

use super::{Store, StoreError};
use crate::dburl::Backend;
use crate::session::{Body, Outcome};

pub use crate::engine::claims::Held;

/// What asking for a claim gave.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// The item is this process's to run.
    Granted,
    /// Another process runs it now.
    Held(Held),
    /// Another process ran it since this one started, to this final result.
    Settled(Outcome),
}

/// A claim on an item, as the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimState {
    /// Nobody claims it.
    Free,
    /// Someone runs it now.
    Live(String),
    /// Its holder stopped renewing it: the process died.
    Lapsed(String),
}

/// A lease this process took: where, and the token that gives it up.
#[derive(PartialEq, Eq, Hash)]
struct Taken {
    url: String,
    session: String,
    /// The item of a claim; none for presence.
    item: Option<String>,
    token: String,
}

/// The leases this process took, so that a panic gives them up like any other stop (see
/// [`give_up_after_panic`]). Entries stay after a lease is given up: giving up again only
/// deletes what still carries the token, so a stale entry is harmless. A set: a run of many
/// items notes a claim each, and a renewed presence notes its lease again.
static TAKEN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<Taken>>> =
    std::sync::LazyLock::new(Default::default);

fn note_taken(store: &Store, session: &str, item: Option<&str>, token: &str) {
    TAKEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(Taken {
            url: store.location().given.clone(),
            session: session.to_string(),
            item: item.map(String::from),
            token: token.to_string(),
        });
}

/// Gives up every claim and presence lease this process took, through connections of its
/// own (the panicking runtime's may be gone), within 5 s; for the panic hook.
pub fn give_up_after_panic() {
    let taken = std::mem::take(&mut *TAKEN.lock().unwrap_or_else(|e| e.into_inner()));
    if taken.is_empty() {
        return;
    }
    let work = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                let mut stores: Vec<Store> = Vec::new();
                for lease in &taken {
                    let store = match stores.iter().find(|s| s.location().given == lease.url) {
                        Some(store) => store.clone(),
                        None => match Store::open(&lease.url).await {
                            Ok(store) => {
                                stores.push(store.clone());
                                store
                            }
                            Err(_) => continue,
                        },
                    };
                    let _ = match &lease.item {
                        Some(item) => store.release(&lease.session, item, &lease.token).await,
                        None => store.leave(&lease.session, &lease.token).await,
                    };
                }
            })
            .await;
        });
    });
    let _ = work.join();
}

impl Store {
    /// The rows of the JSON array in parameter `param`, as a table whose one column,
    /// `value`, is each element (`value ->> 0` its first field, as text or a number).
    pub(crate) fn json_rows(&self, param: &str) -> String {
        match self.backend() {
            Backend::Sqlite => format!("json_each({param})"),
            Backend::Postgres => format!("jsonb_array_elements(CAST({param} AS jsonb))"),
        }
    }

    /// The database's clock, in milliseconds since the Unix epoch, as SQL.
    fn now_sql(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }

    /// Claims `item` of `session` for `holder` (this run's `token`) for `lease`, unless
    /// another process ran it to a final result after event `since` (when this process
    /// started) or holds a live claim on it now.
    pub async fn claim(
        &self,
        session: &str,
        item: &str,
        holder: &str,
        token: &str,
        lease: Duration,
        since: i64,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut outcomes = self
            .claim_many(session, &[(item, token)], holder, lease, since)
            .await?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::NoSession(session.to_string()))
    }

    /// [`Store::claim`] for several (item, token) pairs in one transaction: a run's ready
    /// items are claimed together, one commit for all.
    pub async fn claim_many(
        &self,
        session: &str,
        claims: &[(&str, &str)],
        holder: &str,
        lease: Duration,
        since: i64,
    ) -> Result<Vec<ClaimOutcome>, StoreError> {
        // A claim is a lease, not a fact: its commit need not wait for the disk. (A machine
        // that crashes takes its claims' holders with it.)
        let mut turn = self.turn().await;
        let mut tx = self.write_lenient(&mut turn, session).await?;
        let mut outcomes = Vec::with_capacity(claims.len());
        let distinct = claims
            .iter()
            .map(|(item, _)| *item)
            .collect::<std::collections::HashSet<_>>();
        if distinct.len() == claims.len() {
            outcomes = self
                .claim_distinct(&mut tx, session, claims, holder, lease, since)
                .await?;
        } else {
            // One item asked for twice: the second ask must see the first's claim.
            for (item, token) in claims {
                outcomes.push(
                    self.claim_in(&mut tx, session, item, holder, token, lease, since)
                        .await?,
                );
            }
        }
        tx.commit().await.map_err(|e| self.db(e))?;
        Ok(outcomes)
    }

    /// [`Store::claim_in`] for distinct items, three statements for all of them (a
    /// statement is a trip to the driver's thread, and a run starts many items at once):
    /// their latest results since `since`, their claims, then one insert of those granted.
    /// The items go in as one JSON array, so each statement's text is the same for any
    /// number of them.
    async fn claim_distinct(
        &self,
        tx: &mut sqlx::AnyConnection,
        session: &str,
        claims: &[(&str, &str)],
        holder: &str,
        lease: Duration,
        since: i64,
    ) -> Result<Vec<ClaimOutcome>, StoreError> {
        let items = serde_json::Value::from(
            claims
                .iter()
                .map(|(item, _)| serde_json::json!([item]))
                .collect::<Vec<_>>(),
        )
        .to_string();
        // No ORDER BY: sorting by seq would have the planner walk the whole log since
        // `since` (a run's own events) instead of looking each item up in its index.
        let statement = format!("SELECT item, actor, payload, seq FROM events WHERE session_id = $1 AND item IN (SELECT value ->> 0 FROM {}) AND seq > $2", self.json_rows("$3"));
        let query = sqlx::query(&statement)
            .bind(session)
            .bind(since)
            .bind(&items);
        let mut latest: std::collections::HashMap<String, (i64, String, String)> =
            std::collections::HashMap::new();
        for row in query.fetch_all(&mut *tx).await.map_err(|e| self.db(e))? {
            let seq: i64 = row.get(3);
            let item: String = row.get(0);
            if latest.get(&item).is_none_or(|(known, _, _)| *known < seq) {
                latest.insert(item, (seq, row.get(1), row.get(2)));
            }
        }
        let now = self.now_sql();
        let statement = format!("SELECT item, holder, token, CAST(CASE WHEN expires_ms > {now} THEN 1 ELSE 0 END AS BIGINT) FROM claims WHERE session_id = $1 AND item IN (SELECT value ->> 0 FROM {})", self.json_rows("$2"));
        let query = sqlx::query(&statement).bind(session).bind(&items);
        let mut held = std::collections::HashMap::new();
        for row in query.fetch_all(&mut *tx).await.map_err(|e| self.db(e))? {
            let live = row.get::<i64, _>(3) != 0;
            held.insert(
                row.get::<String, _>(0),
                (row.get::<String, _>(1), row.get::<String, _>(2), live),
            );
        }
        let mut seen = None;
        let mut outcomes = Vec::with_capacity(claims.len());
        let mut granted = Vec::new();
        for &(item, token) in claims {
            let settled = latest
                .get(item)
                .and_then(|(_, actor, payload)| outcome_of(item, actor, payload))
                .filter(|outcome| outcome.status.is_final());
            if let Some(outcome) = settled {
                outcomes.push(ClaimOutcome::Settled(outcome));
                continue;
            }
            if let Some((other, _, _)) = held
                .get(item)
                .filter(|(_, other_token, live)| other_token != token && *live)
            {
                let seen = match seen {
                    Some(seen) => seen,
                    None => *seen.insert(self.last_seq_in(tx, session).await?),
                };
                outcomes.push(ClaimOutcome::Held(Held {
                    holder: other.clone(),
                    seen,
                }));
                continue;
            }
            granted.push((item, token));
            outcomes.push(ClaimOutcome::Granted);
        }
        if granted.is_empty() {
            return Ok(outcomes);
        }
        let rows = json_pairs(granted.iter().copied());
        // `WHERE true`: SQLite would read the upsert's ON as a join's.
        let statement = format!("INSERT INTO claims (session_id, item, holder, token, expires_ms) SELECT $1, value ->> 0, $2, value ->> 1, {now} + $3 FROM {} WHERE true ON CONFLICT (session_id, item) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires_ms = excluded.expires_ms", self.json_rows("$4"));
        sqlx::query(&statement)
            .bind(session)
            .bind(holder)
            .bind(lease.as_millis() as i64)
            .bind(rows)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(e))?;
        for (item, token) in granted {
            note_taken(self, session, Some(item), token);
        }
        Ok(outcomes)
    }

    async fn last_seq_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        session: &str,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events WHERE session_id = $1")
            .bind(session)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.db(e))
    }

    #[allow(clippy::too_many_arguments)]
    async fn claim_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        session: &str,
        item: &str,
        holder: &str,
        token: &str,
        lease: Duration,
        since: i64,
    ) -> Result<ClaimOutcome, StoreError> {
        if let Some(record) = latest_result(tx, session, item, since)
            .await
            .map_err(|e| self.db(e))?
            .filter(|r| r.status.is_final())
        {
            return Ok(ClaimOutcome::Settled(record));
        }
        let now = self.now_sql();
        let held = sqlx::query(&format!("SELECT holder, token, CAST(CASE WHEN expires_ms > {now} THEN 1 ELSE 0 END AS BIGINT) FROM claims WHERE session_id = $1 AND item = $2"))
            .bind(session)
            .bind(item)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.db(e))?;
        if let Some(row) = held {
            let (other, other_token, live): (String, String, bool) =
                (row.get(0), row.get(1), row.get::<i64, _>(2) != 0);
            if other_token != token && live {
                let seen = self.last_seq_in(tx, session).await?;
                return Ok(ClaimOutcome::Held(Held {
                    holder: other,
                    seen,
                }));
            }
        }
        sqlx::query(&format!("INSERT INTO claims (session_id, item, holder, token, expires_ms) VALUES ($1, $2, $3, $4, {now} + $5) ON CONFLICT (session_id, item) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires_ms = excluded.expires_ms"))
            .bind(session)
            .bind(item)
            .bind(holder)
            .bind(token)
            .bind(lease.as_millis() as i64)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(e))?;
        note_taken(self, session, Some(item), token);
        Ok(ClaimOutcome::Granted)
    }

    /// Pushes the claim made with `token` `lease` into the future; false when it is no
    /// longer this token's (it lapsed and another process took it).
    pub async fn renew(
        &self,
        session: &str,
        item: &str,
        token: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let mut turn = self.turn().await;
        let updated = sqlx::query(&format!("UPDATE claims SET expires_ms = {} + $1 WHERE session_id = $2 AND item = $3 AND token = $4", self.now_sql()))
            .bind(lease.as_millis() as i64)
            .bind(session)
            .bind(item)
            .bind(token)
            .execute(self.lenient_writer(&mut turn).await?)
            .await
            .map_err(|e| self.db(e))?;
        Ok(updated.rows_affected() > 0)
    }

    /// The claim on `item` of `session` now.
    pub async fn claim_state(&self, session: &str, item: &str) -> Result<ClaimState, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT holder, CAST(CASE WHEN expires_ms > {} THEN 1 ELSE 0 END AS BIGINT) FROM claims WHERE session_id = $1 AND item = $2",
            self.now_sql()
        ))
        .bind(session)
        .bind(item)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        Ok(match row {
            None => ClaimState::Free,
            Some(row) if row.get::<i64, _>(1) != 0 => ClaimState::Live(row.get(0)),
            Some(row) => ClaimState::Lapsed(row.get(0)),
        })
    }

    /// The items of `session` someone runs now, with who.
    pub async fn live_claims(&self, session: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT item, holder FROM claims WHERE session_id = $1 AND expires_ms > {} ORDER BY item",
            self.now_sql()
        ))
        .bind(session)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The latest result recorded for `item` of `session` after event `since`.
    pub async fn result_since(
        &self,
        session: &str,
        item: &str,
        since: i64,
    ) -> Result<Option<Outcome>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.db(e))?;
        latest_result(&mut conn, session, item, since)
            .await
            .map_err(|e| self.db(e))
    }

    /// The number of the session's last event (0 when it has none).
    pub async fn last_seq(&self, session: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events WHERE session_id = $1")
            .bind(session)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.db(e))
    }

    /// Releases a claim made with `token` (a run that ended without a result to record).
    pub async fn release(&self, session: &str, item: &str, token: &str) -> Result<(), StoreError> {
        let mut turn = self.turn().await;
        let conn = self.lenient_writer(&mut turn).await?;
        release_in(conn, session, item, token)
            .await
            .map_err(|e| self.db(e))
    }

    /// Holds (or renews) a presence lease of `holder` on `session` for `lease`.
    pub async fn attend(
        &self,
        session: &str,
        holder: &str,
        token: &str,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let mut turn = self.turn().await;
        sqlx::query(&format!("INSERT INTO presence (session_id, token, holder, expires_ms) VALUES ($1, $2, $3, {} + $4) ON CONFLICT (session_id, token) DO UPDATE SET expires_ms = excluded.expires_ms", self.now_sql()))
            .bind(session)
            .bind(token)
            .bind(holder)
            .bind(lease.as_millis() as i64)
            .execute(self.lenient_writer(&mut turn).await?)
            .await
            .map_err(|e| self.db(e))?;
        note_taken(self, session, None, token);
        Ok(())
    }

    /// Gives a presence lease up.
    pub async fn leave(&self, session: &str, token: &str) -> Result<(), StoreError> {
        let mut turn = self.turn().await;
        leave_in(self.lenient_writer(&mut turn).await?, session, token)
            .await
            .map_err(|e| self.db(e))
    }

    /// The operators attached to `session` now: the holders of live presence leases.
    pub async fn attached(&self, session: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(&format!("SELECT DISTINCT holder FROM presence WHERE session_id = $1 AND expires_ms > {} ORDER BY holder", self.now_sql()))
            .bind(session)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db(e))
    }
}

/// Gives up the presence lease `token` of `session` on `conn` (in its transaction, when
/// it is one).
pub(crate) async fn leave_in(
    conn: &mut sqlx::AnyConnection,
    session: &str,
    token: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM presence WHERE session_id = $1 AND token = $2")
        .bind(session)
        .bind(token)
        .execute(conn)
        .await?;
    Ok(())
}

/// The latest result of an item after an event: one row read through an index however
/// long the session is.
pub const LATEST_RESULT_SQL: &str = "SELECT actor, payload FROM events WHERE session_id = $1 AND item = $2 AND seq > $3 ORDER BY seq DESC LIMIT 1";

/// The latest result recorded for `item` of `session` after event `since`.
pub(crate) async fn latest_result(
    conn: &mut sqlx::AnyConnection,
    session: &str,
    item: &str,
    since: i64,
) -> Result<Option<Outcome>, sqlx::Error> {
    let row = sqlx::query(LATEST_RESULT_SQL)
        .bind(session)
        .bind(item)
        .bind(since)
        .fetch_optional(conn)
        .await?;
    Ok(row.and_then(|row| outcome_of(item, &row.get::<String, _>(0), &row.get::<String, _>(1))))
}

/// The outcome a stored result of `item` says. The `item` column is an index: the payload,
/// which the chain covers, has the last word.
fn outcome_of(item: &str, actor: &str, payload: &str) -> Option<Outcome> {
    let body = Body::join("result", payload)?;
    let (done, outcome) = Outcome::of_result(body, actor)?;
    (done == item).then_some(outcome)
}

/// (item, token) pairs as a JSON array of two-element arrays (see [`Store::json_rows`]).
fn json_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    serde_json::Value::from(
        pairs
            .map(|(item, token)| serde_json::json!([item, token]))
            .collect::<Vec<_>>(),
    )
    .to_string()
}

/// Gives up the claims (item, token) of `session` whose tokens still hold them, in one
/// statement (`rows` is [`Store::json_rows`] of its second parameter).
pub(crate) async fn release_all(
    conn: &mut sqlx::AnyConnection,
    rows: &str,
    session: &str,
    releases: &[(String, String)],
) -> Result<(), sqlx::Error> {
    if releases.is_empty() {
        return Ok(());
    }
    let pairs = json_pairs(releases.iter().map(|(i, t)| (i.as_str(), t.as_str())));
    let statement = format!("DELETE FROM claims WHERE session_id = $1 AND (item, token) IN (SELECT value ->> 0, value ->> 1 FROM {rows})");
    sqlx::query(&statement)
        .bind(session)
        .bind(pairs)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the claim made with `token`, within a transaction or on a connection.
pub(crate) async fn release_in(
    conn: &mut sqlx::AnyConnection,
    session: &str,
    item: &str,
    token: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM claims WHERE session_id = $1 AND item = $2 AND token = $3")
        .bind(session)
        .bind(item)
        .bind(token)
        .execute(conn)
        .await
        .map(|_| ())
}
