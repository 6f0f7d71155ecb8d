//! `sql.migration`: a migration file verified in a rolled-back transaction, or applied, with
//! expected tables and an idempotency proof.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Executor as _};

use super::sql_script::{self, Statement};
use super::{catalog, pg, CheckContext, RunFuture};
use super::{CheckResult, Stream};
use crate::checklist::spec::parse_duration;
use crate::status::Status;

#[derive(Debug, Deserialize)]
struct Config {
    connection: String,
    file: String,
    mode: Option<String>,
    #[serde(default)]
    prove_idempotent: bool,
    schema: Option<String>,
    #[serde(default)]
    expect_tables: Vec<ExpectedTable>,
    #[serde(default)]
    suggest: Vec<Suggestion>,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExpectedTable {
    name: String,
    schema: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Suggestion {
    table: String,
    unique: Option<Vec<String>>,
    foreign_key: Option<String>,
    references: Option<String>,
    note: Option<String>,
}

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        match ctx.config::<Config>() {
            Ok(config) => migrate(ctx, &config).await,
            Err(result) => result,
        }
    })
}

/// Files with up to this many statements show each one as it runs.
const SHOWN_STATEMENTS: usize = 100;

/// In longer files, statements that take this long are shown…
const SLOW_STATEMENT: Duration = Duration::from_millis(100);

/// …and a progress line every this many statements.
const PROGRESS_EVERY: usize = 250;

/// What the proof says of the tables whose rows it compared.
fn rows_of(tables: usize) -> String {
    match tables {
        0 => String::new(),
        n => format!(" and the rows of {}", count(n, "table")),
    }
}

/// `n` and `what`, plural when `n` is not 1.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Why a migration did not get through, in words.
struct Stop {
    status: Status,
    summary: String,
    evidence: serde_json::Value,
}

async fn migrate(ctx: &CheckContext<'_>, config: &Config) -> CheckResult {
    let apply = config.mode.as_deref() == Some("apply");
    let timeout = |value: &Option<String>, default: u64| {
        value
            .as_deref()
            .and_then(|v| parse_duration(v).ok())
            .unwrap_or(Duration::from_secs(default))
    };
    let lock_timeout = timeout(&config.lock_timeout, 5);
    let statement_timeout = timeout(&config.statement_timeout, 60);
    let target = match pg::target(ctx, &config.connection) {
        Ok(target) => target,
        Err(result) => return result,
    };
    let path = ctx.root.join(&config.file);
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(err) => {
            return CheckResult::definitive_error(format!("cannot read {}: {err}", path.display()))
        }
    };
    let statements = sql_script::split(&source);
    // A password set by the migration is a secret wherever it might show.
    for literal in statements
        .iter()
        .flat_map(|s| sql_script::password_literals(&s.text))
    {
        ctx.redactor.add_secret(&literal);
    }
    let refused: Vec<String> = statements
        .iter()
        .filter_map(|s| {
            s.refusal()
                .map(|why| format!("{}:{}: `{}`: {why}", config.file, s.line, s.head()))
        })
        .collect();
    if let Some(first) = refused.first() {
        let more = match refused.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return CheckResult {
            retryable: false,
            ..CheckResult::new(Status::Fail, format!("{first}{more}"))
                .with_evidence(json!({ "file": config.file, "refused": refused }))
        };
    }
    if statements.is_empty() {
        return CheckResult::definitive_error(format!("{} holds no statement", config.file));
    }
    let mut conn = match pg::connect(ctx, &target).await {
        Ok(conn) => conn,
        Err(result) => return result,
    };
    let mode = if apply {
        "apply: committed if it all passes"
    } else {
        "verify: rolled back at the end"
    };
    ctx.output
        .line(
            Stream::Stdout,
            &format!(
                "{} from {} on {} ({mode}; lock_timeout {}, statement_timeout {})",
                count(statements.len(), "statement"),
                config.file,
                target.shown,
                humantime::format_duration(lock_timeout),
                humantime::format_duration(statement_timeout)
            ),
        )
        .await;
    let backend: Option<i32> = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .ok();
    let outcome = transaction(
        ctx,
        config,
        &mut conn,
        &statements,
        apply,
        (lock_timeout, statement_timeout),
    )
    .await;
    if ctx.cancel.is_cancelled() && outcome.is_err() {
        // The statement left running would keep its locks until statement_timeout: the
        // server is asked to stop it now (the transaction then rolls back).
        if let Some(pid) = backend {
            pg::cancel_backend(&target, pid).await;
        }
        drop(conn);
    } else {
        let _ = conn.close().await;
    }
    let mut evidence = json!({
        "connection": target.evidence(),
        "file": config.file,
        "mode": if apply { "apply" } else { "verify" },
        "statements": statements.len(),
        "lock_timeout": humantime::format_duration(lock_timeout).to_string(),
        "statement_timeout": humantime::format_duration(statement_timeout).to_string(),
    });
    let pooler = target.pooler.then(|| {
        format!(
            "{} is a -pooler host (PgBouncer, transaction mode): run migrations on the direct host",
            target.input
        )
    });
    if let Some(warning) = &pooler {
        evidence["warnings"] = json!([warning]);
    }
    let done = match outcome {
        Err(stop) => {
            merge(&mut evidence, stop.evidence);
            return CheckResult::new(stop.status, stop.summary).with_evidence(evidence);
        }
        Ok(done) => done,
    };
    merge(&mut evidence, done.evidence);
    let (status, summary) = if let Some(first) = done.failures.first() {
        let more = match done.failures.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        (Status::Fail, format!("{first}{more}"))
    } else if let Some(warning) = pooler {
        (Status::Warn, warning)
    } else {
        (Status::Pass, done.summary)
    };
    CheckResult::new(status, summary).with_evidence(evidence)
}

