//! `authjs.adapter`: the Auth.js adapter's database round trips, rolled back.

use serde::Deserialize;
use serde_json::json;
use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Executor as _};

use super::{pg, CheckContext, RunFuture};

use super::{CheckResult, Stream};
use crate::status::Status;

#[derive(Debug, Deserialize)]
struct Config {
    connection: String,
    schema: Option<String>,
}

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
        let schema = config.schema.as_deref().unwrap_or("public");
        let probe = Probe::new();
        let mut passed = Vec::new();
        let outcome = round_trips(ctx, &mut conn, schema, &probe, &mut passed).await;
        let _ = conn.execute("ROLLBACK").await;
        let left = match &outcome {
            Ok(()) => leftovers(&mut conn, schema, &probe).await,
            Err(_) => Ok(0),
        };
        let _ = conn.close().await;
        let evidence = json!({
            "connection": target.evidence(),
            "schema": schema,
            "round_trips": passed,
            "outcome": "rolled back",
        });
        let (status, summary) = match (outcome, left) {
            (Err(failure), _) => (Status::Fail, failure),
            (Ok(()), Err(err)) => (
                Status::Error,
                format!(
                    "round trips passed, but the rows left could not be counted: {}",
                    pg::describe(&err)
                ),
            ),
            (Ok(()), Ok(0)) => (
                Status::Pass,
                format!(
                    "{} adapter round trips passed as {}; rolled back, no row left",
                    passed.len(),
                    target.input
                ),
            ),
            (Ok(()), Ok(n)) => (
                Status::Fail,
                format!("{n} rows of the round trips are still there after the rollback"),
            ),
        };
        let mut evidence = evidence;
        if status == Status::Pass {
            evidence["rows_left"] = json!(0);
        }
        CheckResult::new(status, summary).with_evidence(evidence)
    })
}

/// Values no real user has, so that what the round trips find is theirs.
struct Probe {
    email: String,
    session_token: String,
    provider_account: String,
    identifier: String,
    token: String,
}

impl Probe {
    fn new() -> Self {
        let tag = format!("{:016x}", rand::random::<u64>());
        Self {
            email: format!("relcon-probe-{tag}@example.invalid"),
            session_token: format!("relcon-probe-session-{tag}"),
            provider_account: format!("relcon-probe-{tag}"),
            identifier: format!("relcon-probe-{tag}@example.invalid"),
            token: format!("relcon-probe-token-{tag}"),
        }
    }
}

