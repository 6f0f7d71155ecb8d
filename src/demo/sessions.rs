//! The sandbox's Auth.js session endpoint, as either generation answers it: with JWT
//! sessions (the token decrypted with the secrets the deployment runs, rotation secrets
//! first, every secret tried only when the token names its key) or database sessions (the
//! adapter's `sessions` and `users` tables), `{}` (v4) or `null` (v5) when there is no
//! session, and the session cookie set again on every signed-in answer, as Auth.js does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Row as _};

use crate::authjs::{self, Sealing, Version};

/// Where the deployment keeps its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Encrypted JWTs in the cookie.
    Jwt,
    /// Rows of the adapter's `sessions` table; the cookie holds the row's token.
    Database,
}

/// How long a session lasts (Auth.js's default `maxAge`, 30 days).
const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The sandbox's session configuration.
#[derive(Debug)]
pub struct Sessions {
    /// The Auth.js generation it runs.
    pub version: Version,
    /// Where sessions live.
    pub strategy: Strategy,
    /// The secrets it runs, in the order Auth.js tries them.
    pub secrets: Vec<String>,
    /// The database holding the adapter's tables, once known.
    pub database: OnceLock<String>,
    /// JWT session errors the deployment would have logged (a token it could not decrypt).
    pub errors: AtomicUsize,
}

/// A signed-in answer's body and the session cookie set again; or no session.
pub struct Answer {
    /// The JSON body.
    pub body: serde_json::Value,
    /// `Set-Cookie` header values.
    pub set_cookies: Vec<String>,
}

impl Sessions {
    /// A deployment of `version` keeping sessions per `strategy`, with `secrets`.
    pub fn new(version: Version, strategy: Strategy, secrets: Vec<String>) -> Self {
        Self {
            version,
            strategy,
            secrets,
            database: OnceLock::new(),
            errors: AtomicUsize::new(0),
        }
    }

    /// The session cookie's name.
    pub fn cookie_name(&self, https: bool) -> &'static str {
        self.version.cookie_name(https)
    }

    fn sealing<'a>(&self, secret: &'a str, https: bool) -> Sealing<'a> {
        Sealing {
            version: self.version,
            secret: secret.as_bytes(),
            salt: match self.version {
                Version::V4 => "",
                Version::V5 => self.cookie_name(https),
            },
        }
    }

    /// A session token for `email` with the first secret: what signing in would set.
    pub fn mint(&self, email: &str, https: bool) -> String {
        let now = unix_now();
        let claims = serde_json::json!({
            "name": "Sandbox User", "email": email, "sub": "sandbox-user-1",
            "iat": now, "exp": now + MAX_AGE.as_secs(), "jti": uuid::Uuid::now_v7().to_string(),
        });
        let secret = self.secrets.first().map_or("", String::as_str);
        self.sealing(secret, https).encode(&claims)
    }

    /// What the session endpoint answers a request with `cookie_header`.
    pub async fn answer(&self, cookie_header: Option<&str>, https: bool) -> Answer {
        let name = self.cookie_name(https);
        let token = cookie_header.and_then(|header| session_cookie(header, name));
        let user = match (token, self.strategy) {
            (None, _) => None,
            (Some(token), Strategy::Jwt) => self.open(&token, https),
            (Some(token), Strategy::Database) => {
                self.lookup(&token).await.map(|user| (user, token))
            }
        };
        let Some((user, token)) = user else {
            let body = match self.version {
                Version::V4 => serde_json::json!({}),
                Version::V5 => serde_json::Value::Null,
            };
            return Answer {
                body,
                set_cookies: Vec::new(),
            };
        };
        let expires = SystemTime::now() + MAX_AGE;
        let set_cookies = authjs::cookies(self.version, name, &token)
            .into_iter()
            .map(|(name, value)| {
                cookie::Cookie::build((name, value))
                    .path("/")
                    .expires(time::OffsetDateTime::from(expires))
                    .http_only(true)
                    .same_site(cookie::SameSite::Lax)
                    .secure(https)
                    .to_string()
            })
            .collect();
        Answer {
            body: serde_json::json!({
                "user": user,
                "expires": humantime::format_rfc3339_millis(expires).to_string(),
            }),
            set_cookies,
        }
    }

    /// The user of a JWT session and the token set again (re-encrypted with a later
    /// expiry), or none; a token no secret opens is logged as Auth.js logs it.
    fn open(&self, token: &str, https: bool) -> Option<(serde_json::Value, String)> {
        // @auth/core tries every secret when the token names its key, else the first only.
        let kid = token_has_kid(token);
        let tried = if kid { self.secrets.len() } else { 1 };
        let claims = self
            .secrets
            .iter()
            .take(tried)
            .find_map(|secret| self.sealing(secret, https).decode(token).ok());
        let Some(mut claims) = claims else {
            self.errors.fetch_add(1, Ordering::SeqCst);
            return None;
        };
        if claims["exp"].as_u64().is_some_and(|exp| exp < unix_now()) {
            return None;
        }
        let user = serde_json::json!({
            "name": claims["name"], "email": claims["email"], "image": claims.get("picture"),
        });
        claims["exp"] = serde_json::json!(unix_now() + MAX_AGE.as_secs());
        let secret = self.secrets.first().map_or("", String::as_str);
        Some((user, self.sealing(secret, https).encode(&claims)))
    }

    /// The user of a database session, if the row exists and has not expired (its expiry
    /// pushed out, as Auth.js does on use).
    async fn lookup(&self, token: &str) -> Option<serde_json::Value> {
        let url = self.database.get()?;
        let mut conn = PgConnection::connect(url).await.ok()?;
        let row = sqlx::query(
            "UPDATE sessions SET expires = now() + interval '30 days' \
             WHERE \"sessionToken\" = $1 AND expires > now() RETURNING \"userId\"::text",
        )
        .bind(token)
        .fetch_optional(&mut conn)
        .await
        .ok()??;
        let user_id: String = row.try_get(0).ok()?;
        let user = sqlx::query("SELECT name, email FROM users WHERE id::text = $1")
            .bind(&user_id)
            .fetch_optional(&mut conn)
            .await
            .ok()??;
        let _ = conn.close().await;
        Some(serde_json::json!({
            "name": user.try_get::<Option<String>, _>(0).ok()?,
            "email": user.try_get::<Option<String>, _>(1).ok()?,
            "image": null,
        }))
    }
}

/// The session token in a `Cookie` header: the cookie `name`, or its chunks put together.
fn session_cookie(header: &str, name: &str) -> Option<String> {
    let mut whole = None;
    let mut chunks: Vec<(usize, String)> = Vec::new();
    for pair in header.split(';') {
        let Some((key, value)) = pair.trim().split_once('=') else {
            continue;
        };
        if key == name {
            whole = Some(value.to_string());
        } else if let Some(index) = key
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|i| i.parse().ok())
        {
            chunks.push((index, value.to_string()));
        }
    }
    if chunks.is_empty() {
        return whole;
    }
    chunks.sort();
    Some(chunks.into_iter().map(|(_, value)| value).collect())
}

/// Whether a token's protected header has a `kid`.
fn token_has_kid(token: &str) -> bool {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|h| h.get("kid").is_some())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
