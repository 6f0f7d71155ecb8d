//! Locks a migration takes on tables that existed before it, and for how long: what a
//! verify holds on live tables, said in the evidence.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::json;
use sqlx::postgres::PgConnection;

/// Locks this transaction takes on tables that existed before it: when each was first seen
/// and the strongest mode, so that the evidence says how long live tables were held.
pub(super) struct Locks {
    existing: HashMap<i64, String>,
    seen: BTreeMap<String, (Instant, String)>,
}

/// Lock modes, weakest first.
const MODES: &[&str] = &[
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

impl Locks {
    pub(super) async fn existing(conn: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT c.oid::int8, CASE WHEN n.nspname = 'public' THEN '' ELSE n.nspname || '.' END || c.relname
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'",
        )
        .fetch_all(conn)
        .await?;
        Ok(Self {
            existing: rows.into_iter().collect(),
            seen: BTreeMap::new(),
        })
    }

    /// Takes in the locks held after a statement that started at `started` (a lock is held
    /// from the start of the statement that took it).
    pub(super) async fn observe(
        &mut self,
        conn: &mut PgConnection,
        started: Instant,
    ) -> Result<(), sqlx::Error> {
        if self.existing.is_empty() {
            return Ok(());
        }
        let oids: Vec<i64> = self.existing.keys().copied().collect();
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT relation::int8, mode FROM pg_locks
             WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted
               AND relation::int8 = ANY($1)",
        )
        .bind(&oids)
        .fetch_all(conn)
        .await?;
        for (oid, mode) in rows {
            let Some(table) = self.existing.get(&oid) else {
                continue;
            };
            let rank = |m: &str| MODES.iter().position(|x| *x == m).unwrap_or(0);
            let entry = self
                .seen
                .entry(table.clone())
                .or_insert((started, mode.clone()));
            if rank(&mode) > rank(&entry.1) {
                entry.1 = mode;
            }
        }
        Ok(())
    }

    /// Each table's lock, longest held first, ended at `end`.
    pub(super) fn held(&self, end: Instant) -> Vec<serde_json::Value> {
        let mut held: Vec<(&String, &(Instant, String))> = self.seen.iter().collect();
        held.sort_by_key(|(_, (since, _))| *since);
        held.into_iter()
            .map(|(table, (since, mode))| {
                json!({
                    "table": table,
                    "mode": mode,
                    "held_ms": end.duration_since(*since).as_millis() as u64,
                })
            })
            .collect()
    }
}