/// What a transaction that got through found.
struct Done {
    summary: String,
    failures: Vec<String>,
    evidence: serde_json::Value,
}

/// Runs the migration (twice, with the proof) in one transaction, committed or rolled back.
async fn transaction(
    ctx: &CheckContext<'_>,
    config: &Config,
    conn: &mut PgConnection,
    statements: &[Statement],
    apply: bool,
    (lock_timeout, statement_timeout): (Duration, Duration),
) -> Result<Done, Stop> {
    let sql_stop = |what: &str, err: sqlx::Error| Stop {
        status: Status::Error,
        summary: format!("{what}: {}", pg::describe(&err)),
        evidence: json!({}),
    };
    conn.execute("BEGIN")
        .await
        .map_err(|e| sql_stop("cannot begin a transaction", e))?;
    conn.execute(
        format!(
            "SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
            pg::setting_ms(lock_timeout),
            pg::setting_ms(statement_timeout.min(ctx.remaining()))
        )
        .as_str(),
    )
    .await
    .map_err(|e| sql_stop("cannot set the timeouts", e))?;
    let mut locks = Locks::existing(conn)
        .await
        .map_err(|e| sql_stop("cannot read the catalog", e))?;
    let started = Instant::now();
    apply_all(ctx, config, conn, statements, &mut locks, "").await?;
    let applied = started.elapsed();
    let mut failures = expected_tables(config, conn)
        .await
        .map_err(|e| sql_stop("cannot read the tables", e))?;
    let advice = suggestions(config, conn)
        .await
        .map_err(|e| sql_stop("cannot read the constraints", e))?;
    let mut proof = serde_json::Value::Null;
    let mut compared = 0;
    let mut data_tables = 0;
    if config.prove_idempotent {
        conn.execute("SAVEPOINT relcon_idempotency")
            .await
            .map_err(|e| sql_stop("cannot set a savepoint", e))?;
        // The tables the file's data statements write are compared too: a seed that
        // inserts again is not idempotent, whatever the catalog says.
        let mut targets: Vec<String> = statements
            .iter()
            .filter_map(Statement::data_target)
            .collect();
        targets.sort();
        targets.dedup();
        let mut before = catalog::snapshot(conn)
            .await
            .map_err(|e| sql_stop("cannot snapshot the catalog", e))?;
        before.extend(
            catalog::data(conn, &targets)
                .await
                .map_err(|e| sql_stop("cannot read the rows the file writes", e))?,
        );
        apply_all(ctx, config, conn, statements, &mut locks, "second apply: ").await?;
        let mut after = catalog::snapshot(conn)
            .await
            .map_err(|e| sql_stop("cannot snapshot the catalog", e))?;
        after.extend(
            catalog::data(conn, &targets)
                .await
                .map_err(|e| sql_stop("cannot read the rows the file writes", e))?,
        );
        let changes = catalog::diff(&before, &after);
        compared = before.len() - targets.len();
        data_tables = targets.len();
        for change in &changes {
            ctx.output
                .line(Stream::Stdout, &format!("second apply: {change}"))
                .await;
        }
        if !changes.is_empty() {
            failures.push(format!(
                "re-applying changed the database: {}",
                changes.join("; ")
            ));
        }
        proof =
            json!({ "objects_compared": compared, "data_compared": targets, "changes": changes });
        conn.execute("ROLLBACK TO SAVEPOINT relcon_idempotency")
            .await
            .map_err(|e| sql_stop("cannot roll back to the savepoint", e))?;
    }
    let end = if apply && failures.is_empty() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    conn.execute(end)
        .await
        .map_err(|e| sql_stop(&format!("{end} failed"), e))?;
    let held = locks.held(Instant::now());
    ctx.output
        .line(
            Stream::Stdout,
            &match end {
                "COMMIT" => "committed".to_string(),
                _ => "rolled back".to_string(),
            },
        )
        .await;
    let tables = config.expect_tables.len();
    let summary = match (config.prove_idempotent, end) {
        (true, "COMMIT") => format!(
            "applied and committed; re-applying changed nothing ({compared} catalog objects{} compared; the second apply rolled back)",
            rows_of(data_tables)
        ),
        (true, _) => format!(
            "re-applying changed nothing ({compared} catalog objects{} compared; rolled back)",
            rows_of(data_tables)
        ),
        (false, "COMMIT") => format!(
            "{} applied and committed in {} ms; {} as expected",
            count(statements.len(), "statement"),
            applied.as_millis(),
            count(tables, "expected table")
        ),
        _ => format!(
            "{} applied in {} ms and rolled back; {} as expected",
            count(statements.len(), "statement"),
            applied.as_millis(),
            count(tables, "expected table")
        ),
    };
    Ok(Done {
        summary,
        failures: failures.clone(),
        evidence: json!({
            "outcome": if end == "COMMIT" { "committed" } else { "rolled back" },
            "failures": failures,
            "applied_ms": applied.as_millis() as u64,
            "expected_tables": config.expect_tables.iter().map(|t| &t.name).collect::<Vec<_>>(),
            "advice": advice,
            "idempotency": proof,
            "locks_on_existing_tables": held,
        }),
    })
}

