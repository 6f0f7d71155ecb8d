//! `sql.role`: the connection's role is least-privileged.

use serde::Deserialize;
use serde_json::json;
use sqlx::postgres::PgConnection;
use sqlx::Connection as _;

use super::{pg, CheckContext, RunFuture};

use super::CheckResult;
use crate::status::Status;

#[derive(Debug, Deserialize)]
struct Config {
    connection: String,
    forbidden_roles: Option<Vec<String>>,
    schemas: Option<Vec<String>>,
    on_ownership: Option<String>,
    on_schema_create: Option<String>,
}

/// Built-in roles that read or write the server's files or run programs on it.
const SERVER_ACCESS: &[&str] = &[
    "pg_execute_server_program",
    "pg_read_server_files",
    "pg_write_server_files",
];

/// How to make a role that passes, for the evidence.
const HINT: &str = "as the owner role: CREATE ROLE app_user LOGIN PASSWORD '…'; \
GRANT USAGE ON SCHEMA public TO app_user; \
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app_user; \
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO app_user; \
then connect the app as app_user (on Neon, make it with SQL, not in the console)";

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        let config = match ctx.config::<Config>() {
            Ok(config) => config,
            Err(result) => return result,
        };
        let (target, mut conn) = match pg::open(ctx, &config.connection).await {
            Ok(opened) => opened,
            Err(result) => return result,
        };
        let judged = judge(&config, &mut conn).await;
        let _ = conn.close().await;
        match judged {
            Ok(mut result) => {
                result.evidence["connection"] = target.evidence();
                result
            }
            Err(err) => CheckResult::new(
                Status::Error,
                format!("cannot read the role's privileges: {}", pg::describe(&err)),
            ),
        }
    })
}

/// The outcome a checklist chose for a finding of advice.
fn outcome(choice: Option<&str>) -> Status {
    match choice {
        Some("pass") => Status::Pass,
        Some("fail") => Status::Fail,
        _ => Status::Warn,
    }
}

