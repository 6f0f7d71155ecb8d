//! The demo's database: on a local PostgreSQL, when one is reachable, a scratch database
//! with an owner role that applied the demo's copy of the Auth.js migration (as an earlier
//! release did) and a DML-only app role, as a least-privileged deployment has them. All of
//! it is dropped when the demo ends.

use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Executor as _};

/// The demo's copy of the migration the shipped checklist runs.
pub const MIGRATION: &str = include_str!("../../assets/create_authjs_tables.sql");

/// Where the shipped checklist looks for the migration, under `--root`.
pub const MIGRATION_PATH: &str = "services/backend/migrations/create_authjs_tables.sql";

/// How long a server may take to answer.
const CONNECT: Duration = Duration::from_secs(3);

/// The variable that names the server to use instead of the usual local ones.
pub const SERVER_VARIABLE: &str = "RELCON_DEMO_PG";

/// A scratch database and its two roles.
pub struct DemoDatabase {
    admin: String,
    name: String,
    roles: [String; 2],
    /// The owner role's URL (migrations).
    pub owner_url: String,
    /// The app role's URL (DML only).
    pub app_url: String,
}

/// The servers tried, in order: the one named by [`SERVER_VARIABLE`], else the usual
/// local ones.
fn candidates() -> Vec<String> {
    if let Ok(url) = std::env::var(SERVER_VARIABLE) {
        return vec![url];
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "postgres".into());
    vec![
        "postgres://postgres@127.0.0.1:5432/postgres".into(),
        "postgres://postgres@localhost/postgres?host=/var/run/postgresql".into(),
        format!("postgres://{user}@localhost/postgres?host=/var/run/postgresql"),
    ]
}