/// Runs every statement; a failure names the statement, its line and the server's words.
async fn apply_all(
    ctx: &CheckContext<'_>,
    config: &Config,
    conn: &mut PgConnection,
    statements: &[Statement],
    locks: &mut Locks,
    prefix: &str,
) -> Result<(), Stop> {
    for (index, statement) in statements.iter().enumerate() {
        let started = Instant::now();
        let place = format!("{}:{}", config.file, statement.line);
        // One statement per round trip, in the extended protocol, which refuses a string
        // holding several: a statement the splitter got wrong cannot smuggle a COMMIT in.
        let result = tokio::select! {
            result = sqlx::query(statement.text.as_str()).persistent(false).execute(&mut *conn) => result,
            () = ctx.cancel.cancelled() => {
                return Err(Stop {
                    status: Status::Pending,
                    summary: format!("{prefix}{place}: cancelled while `{}` ran; rolled back", statement.head()),
                    evidence: json!({ "outcome": "rolled back", "locks_on_existing_tables": locks.held(Instant::now()) }),
                });
            }
        };
        match result {
            Ok(_) => {
                // Every statement of a short file; of a long one, the slow ones and a
                // progress line now and then, so that a log stays readable.
                let took = started.elapsed();
                let n = index + 1;
                if statements.len() <= SHOWN_STATEMENTS
                    || took >= SLOW_STATEMENT
                    || n % PROGRESS_EVERY == 0
                    || n == statements.len()
                {
                    ctx.output
                        .line(
                            Stream::Stdout,
                            &format!(
                                "{prefix}{place}: {} ({} ms){}",
                                statement.head(),
                                took.as_millis(),
                                if statements.len() > SHOWN_STATEMENTS {
                                    format!(" [{n} of {}]", statements.len())
                                } else {
                                    String::new()
                                }
                            ),
                        )
                        .await;
                }
            }
            Err(err) => {
                let why = match pg::code(&err).as_deref() {
                    Some("55P03") => " (a lock was not granted within lock_timeout: a live transaction holds the table)",
                    Some("57014") => " (statement_timeout reached)",
                    _ => "",
                };
                let _ = conn.execute("ROLLBACK").await;
                let held = locks.held(Instant::now());
                let message = format!(
                    "{prefix}{place}: `{}` failed: {}{why}",
                    statement.head(),
                    pg::describe(&err)
                );
                ctx.output.line(Stream::Stderr, &message).await;
                ctx.output.line(Stream::Stderr, "rolled back").await;
                return Err(Stop {
                    status: Status::Fail,
                    summary: message,
                    evidence: json!({
                        "failed": {
                            "line": statement.line,
                            "statement": statement.shown(),
                            "error": pg::describe(&err),
                            "second_apply": !prefix.is_empty(),
                        },
                        "outcome": "rolled back",
                        "locks_on_existing_tables": held,
                    }),
                });
            }
        }
        locks.observe(conn, started).await.map_err(|err| Stop {
            status: Status::Error,
            summary: format!("cannot read the locks held: {}", pg::describe(&err)),
            evidence: json!({}),
        })?;
    }
    Ok(())
}

