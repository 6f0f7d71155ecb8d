//! The sandbox target: an HTTPS server on 127.0.0.1 that behaves like a deployed Auth.js
//! backend (health, readiness, version, CSRF, providers and session endpoints, request-id
//! echo, HSTS) with a plain-HTTP port that redirects, a CA made at start, and fault
//! switches that break one behaviour each.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::header::{HeaderValue, LOCATION, SET_COOKIE};
use hyper::StatusCode;

use super::pki::{Ca, Validity};
use super::server::{full, Handler, Request, Response, Server};
use super::sessions::Sessions;

/// A behaviour the sandbox can be told to get wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// `/health` answers 500.
    Health500,
    /// `/health` never answers.
    HealthHang,
    /// `/ready` answers 503.
    Ready503,
    /// Auth.js cookies without prefixes, `Secure` or `HttpOnly`.
    InsecureCookies,
    /// The `__Host-` csrf cookie carries a `Domain`.
    HostCookieDomain,
    /// No request id, echoed or generated.
    NoRequestId,
    /// A provider's callback URL on another origin.
    WrongCallback,
    /// No `Strict-Transport-Security`.
    NoHsts,
    /// Plain HTTP answers instead of redirecting to HTTPS.
    NoRedirect,
    /// `/version` reports another build.
    OldVersion,
    /// The deployment runs another Auth.js secret than its configuration says.
    SecretDrift,
    /// The deployed repository's history holds a database password.
    CommittedSecret,
    /// After this many liveness probes, every answer takes [`SLOWDOWN`] longer.
    SlowAfter(u32),
    /// After this many liveness probes, `/health` answers 502.
    FailAfter(u32),
    /// After this many liveness probes, `/version` reports another build: someone deployed
    /// over the release.
    VersionAfter(u32),
}

/// How much slower the sandbox answers under `slow-after:N`.
pub const SLOWDOWN: std::time::Duration = std::time::Duration::from_millis(400);

/// The faults that set in after a number of liveness probes (one per run of `health.live`,
/// one per bake round), with what they do: for showing a bake catch a release going bad.
pub const LATER: [(&str, &str); 3] = [
    (
        "slow-after:N",
        "after N liveness probes, every answer takes 400 ms longer",
    ),
    (
        "fail-after:N",
        "after N liveness probes, GET /health answers 502",
    ),
    (
        "version-after:N",
        "after N liveness probes, /version reports another build (deployed over)",
    ),
];

impl Fault {
    /// Every fault, with its name and what it breaks.
    pub const ALL: [(Fault, &'static str, &'static str); 12] = [
        (Fault::Health500, "health-500", "GET /health answers 500"),
        (
            Fault::HealthHang,
            "health-hang",
            "GET /health never answers",
        ),
        (Fault::Ready503, "ready-503", "GET /ready answers 503"),
        (
            Fault::InsecureCookies,
            "insecure-cookies",
            "Auth.js cookies lose their prefixes, Secure and HttpOnly",
        ),
        (
            Fault::HostCookieDomain,
            "host-cookie-domain",
            "the __Host- csrf cookie sets a Domain",
        ),
        (
            Fault::NoRequestId,
            "no-request-id",
            "responses carry no request id",
        ),
        (
            Fault::WrongCallback,
            "wrong-callback",
            "a provider's callbackUrl points at another origin",
        ),
        (
            Fault::NoHsts,
            "no-hsts",
            "no Strict-Transport-Security header",
        ),
        (
            Fault::NoRedirect,
            "no-redirect",
            "plain HTTP answers 200 instead of redirecting",
        ),
        (
            Fault::OldVersion,
            "old-version",
            "/version reports the previous build",
        ),
        (
            Fault::SecretDrift,
            "secret-drift",
            "the deployment runs another Auth.js secret than the configuration",
        ),
        (
            Fault::CommittedSecret,
            "committed-secret",
            "a database URL with its password was committed (and removed) in the repository",
        ),
    ];

    /// The fault named `name` (`slow-after:30` for one that sets in later).
    pub fn named(name: &str) -> Option<Fault> {
        if let Some((kind, count)) = name.split_once(':') {
            let count: u32 = count.parse().ok()?;
            return match kind {
                "slow-after" => Some(Fault::SlowAfter(count)),
                "fail-after" => Some(Fault::FailAfter(count)),
                "version-after" => Some(Fault::VersionAfter(count)),
                _ => None,
            };
        }
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(f, _, _)| *f)
    }

    /// Its name, as `--fault` takes it.
    pub fn name(self) -> String {
        match self {
            Fault::SlowAfter(n) => format!("slow-after:{n}"),
            Fault::FailAfter(n) => format!("fail-after:{n}"),
            Fault::VersionAfter(n) => format!("version-after:{n}"),
            _ => Self::ALL
                .iter()
                .find(|(f, _, _)| *f == self)
                .map_or(String::new(), |(_, n, _)| n.to_string()),
        }
    }

    /// Whether it sets in after probes.
    pub fn later(self) -> bool {
        matches!(
            self,
            Fault::SlowAfter(_) | Fault::FailAfter(_) | Fault::VersionAfter(_)
        )
    }
}

