//! The signed-in smoke (`authjs.session`) through the real binary, against a loopback HTTPS
//! Auth.js stand-in (the sandbox's session endpoint: v4 and v5, JWT and database sessions,
//! chunked cookies, `{}` and `null` for no session) that records every session cookie it
//! receives and sets, and the real PostgreSQL for probe rows. Every cookie value that crossed
//! the wire is a canary: none may appear in stdout, stderr, JUnit, the store or an export.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{item, report, Ran, ScratchDb};
use relcon::authjs::{Sealing, Version};
use relcon::demo::pki::{Ca, Validity};
use relcon::demo::server::{full, Handler, Server};
use relcon::demo::sessions::{Sessions, Strategy};

const SECRET: &str = "stand-in-secret-4f1c2b3a5d6e7f8091a2b3c4d5e6f708";
const OTHER: &str = "a-secret-nobody-reviewed-8c7b6a594837261504f3e2d1";

/// The Auth.js stand-in, on its own runtime.
struct StandIn {
    base: String,
    ca: PathBuf,
    sessions: Arc<Sessions>,
    /// Every session cookie (name, value) received or set.
    wire: Arc<Mutex<Vec<(String, String)>>>,
    /// Signed-in requests never answered while set.
    hang: Arc<AtomicBool>,
    _server: Server,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl StandIn {
    fn start(sessions: Sessions) -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = Ca::new("stand-in CA").expect("a CA");
        let leaf = ca.issue(&["localhost"], Validity::days(1)).expect("a leaf");
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).expect("writes the CA");
        let tls = relcon::demo::pki::server_config(&leaf, &[]).expect("TLS config");
        let sessions = Arc::new(sessions);
        let wire = Arc::new(Mutex::new(Vec::new()));
        let hang = Arc::new(AtomicBool::new(false));
        let (s, w, h) = (sessions.clone(), wire.clone(), hang.clone());
        let handler: Handler = Arc::new(move |request| {
            let (sessions, wire, hang) = (s.clone(), w.clone(), h.clone());
            Box::pin(async move {
                let cookie = request
                    .headers()
                    .get("cookie")
                    .and_then(|v| v.to_str().ok())
                    .map(String::from);
                let mut response = match request.uri().path() {
                    "/api/auth/session" => {
                        if let Some(header) = &cookie {
                            let pairs: Vec<(String, String)> = header
                                .split(';')
                                .filter_map(|pair| pair.trim().split_once('='))
                                .map(|(n, v)| (n.to_string(), v.to_string()))
                                .collect();
                            wire.lock().unwrap().extend(pairs);
                            if hang.load(Ordering::SeqCst) {
                                std::future::pending::<()>().await;
                            }
                        }
                        let answer = sessions.answer(cookie.as_deref(), true).await;
                        let mut response = hyper::Response::new(full(answer.body.to_string()));
                        for set in answer.set_cookies {
                            let parsed = cookie::Cookie::parse(set.clone()).expect("a cookie");
                            wire.lock()
                                .unwrap()
                                .push((parsed.name().to_string(), parsed.value().to_string()));
                            response
                                .headers_mut()
                                .append("set-cookie", set.parse().expect("a header"));
                        }
                        response
                    }
                    _ => {
                        let mut response = hyper::Response::new(full("not found"));
                        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                        response
                    }
                };
                response
                    .headers_mut()
                    .insert("content-type", "application/json".parse().unwrap());
                response
            })
        });
        let server = runtime
            .block_on(Server::start(Some(Arc::new(tls)), handler))
            .expect("the stand-in starts");
        StandIn {
            base: format!("https://localhost:{}", server.addr.port()),
            ca: ca_path,
            sessions,
            wire,
            hang,
            _server: server,
            _runtime: runtime,
            _dir: dir,
        }
    }

    /// The session cookie values that crossed the wire.
    fn canaries(&self) -> Vec<String> {
        self.wire
            .lock()
            .unwrap()
            .iter()
            .map(|(_, v)| v.clone())
            .filter(|v| v.len() >= 8)
            .collect()
    }

    fn cookie_names(&self) -> Vec<String> {
        self.wire
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn jwt_errors(&self) -> usize {
        self.sessions.errors.load(Ordering::SeqCst)
    }
}

/// A stand-in keeping JWT sessions, running `secrets`.
fn jwt_stand_in(version: Version, secrets: Vec<String>) -> StandIn {
    StandIn::start(Sessions::new(version, Strategy::Jwt, secrets))
}