/// Type names as PostgreSQL prints them (`format_type`), for the short names people write:
/// `varchar(255)` is `character varying(255)`, `timestamptz(3)` is
/// `timestamp(3) with time zone`, `int[]` is `integer[]`.
fn canonical_type(name: &str) -> String {
    let lower = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let (lower, array) = match lower.strip_suffix("[]") {
        Some(element) => (element.trim_end().to_string(), "[]"),
        None => (lower, ""),
    };
    let (base, args) = match lower.split_once('(') {
        Some((base, rest)) => {
            let (args, after) = rest.split_once(')').unwrap_or((rest, ""));
            let base = format!("{} {}", base.trim(), after.trim());
            (
                base.trim().to_string(),
                format!("({})", args.replace(' ', "")),
            )
        }
        None => (lower.clone(), String::new()),
    };
    let (head, zone) = match base.as_str() {
        "timestamptz" | "timestamp with time zone" => ("timestamp", " with time zone"),
        "timestamp" | "timestamp without time zone" => ("timestamp", " without time zone"),
        "timetz" | "time with time zone" => ("time", " with time zone"),
        "time" | "time without time zone" => ("time", " without time zone"),
        _ => ("", ""),
    };
    if !head.is_empty() {
        return format!("{head}{args}{zone}{array}");
    }
    let base = match base.as_str() {
        "int" | "int4" | "serial" | "serial4" => "integer",
        "int8" | "bigserial" | "serial8" => "bigint",
        "int2" | "smallserial" | "serial2" => "smallint",
        "varchar" => "character varying",
        "char" | "bpchar" => "character",
        "bool" => "boolean",
        "float8" | "float" => "double precision",
        "float4" => "real",
        "decimal" => "numeric",
        other => other,
    };
    format!("{base}{args}{array}")
}

