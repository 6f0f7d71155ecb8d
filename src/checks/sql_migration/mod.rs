//! `sql.migration`: a migration file verified in a rolled-back transaction, or applied, with
//! expected tables and an idempotency proof.

mod locks;
mod schema;
mod transaction;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use sqlx::Connection as _;

use super::sql_script;
use super::{pg, CheckContext, RunFuture};
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
    let source = match crate::files::read_text_capped(&path, crate::files::CAP) {
        Ok(source) => source,
        Err(err) => {
            return CheckResult::definitive_error(format!("cannot read {}: {err}", path.display()))
        }
    };
    let (statements, outer) = sql_script::without_outer_transaction(sql_script::split(&source));
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
    let outcome = transaction::transaction(
        ctx,
        config,
        &mut conn,
        &statements,
        apply,
        (lock_timeout, statement_timeout),
    )
    .await;
    // A role that may not create (the least-privileged app role the shipped checklist falls
    // back to): said as such, and in verify mode the tables are read from the catalog.
    let outcome = match outcome {
        Err(stop) if stop.evidence["failed"]["code"] == "42501" && !ctx.cancel.is_cancelled() => {
            Err(not_permitted(ctx, config, &target, &mut conn, apply, stop).await)
        }
        outcome => outcome,
    };
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
    if outer {
        evidence["outer_transaction"] =
            json!("the file's own BEGIN … COMMIT was left out: relcon runs it in a transaction of its own");
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

/// A migration the connection's role was not permitted to run: which input to set instead,
/// and in verify mode, whether the tables it creates are there as expected anyway (read
/// from the catalog: a warning, since the file itself could not be replayed).
async fn not_permitted(
    ctx: &CheckContext<'_>,
    config: &Config,
    target: &pg::Target,
    conn: &mut sqlx::postgres::PgConnection,
    apply: bool,
    stop: Stop,
) -> Stop {
    let others: Vec<&String> = ctx
        .checklist
        .connections
        .iter()
        .find(|c| c.name == target.name)
        .map(|c| c.from.iter().filter(|i| **i != target.input).collect())
        .unwrap_or_default();
    let instead = match others.first() {
        Some(input) => format!("set {input} to the URL of the role that owns the schema"),
        None => "use a connection whose role owns the schema".into(),
    };
    let summary = format!(
        "the role of {} may not run the migration ({}): {instead}",
        target.input,
        stop.evidence["failed"]["error"]
            .as_str()
            .unwrap_or("permission denied")
    );
    let mut evidence = stop.evidence;
    if apply {
        return Stop {
            status: Status::Fail,
            summary,
            evidence,
        };
    }
    if config.expect_tables.is_empty() {
        // Nothing to read instead (the idempotency proof replays the file): not proven,
        // and said so, rather than a release failed for its least-privileged role.
        return Stop {
            status: Status::Warn,
            summary: format!("{summary}; not proven: the file could not be replayed"),
            evidence,
        };
    }
    match schema::expected_tables(config, conn).await {
        Ok(missing) if missing.is_empty() => {
            evidence["tables_read_from_the_catalog"] = json!(config.expect_tables.len());
            Stop {
                status: Status::Warn,
                summary: format!(
                    "{summary}; the {} tables it creates are there as expected (read from the catalog), but the file itself could not be replayed",
                    config.expect_tables.len()
                ),
                evidence,
            }
        }
        Ok(missing) => Stop {
            status: Status::Fail,
            summary: format!("{summary}; and {}", missing[0]),
            evidence,
        },
        Err(err) => Stop {
            status: Status::Fail,
            summary: format!(
                "{summary}; the tables could not be read: {}",
                pg::describe(&err)
            ),
            evidence,
        },
    }
}

/// `extra`'s keys added to `evidence`.
fn merge(evidence: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(base), serde_json::Value::Object(extra)) = (evidence.as_object_mut(), extra) {
        base.extend(extra);
    }
}
