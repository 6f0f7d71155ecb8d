//! The database way: a probe user and a session row in the Auth.js adapter's tables, made
//! for one request and removed after it whatever happened. The schema has no creation time,
//! so the probe's address carries it (`relcon-probe-<unix time>-<random>@example.invalid`)
//! and each run sweeps probes over an hour old that an earlier run could not remove.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnection;
use sqlx::Row as _;

use crate::checks::pg::quote_ident;

/// Probes older than this are an earlier run's leftovers.
const STALE_AFTER_SECS: i64 = 3600;

/// What a probe address looks like, as a PostgreSQL regular expression capturing its time.
const ADDRESS: &str = r"^relcon-probe-([0-9]+)-[0-9a-f]+@example\.invalid$";

/// A probe user and its session token.
pub struct Probe {
    /// The probe user's address (unique to this run).
    pub email: String,
    /// The session row's token: a credential while the row exists.
    pub token: String,
}

impl Probe {
    /// A fresh probe, its address stamped with the time.
    pub fn new() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            email: format!(
                "relcon-probe-{now}-{}@example.invalid",
                hex::encode(rand::random::<[u8; 4]>())
            ),
            token: hex::encode(rand::random::<[u8; 32]>()),
        }
    }
}

/// The adapter's tables in `schema`.
pub struct Tables {
    users: String,
    sessions: String,
}

impl Tables {
    /// `users` and `sessions` in `schema`.
    pub fn new(schema: &str) -> Self {
        Self {
            users: format!("{}.users", quote_ident(schema)),
            sessions: format!("{}.sessions", quote_ident(schema)),
        }
    }

    /// Removes the probes of earlier runs that are over an hour old; how many users went.
    pub async fn sweep(&self, conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
        let stale = format!(
            "SELECT id FROM {users} WHERE email ~ $1 \
             AND substring(email from $1)::bigint < extract(epoch from now())::bigint - $2",
            users = self.users
        );
        sqlx::query(&format!(
            "DELETE FROM {} WHERE \"userId\" IN ({stale})",
            self.sessions
        ))
        .bind(ADDRESS)
        .bind(STALE_AFTER_SECS)
        .execute(&mut *conn)
        .await?;
        let users = sqlx::query(&format!("DELETE FROM {} WHERE id IN ({stale})", self.users))
            .bind(ADDRESS)
            .bind(STALE_AFTER_SECS)
            .execute(&mut *conn)
            .await?;
        Ok(users.rows_affected())
    }

    /// Inserts the probe user and its session, living `lifetime`; the user's id as text.
    /// Ids may be serial, bigint, uuid or text; one without a default (an ORM that makes
    /// ids in the app) gets a random uuid.
    pub async fn insert(
        &self,
        conn: &mut PgConnection,
        schema: &str,
        probe: &Probe,
        lifetime: Duration,
    ) -> Result<String, sqlx::Error> {
        let user_id = id_column(conn, schema, "users").await?;
        let session_id = id_column(conn, schema, "sessions").await?;
        let row = sqlx::query(&format!(
            "INSERT INTO {} (name, email{}) VALUES ('relcon probe', $1{}) RETURNING id::text",
            self.users, user_id.0, user_id.1
        ))
        .bind(&probe.email)
        .fetch_one(&mut *conn)
        .await?;
        let id: String = row.try_get(0)?;
        sqlx::query(&format!(
            "INSERT INTO {} (\"userId\", expires, \"sessionToken\"{}) \
             SELECT id, now() + make_interval(secs => $2), $3{} FROM {} WHERE id::text = $1",
            self.sessions, session_id.0, session_id.1, self.users
        ))
        .bind(&id)
        .bind(lifetime.as_secs_f64())
        .bind(&probe.token)
        .execute(&mut *conn)
        .await?;
        Ok(id)
    }

    /// Removes the probe's sessions (by user: Auth.js may have extended or replaced the
    /// row) and the probe user; how many rows went.
    pub async fn remove(&self, conn: &mut PgConnection, email: &str) -> Result<u64, sqlx::Error> {
        let sessions = sqlx::query(&format!(
            "DELETE FROM {} WHERE \"userId\" IN (SELECT id FROM {} WHERE email = $1)",
            self.sessions, self.users
        ))
        .bind(email)
        .execute(&mut *conn)
        .await?;
        let users = sqlx::query(&format!("DELETE FROM {} WHERE email = $1", self.users))
            .bind(email)
            .execute(&mut *conn)
            .await?;
        Ok(sessions.rows_affected() + users.rows_affected())
    }
}

/// The extra column and value an insert into `table` needs for its id: none when the id
/// has a default, else a random uuid in the column's type.
async fn id_column(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<(&'static str, &'static str), sqlx::Error> {
    let row = sqlx::query(
        "SELECT data_type, column_default IS NOT NULL OR is_identity = 'YES' \
         FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name = $2 AND column_name = 'id'",
    )
    .bind(schema)
    .bind(table)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(("", ""));
    };
    let (data_type, has_default): (String, bool) = (row.try_get(0)?, row.try_get(1)?);
    Ok(match (has_default, data_type.as_str()) {
        (true, _) => ("", ""),
        (false, "uuid") => (", id", ", gen_random_uuid()"),
        (false, _) => (", id", ", gen_random_uuid()::text"),
    })
}