/// Each expected table and column that is missing or of another type.
async fn expected_tables(
    config: &Config,
    conn: &mut PgConnection,
) -> Result<Vec<String>, sqlx::Error> {
    let default_schema = config.schema.as_deref().unwrap_or("public");
    let mut failures = Vec::new();
    for table in &config.expect_tables {
        let schema = table.schema.as_deref().unwrap_or(default_schema);
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
               AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(schema)
        .bind(&table.name)
        .fetch_all(&mut *conn)
        .await?;
        let shown = match schema {
            "public" => table.name.clone(),
            _ => format!("{schema}.{}", table.name),
        };
        if columns.is_empty() {
            let near: Option<(String,)> = sqlx::query_as(
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND lower(c.relname) = lower($2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                 LIMIT 1",
            )
            .bind(schema)
            .bind(&table.name)
            .fetch_optional(&mut *conn)
            .await?;
            let hint = near
                .map(|(name,)| format!(" (found {name}: names are case-sensitive)"))
                .unwrap_or_default();
            failures.push(format!("table {shown} is missing{hint}"));
            continue;
        }
        let found: HashMap<&str, &str> = columns
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        for (column, expected) in &table.columns {
            match found.get(column.as_str()) {
                None => {
                    let folded = column.to_lowercase();
                    let near = found.keys().find(|k| k.to_lowercase() == folded);
                    let hint = match near {
                        Some(&k) if k == folded => format!(" (found {folded}: it was created without quotes, so PostgreSQL folded it to lower case; write \"{column}\")"),
                        Some(k) => format!(" (found \"{k}\": names are case-sensitive)"),
                        None => String::new(),
                    };
                    failures.push(format!("column {shown}.\"{column}\" is missing{hint}"));
                }
                Some(actual) if canonical_type(actual) != canonical_type(expected) => {
                    failures.push(format!(
                        "column {shown}.\"{column}\" is {actual}, expected {expected}"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(failures)
}

/// The stricter constraints the checklist suggests that the schema lacks: advice, never a
/// failure.
async fn suggestions(config: &Config, conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    let schema = config.schema.as_deref().unwrap_or("public");
    let mut advice = Vec::new();
    for suggestion in &config.suggest {
        let note = suggestion
            .note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        if let Some(columns) = &suggestion.unique {
            let (present,): (bool,) = sqlx::query_as(
                "SELECT EXISTS (
                   SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique
                     AND i.indpred IS NULL
                     AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
                          FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attnum = ANY(i.indkey))
                         = (SELECT array_agg(x ORDER BY x) FROM unnest($3::text[]) x))",
            )
            .bind(schema)
            .bind(&suggestion.table)
            .bind(columns)
            .fetch_one(&mut *conn)
            .await?;
            if !present {
                let quoted: Vec<String> = columns.iter().map(|c| pg::quote_ident(c)).collect();
                advice.push(format!(
                    "{}: no UNIQUE ({}){note}",
                    suggestion.table,
                    quoted.join(", ")
                ));
            }
        }
        if let (Some(column), Some(references)) = (&suggestion.foreign_key, &suggestion.references)
        {
            let (present,): (bool,) = sqlx::query_as(
                "SELECT EXISTS (
                   SELECT 1 FROM pg_constraint co
                   JOIN pg_class c ON c.oid = co.conrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_class r ON r.oid = co.confrelid
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(co.conkey)
                   WHERE co.contype = 'f' AND n.nspname = $1 AND c.relname = $2
                     AND r.relname = $3 AND a.attname = $4)",
            )
            .bind(schema)
            .bind(&suggestion.table)
            .bind(references)
            .bind(column)
            .fetch_one(&mut *conn)
            .await?;
            if !present {
                advice.push(format!(
                    "{}: no FOREIGN KEY ({}) REFERENCES {references}{note}",
                    suggestion.table,
                    pg::quote_ident(column)
                ));
            }
        }
    }
    Ok(advice)
}

/// Locks this transaction takes on tables that existed before it: when each was first seen
/// and the strongest mode, so that the evidence says how long live tables were held.
struct Locks {
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
    async fn existing(conn: &mut PgConnection) -> Result<Self, sqlx::Error> {
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
    async fn observe(
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
    fn held(&self, end: Instant) -> Vec<serde_json::Value> {
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

/// `extra`'s keys added to `evidence`.
fn merge(evidence: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(base), serde_json::Value::Object(extra)) = (evidence.as_object_mut(), extra) {
        base.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_type;

    #[test]
    fn short_type_names_read_as_postgresql_prints_them() {
        for (written, printed) in [
            ("varchar(255)", "character varying(255)"),
            ("VARCHAR( 255 )", "character varying(255)"),
            ("timestamptz", "timestamp with time zone"),
            ("timestamptz(3)", "timestamp(3) with time zone"),
            ("timestamp(3) with time zone", "timestamp(3) with time zone"),
            ("int[]", "integer[]"),
            ("serial", "integer"),
            ("time", "time without time zone"),
            ("text", "text"),
        ] {
            assert_eq!(
                canonical_type(written),
                canonical_type(printed),
                "{written}"
            );
            assert_eq!(canonical_type(printed), printed, "{printed}");
        }
    }
}
