//! Appending to a session's log: one event, a burst of them in one commit, or one decided
//! from the session as it is with every other writer kept out; each follows the last hash,
//! and a closed session takes only records about it.

use sqlx::{Any, Row};

use super::{leases, Stamp, Store, StoreError, CLOSED_SQL, LAST_EVENT_SQL};
use super::{read_events, verified_state};
use crate::session::chain::{canonical, hash, GENESIS};
use crate::session::rules::{self, Refused};
use crate::session::{Body, SessionState, StoredEvent, Timestamp};

/// Whether an event only marks a moment that nobody is told of as a fact (a run started, an
/// operator joined or left): its commit need not wait for the disk, since the next durable
/// commit (a result's, a sign-off's, the close's) takes it there too.
pub(crate) fn is_marker(body: &Body) -> bool {
    matches!(
        body,
        Body::RunStarted { .. } | Body::SessionJoined {} | Body::SessionLeft {}
    )
}

/// Where a session's log ends: what the next event follows.
struct Tail {
    /// The last event's sequence number (0: none).
    seq: i64,
    /// The last event's hash.
    prev: String,
    /// Whether the session is closed.
    closed: bool,
}

impl Tail {
    /// A log with no events yet.
    fn genesis() -> Tail {
        Tail {
            seq: 0,
            prev: GENESIS.to_string(),
            closed: false,
        }
    }

    /// Where the log `session` was folded from ends.
    fn of(session: &SessionState) -> Tail {
        Tail {
            seq: session.head.count,
            prev: session.head.hash.clone(),
            closed: session.closed.is_some(),
        }
    }
}

impl Store {
    /// Starts a session: its row and its first event, in one transaction (a marker's: see
    /// [`is_marker`]).
    pub async fn create_session(
        &self,
        id: &str,
        actor: &str,
        body: &Body,
    ) -> Result<StoredEvent, StoreError> {
        let Body::SessionStarted {
            checklist,
            environment,
            ..
        } = body
        else {
            return Err(StoreError::NoSession(id.to_string()));
        };
        let mut turn = self.turn().await;
        // Nobody is told of a fact by a session's start: it reaches the disk with the first
        // durable commit in it (a result, a sign-off), which syncs the log up to there.
        let mut tx = self.write_lenient(&mut turn, id).await?;
        sqlx::query("INSERT INTO sessions (id, checklist_id, checklist_sha256, environment, started_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(&checklist.id)
            .bind(&checklist.sha256)
            .bind(environment)
            .bind(Timestamp::now().seconds())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db(e))?;
        // A session just made has no log yet (its row would not have gone in otherwise):
        // its first event follows the genesis, with nothing to read.
        let mut tail = Tail::genesis();
        let mut events = self.chain(id, actor, std::slice::from_ref(body), &mut tail, None)?;
        self.insert(&mut tx, id, actor, &events, std::iter::once(body))
            .await?;
        tx.commit().await.map_err(|e| self.db(e))?;
        events
            .pop()
            .ok_or_else(|| StoreError::NoSession(id.to_string()))
    }

    /// Appends an event and commits it; returns it once it is durable (a marker: once it is
    /// committed, see [`is_marker`]). A closed session accepts nothing more.
    pub async fn append(
        &self,
        session: &str,
        actor: &str,
        body: &Body,
    ) -> Result<StoredEvent, StoreError> {
        let mut turn = self.turn().await;
        let mut tx = match is_marker(body) {
            true => self.write_lenient(&mut turn, session).await?,
            false => self.write(&mut turn, session).await?,
        };
        let event = self.append_in(&mut tx, session, actor, body).await?;
        tx.commit().await.map_err(|e| self.db(e))?;
        Ok(event)
    }

    /// Appends several events in one transaction (one commit, one fsync; none for markers
    /// alone): what arrives together is acknowledged together. The claims in `releases` (item, token) end in the
    /// same commit as the results they were taken for, so nobody sees an item neither
    /// claimed nor finished.
    pub async fn append_many(
        &self,
        session: &str,
        actor: &str,
        bodies: &[Body],
        releases: &[(String, String)],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if bodies.is_empty() && releases.is_empty() {
            return Ok(Vec::new());
        }
        let mut turn = self.turn().await;
        let mut tx = if releases.is_empty() && bodies.iter().all(is_marker) {
            self.write_lenient(&mut turn, session).await?
        } else {
            self.write(&mut turn, session).await?
        };
        let events = self
            .append_all(&mut tx, session, actor, bodies, None)
            .await?;
        leases::release_all(&mut tx, &self.json_rows("$2"), session, releases)
            .await
            .map_err(|e| self.db(e))?;
        tx.commit().await.map_err(|e| self.db(e))?;
        Ok(events)
    }

