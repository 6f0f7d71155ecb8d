//! Helpers shared by the integration tests: the real binary, in-process runs of the engine,
//! and the report schema that every `--json` output is validated against.
#![allow(dead_code)] // each test file uses its own part of this module

pub mod pty;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use relcon::checklist::plan::{Plan, Scope};
use relcon::checklist::values::Values;
use relcon::checklist::Checklist;
use relcon::engine::event::{Emitter, Event, ItemResult};
use relcon::engine::run::{RunOptions, Runner};
use relcon::redact::Redactor;
use tokio_util::sync::CancellationToken;

/// The relcon binary.
pub fn relcon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_relcon"))
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Stdout, stderr and the exit code of a finished command.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(output: Output) -> Self {
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The store of runs made in `dir`.
pub fn store_in(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("store.sqlite").display())
}

/// Runs `relcon` with `args` in `dir`, with a store in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Ran {
    relcon()
        .args(args)
        .current_dir(dir)
        .env("RELCON_STORE", store_in(dir))
        .env("XDG_DATA_HOME", dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("relcon runs")
        .into()
}

/// Every number in a report is an integer: reports carry no floats.
fn assert_no_floats(value: &serde_json::Value, path: &str) {
    match value {
        serde_json::Value::Number(n) => assert!(n.is_i64() || n.is_u64(), "float at {path}: {n}"),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| assert_no_floats(v, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| assert_no_floats(v, &format!("{path}.{k}"))),
        _ => {}
    }
}

/// Parses a `--json` output and validates it against `assets/report.v1.schema.json`.
pub fn report(stdout: &str) -> serde_json::Value {
    let document: serde_json::Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("assets/report.v1.schema.json"))
            .expect("schema exists"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the result document does not match the schema:\n{}",
        errors.join("\n")
    );
    assert_no_floats(&document, "$");
    document
}

/// The session id of a result document.
pub fn session_id(report: &serde_json::Value) -> String {
    report["session"]["id"]
        .as_str()
        .expect("a session id")
        .to_string()
}

/// The session id a run announced on stderr (`session ID (new)`).
pub fn announced_session(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("session "))
        .and_then(|l| l.split(' ').next())
        .expect("a session id")
        .to_string()
}

/// The report's item `id`.
pub fn item<'r>(report: &'r serde_json::Value, id: &str) -> &'r serde_json::Value {
    report["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == id))
        .unwrap_or_else(|| panic!("no item {id}"))
}

