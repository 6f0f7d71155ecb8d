//! Opening a store's pool: a SQLite file checked and made its owner's alone, a PostgreSQL
//! server asked once plainly before a pool retries.

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};

use super::{StoreError, CONNECT_TIMEOUT};
use crate::dburl::{self, Location};

/// A SQLite store file is made only readable by its owner from the start (it holds the
/// fingerprint key and every result), and an existing one must start as a SQLite database
/// does. True when it has content, which [`lenient_sqlite`] then checks opens.
pub(super) fn check_sqlite_file(location: &Location) -> Result<bool, StoreError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::path::Path::new(location.path.as_deref().unwrap_or_default());
    let not_sqlite = |why: String| StoreError::NotSqlite {
        url: location.shown.clone(),
        why,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| not_sqlite(e.to_string()))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(false),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        // Opening it says why better (a directory missing, permissions).
        Err(_) => return Ok(false),
    }
    let mut header = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(16).read_to_end(&mut header);
    }
    if !header.is_empty() && header != b"SQLite format 3\0" {
        return Err(not_sqlite(format!(
            "{} does not start with the SQLite header",
            path.display()
        )));
    }
    Ok(!header.is_empty())
}

pub(super) async fn open_sqlite(location: &Location) -> Result<AnyPool, sqlx::Error> {
    let path = location.path.as_deref().unwrap_or_default();
    if let Some(parent) = std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        // A connection to a local file does not go stale: pinging it before each use is a
        // round trip to its thread for nothing.
        .test_before_acquire(false)
        .after_connect(|conn, _| {
            Box::pin(async move {
                // WAL lets readers work while a writer commits; FULL makes a commit survive
                // the process being killed the moment after; writers wait their turn.
                conn.execute(
                    "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                )
                .await
                .map(|_| ())
            })
        })
        .connect(&location.connect)
        .await?;
    // The store holds the fingerprint key and every result: its owner alone reads it.
    for file in [
        path.to_string(),
        format!("{path}-wal"),
        format!("{path}-shm"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        if std::path::Path::new(&file).exists() {
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
    }
    Ok(pool)
}

/// A SQLite store's connection for leases and markers (claims, presence, a run's start):
/// its commits do not wait for the disk (synchronous = NORMAL). The write-ahead log keeps
/// them in order, so the next durable commit takes them to the disk with it; a crash of
/// the machine loses only leases, whose holders it takes too. Its pool holds only it, and
/// the store keeps it; it is made first-hand, not through the pool's set-up (a pool tries
/// again a file that will not open until its timeout), so that an `existing` file that is
/// not a SQLite database (or is damaged) is said at once.
pub(super) async fn lenient_sqlite(
    location: &Location,
    existing: bool,
) -> Result<(AnyPool, PoolConnection<Any>), StoreError> {
    let failed = |source: sqlx::Error| match existing {
        true => StoreError::NotSqlite {
            url: location.shown.clone(),
            why: source.to_string(),
        },
        false => StoreError::Database {
            url: location.shown.clone(),
            source,
        },
    };
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_lazy(&location.connect)
        .map_err(failed)?;
    let mut conn = pool.acquire().await.map_err(failed)?;
    // The write-ahead log is the pool's to switch on (it persists in the file): two new
    // connections switching at once would deadlock, and one is refused without waiting.
    conn.execute(
        "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .await
    .map_err(failed)?;
    sqlx::query("SELECT count(*) FROM sqlite_master")
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    Ok((pool, conn))
}

pub(super) async fn open_postgres(location: &Location) -> Result<AnyPool, StoreError> {
    let unreachable = |why: String| StoreError::Unreachable {
        url: location.shown.clone(),
        why,
    };
    // One connection first, so that a refused connection or a wrong password is said at
    // once and plainly (a pool would retry until its timeout and say only that).
    match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(&location.connect)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
        }
        Ok(Err(err)) => return Err(unreachable(dburl::connect_error(&err))),
        Err(_) => {
            return Err(unreachable(format!(
                "no answer within {}",
                humantime::format_duration(CONNECT_TIMEOUT)
            )))
        }
    }
    AnyPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect(&location.connect)
        .await
        .map_err(|err| unreachable(dburl::connect_error(&err)))
}