    async fn append_in(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        session: &str,
        actor: &str,
        body: &Body,
    ) -> Result<StoredEvent, StoreError> {
        self.append_stamped(tx, session, actor, body, None).await
    }

    /// [`Store::append_in`], with the time and the event it follows given by `stamp` (what
    /// a signature covers): the event is appended only if the log still ends there.
    async fn append_stamped(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        session: &str,
        actor: &str,
        body: &Body,
        stamp: Option<&Stamp>,
    ) -> Result<StoredEvent, StoreError> {
        let mut events = self
            .append_all(tx, session, actor, std::slice::from_ref(body), stamp)
            .await?;
        events
            .pop()
            .ok_or_else(|| StoreError::NoSession(session.to_string()))
    }

    /// Appends `bodies` in order within `tx`: the log's end and whether the session is
    /// closed are read once, and the events go in with one statement, so a burst of results
    /// costs three statements, not three each. With `stamp`, the first event gets its time
    /// and must follow its hash.
    async fn append_all(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        session: &str,
        actor: &str,
        bodies: &[Body],
        stamp: Option<&Stamp>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut tail = self.tail(tx, session, bodies).await?;
        if let Some(stamp) = stamp.filter(|s| s.after != tail.prev) {
            return Err(StoreError::Moved {
                session: session.to_string(),
                expected: stamp.after.clone(),
            });
        }
        let events = self.chain(session, actor, bodies, &mut tail, stamp)?;
        self.insert(tx, session, actor, &events, bodies.iter())
            .await?;
        Ok(events)
    }