/// Runs the project until its first session request is at the (hanging) stand-in, calls
/// `meanwhile`, then stops it with SIGTERM; what it printed.
fn stopped_at_the_request(
    project: &Project,
    stand_in: &StandIn,
    env: &[(&str, &str)],
    meanwhile: impl FnOnce(),
) -> std::process::Output {
    stand_in.hang.store(true, Ordering::SeqCst);
    let child: Child = project
        .command(stand_in, env, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("relcon starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while stand_in.cookie_names().is_empty() {
        assert!(Instant::now() < deadline, "the session request never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    meanwhile();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait_with_output().expect("relcon ends")
}

/// A project directory with a checklist whose one item is `smoke.session` with `keys`.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(keys: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = format!(
            r#"{header}base_url = ["APP_URL"]
default_environment = "staging"

[inputs]
APP_URL = {{ description = "the deployment" }}
AUTH_SECRET = {{ secret = true }}
AUTH_SECRET_1 = {{ secret = true }}
SMOKE_SESSION_TOKEN = {{ secret = true }}
DB = {{ secret = true }}

[connections.app]
from = ["DB"]

[environments.staging]
[environments.production]
production = true

[[item]]
id = "smoke.session"
section = "Checks"
title = "A signed-in session request returns the user"
kind = "authjs.session"
help = "What, why, and what to do when it fails."
url = "${{origin}}/api/auth/session"
{keys}
"#,
            header = common::HEADER
        );
        std::fs::write(dir.path().join("c.toml"), text).expect("writes the checklist");
        Project { dir }
    }

    fn command(&self, stand_in: &StandIn, env: &[(&str, &str)], args: &[&str]) -> Command {
        let mut command = common::relcon();
        command
            .arg("run")
            .arg(self.dir.path().join("c.toml"))
            .args(["--root", &self.dir.path().display().to_string()])
            .args(["--cacert", &stand_in.ca.display().to_string()])
            .args(["--json", "--headless"])
            .arg("--junit")
            .arg(self.dir.path().join("junit.xml"))
            .args(args)
            .current_dir(self.dir.path())
            .env("RELCON_STORE", common::store_in(self.dir.path()))
            .env("XDG_DATA_HOME", self.dir.path())
            .env("APP_URL", &stand_in.base)
            .env_remove("RUST_BACKTRACE");
        for name in ["AUTH_SECRET", "AUTH_SECRET_1", "SMOKE_SESSION_TOKEN", "DB"] {
            command.env_remove(name);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }

    /// Runs the checklist; the run's output, its document and the smoke item.
    fn run(
        &self,
        stand_in: &StandIn,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> (Ran, serde_json::Value) {
        let ran: Ran = self
            .command(stand_in, env, args)
            .output()
            .expect("relcon runs")
            .into();
        let doc = report(&ran.stdout);
        let smoke = item(&doc, "smoke.session").clone();
        (ran, smoke)
    }

    /// Every file the run left (store, JUnit) and a JSON and HTML export of its session,
    /// searched for each canary.
    fn assert_nothing_leaked(&self, ran: &Ran, canaries: &[String]) {
        assert!(!canaries.is_empty(), "the run sent session cookies");
        let session = ran
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("session "))
            .and_then(|l| l.split(' ').next())
            .expect("a session id")
            .to_string();
        let mut texts = vec![
            ("stdout".to_string(), ran.stdout.clone()),
            ("stderr".to_string(), ran.stderr.clone()),
        ];
        for format in ["json", "html", "md"] {
            let out = self.dir.path().join(format!("export.{format}"));
            let exported: Ran = common::relcon()
                .args(["export", "--session", &session, "--format", format, "--out"])
                .arg(&out)
                .env("RELCON_STORE", common::store_in(self.dir.path()))
                .env("XDG_DATA_HOME", self.dir.path())
                .output()
                .expect("relcon export runs")
                .into();
            assert_eq!(exported.code, 0, "export: {}", exported.stderr);
        }
        for entry in walk(self.dir.path()) {
            let bytes = std::fs::read(&entry).expect("reads");
            texts.push((
                entry.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        for (place, text) in &texts {
            for canary in canaries {
                assert!(
                    !text.contains(canary.as_str()),
                    "a session cookie value reached {place}"
                );
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("reads the dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn status(smoke: &serde_json::Value) -> &str {
    smoke["status"].as_str().unwrap_or_default()
}

fn summary(smoke: &serde_json::Value) -> String {
    smoke["summary"].as_str().unwrap_or_default().to_string()
}

const JWT_KEYS: &str = r#"token_from = ["SMOKE_SESSION_TOKEN"]
secret_from = ["AUTH_SECRET_1", "AUTH_SECRET"]
connection = "app"
timeout = "20s""#;

const NEWER: &str = "the-newer-rotation-secret-5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d";

#[test]
fn v5_jwt_sessions_accept_a_token_minted_with_each_reviewed_secret() {
    // The deployment runs a rotation secret and AUTH_SECRET, as the configuration says:
    // one token per secret, each accepted (the kid picks its key), nothing in its log.
    let stand_in = jwt_stand_in(Version::V5, vec![NEWER.into(), SECRET.into()]);
    let project = Project::new(JWT_KEYS);
    let (ran, smoke) = project.run(
        &stand_in,
        &[("AUTH_SECRET_1", NEWER), ("AUTH_SECRET", SECRET)],
        &[],
    );
    assert_eq!(status(&smoke), "pass", "{}", ran.stderr);
    let said = summary(&smoke);
    assert!(
        said.contains("runs the secret in AUTH_SECRET_1 and AUTH_SECRET"),
        "{said}"
    );
    assert!(said.contains("@example.invalid"), "{said}");
    assert_eq!(smoke["evidence"]["strategy"], "jwt");
    assert_eq!(smoke["evidence"]["version"], "5");
    assert_eq!(stand_in.jwt_errors(), 0);
    let names = stand_in.cookie_names();
    assert!(
        names.iter().all(|n| n == "__Secure-authjs.session-token"),
        "{names:?}"
    );
    // The re-issued cookie was judged and is shown masked.
    let reissued = &smoke["evidence"]["reissued_cookie"][0];
    assert_eq!(reissued["http_only"], true);
    assert!(reissued["value"]
        .as_str()
        .is_some_and(|v| v.starts_with("[secret ")));
    project.assert_nothing_leaked(&ran, &stand_in.canaries());
    for secret in [SECRET, NEWER] {
        assert!(!ran.stdout.contains(secret) && !ran.stderr.contains(secret));
    }
}

#[test]
fn a_reviewed_rotation_secret_the_deployment_does_not_run_fails_after_one_attempt() {
    let stand_in = jwt_stand_in(Version::V5, vec![SECRET.into()]);
    let project = Project::new(JWT_KEYS);
    let (ran, smoke) = project.run(
        &stand_in,
        &[("AUTH_SECRET_1", OTHER), ("AUTH_SECRET", SECRET)],
        &[],
    );
    assert_eq!(status(&smoke), "fail", "{}", ran.stderr);
    let said = summary(&smoke);
    assert!(
        said.contains("did not accept the token minted with AUTH_SECRET_1 (fingerprint "),
        "{said}"
    );
    assert_eq!(stand_in.jwt_errors(), 1, "one attempt per secret, no more");
    project.assert_nothing_leaked(&ran, &stand_in.canaries());
    assert!(!ran.stdout.contains(OTHER) && !ran.stderr.contains(OTHER));
}

#[test]
fn v4_is_asked_of_the_deployment_first_so_no_wrong_guess_reaches_its_log() {
    let stand_in = jwt_stand_in(Version::V4, vec![SECRET.into()]);
    let project = Project::new(JWT_KEYS);
    let (ran, smoke) = project.run(&stand_in, &[("AUTH_SECRET", SECRET)], &[]);
    assert_eq!(status(&smoke), "pass", "{}", ran.stderr);
    assert_eq!(smoke["evidence"]["version"], "4");
    assert!(smoke["evidence"]["version_from"]
        .as_str()
        .is_some_and(|v| v.contains("{}")));
    assert_eq!(stand_in.jwt_errors(), 0);
    assert_eq!(
        stand_in.cookie_names()[0],
        "__Secure-next-auth.session-token"
    );
    project.assert_nothing_leaked(&ran, &stand_in.canaries());
}

#[test]
fn a_drifted_secret_fails_with_the_reason_and_the_fingerprints() {
    let stand_in = jwt_stand_in(Version::V5, vec![OTHER.into()]);
    let project = Project::new(
        r#"strategy = "jwt"
secret_from = ["AUTH_SECRET"]"#,
    );
    let (ran, smoke) = project.run(&stand_in, &[("AUTH_SECRET", SECRET)], &[]);
    assert_eq!(status(&smoke), "fail", "{}", ran.stderr);
    let said = summary(&smoke);
    assert!(
        said.contains("the deployment did not accept a session encrypted with the configured secret (AUTH_SECRET "),
        "{said}"
    );
    assert!(said.contains("runs a different secret"), "{said}");
    assert_eq!(ran.code, 1);
    project.assert_nothing_leaked(&ran, &stand_in.canaries());
}

#[test]
fn a_given_long_token_goes_in_chunks_needs_no_consent_and_names_the_secret_it_was_made_with() {
    let stand_in = jwt_stand_in(Version::V5, vec![SECRET.into()]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = Sealing {
        version: Version::V5,
        secret: SECRET.as_bytes(),
        salt: "__Secure-authjs.session-token",
    }
    .encode(&serde_json::json!({
        "name": "Test User", "email": "tester@example.com", "sub": "user-1",
        "picture": format!("https://example.com/{}", "x".repeat(6000)),
        "iat": now, "exp": now + 3600, "jti": "j-1",
    }));
    let project = Project::new(JWT_KEYS);
    // Production, without --yes-apply: a given token makes no credential.
    let (ran, smoke) = project.run(
        &stand_in,
        &[("SMOKE_SESSION_TOKEN", &token), ("AUTH_SECRET", SECRET)],
        &["--env", "production"],
    );
    assert_eq!(status(&smoke), "pass", "{} {}", ran.stderr, smoke);
    let said = summary(&smoke);
    assert!(said.contains("tester@example.com"), "{said}");
    assert!(said.contains("encrypted with AUTH_SECRET"), "{said}");
    let names = stand_in.cookie_names();
    assert!(
        names.contains(&"__Secure-authjs.session-token.0".to_string())
            && names.contains(&"__Secure-authjs.session-token.1".to_string()),
        "{names:?}"
    );
    // Nothing else of the session body is shown.
    assert!(!ran.stdout.contains("xxxxxxxxxx"));
    let mut canaries = stand_in.canaries();
    canaries.push(token[..40].to_string());
    project.assert_nothing_leaked(&ran, &canaries);
}

#[test]
fn a_given_token_the_deployment_accepts_but_no_configured_secret_opens_fails_as_drift() {
    let stand_in = jwt_stand_in(Version::V5, vec![OTHER.into()]);
    let token = stand_in.sessions.mint("tester@example.com", true);
    let project = Project::new(JWT_KEYS);
    let (ran, smoke) = project.run(
        &stand_in,
        &[("SMOKE_SESSION_TOKEN", &token), ("AUTH_SECRET", SECRET)],
        &[],
    );
    assert_eq!(status(&smoke), "fail", "{}", ran.stderr);
    assert!(
        summary(&smoke).contains("which no configured secret (AUTH_SECRET "),
        "{}",
        summary(&smoke)
    );
    project.assert_nothing_leaked(&ran, &[token]);
}

#[test]
fn minting_in_production_waits_for_consent() {
    let stand_in = jwt_stand_in(Version::V5, vec![SECRET.into()]);
    let project = Project::new(JWT_KEYS);
    let env = [("AUTH_SECRET", SECRET)];
    let (ran, smoke) = project.run(&stand_in, &env, &["--env", "production"]);
    assert_eq!(status(&smoke), "pending", "{}", ran.stderr);
    assert!(summary(&smoke).contains("--yes-apply"));
    assert!(stand_in.cookie_names().is_empty(), "nothing was sent");
    let (ran, smoke) = project.run(&stand_in, &env, &["--env", "production", "--yes-apply"]);
    assert_eq!(status(&smoke), "pass", "{}", ran.stderr);
}

/// A scratch database with the Auth.js tables made by `schema`.
fn adapter_db(schema: &str) -> ScratchDb {
    let db = ScratchDb::create();
    common::execute(&db.url, schema).expect("the tables");
    db
}

fn probe_rows(db: &ScratchDb) -> i64 {
    let users = scalar(
        db,
        "SELECT count(*) FROM users WHERE email LIKE 'relcon-probe-%'",
    );
    let sessions = scalar(db, "SELECT count(*) FROM sessions");
    users + sessions
}

fn scalar(db: &ScratchDb, sql: &str) -> i64 {
    let name = url::Url::parse(&db.url).expect("a URL").path()[1..].to_string();
    common::scalar(Some(&name), sql)
}

const UUID_SCHEMA: &str = r#"
CREATE TABLE users (id uuid PRIMARY KEY, name text, email text UNIQUE, "emailVerified" timestamptz, image text);
CREATE TABLE sessions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "userId" uuid NOT NULL REFERENCES users(id),
  expires timestamptz NOT NULL, "sessionToken" text NOT NULL UNIQUE);
"#;

fn official() -> String {
    std::fs::read_to_string(common::repo().join("assets/create_authjs_tables.sql"))
        .expect("the migration")
}

#[test]
fn database_sessions_pass_with_a_probe_row_that_is_gone_after_serial_and_uuid_ids() {
    for (label, schema) in [("serial", official()), ("uuid", UUID_SCHEMA.to_string())] {
        let db = adapter_db(&schema);
        let sessions = Sessions::new(Version::V5, Strategy::Database, vec![SECRET.into()]);
        sessions.database.set(db.url.clone()).unwrap();
        let stand_in = StandIn::start(sessions);
        // A probe an earlier run left two hours ago is swept; a minute-old one is not yet.
        let old = now() - 7200;
        let recent = now() - 60;
        for (at, tag) in [(old, "a0d0"), (recent, "1e2f")] {
            let id = if label == "uuid" {
                "gen_random_uuid(), "
            } else {
                ""
            };
            let columns = if label == "uuid" { "id, " } else { "" };
            common::execute(
                &db.url,
                &format!("INSERT INTO users ({columns}name, email) VALUES ({id}'relcon probe', 'relcon-probe-{at}-{tag}@example.invalid')"),
            )
            .expect("inserts");
        }
        let project = Project::new(JWT_KEYS);
        // Auto: the deployment rejects the minted token (it keeps sessions in the
        // database), then the probe row answers.
        let (ran, smoke) = project.run(&stand_in, &[("AUTH_SECRET", SECRET), ("DB", &db.url)], &[]);
        assert_eq!(status(&smoke), "pass", "{label}: {} {smoke}", ran.stderr);
        assert_eq!(smoke["evidence"]["strategy"], "database", "{label}");
        assert_eq!(smoke["evidence"]["probe_rows_removed"], 2, "{label}");
        assert_eq!(smoke["evidence"]["swept_probes"], 1, "{label}");
        assert_eq!(
            scalar(&db, "SELECT count(*) FROM users"),
            1,
            "{label}: only the recent leftover is still there"
        );
        assert_eq!(scalar(&db, "SELECT count(*) FROM sessions"), 0, "{label}");
        project.assert_nothing_leaked(&ran, &stand_in.canaries());
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn probe_rows_are_removed_after_a_rejection_and_a_timeout() {
    let db = adapter_db(&official());
    // A JWT deployment ignores session rows: the probe is rejected, and removed.
    let stand_in = jwt_stand_in(Version::V5, vec![SECRET.into()]);
    let project = Project::new(
        r#"strategy = "database"
connection = "app"
authjs_version = "5"
timeout = "4s""#,
    );
    let env = [("DB", db.url.as_str())];
    let (ran, smoke) = project.run(&stand_in, &env, &[]);
    assert_eq!(status(&smoke), "fail", "{}", ran.stderr);
    assert!(summary(&smoke).contains("did not accept a probe session row"));
    assert_eq!(probe_rows(&db), 0);
    // A deployment that never answers: the item ends at its timeout, rows removed.
    stand_in.hang.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let (ran, smoke) = project.run(&stand_in, &env, &[]);
    assert_eq!(status(&smoke), "fail", "{}", ran.stderr);
    assert!(
        summary(&smoke).contains("no response in time"),
        "{}",
        summary(&smoke)
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(probe_rows(&db), 0);
    project.assert_nothing_leaked(&ran, &stand_in.canaries());
}

#[test]
fn probe_rows_are_removed_when_the_run_is_stopped_with_sigterm() {
    let db = adapter_db(&official());
    let stand_in = StandIn::start(Sessions::new(
        Version::V5,
        Strategy::Database,
        vec![SECRET.into()],
    ));
    let project = Project::new(
        r#"strategy = "database"
connection = "app"
authjs_version = "5"
timeout = "60s""#,
    );
    let output = stopped_at_the_request(&project, &stand_in, &[("DB", db.url.as_str())], || {
        assert_eq!(
            probe_rows(&db),
            2,
            "the probe user and its session exist now"
        );
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(probe_rows(&db), 0, "removed on SIGTERM: {stderr}");
}

#[test]
fn a_run_stopped_while_minting_makes_no_probe_row_afterwards() {
    let db = adapter_db(&official());
    let sessions = Sessions::new(Version::V5, Strategy::Database, vec![SECRET.into()]);
    sessions.database.set(db.url.clone()).unwrap();
    let stand_in = StandIn::start(sessions);
    let project = Project::new(JWT_KEYS);
    let output = stopped_at_the_request(
        &project,
        &stand_in,
        &[("AUTH_SECRET", SECRET), ("DB", db.url.as_str())],
        || {},
    );
    let doc = report(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(item(&doc, "smoke.session")["status"], "pending");
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM users"),
        0,
        "no probe user was made after the stop"
    );
}