/// A user row as the adapter reads it: id (as text: serial, bigint, uuid and text ids all
/// work with the adapters), name, email, emailVerified (ms), image.
type User = (
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

const USER_COLUMNS: &str = r#"id::text, name::text, email::text, (extract(epoch FROM "emailVerified") * 1000)::int8, image::text"#;

/// The same columns of the users table named `u`.
const U_COLUMNS: &str = r#"u.id::text, u.name::text, u.email::text, (extract(epoch FROM u."emailVerified") * 1000)::int8, u.image::text"#;

/// Words for a failed statement, with what usually causes it.
fn explain(step: &str, schema: &str, err: &sqlx::Error) -> String {
    let tables = ["users", "accounts", "sessions", "verification_token"]
        .map(|t| match schema {
            "public" => t.to_string(),
            _ => format!("{schema}.{t}"),
        })
        .join(", ");
    let cause = match pg::code(err).as_deref() {
        Some("42501") => format!("; grant the app's role SELECT, INSERT, UPDATE, DELETE on {tables}, and USAGE on their sequences"),
        Some("42P01") => format!("; the Auth.js tables are missing from schema {schema}: run the migration"),
        Some("42703") => "; a column is missing or was created without quotes (the adapter uses quoted camelCase columns)".into(),
        _ => String::new(),
    };
    format!("{step}: {}{cause}", pg::describe(err))
}

/// Why the role cannot reach the tables in `schema`, if it cannot: the schema is missing or
/// the role may not use it (either way the tables would look missing).
async fn schema_problem(
    conn: &mut PgConnection,
    schema: &str,
) -> Result<Option<String>, sqlx::Error> {
    let usable: Option<(bool,)> = sqlx::query_as(
        "SELECT has_schema_privilege(current_user, oid, 'USAGE') FROM pg_namespace WHERE nspname = $1",
    )
    .bind(schema)
    .fetch_optional(conn)
    .await?;
    Ok(match usable {
        None => Some(format!("schema {schema} does not exist: set the item's `schema` to the one holding the Auth.js tables")),
        Some((false,)) => Some(format!(
            "permission denied for schema {schema}: GRANT USAGE ON SCHEMA {} TO the app's role",
            pg::quote_ident(schema)
        )),
        Some((true,)) => None,
    })
}

/// The adapter's round trips, as its conformance suite exercises them, in a transaction the
/// caller rolls back.
async fn round_trips(
    ctx: &CheckContext<'_>,
    conn: &mut PgConnection,
    schema: &str,
    probe: &Probe,
    passed: &mut Vec<String>,
) -> Result<(), String> {
    macro_rules! step {
        ($name:expr, $body:expr) => {{
            let value = $body
                .await
                .map_err(|err: sqlx::Error| explain($name, schema, &err))?;
            ctx.output
                .line(Stream::Stdout, &format!("ok {}", $name))
                .await;
            passed.push($name.to_string());
            value
        }};
    }
    let expect = |step: &str, ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{step}: {what}"))
        }
    };
    let setup = format!(
        "BEGIN; SET LOCAL search_path = {}; SET LOCAL statement_timeout = {}",
        pg::quote_ident(schema),
        pg::setting_ms(ctx.remaining())
    );
    if let Some(problem) = schema_problem(conn, schema)
        .await
        .map_err(|err| explain("schema", schema, &err))?
    {
        return Err(problem);
    }
    conn.execute(setup.as_str())
        .await
        .map_err(|err| explain("begin", schema, &err))?;
    let unknown: Option<User> = step!(
        "getUser (unknown id)",
        sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id::text = $1"
        ))
        .bind("relcon-probe-no-such-id")
        .fetch_optional(&mut *conn)
    );
    expect(
        "getUser (unknown id)",
        unknown.is_none(),
        "a user came back for an id no user has",
    )?;
    let unknown: Option<User> = step!(
        "getUserByEmail (unknown email)",
        sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        ))
        .bind(&probe.email)
        .fetch_optional(&mut *conn)
    );
    expect(
        "getUserByEmail (unknown email)",
        unknown.is_none(),
        "a user came back for an unused email",
    )?;
    let verified_ms: i64 = 1_700_000_000_123;
    let created: User = step!(
        "createUser",
        sqlx::query_as(&format!(
            r#"INSERT INTO users (name, email, "emailVerified", image)
               VALUES ($1, $2, to_timestamp($3::float8 / 1000), $4) RETURNING {USER_COLUMNS}"#
        ))
        .bind("relcon probe")
        .bind(&probe.email)
        .bind(verified_ms as f64)
        .bind("https://example.invalid/probe.png")
        .fetch_one(&mut *conn)
    );
    let id = created.0.clone();
    expect(
        "createUser",
        created.1.as_deref() == Some("relcon probe")
            && created.2.as_deref() == Some(probe.email.as_str())
            && created.3 == Some(verified_ms)
            && created.4.as_deref() == Some("https://example.invalid/probe.png"),
        "the created user does not come back as it was written",
    )?;
    let by_id: Option<User> = step!(
        "getUser",
        sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id::text = $1"
        ))
        .bind(&id)
        .fetch_optional(&mut *conn)
    );
    expect(
        "getUser",
        by_id.as_ref() == Some(&created),
        "the user read by id differs from the one created",
    )?;
    let by_email: Option<User> = step!(
        "getUserByEmail",
        sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        ))
        .bind(&probe.email)
        .fetch_optional(&mut *conn)
    );
    expect(
        "getUserByEmail",
        by_email.as_ref() == Some(&created),
        "the user read by email differs from the one created",
    )?;
    let updated: User = step!(
        "updateUser",
        sqlx::query_as(&format!(
            r#"UPDATE users SET name = $2, email = $3, "emailVerified" = to_timestamp($4::float8 / 1000), image = $5
               WHERE id::text = $1 RETURNING {USER_COLUMNS}"#
        ))
        .bind(&id)
        .bind("relcon probe (updated)")
        .bind(&probe.email)
        .bind(verified_ms as f64)
        .bind("https://example.invalid/probe.png")
        .fetch_one(&mut *conn)
    );
    expect(
        "updateUser",
        updated.1.as_deref() == Some("relcon probe (updated)"),
        "the name was not updated",
    )?;
    let (account_user,): (String,) = step!(
        "linkAccount",
        sqlx::query_as(
            r#"INSERT INTO accounts ("userId", provider, type, "providerAccountId", access_token,
                 expires_at, refresh_token, id_token, scope, session_state, token_type)
               VALUES ((SELECT id FROM users WHERE id::text = $1), 'relcon-probe', 'oauth', $2, 'access', $3, 'refresh', 'id', 'openid', 'state', 'bearer')
               RETURNING "userId"::text"#
        )
        .bind(&id)
        .bind(&probe.provider_account)
        .bind(1_700_000_000_i64)
        .fetch_one(&mut *conn)
    );
    expect(
        "linkAccount",
        account_user == id,
        "the account does not point at the user",
    )?;
    let by_account: Option<User> = step!(
        "getUserByAccount",
        sqlx::query_as(&format!(
            r#"SELECT {U_COLUMNS} FROM users u JOIN accounts a ON u.id = a."userId"
               WHERE a.provider = $1 AND a."providerAccountId" = $2"#
        ))
        .bind("relcon-probe")
        .bind(&probe.provider_account)
        .fetch_optional(&mut *conn)
    );
    expect(
        "getUserByAccount",
        by_account.as_ref().map(|u| &u.0) == Some(&id),
        "the account's user was not found",
    )?;
    let expires_ms: i64 = 1_900_000_000_000;
    let (session_user,): (String,) = step!(
        "createSession",
        sqlx::query_as(
            r#"INSERT INTO sessions ("userId", expires, "sessionToken")
               VALUES ((SELECT id FROM users WHERE id::text = $1), to_timestamp($2::float8 / 1000), $3) RETURNING "userId"::text"#
        )
        .bind(&id)
        .bind(expires_ms as f64)
        .bind(&probe.session_token)
        .fetch_one(&mut *conn)
    );
    expect(
        "createSession",
        session_user == id,
        "the session does not point at the user",
    )?;
    let session: Option<(String, Option<i64>)> = step!(
        "getSessionAndUser",
        sqlx::query_as(
            r#"SELECT "userId"::text, (extract(epoch FROM expires) * 1000)::int8
               FROM sessions WHERE "sessionToken" = $1"#
        )
        .bind(&probe.session_token)
        .fetch_optional(&mut *conn)
    );
    expect(
        "getSessionAndUser",
        session == Some((id.clone(), Some(expires_ms))),
        "the session does not come back as it was written",
    )?;
    let updated_ms = expires_ms + 86_400_000;
    let (new_expiry,): (Option<i64>,) = step!(
        "updateSession",
        sqlx::query_as(
            r#"UPDATE sessions SET expires = to_timestamp($2::float8 / 1000) WHERE "sessionToken" = $1
               RETURNING (extract(epoch FROM expires) * 1000)::int8"#
        )
        .bind(&probe.session_token)
        .bind(updated_ms as f64)
        .fetch_one(&mut *conn)
    );
    expect(
        "updateSession",
        new_expiry == Some(updated_ms),
        "the expiry was not updated",
    )?;
    let deleted = step!(
        "deleteSession",
        sqlx::query(r#"DELETE FROM sessions WHERE "sessionToken" = $1"#)
            .bind(&probe.session_token)
            .execute(&mut *conn)
    );
    expect(
        "deleteSession",
        deleted.rows_affected() == 1,
        "no session was deleted",
    )?;
    step!(
        "createVerificationToken",
        sqlx::query("INSERT INTO verification_token (identifier, expires, token) VALUES ($1, to_timestamp($2::float8 / 1000), $3)")
            .bind(&probe.identifier)
            .bind(expires_ms as f64)
            .bind(&probe.token)
            .execute(&mut *conn)
    );
    let use_token = "DELETE FROM verification_token WHERE identifier = $1 AND token = $2 RETURNING identifier, token";
    let wrong: Option<(String, String)> = step!(
        "useVerificationToken (wrong identifier)",
        sqlx::query_as(use_token)
            .bind("relcon-probe-wrong@example.invalid")
            .bind(&probe.token)
            .fetch_optional(&mut *conn)
    );
    expect(
        "useVerificationToken (wrong identifier)",
        wrong.is_none(),
        "a token came back for another identifier",
    )?;
    let first: Option<(String, String)> = step!(
        "useVerificationToken",
        sqlx::query_as(use_token)
            .bind(&probe.identifier)
            .bind(&probe.token)
            .fetch_optional(&mut *conn)
    );
    expect(
        "useVerificationToken",
        first == Some((probe.identifier.clone(), probe.token.clone())),
        "the token did not come back the first time",
    )?;
    let second: Option<(String, String)> = step!(
        "useVerificationToken (second use)",
        sqlx::query_as(use_token)
            .bind(&probe.identifier)
            .bind(&probe.token)
            .fetch_optional(&mut *conn)
    );
    expect(
        "useVerificationToken (second use)",
        second.is_none(),
        "a used token came back a second time",
    )?;
    let unlinked = step!(
        "unlinkAccount",
        sqlx::query(r#"DELETE FROM accounts WHERE provider = $1 AND "providerAccountId" = $2"#)
            .bind("relcon-probe")
            .bind(&probe.provider_account)
            .execute(&mut *conn)
    );
    expect(
        "unlinkAccount",
        unlinked.rows_affected() == 1,
        "no account was unlinked",
    )?;
    step!(
        "createSession (for deleteUser)",
        sqlx::query(r#"INSERT INTO sessions ("userId", expires, "sessionToken") VALUES ((SELECT id FROM users WHERE id::text = $1), to_timestamp($2::float8 / 1000), $3)"#)
            .bind(&id)
            .bind(expires_ms as f64)
            .bind(&probe.session_token)
            .execute(&mut *conn)
    );
    // The adapter deletes the user first, then what points at it.
    let removed = step!(
        "deleteUser",
        sqlx::query("DELETE FROM users WHERE id::text = $1")
            .bind(&id)
            .execute(&mut *conn)
    );
    step!(
        "deleteUser (sessions)",
        sqlx::query(r#"DELETE FROM sessions WHERE "userId"::text = $1"#)
            .bind(&id)
            .execute(&mut *conn)
    );
    step!(
        "deleteUser (accounts)",
        sqlx::query(r#"DELETE FROM accounts WHERE "userId"::text = $1"#)
            .bind(&id)
            .execute(&mut *conn)
    );
    expect(
        "deleteUser",
        removed.rows_affected() == 1,
        "the user was not deleted",
    )?;
    let (users, sessions): (i64, i64) = step!(
        "getUser (after deleteUser)",
        sqlx::query_as(r#"SELECT (SELECT count(*) FROM users WHERE id::text = $1), (SELECT count(*) FROM sessions WHERE "userId"::text = $1)"#)
            .bind(&id)
            .fetch_one(&mut *conn)
    );
    expect(
        "getUser (after deleteUser)",
        users == 0 && sessions == 0,
        "the user or its sessions are still there",
    )?;
    Ok(())
}

/// Rows of the round trips found after the rollback (0 when it was clean).
async fn leftovers(
    conn: &mut PgConnection,
    schema: &str,
    probe: &Probe,
) -> Result<i64, sqlx::Error> {
    let table = |name: &str| format!("{}.{}", pg::quote_ident(schema), pg::quote_ident(name));
    let (left,): (i64,) = sqlx::query_as(&format!(
        r#"SELECT (SELECT count(*) FROM {} WHERE email = $1)
                + (SELECT count(*) FROM {} WHERE "sessionToken" = $2)
                + (SELECT count(*) FROM {} WHERE "providerAccountId" = $3)
                + (SELECT count(*) FROM {} WHERE identifier = $4)"#,
        table("users"),
        table("sessions"),
        table("accounts"),
        table("verification_token")
    ))
    .bind(&probe.email)
    .bind(&probe.session_token)
    .bind(&probe.provider_account)
    .bind(&probe.identifier)
    .fetch_one(conn)
    .await?;
    Ok(left)
}