/// The status of the report's item `id`.
pub fn item_status(report: &serde_json::Value, id: &str) -> String {
    item(report, id)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The summary of the report's item `id`.
pub fn item_summary(report: &serde_json::Value, id: &str) -> String {
    item(report, id)["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A checklist header with one section, `Checks`.
pub const HEADER: &str = r#"sections = ["Checks"]

[checklist]
id = "test"
title = "Test"
version = 1
"#;

/// An in-process run's results and events.
pub struct InProcess {
    pub results: HashMap<String, ItemResult>,
    pub events: Vec<Event>,
}

/// Runs a checklist given as text in process, with `vars` as the process environment.
pub async fn run_checklist(
    text: &str,
    vars: &[(&str, &str)],
    concurrency: usize,
    cancel: CancellationToken,
) -> InProcess {
    let net = relcon::checks::net::Net::new(None).expect("system roots");
    run_checklist_with(text, vars, concurrency, cancel, net).await
}

/// [`run_checklist`] with the given trusted roots.
pub async fn run_checklist_with(
    text: &str,
    vars: &[(&str, &str)],
    concurrency: usize,
    cancel: CancellationToken,
    net: relcon::checks::net::Net,
) -> InProcess {
    let checklist = Checklist::from_bytes("test.toml", text.as_bytes())
        .unwrap_or_else(|invalid| panic!("{}", invalid.render()));
    let environment =
        relcon::checklist::plan::choose_environment(&checklist, None).expect("an environment");
    let plan = Plan::new(&checklist, environment.clone(), &Scope::default()).expect("a plan");
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let values = Values::load(&checklist, environment.as_deref(), &[], &|name| {
        env.get(name).cloned()
    })
    .expect("values");
    let redactor = Arc::new(Redactor::new());
    values
        .secrets(&checklist)
        .for_each(|s| redactor.add_secret(s));
    let options = RunOptions {
        concurrency,
        default_timeout: Duration::from_secs(30),
        root: std::env::temp_dir(),
        operator: "tester".into(),
        net: Arc::new(net),
        yes_apply: false,
    };
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let runner = Runner {
        plan: &plan,
        values: &values,
        redactor: redactor.clone(),
        options: &options,
        emitter: Emitter::new(sender, redactor),
        cancel,
        prior: Vec::new(),
        claims: None,
        cancels: None,
    };
    let results = runner.run().await;
    drop(runner);
    let mut events = Vec::new();
    while let Some(event) = receiver.recv().await {
        events.push(event);
    }
    let results = plan
        .entries
        .iter()
        .zip(results)
        .filter_map(|(e, r)| r.map(|r| (e.item.id.clone(), r)))
        .collect();
    InProcess { results, events }
}

/// An `[[item]]` of kind `command` running `sh -c script`.
pub fn command_item(id: &str, script: &str, extra: &str) -> String {
    let script = script.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\n[[item]]\nid = \"{id}\"\nsection = \"Checks\"\ntitle = \"{id}\"\nkind = \"command\"\nhelp = \"Runs a script.\"\nrun = [\"sh\", \"-c\", \"{script}\"]\n{extra}\n")
}

/// Whether a process is alive.
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Asserts that the process whose pid is written in `pid_file` ends (polled with a deadline).
pub async fn assert_process_ends(pid_file: &Path, what: &str) {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .expect("pid written")
        .trim()
        .parse()
        .expect("a pid");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while alive(pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive(pid), "{what}");
}

/// The lines of a child's output, as they come, on a channel.
pub fn line_channel(
    reader: impl std::io::Read + Send + 'static,
) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(reader)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    receiver
}

/// Reads lines until the ones read so far satisfy `until` (within `secs` seconds); returns them.
pub fn read_until(
    lines: &std::sync::mpsc::Receiver<String>,
    secs: u64,
    until: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    while !until(&seen) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        seen.push(
            lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("never got there: {seen:?}")),
        );
    }
    seen
}

/// The PostgreSQL server tests use: `RELCON_TEST_PG`, else the local one.
pub fn test_pg() -> String {
    std::env::var("RELCON_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Runs `work` on a thread of its own with a runtime of its own, so that sync and async
/// tests alike can use it.
fn on_own_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(work)
    })
    .join()
    .expect("the database helper ran")
}

/// A TLS front for the test server, as a managed PostgreSQL has: it answers the client's
/// SSLRequest, completes TLS with `leaf`, and relays the plain protocol to the server.
pub fn tls_front(leaf: &relcon::demo::pki::Leaf) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = relcon::demo::pki::server_config(leaf, &[]).expect("a TLS config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let server = url::Url::parse(&test_pg()).expect("a URL");
    let upstream = format!(
        "{}:{}",
        server.host_str().unwrap_or("127.0.0.1"),
        server.port().unwrap_or(5432)
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("address").port();
    listener.set_nonblocking(true).expect("non-blocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            while let Ok((mut client, _)) = listener.accept().await {
                let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
                tokio::spawn(async move {
                    let mut request = [0u8; 8];
                    if client.read_exact(&mut request).await.is_err()
                        || request != [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
                    {
                        return;
                    }
                    if client.write_all(b"S").await.is_err() {
                        return;
                    }
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
                });
            }
        });
    });
    port
}

