//! Database URLs, as the store and the database checks both read them: a URL read into the
//! backend, the URL to connect with, and the URL to show (never with a password). A
//! PostgreSQL database off loopback is reached with TLS whose certificate and host name are
//! verified only. Connection failures are said here in words, the same way for both users.

use std::net::IpAddr;

use url::Url;

/// The database a store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// A store URL, read.
#[derive(Clone)]
pub struct Location {
    /// The backend.
    pub backend: Backend,
    /// The URL to connect with (it may hold a password: never shown).
    pub connect: String,
    /// The URL to show: the given one with any password replaced by `***`.
    pub shown: String,
    /// The SQLite file, for SQLite.
    pub path: Option<String>,
    /// The URL as given (it may hold a password: never shown), to open the store again.
    pub given: String,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Why a store URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// Neither SQLite nor PostgreSQL.
    #[error("unsupported store URL {0}: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    Scheme(String),
    /// Not a URL.
    #[error("store URL {shown} cannot be read: {why}")]
    Invalid {
        /// The URL, without its password.
        shown: String,
        /// The parser's reason.
        why: String,
    },
    /// Off loopback without verified TLS.
    #[error("store {shown} is not on this machine, so its certificate and host name must be verified: drop sslmode={mode} (verify-full is the default) or use sslmode=verify-full, with sslrootcert=FILE for a private CA")]
    Unverified {
        /// The URL, without its password.
        shown: String,
        /// The sslmode asked for.
        mode: String,
    },
}

/// The password of a URL replaced by `***` (also a `password=` parameter); a string with
/// an `@` that is not a URL with a host (a mistyped `postgres:/alice:pw@host`) is shown from
/// its last `@` only, after its scheme.
pub fn shown(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) if url.contains('@') && !parsed.has_host() => masked_before_at(url),
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k.eq_ignore_ascii_case("password") {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        Err(_) => masked_before_at(url),
    }
}

/// Everything between the scheme and the last `@` masked: a URL that could not be read
/// may hold a password anywhere there.
fn masked_before_at(url: &str) -> String {
    let Some((_, host)) = url.rsplit_once('@') else {
        return url.to_string();
    };
    let scheme = url.split_once(':').map(|(scheme, _)| scheme).filter(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    match scheme {
        Some(scheme) => format!("{scheme}:***@{host}"),
        None => format!("***@{host}"),
    }
}

/// Reads a store URL.
pub fn parse(url: &str) -> Result<Location, LocationError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(LocationError::Scheme(shown(url)));
        }
        // `?`, `#`, `%` and spaces are parts of the file name, not of the URL.
        let encoded: String = path
            .chars()
            .map(|c| match c {
                '%' => "%25".to_string(),
                '?' => "%3F".to_string(),
                '#' => "%23".to_string(),
                ' ' => "%20".to_string(),
                c => c.to_string(),
            })
            .collect();
        return Ok(Location {
            backend: Backend::Sqlite,
            connect: format!("sqlite://{encoded}?mode=rwc"),
            shown: url.to_string(),
            path: Some(path.to_string()),
            given: url.to_string(),
        });
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(LocationError::Scheme(shown(url)));
    }
    let shown = shown(url);
    // `postgres://user@/db?host=/socket/dir` is a libpq URL with its host in the query; the
    // URL parser wants a host where the query's one takes over anyway.
    let url = &match Url::parse(url) {
        Err(url::ParseError::EmptyHost) if url.contains("host=") => {
            url.replacen("@/", "@localhost/", 1)
        }
        _ => url.to_string(),
    };
    let mut parsed = Url::parse(url).map_err(|e| LocationError::Invalid {
        shown: shown.clone(),
        why: format!("{e} (in a user name or password, write @ as %40, : as %3A and / as %2F)"),
    })?;
    // Each of these may be given once: with two, the connector would take the last one and
    // the check here might have read the other.
    for key in ["sslmode", "ssl-mode", "host", "hostaddr"] {
        if parsed.query_pairs().filter(|(k, _)| k == key).count() > 1 {
            return Err(LocationError::Invalid {
                shown,
                why: format!("`{key}` is given more than once"),
            });
        }
    }
    let modes: Vec<String> = parsed
        .query_pairs()
        .filter(|(k, _)| k == "sslmode" || k == "ssl-mode")
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect();
    if modes.len() > 1 {
        return Err(LocationError::Invalid {
            shown,
            why: "give sslmode once (not also ssl-mode)".into(),
        });
    }
    // Every place the connector may go must be on this machine for the store to count as
    // local: the URL's host, a `host=` (a socket directory, say) and a `hostaddr=`.
    let mut hosts: Vec<String> = parsed
        .query_pairs()
        .filter(|(k, _)| k == "host" || k == "hostaddr")
        .map(|(_, v)| v.into_owned())
        .collect();
    let overridden = parsed.query_pairs().any(|(k, _)| k == "host");
    if !overridden {
        // A socket directory may be written in the host, percent-encoded (%2Fvar%2Frun…).
        let host = parsed.host_str().unwrap_or_default();
        let host = percent_decode(host);
        hosts.push(host);
    }
    if !hosts.iter().all(|h| is_local(h)) {
        match modes.first().map(String::as_str) {
            None => {
                parsed
                    .query_pairs_mut()
                    .append_pair("sslmode", "verify-full");
            }
            Some("verify-full") => {}
            Some(other) => {
                return Err(LocationError::Unverified {
                    shown,
                    mode: other.to_string(),
                })
            }
        }
    }
    Ok(Location {
        backend: Backend::Postgres,
        connect: parsed.to_string(),
        shown,
        path: None,
        given: url.to_string(),
    })
}

