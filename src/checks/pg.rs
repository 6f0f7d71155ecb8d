//! What the database checks share: the connection an item names, reached with verified TLS
//! off this machine, within the connection's timeout (a Neon compute may be waking up), and
//! failures said in words with the password never shown.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::Connection as _;

use super::CheckContext;
use super::CheckResult;
use crate::dburl::{self, LocationError};
use crate::status::Status;

/// A database an item reaches, resolved from its connection's inputs.
pub struct Target {
    /// The connection's name in the checklist.
    pub name: String,
    /// The input the URL came from.
    pub input: String,
    /// The URL as shown: the password replaced by `***`.
    pub shown: String,
    /// Whether the host is a `-pooler` host (PgBouncer in transaction mode).
    pub pooler: bool,
    /// What relcon did with the URL that a reader should know.
    pub notes: Vec<String>,
    options: PgConnectOptions,
    connect_timeout: Duration,
}

impl Target {
    /// How to connect, for work that must outlive the check (cleanup after a drop).
    pub fn options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// What the evidence says of the connection.
    pub fn evidence(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "from": self.input,
            "url": self.shown,
            "notes": self.notes,
        })
    }
}

/// sslmodes that ask for TLS without verifying it fully: relcon verifies anyway.
const UPGRADED: &[&str] = &["prefer", "require", "verify-ca"];

/// The database of the connection named `name`, or the result that says why there is none.
pub fn target(ctx: &CheckContext<'_>, name: &str) -> Result<Target, CheckResult> {
    let Some(connection) = ctx.checklist.connections.iter().find(|c| c.name == name) else {
        return Err(CheckResult::definitive_error(format!(
            "connection `{name}` is not declared"
        )));
    };
    let Some((input, url)) = ctx.values.first_set(&connection.from) else {
        return Err(CheckResult::definitive_error(format!(
            "connection `{name}` has no URL: set {}",
            connection.from.join(" or ")
        )));
    };
    let mut notes = Vec::new();
    let location = match dburl::parse(url) {
        Err(LocationError::Unverified { mode, .. }) if UPGRADED.contains(&mode.as_str()) => {
            notes.push(format!(
                "sslmode={mode} asked; relcon verifies the server's certificate and host name (verify-full)"
            ));
            dburl::parse(&with_sslmode(url, "verify-full"))
        }
        other => other,
    };
    let location = match location {
        Ok(location) if location.path.is_none() => location,
        Ok(location) => {
            return Err(CheckResult::definitive_error(format!(
                "{input} holds {}, not a postgres:// URL",
                location.shown
            )))
        }
        Err(LocationError::Unverified { shown, mode }) => {
            return Err(CheckResult::new(
                Status::Fail,
                format!("{input} asks for sslmode={mode} to {shown}, which is not on this machine: the database must be reached with verified TLS (drop sslmode or use verify-full)"),
            ))
        }
        Err(LocationError::Scheme(_)) => {
            return Err(CheckResult::definitive_error(format!(
                "{input} is not a postgres:// URL"
            )))
        }
        Err(err) => {
            return Err(CheckResult::definitive_error(format!(
                "{input}: {}",
                err.to_string().replacen("store URL", "URL", 1)
            )))
        }
    };
    let mut options = PgConnectOptions::from_str(&location.connect).map_err(|err| {
        CheckResult::definitive_error(format!(
            "{input} cannot be read: {}",
            dburl::shown(&err.to_string())
        ))
    })?;
    let verify_full = url::Url::parse(&location.connect).is_ok_and(|u| {
        u.query_pairs()
            .any(|(k, v)| (k == "sslmode" || k == "ssl-mode") && v == "verify-full")
    });
    // The password may appear on its own (a server echoing the user's login, say): it is a
    // secret wherever it shows.
    if let Ok(parsed) = url::Url::parse(&location.connect) {
        if let Some(password) = parsed.password() {
            ctx.redactor.add_secret(password);
            ctx.redactor.add_secret(&dburl::percent_decode(password));
        }
        // libpq takes the password from the query too.
        for (_, password) in parsed.query_pairs().filter(|(k, _)| k == "password") {
            ctx.redactor.add_secret(&password);
        }
    }
    if verify_full {
        options = options.ssl_mode(PgSslMode::VerifyFull);
        if !location.connect.contains("sslrootcert=") {
            if let Some(cacert) = ctx.net.cacert() {
                options = options.ssl_root_cert(cacert);
            }
        }
    }
    if url.contains("channel_binding=") {
        notes.push(
            "channel_binding is not applied by relcon's driver; TLS is verified instead".into(),
        );
    }
    options = options.application_name("relcon");
    let host = url::Url::parse(&location.connect)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    Ok(Target {
        name: name.to_string(),
        input: input.to_string(),
        shown: location.shown,
        pooler: is_pooler(&host),
        notes,
        options,
        connect_timeout: connection.connect_timeout,
    })
}