/// Runs `sql` (statements separated by semicolons) on the database at `url`.
pub fn execute(url: &str, sql: &str) -> Result<(), String> {
    let (url, sql) = (url.to_string(), sql.to_string());
    on_own_runtime(async move {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        conn.execute(sql.as_str())
            .await
            .map(|_| ())
            .map_err(|e| format!("{sql}: {e}"))
    })
}

/// The test server's URL, on `database` (the server's own when `None`).
fn admin_url(database: Option<&str>) -> String {
    let mut url = url::Url::parse(&test_pg()).expect("RELCON_TEST_PG is a URL");
    if let Some(db) = database {
        url.set_path(&format!("/{db}"));
    }
    url.to_string()
}

/// Runs SQL as the test server's admin in `database` (the server's own when `None`).
pub fn admin(database: Option<&str>, sql: &str) {
    execute(&admin_url(database), sql).unwrap_or_else(|e| panic!("{e}"));
}

/// One integer a query gives, run as the test server's admin in `database` (the server's
/// own when `None`).
pub fn scalar(database: Option<&str>, sql: &str) -> i64 {
    let (url, sql) = (admin_url(database), sql.to_string());
    on_own_runtime(async move {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("the test PostgreSQL is unreachable: {e}"));
        let (value,): (i64,) = sqlx::query_as(&sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        value
    })
}

/// A scratch database on the test server, dropped with this value.
pub struct ScratchDb {
    /// Its URL.
    pub url: String,
    name: String,
}

impl ScratchDb {
    /// Creates one; an unreachable server fails the test, loudly.
    pub fn create() -> Self {
        use sqlx::{Connection, Executor};
        let admin = test_pg();
        let name = format!("relcon_test_{}", uuid::Uuid::now_v7().simple());
        let (server, create) = (admin.clone(), format!("CREATE DATABASE {name}"));
        on_own_runtime(async move {
            let mut conn = sqlx::PgConnection::connect(&server)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "the test PostgreSQL at {server} is unreachable (set RELCON_TEST_PG): {e}"
                    )
                });
            conn.execute(create.as_str())
                .await
                .expect("creates a database");
        });
        let mut url = url::Url::parse(&admin).expect("RELCON_TEST_PG is a URL");
        url.set_path(&format!("/{name}"));
        ScratchDb {
            url: url.to_string(),
            name,
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        use sqlx::{Connection, Executor};
        let (server, drop) = (
            test_pg(),
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        on_own_runtime(async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&server).await {
                let _ = conn.execute(drop.as_str()).await;
            }
        });
    }
}

/// Which database a test's store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A working directory and a store on one backend (a SQLite file in the directory, or a
/// scratch PostgreSQL database).
pub struct Place {
    pub dir: tempfile::TempDir,
    pub store: String,
    _db: Option<ScratchDb>,
}

impl Place {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, db) = match backend {
            Backend::Sqlite => (store_in(dir.path()), None),
            Backend::Postgres => {
                let db = ScratchDb::create();
                (db.url.clone(), Some(db))
            }
        };
        Place {
            dir,
            store,
            _db: db,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `relcon` working in this place.
    pub fn relcon(&self) -> Command {
        let mut command = relcon();
        command
            .current_dir(self.path())
            .env("RELCON_STORE", &self.store)
            .env("XDG_DATA_HOME", self.path())
            .env_remove("RUST_BACKTRACE");
        command
    }

    /// Runs `relcon` with `args` in this place.
    pub fn run(&self, args: &[&str]) -> Ran {
        self.relcon()
            .args(args)
            .output()
            .expect("relcon runs")
            .into()
    }

    /// Writes a file into the place; returns its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.path().join(name), text).expect("writes");
        self.path().join(name).display().to_string()
    }
}

/// Makes `$name(backend)` two tests, `$name::sqlite` and `$name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::common::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$name($crate::common::Backend::Postgres)
            }
        }
    )+};
}

/// [`on_both_backends`] for async tests.
#[macro_export]
macro_rules! on_both_backends_async {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )+};
}