/// `%XX` escapes of `text` decoded (text that does not decode stays as it is).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Loopback addresses, `localhost` and Unix sockets (an empty host or a directory) are on
/// this machine.
fn is_local(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What went wrong connecting, in words (the server's message for database errors). The
/// checks that reach a deployment's database say it the same way.
pub fn connect_error(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01" | "28000") => format!("authentication failed: {}", db.message()),
            Some("3D000") => format!("the database does not exist: {}", db.message()),
            Some("42501") => format!("permission denied: {}", db.message()),
            _ => db.message().to_string(),
        },
        sqlx::Error::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(tls) => format!(
                "TLS failed: {tls} (sslrootcert=FILE names the CA that signed the server's certificate)"
            ),
            None => format!("unreachable: {io}"),
        },
        sqlx::Error::Tls(tls) => format!("TLS failed: {tls}"),
        sqlx::Error::Protocol(_) => {
            "the server did not answer like PostgreSQL: check the host and port".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        let location = parse("postgres://alice:s3cret@db.example.com/relcon").expect("valid");
        assert!(!location.shown.contains("s3cret"), "{}", location.shown);
        assert!(location.connect.contains("s3cret"));
        assert!(!format!("{location:?}").contains("s3cret"));
        assert!(!shown("postgres://a@h/d?password=s3cret").contains("s3cret"));
        assert!(!shown("not a url:s3cret@host").contains("s3cret"));
        // A mistyped URL: its password is in the path.
        let mistyped = parse("postgres:/alice:Pw-s3cret@host/db").expect_err("refused");
        assert_eq!(
            mistyped.to_string(),
            "unsupported store URL postgres:***@host/db: use sqlite://PATH or postgres://USER@HOST/DATABASE"
        );
    }

    #[test]
    fn tls_is_verified_off_loopback() {
        let remote = parse("postgres://a@db.example.com/relcon").expect("valid");
        assert!(
            remote.connect.ends_with("sslmode=verify-full"),
            "{}",
            remote.connect
        );
        for weak in ["disable", "prefer", "require", "verify-ca"] {
            let err = parse(&format!("postgres://a:pw@db.example.com/r?sslmode={weak}"))
                .expect_err("refused");
            assert!(
                err.to_string().contains(&format!("drop sslmode={weak}")),
                "{err}"
            );
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        assert!(parse("postgres://a@db.example.com/r?sslmode=verify-full").is_ok());
        for local in [
            "postgres://a@127.0.0.1:5432/r",
            "postgres://a@localhost/r?sslmode=disable",
            "postgresql://a@[::1]/r",
            "postgres:///r?host=/var/run/postgresql",
        ] {
            let location = parse(local).expect("valid");
            assert!(!location.connect.contains("verify-full"), "{local}");
        }
        assert!(
            parse("postgres://a@10.0.0.1/r?host=/tmp").is_ok(),
            "a socket is local"
        );
        let socket = parse("postgres://a:pw@/r?host=/var/run/postgresql").expect("a socket URL");
        assert!(
            !socket.connect.contains("verify-full"),
            "{}",
            socket.connect
        );
    }

    #[test]
    fn sqlite_paths_keep_their_characters() {
        let location = parse("sqlite:///tmp/a b?c#d%e.sqlite").expect("valid");
        assert_eq!(location.path.as_deref(), Some("/tmp/a b?c#d%e.sqlite"));
        assert_eq!(
            location.connect,
            "sqlite:///tmp/a%20b%3Fc%23d%25e.sqlite?mode=rwc"
        );
        assert!(parse("mysql://x").is_err());
        assert!(parse("sqlite://").is_err());
    }
}