/// Whether `host` is a Neon pooler endpoint (`ep-…-pooler.region.aws.neon.tech`).
fn is_pooler(host: &str) -> bool {
    host.split('.')
        .next()
        .is_some_and(|h| h.ends_with("-pooler"))
}

/// `url` with its sslmode set to `mode`.
fn with_sslmode(url: &str, mode: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| match k.as_ref() {
            "sslmode" | "ssl-mode" => (k.into_owned(), mode.to_string()),
            _ => (k.into_owned(), v.into_owned()),
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// The database of connection `name` and a connection to it, or the result that says why
/// there is none.
pub async fn open(
    ctx: &CheckContext<'_>,
    name: &str,
) -> Result<(Target, PgConnection), CheckResult> {
    let target = target(ctx, name)?;
    let conn = connect(ctx, &target).await?;
    Ok((target, conn))
}

/// A connection to `target`, within its connect timeout and the item's deadline.
pub async fn connect(ctx: &CheckContext<'_>, target: &Target) -> Result<PgConnection, CheckResult> {
    let wait = target.connect_timeout.min(ctx.remaining());
    match tokio::time::timeout(wait, PgConnection::connect_with(&target.options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(err)) => Err(CheckResult::new(
            Status::Fail,
            format!(
                "cannot connect to {} (from {}): {}",
                target.shown,
                target.input,
                crate::dburl::connect_error(&err)
            ),
        )
        .with_evidence(serde_json::json!({ "connection": target.evidence() }))),
        Err(_) => Err(CheckResult::new(
            Status::Fail,
            format!(
                "cannot connect to {} (from {}): no answer within {} (a Neon compute may be waking up: raise the connection's connect_timeout; or the host and port are not a PostgreSQL server's)",
                target.shown,
                target.input,
                humantime::format_duration(wait)
            ),
        )
        .with_evidence(serde_json::json!({ "connection": target.evidence() }))),
    }
}

/// Asks the server to cancel what backend `pid` (one of this role's connections) runs, from
/// a connection of its own; a failure is not reported: the statement then ends at its
/// statement_timeout.
pub async fn cancel_backend(target: &Target, pid: i32) {
    let cancel = async {
        let mut conn = PgConnection::connect_with(&target.options).await.ok()?;
        let _ = sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        Some(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), cancel).await;
}

/// A statement's error in words: the server's message with its code, detail and hint.
pub fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => {
            let mut text = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    text.push_str(&format!(" ({detail})"));
                }
                if let Some(hint) = pg.hint() {
                    text.push_str(&format!("; hint: {hint}"));
                }
            }
            match db.code() {
                Some(code) => format!("{text} [SQLSTATE {code}]"),
                None => text,
            }
        }
        other => crate::dburl::connect_error(other),
    }
}

/// The SQLSTATE of a database error.
pub fn code(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// An identifier quoted for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A duration as a PostgreSQL setting value in milliseconds.
pub fn setting_ms(duration: Duration) -> String {
    format!("'{}ms'", duration.as_millis().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooler_hosts_are_told_apart() {
        assert!(is_pooler("ep-cool-1-pooler.eu-central-1.aws.neon.tech"));
        assert!(!is_pooler("ep-cool-1.eu-central-1.aws.neon.tech"));
        assert!(!is_pooler("db.example.com"));
        assert!(!is_pooler("127.0.0.1"));
    }

    #[test]
    fn a_weaker_sslmode_becomes_verify_full_and_keeps_the_rest() {
        let url = with_sslmode(
            "postgresql://app:pw@ep-x.aws.neon.tech/db?sslmode=require&channel_binding=require",
            "verify-full",
        );
        assert_eq!(
            url,
            "postgresql://app:pw@ep-x.aws.neon.tech/db?sslmode=verify-full&channel_binding=require"
        );
    }
}
