//! The database way: a probe user and a session row in the Auth.js adapter's tables, made
//! for one request and removed after it whatever happened. The schema has no creation time,
//! so the probe's address carries it (`relcon-probe-<unix time>-<random>@example.invalid`)
//! and each run sweeps probes over an hour old that an earlier run could not remove.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Row as _};

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

/// The adapter's users and sessions tables in a schema.
#[derive(Debug, Clone)]
pub struct Tables {
    schema: String,
    names: [String; 2],
    users: String,
    sessions: String,
}

impl Tables {
    /// The tables `users` and `sessions` in `schema` (the pg adapter's `users`/`sessions`,
    /// Prisma's `User`/`Session`, Drizzle's `user`/`session`).
    pub fn new(schema: &str, users: &str, sessions: &str) -> Self {
        Self {
            schema: schema.to_string(),
            names: [users.to_string(), sessions.to_string()],
            users: format!("{}.{}", quote_ident(schema), quote_ident(users)),
            sessions: format!("{}.{}", quote_ident(schema), quote_ident(sessions)),
        }
    }

    /// How the evidence and messages name them.
    pub fn shown(&self) -> String {
        format!(
            "{schema}.{}/{schema}.{}",
            self.names[0],
            self.names[1],
            schema = self.schema
        )
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

    /// Inserts the probe user and its session, living `lifetime`, in one transaction (cut
    /// off, it leaves nothing); the user's id as text. Ids may be serial, bigint, uuid or
    /// text; columns the app fills itself (an ORM's ids and `updatedAt`) get a random
    /// uuid or the time.
    pub async fn insert(
        &self,
        conn: &mut PgConnection,
        probe: &Probe,
        lifetime: Duration,
    ) -> Result<String, sqlx::Error> {
        let user_extra = self
            .app_filled(conn, &self.names[0], &["name", "email"])
            .await?;
        let session_extra = self
            .app_filled(conn, &self.names[1], &["userId", "expires", "sessionToken"])
            .await?;
        let mut tx = conn.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO {} (name, email{}) VALUES ('relcon probe', $1{}) RETURNING id::text",
            self.users, user_extra.0, user_extra.1
        ))
        .bind(&probe.email)
        .fetch_one(&mut *tx)
        .await?;
        let id: String = row.try_get(0)?;
        sqlx::query(&format!(
            "INSERT INTO {} (\"userId\", expires, \"sessionToken\"{}) \
             SELECT id, now() + make_interval(secs => $2), $3{} FROM {} WHERE id::text = $1",
            self.sessions, session_extra.0, session_extra.1, self.users
        ))
        .bind(&id)
        .bind(lifetime.as_secs_f64())
        .bind(&probe.token)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The columns of `table` an insert must fill besides `given` (NOT NULL, no default),
    /// as extra column names and values: a random uuid for an id, the time for a
    /// timestamp. Another such column is an error that names it.
    async fn app_filled(
        &self,
        conn: &mut PgConnection,
        table: &str,
        given: &[&str],
    ) -> Result<(String, String), sqlx::Error> {
        let rows = sqlx::query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 AND is_nullable = 'NO' \
             AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER' \
             ORDER BY ordinal_position",
        )
        .bind(&self.schema)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
        let (mut columns, mut values) = (String::new(), String::new());
        for row in rows {
            let (column, data_type): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            if given.contains(&column.as_str()) {
                continue;
            }
            let value = match data_type.as_str() {
                "uuid" => "gen_random_uuid()",
                "text" | "character varying" if column == "id" => "gen_random_uuid()::text",
                t if t.starts_with("timestamp") || t == "date" => "now()",
                _ => {
                    return Err(sqlx::Error::Protocol(format!(
                        "{table}.{column} ({data_type}) must be filled and has no default: relcon cannot make a probe row"
                    )))
                }
            };
            columns.push_str(&format!(", {}", quote_ident(&column)));
            values.push_str(&format!(", {value}"));
        }
        Ok((columns, values))
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

/// Removes a probe's rows from a task of its own when the check is dropped before it could
/// (the engine gives up on a check a little after its deadline): armed until cleanup ran.
pub struct Guard {
    options: Option<sqlx::postgres::PgConnectOptions>,
    tables: Tables,
    email: String,
}

impl Guard {
    /// A guard for `probe` in `tables`, reached with `options`.
    pub fn new(options: sqlx::postgres::PgConnectOptions, tables: &Tables, probe: &Probe) -> Self {
        Self {
            options: Some(options),
            tables: tables.clone(),
            email: probe.email.clone(),
        }
    }

    /// Cleanup ran: nothing left to do.
    pub fn disarm(&mut self) {
        self.options = None;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let (Some(options), Ok(runtime)) =
            (self.options.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let (tables, email) = (self.tables.clone(), std::mem::take(&mut self.email));
        runtime.spawn(async move {
            use sqlx::Connection as _;
            let work = async {
                let mut conn = PgConnection::connect_with(&options).await.ok()?;
                tables.remove(&mut conn, &email).await.ok()
            };
            let _ = tokio::time::timeout(Duration::from_secs(10), work).await;
        });
    }
}