async fn judge(config: &Config, conn: &mut PgConnection) -> Result<CheckResult, sqlx::Error> {
    let (role, superuser, createrole, createdb, replication, bypassrls): (
        String,
        bool,
        bool,
        bool,
        bool,
        bool,
    ) = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
             FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut failures = Vec::new();
    for (held, what) in [
        (superuser, "is superuser"),
        (createrole, "can create roles (CREATEROLE)"),
        (createdb, "can create databases (CREATEDB)"),
        (replication, "can replicate (REPLICATION)"),
        (bypassrls, "bypasses row-level security (BYPASSRLS)"),
    ] {
        if held {
            failures.push(what.to_string());
        }
    }
    let forbidden = config.forbidden_roles.clone().unwrap_or_else(|| {
        vec![
            "neon_superuser".to_string(),
            "pg_write_all_data".to_string(),
        ]
    });
    // Roles that reach the server's own files and programs are as strong as a superuser,
    // whatever the checklist forbids.
    let mut asked = forbidden.clone();
    asked.extend(SERVER_ACCESS.iter().map(|r| r.to_string()));
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT r.rolname::text, pg_has_role(current_user, r.oid, 'MEMBER'),
                EXISTS (SELECT 1 FROM pg_auth_members m
                        WHERE m.roleid = r.oid
                          AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user))
         FROM pg_roles r WHERE r.rolname = ANY($1)",
    )
    .bind(&asked)
    .fetch_all(&mut *conn)
    .await?;
    let mut memberships = serde_json::Map::new();
    for name in &asked {
        let state = match rows.iter().find(|(n, _, _)| n == name) {
            None => "no such role here",
            Some((_, false, _)) => "not a member",
            Some((_, true, true)) => "member (direct)",
            Some((_, true, false)) if superuser => "member (as superuser)",
            Some((_, true, false)) => "member (inherited)",
        };
        if state.starts_with("member") && !superuser {
            let why = if SERVER_ACCESS.contains(&name.as_str()) {
                ": it reaches the database server's files or programs"
            } else {
                ""
            };
            failures.push(format!("is a {state} of {name}{why}"));
        }
        memberships.insert(name.clone(), json!(state));
    }
    let owned: Vec<(String, String)> = sqlx::query_as(
        "SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                  WHEN 'm' THEN 'materialized view' ELSE 'table' END,
                CASE WHEN n.nspname = 'public' THEN '' ELSE n.nspname || '.' END || c.relname
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
           AND pg_has_role(current_user, c.relowner, 'USAGE')
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    let schemas = config
        .schemas
        .clone()
        .unwrap_or_else(|| vec!["public".to_string()]);
    let creatable: Vec<(String,)> = sqlx::query_as(
        "SELECT nspname::text FROM pg_namespace
         WHERE nspname = ANY($1) AND has_schema_privilege(current_user, oid, 'CREATE')
         ORDER BY 1",
    )
    .bind(&schemas)
    .fetch_all(&mut *conn)
    .await?;
    let creatable: Vec<String> = creatable.into_iter().map(|(s,)| s).collect();
    let mut advice: Vec<(Status, String)> = Vec::new();
    let present: Vec<(String,)> =
        sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname = ANY($1)")
            .bind(&schemas)
            .fetch_all(&mut *conn)
            .await?;
    let missing: Vec<&String> = schemas
        .iter()
        .filter(|s| !present.iter().any(|(p,)| p == *s))
        .collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        advice.push((
            Status::Warn,
            format!(
                "schema {} (in `schemas`) does not exist here, so CREATE on it was not judged",
                names.join(", ")
            ),
        ));
    }
    let tables: Vec<&str> = owned
        .iter()
        .filter(|(kind, _)| kind == "table")
        .map(|(_, name)| name.as_str())
        .collect();
    if !owned.is_empty() {
        let mut parts = Vec::new();
        match tables.len() {
            0 => {}
            1 => parts.push(format!("table {}", tables[0])),
            n => parts.push(format!("{n} tables ({})", tables.join(", "))),
        }
        for kind in ["view", "materialized view", "sequence"] {
            let n = owned.iter().filter(|(k, _)| k == kind).count();
            if n > 0 {
                parts.push(format!("{n} {kind}{}", if n == 1 { "" } else { "s" }));
            }
        }
        let what = parts.join(" and ");
        let them = if owned.len() == 1 { "it" } else { "them" };
        advice.push((
            outcome(config.on_ownership.as_deref()),
            format!("owns {what}: it could drop {them}"),
        ));
    }
    if !creatable.is_empty() {
        advice.push((
            outcome(config.on_schema_create.as_deref()),
            format!("can CREATE in {}", creatable.join(", ")),
        ));
    }
    let evidence = json!({
        "role": role,
        "attributes": {
            "superuser": superuser,
            "createrole": createrole,
            "createdb": createdb,
            "replication": replication,
            "bypassrls": bypassrls,
        },
        "memberships": memberships,
        "owns": owned.iter().map(|(kind, name)| format!("{kind} {name}")).collect::<Vec<_>>(),
        "create_on_schemas": creatable,
        "findings": failures.iter().map(|f| json!({"status": "fail", "message": f}))
            .chain(advice.iter().map(|(s, m)| json!({"status": s.name(), "message": m})))
            .collect::<Vec<_>>(),
        "hint": HINT,
    });
    let (status, said): (Status, Vec<String>) = if !failures.is_empty() {
        (Status::Fail, failures)
    } else if let Some(worst) = advice.iter().map(|(s, _)| *s).max_by_key(|s| match s {
        Status::Fail => 2,
        Status::Warn => 1,
        _ => 0,
    }) {
        let said = advice
            .iter()
            .filter(|(s, _)| *s != Status::Pass)
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>();
        (worst, said)
    } else {
        (Status::Pass, Vec::new())
    };
    let summary = if said.is_empty() {
        format!("role {role} is least-privileged: no forbidden attribute or membership")
    } else {
        format!("role {role} {}", said.join("; "))
    };
    Ok(CheckResult::new(status, summary).with_evidence(evidence))
}