/// The platform the sandbox plays: what its edge adds and what the deployment has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Platform {
    /// A container behind a load balancer that redirects plain HTTP: x-request-id, /ready.
    #[default]
    Container,
    /// A Kubernetes ingress behind an HTTPS-only load balancer: port 80 refuses.
    Kubernetes,
    /// Vercel: x-vercel-id, no readiness probe, Deployment Protection (a bypass header).
    Vercel,
    /// Cloudflare Workers: cf-ray, no readiness probe, no HSTS unless opted in.
    Workers,
}

impl Platform {
    /// Every platform, with its name (the shipped checklist's DEPLOY_PLATFORM values).
    pub const ALL: [(Platform, &'static str); 4] = [
        (Platform::Container, "container"),
        (Platform::Kubernetes, "kubernetes"),
        (Platform::Vercel, "vercel"),
        (Platform::Workers, "workers"),
    ];

    /// The platform named `name`.
    pub fn named(name: &str) -> Option<Platform> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(p, _)| *p)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("", |(_, n)| n)
    }

    /// Whether it has a readiness endpoint.
    fn has_readiness(self) -> bool {
        matches!(self, Platform::Container | Platform::Kubernetes)
    }
}

/// The build the sandbox says it runs.
pub const RELEASE_SHA: &str = "4f2c9a1e7b3d5f60c8a2e4b6d8f0a1c3e5b7d9f2";

/// What the sandbox says under `old-version`.
pub const OLD_SHA: &str = "0b1d3f5a7c9e2b4d6f8a0c2e4a6c8e0b2d4f6a8c";

/// A running sandbox.
pub struct Sandbox {
    /// The base URL, `https://localhost:PORT`.
    pub base_url: String,
    /// The plain-HTTP port.
    pub http_port: u16,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca_path: PathBuf,
    /// The faults switched on.
    pub faults: BTreeSet<Fault>,
    /// Its Auth.js sessions.
    pub sessions: Arc<Sessions>,
    /// The platform it plays.
    pub platform: Platform,
    /// On Vercel, the Deployment Protection bypass secret requests must carry.
    pub bypass: Option<String>,
    _https: Server,
    _http: Option<Server>,
}