fn random_hex(len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(rand::random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

impl DemoDatabase {
    /// Makes the database on the first reachable server, or says why there is none.
    pub async fn start() -> Result<Self, String> {
        let mut tried = Vec::new();
        for given in candidates() {
            // Off this machine, the server is reached with verified TLS only, as every
            // database relcon talks to.
            let admin = match crate::dburl::parse(&given) {
                Ok(location) if location.path.is_none() => location.connect,
                Ok(_) => {
                    tried.push(format!("{given} is not a postgres:// URL"));
                    continue;
                }
                Err(err) => {
                    let said = err.to_string();
                    let said = said
                        .strip_prefix("store URL ")
                        .or_else(|| said.strip_prefix("store "))
                        .unwrap_or(&said);
                    tried.push(said.to_string());
                    continue;
                }
            };
            let connected = tokio::time::timeout(CONNECT, PgConnection::connect(&admin)).await;
            match connected {
                Ok(Ok(conn)) => return Self::make(admin, conn).await,
                Ok(Err(err)) => tried.push(format!(
                    "{}: {}",
                    crate::dburl::shown(&admin),
                    crate::dburl::connect_error(&err)
                )),
                Err(_) => tried.push(format!(
                    "{}: no answer within 3 s",
                    crate::dburl::shown(&admin)
                )),
            }
        }
        Err(tried.join("; "))
    }

    async fn make(admin: String, mut conn: PgConnection) -> Result<Self, String> {
        remove_stale(&mut conn).await;
        let name = format!("relcon_demo_{:x}_{}", now_secs(), random_hex(8));
        let (owner, app) = (format!("{name}_owner"), format!("{name}_app"));
        let (owner_pw, app_pw) = (random_hex(24), random_hex(24));
        let made = Self {
            owner_url: role_url(&admin, &owner, &owner_pw, &name)?,
            app_url: role_url(&admin, &app, &app_pw, &name)?,
            admin,
            name: name.clone(),
            roles: [owner.clone(), app.clone()],
        };
        let setup = format!(
            "CREATE ROLE {owner} LOGIN PASSWORD '{owner_pw}'; \
             CREATE ROLE {app} LOGIN PASSWORD '{app_pw}';"
        );
        let step = async {
            conn.execute(setup.as_str()).await?;
            conn.execute(format!("CREATE DATABASE {name} OWNER {owner}").as_str())
                .await?;
            conn.execute(format!("GRANT CONNECT ON DATABASE {name} TO {app}").as_str())
                .await?;
            Ok::<_, sqlx::Error>(())
        };
        let outcome = step.await;
        let _ = conn.close().await;
        if let Err(err) = outcome {
            made.remove().await;
            return Err(format!("cannot make the demo's database: {err}"));
        }
        // In the new database, the owner applies the migration and the app gets DML only.
        let grants = format!(
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
             GRANT USAGE, CREATE ON SCHEMA public TO {owner}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public \
               GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public \
               GRANT USAGE, SELECT ON SEQUENCES TO {app}; \
             SET ROLE {owner}; {MIGRATION}"
        );
        let applied = async {
            let url = db_url(&made.admin, &name)?;
            let mut conn = tokio::time::timeout(CONNECT, PgConnection::connect(&url))
                .await
                .map_err(|_| "no answer within 3 s".to_string())?
                .map_err(|e| crate::dburl::connect_error(&e))?;
            let result = conn
                .execute(grants.as_str())
                .await
                .map_err(|e| e.to_string());
            let _ = conn.close().await;
            result.map(|_| ())
        };
        if let Err(err) = applied.await {
            made.remove().await;
            return Err(format!("cannot prepare the demo's database: {err}"));
        }
        Ok(made)
    }

    /// The server the database is on, for messages.
    pub fn server(&self) -> String {
        crate::dburl::shown(&self.admin)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database and the roles.
    pub async fn remove(&self) {
        let Ok(Ok(mut conn)) =
            tokio::time::timeout(CONNECT, PgConnection::connect(&self.admin)).await
        else {
            return;
        };
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await;
        for role in &self.roles {
            let _ = conn
                .execute(format!("DROP ROLE IF EXISTS {role}").as_str())
                .await;
        }
        let _ = conn.close().await;
    }
}

/// Seconds since the epoch.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A demo's database older than this was left by a demo that was killed.
const STALE_AFTER_SECS: u64 = 24 * 3600;

/// When the demo database `name` was made (its name says so).
fn made_at(name: &str) -> Option<u64> {
    let (secs, _) = name.strip_prefix("relcon_demo_")?.split_once('_')?;
    u64::from_str_radix(secs, 16).ok()
}

/// Drops what demos killed before they could clean up left behind: their databases (when
/// nobody is connected) and roles, a day after they were made.
async fn remove_stale(conn: &mut PgConnection) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'relcon\\_demo\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    let now = now_secs();
    for name in names {
        if made_at(&name).is_none_or(|at| now.saturating_sub(at) <= STALE_AFTER_SECS) {
            continue;
        }
        if conn
            .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
            .await
            .is_ok()
        {
            for role in [format!("{name}_owner"), format!("{name}_app")] {
                let _ = conn
                    .execute(format!("DROP ROLE IF EXISTS {role}").as_str())
                    .await;
            }
        }
    }
}

/// The admin URL pointed at database `name`.
fn db_url(admin: &str, name: &str) -> Result<String, String> {
    let mut url = url::Url::parse(admin).map_err(|e| e.to_string())?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// The admin URL as `role` with `password`, on database `name`.
fn role_url(admin: &str, role: &str, password: &str, name: &str) -> Result<String, String> {
    let mut url = url::Url::parse(&db_url(admin, name)?).map_err(|e| e.to_string())?;
    url.set_username(role)
        .and_then(|()| url.set_password(Some(password)))
        .map_err(|()| format!("{} cannot take a user name", crate::dburl::shown(admin)))?;
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_database_says_when_it_was_made() {
        assert_eq!(made_at("relcon_demo_6a0f3c21_0123abcd"), Some(0x6a0f3c21));
        assert_eq!(made_at("relcon_demo_ed43aa3cdceb"), None);
        assert_eq!(made_at("shop"), None);
    }
}