    /// Where `session`'s log ends, read within `tx`; whether it is closed is asked only
    /// when `bodies` hold something a closed session refuses.
    async fn tail(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        session: &str,
        bodies: &[Body],
    ) -> Result<Tail, StoreError> {
        let last = sqlx::query(LAST_EVENT_SQL)
            .bind(session)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| self.db(e))?;
        let (seq, prev) = match last {
            Some(row) => (row.get::<i64, _>(0), row.get::<String, _>(1)),
            None => (0, GENESIS.to_string()),
        };
        let mut closed = false;
        if seq > 0 && bodies.iter().any(|b| !rules::accepts_when_closed(b.kind())) {
            let found: Option<i64> = sqlx::query_scalar(CLOSED_SQL)
                .bind(session)
                .fetch_optional(&mut **tx)
                .await
                .map_err(|e| self.db(e))?;
            closed = found.is_some();
        }
        Ok(Tail { seq, prev, closed })
    }

    /// `bodies` as the events that follow `tail` (which moves past them), hashed into the
    /// chain; with `stamp`, the first one gets its time. A closed session takes only what
    /// [`rules::accepts_when_closed`].
    fn chain(
        &self,
        session: &str,
        actor: &str,
        bodies: &[Body],
        tail: &mut Tail,
        stamp: Option<&Stamp>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let decode = |e: serde_json::Error| self.db(sqlx::Error::Decode(e.into()));
        let mut events = Vec::with_capacity(bodies.len());
        for (n, body) in bodies.iter().enumerate() {
            if tail.closed && !rules::accepts_when_closed(body.kind()) {
                return Err(StoreError::Closed(session.to_string()));
            }
            let (kind, payload) = body.split().map_err(decode)?;
            let payload = canonical(&payload).map_err(decode)?;
            tail.seq += 1;
            let at = match stamp.filter(|_| n == 0) {
                Some(stamp) => stamp.at.clone(),
                None => Timestamp::now().millis(),
            };
            let event_hash = hash(session, tail.seq, &at, actor, &kind, &payload, &tail.prev);
            tail.closed |= matches!(body, Body::SessionClosed { .. });
            events.push(StoredEvent {
                session: session.to_string(),
                seq: tail.seq,
                at,
                actor: actor.to_string(),
                kind,
                payload_json: payload,
                prev_hash: std::mem::replace(&mut tail.prev, event_hash.clone()),
                hash: event_hash,
            });
        }
        Ok(events)
    }

    /// Inserts `events` (made of `bodies`, in order) with one statement for any burst: its
    /// rows go in as one JSON array, so the statement's text never changes (it is prepared
    /// once per connection) and it carries three parameters, not nine per row.
    async fn insert<'b>(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        session: &str,
        actor: &str,
        events: &[StoredEvent],
        bodies: impl Iterator<Item = &'b Body>,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = events
            .iter()
            .zip(bodies)
            .map(|(event, body)| {
                let item = match body {
                    Body::Result { item, .. } => Some(item.as_str()),
                    _ => None,
                };
                serde_json::json!([
                    event.seq,
                    event.at,
                    event.kind,
                    event.payload_json,
                    event.prev_hash,
                    event.hash,
                    item
                ])
            })
            .collect();
        let statement = format!("INSERT INTO events (session_id, seq, at, actor, type, payload, prev_hash, hash, item) SELECT $1, CAST(value ->> 0 AS BIGINT), value ->> 1, $2, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 FROM {}", self.json_rows("$3"));
        sqlx::query(&statement)
            .bind(session)
            .bind(actor)
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut **tx)
            .await
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// `known` brought up to date (see [`Store::follow_log`]), `leading` appended (with the
    /// claims in `releases` ended, as [`Store::append_many`] does, and the presence lease
    /// `presence` given up), then the events `decide` makes of the session after them, all
    /// in one durable commit, with every other writer of the session kept out in between:
    /// what is decided from the session is still true when it is written. The session after them, and the events appended (none: nothing
    /// is written).
    pub async fn append_following(
        &self,
        known: SessionState,
        actor: &str,
        leading: &[Body],
        releases: &[(String, String)],
        presence: Option<&str>,
        decide: impl FnOnce(&SessionState) -> Vec<Body>,
    ) -> Result<(SessionState, Vec<StoredEvent>), StoreError> {
        let id = known.id.clone();
        let mut turn = self.turn().await;
        let mut tx = self.write(&mut turn, &id).await?;
        let mut now = self.follow_log(&mut tx, known).await?;
        // The log as just read, within this transaction, is where the events go: they are
        // chained here and inserted together, without reading its end again.
        let mut tail = Tail::of(&now);
        let mut events = self.chain(&id, actor, leading, &mut tail, None)?;
        for event in &events {
            now.follow(event)?;
        }
        let decided = decide(&now);
        let more = self.chain(&id, actor, &decided, &mut tail, None)?;
        for event in &more {
            now.follow(event)?;
        }
        events.extend(more);
        if events.is_empty() && releases.is_empty() && presence.is_none() {
            return Ok((now, events));
        }
        self.insert(&mut tx, &id, actor, &events, leading.iter().chain(&decided))
            .await?;
        leases::release_all(&mut tx, &self.json_rows("$2"), &id, releases)
            .await
            .map_err(|e| self.db(e))?;
        if let Some(token) = presence {
            leases::leave_in(&mut tx, &id, token)
                .await
                .map_err(|e| self.db(e))?;
        }
        tx.commit().await.map_err(|e| self.db(e))?;
        Ok((now, events))
    }

    /// Appends the event `decide` makes of the session as it is at that moment, with every
    /// other writer of the session kept out in between: a rule such as "one sign-off per
    /// person" holds however many processes sign at once. `decide` refusing is
    /// [`StoreError::Refused`].
    pub async fn append_decided(
        &self,
        session: &str,
        actor: &str,
        decide: impl FnOnce(&SessionState) -> Result<Body, Refused>,
    ) -> Result<StoredEvent, StoreError> {
        self.decide_and_append(session, actor, None, decide).await
    }

    /// [`Store::append_decided`] for an event signed over its place in the log: it gets
    /// `stamp`'s time and is appended only if the log still ends at `stamp.after`, else
    /// [`StoreError::Moved`].
    pub async fn append_decided_at(
        &self,
        session: &str,
        actor: &str,
        stamp: &Stamp,
        decide: impl FnOnce(&SessionState) -> Result<Body, Refused>,
    ) -> Result<StoredEvent, StoreError> {
        self.decide_and_append(session, actor, Some(stamp), decide)
            .await
    }

    async fn decide_and_append(
        &self,
        session: &str,
        actor: &str,
        stamp: Option<&Stamp>,
        decide: impl FnOnce(&SessionState) -> Result<Body, Refused>,
    ) -> Result<StoredEvent, StoreError> {
        let mut turn = self.turn().await;
        let mut tx = self.write(&mut turn, session).await?;
        let events = read_events(&mut tx, session, 0)
            .await
            .map_err(|e| self.db(e))?;
        let folded = verified_state(session, &events, self.expect.as_ref())?;
        if let Some(stamp) = stamp.filter(|s| s.after != folded.head.hash) {
            return Err(StoreError::Moved {
                session: session.to_string(),
                expected: stamp.after.clone(),
            });
        }
        let body = decide(&folded)?;
        let event = self
            .append_stamped(&mut tx, session, actor, &body, stamp)
            .await?;
        tx.commit().await.map_err(|e| self.db(e))?;
        Ok(event)
    }
}