/// A JSON response.
fn json(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

struct Target {
    base_url: String,
    /// Liveness probes answered so far, by the whole sandbox.
    probes: Arc<std::sync::atomic::AtomicU32>,
    faults: BTreeSet<Fault>,
    sessions: Arc<Sessions>,
    platform: Platform,
    bypass: Option<String>,
}

impl Target {
    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// Whether a fault that sets in after `n` probes has, by `probes` probes.
    fn set_in(&self, probes: u32, of: fn(Fault) -> Option<u32>) -> bool {
        self.faults
            .iter()
            .filter_map(|f| of(*f))
            .any(|after| probes > after)
    }

    async fn answer(&self, request: Request) -> Response {
        let path = request.uri().path().to_string();
        let probes = if path == "/health" {
            self.probes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .saturating_add(1)
        } else {
            self.probes.load(std::sync::atomic::Ordering::Relaxed)
        };
        let later = |of: fn(Fault) -> Option<u32>| self.set_in(probes, of);
        if later(|f| match f {
            Fault::SlowAfter(n) => Some(n),
            _ => None,
        }) {
            tokio::time::sleep(SLOWDOWN).await;
        }
        let failing = later(|f| match f {
            Fault::FailAfter(n) => Some(n),
            _ => None,
        });
        let deployed_over = later(|f| match f {
            Fault::VersionAfter(n) => Some(n),
            _ => None,
        });
        let protected = self.bypass.as_ref().is_some_and(|bypass| {
            header(&request, "x-vercel-protection-bypass").as_ref() != Some(bypass)
        });
        let mut response = match path.as_str() {
            // Deployment Protection answers before the app does.
            _ if protected => json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error": "Authentication Required"}),
            ),
            "/ready" if !self.platform.has_readiness() => json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "not found"}),
            ),
            "/health" if self.has(Fault::HealthHang) => std::future::pending().await,
            "/health" if failing => json(
                StatusCode::BAD_GATEWAY,
                serde_json::json!({"error": "bad gateway"}),
            ),
            "/health" if self.has(Fault::Health500) => json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"status": "error"}),
            ),
            "/health" => json(StatusCode::OK, serde_json::json!({"status": "ok"})),
            "/ready" if self.has(Fault::Ready503) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"ready": false, "database": "unreachable"}),
            ),
            "/ready" => json(StatusCode::OK, serde_json::json!({"ready": true})),
            "/version" => {
                let sha = if self.has(Fault::OldVersion) || deployed_over {
                    OLD_SHA
                } else {
                    RELEASE_SHA
                };
                json(
                    StatusCode::OK,
                    serde_json::json!({"version": "1.4.0", "commit": sha}),
                )
            }
            "/api/auth/csrf" => self.csrf(),
            "/api/auth/providers" => self.providers(),
            "/api/auth/session" => self.session(&request).await,
            _ => json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "not found"}),
            ),
        };
        let headers = response.headers_mut();
        if path.starts_with("/api/auth/") {
            headers.insert(
                "cache-control",
                HeaderValue::from_static("no-store, max-age=0"),
            );
        }
        // Cloudflare sends HSTS only when the zone opts in.
        if !self.has(Fault::NoHsts) && self.platform != Platform::Workers {
            headers.insert(
                "strict-transport-security",
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        if self.has(Fault::NoRequestId) {
            return response;
        }
        // The edge's own request ids.
        let edge = match self.platform {
            Platform::Vercel => Some((
                "x-vercel-id",
                format!("fra1::iad1::{}", uuid::Uuid::now_v7().simple()),
            )),
            Platform::Workers => Some(("cf-ray", format!("{:016x}-FRA", rand::random::<u64>()))),
            Platform::Container | Platform::Kubernetes => None,
        };
        if let Some((name, id)) = edge {
            if let Ok(value) = HeaderValue::from_str(&id) {
                headers.insert(name, value);
            }
        } else {
            // Echo a well-formed incoming id, else make one.
            let id = header(&request, "x-request-id")
                .filter(|id| {
                    id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
            if let Ok(value) = HeaderValue::from_str(&id) {
                headers.insert("x-request-id", value);
            }
        }
        response
    }

    fn csrf(&self) -> Response {
        let base = match self.sessions.version {
            crate::authjs::Version::V4 => "next-auth",
            crate::authjs::Version::V5 => "authjs",
        };
        let token: String = (0..32)
            .map(|_| format!("{:x}", rand::random::<u8>() & 0xf))
            .collect();
        let mut response = json(StatusCode::OK, serde_json::json!({ "csrfToken": token }));
        let (csrf, callback) = if self.has(Fault::InsecureCookies) {
            (
                format!("{base}.csrf-token={token}%7Cabcdef; Path=/; SameSite=Lax"),
                format!(
                    "{base}.callback-url={}; Path=/; SameSite=Lax",
                    self.base_url
                ),
            )
        } else {
            let domain = if self.has(Fault::HostCookieDomain) {
                "; Domain=localhost"
            } else {
                ""
            };
            (
                format!("__Host-{base}.csrf-token={token}%7Cabcdef; Path=/; HttpOnly; Secure; SameSite=Lax{domain}"),
                format!("__Secure-{base}.callback-url={}; Path=/; HttpOnly; Secure; SameSite=Lax", self.base_url.replace(':', "%3A").replace('/', "%2F")),
            )
        };
        for cookie in [csrf, callback] {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        response
    }

    fn providers(&self) -> Response {
        let origin = if self.has(Fault::WrongCallback) {
            "https://preview-1234.example.dev".to_string()
        } else {
            self.base_url.clone()
        };
        let provider = |id: &str, name: &str, kind: &str, origin: &str| {
            serde_json::json!({
                "id": id,
                "name": name,
                "type": kind,
                "signinUrl": format!("{}/api/auth/signin/{id}", self.base_url),
                "callbackUrl": format!("{origin}/api/auth/callback/{id}"),
            })
        };
        json(
            StatusCode::OK,
            serde_json::json!({
                "google": provider("google", "Google", "oidc", &self.base_url),
                "github": provider("github", "GitHub", "oauth", &origin),
                "resend": provider("resend", "Resend", "email", &self.base_url),
            }),
        )
    }

    async fn session(&self, request: &Request) -> Response {
        let answer = self
            .sessions
            .answer(header(request, "cookie").as_deref(), true)
            .await;
        let mut response = json(StatusCode::OK, answer.body);
        for cookie in answer.set_cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        response
    }
}

impl Sandbox {
    /// Starts the sandbox as `platform` with `faults` and `sessions` (whose secrets
    /// `secret-drift` replaces by another); the CA certificate is written into `dir`.
    pub async fn start(
        platform: Platform,
        faults: &[Fault],
        mut sessions: Sessions,
        dir: &Path,
    ) -> Result<Self, String> {
        let ca = Ca::new("relcon sandbox CA").map_err(|e| e.to_string())?;
        let leaf = ca
            .issue(&["localhost", "127.0.0.1"], Validity::days(90))
            .map_err(|e| e.to_string())?;
        let ca_path = dir.join("sandbox-ca.pem");
        std::fs::write(&ca_path, ca.pem())
            .map_err(|e| format!("cannot write {}: {e}", ca_path.display()))?;
        let tls = super::pki::server_config(&leaf, &[]).map_err(|e| e.to_string())?;
        let faults: BTreeSet<Fault> = faults.iter().copied().collect();
        if faults.contains(&Fault::SecretDrift) {
            sessions.secrets = vec![hex::encode(rand::random::<[u8; 32]>())];
        }
        let sessions = Arc::new(sessions);
        let bypass =
            (platform == Platform::Vercel).then(|| hex::encode(rand::random::<[u8; 16]>()));
        let target_bypass = bypass.clone();
        let target_sessions = sessions.clone();
        // The HTTPS port is known only once bound; the handler reads the base URL from here.
        let base = Arc::new(std::sync::OnceLock::<String>::new());
        let target_faults = faults.clone();
        let target_base = base.clone();
        let probes = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let https_handler: Handler = Arc::new(move |request| {
            let target = Target {
                base_url: target_base.get().cloned().unwrap_or_default(),
                probes: probes.clone(),
                faults: target_faults.clone(),
                sessions: target_sessions.clone(),
                platform,
                bypass: target_bypass.clone(),
            };
            Box::pin(async move { target.answer(request).await })
        });
        let https = Server::start(Some(Arc::new(tls)), https_handler)
            .await
            .map_err(|e| e.to_string())?;
        let base_url = format!("https://localhost:{}", https.addr.port());
        let _ = base.set(base_url.clone());
        let redirect = !faults.contains(&Fault::NoRedirect);
        let to = base_url.clone();
        let http_handler: Handler = Arc::new(move |request| {
            let location = format!(
                "{to}{}",
                request.uri().path_and_query().map_or("/", |p| p.as_str())
            );
            Box::pin(async move {
                if redirect {
                    let mut response = Response::new(full(""));
                    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
                    if let Ok(value) = HeaderValue::from_str(&location) {
                        response.headers_mut().insert(LOCATION, value);
                    }
                    response
                } else {
                    Response::new(full("plain http"))
                }
            })
        });
        let http = Server::start(None, http_handler)
            .await
            .map_err(|e| e.to_string())?;
        let http_port = http.addr.port();
        // Behind an HTTPS-only load balancer nothing listens for plain HTTP: the port is
        // closed again, so connecting to it is refused.
        let http = (platform != Platform::Kubernetes).then_some(http);
        Ok(Self {
            base_url,
            http_port,
            ca_path,
            faults,
            sessions,
            platform,
            bypass,
            _https: https,
            _http: http,
        })
    }

    /// Fills a configuration template (`assets/demo.env`): `{{base_url}}`, `{{http_port}}`,
    /// `{{release_sha}}`, `{{secret}}` and `{{platform}}`; then sets it up as the platform
    /// has it: on Vercel the URL is the deployment's own (no canonical URL: Auth.js v5 trusts
    /// the platform) and the protection bypass is given; Workers set no NODE_ENV.
    pub fn fill(&self, template: &str, secret: &str) -> String {
        let filled = template
            .replace("{{base_url}}", &self.base_url)
            .replace("{{http_port}}", &self.http_port.to_string())
            .replace("{{release_sha}}", RELEASE_SHA)
            .replace("{{secret}}", secret)
            .replace("{{platform}}", self.platform.name());
        let mut lines: Vec<String> = Vec::new();
        for line in filled.lines() {
            match self.platform {
                Platform::Vercel if line.starts_with("AUTH_URL=") => {
                    lines.push(line.replacen("AUTH_URL=", "DEPLOY_URL=", 1));
                    if let Some(bypass) = &self.bypass {
                        lines.push(format!("VERCEL_AUTOMATION_BYPASS_SECRET={bypass}"));
                    }
                }
                Platform::Workers if line.starts_with("NODE_ENV=") => {}
                _ => lines.push(line.to_string()),
            }
        }
        lines.join("\n") + "\n"
    }
}
