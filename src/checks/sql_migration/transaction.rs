//! The migration's transaction: every statement run (shown as it runs), the expected tables
//! checked, and for the idempotency proof the file run again and the catalog (and the rows
//! the file writes) compared; committed or rolled back.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::postgres::PgConnection;
use sqlx::Executor as _;

use super::locks::Locks;
use super::schema::{expected_tables, suggestions};
use super::{count, rows_of, Config, Stop};
use crate::checks::sql_script::Statement;
use crate::checks::{catalog, pg, CheckContext, Stream};
use crate::status::Status;

/// Files with up to this many statements show each one as it runs.
const SHOWN_STATEMENTS: usize = 100;

/// In longer files, statements that take this long are shown…
const SLOW_STATEMENT: Duration = Duration::from_millis(100);

/// …and a progress line every this many statements.
const PROGRESS_EVERY: usize = 250;

/// What a transaction that got through found.
pub(super) struct Done {
    pub(super) summary: String,
    pub(super) failures: Vec<String>,
    pub(super) evidence: serde_json::Value,
}

/// Runs the migration (twice, with the proof) in one transaction, committed or rolled back.
pub(super) async fn transaction(
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
    let existed = super::schema::existing_tables(config, conn)
        .await
        .map_err(|e| sql_stop("cannot read the tables", e))?;
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
    // What the database had before the file ran, not what the file made inside a
    // transaction that was then rolled back.
    let had = match (existed.len(), tables) {
        (_, 0) => String::new(),
        (0, _) => "; the database had none of them before".to_string(),
        (n, t) if n == t => "; the database had them all before".to_string(),
        (n, t) => format!("; the database had {n} of the {t} before"),
    };
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
            "{} applied and committed in {} ms; {} as expected{had}",
            count(statements.len(), "statement"),
            applied.as_millis(),
            count(tables, "expected table")
        ),
        _ => format!(
            "{} applied in {} ms and rolled back; {} as expected after applying{had}",
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
            "tables_before": existed,
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
                            "code": pg::code(&err),
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
