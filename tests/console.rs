//! The console drawn on ratatui's TestBackend, at 120×40 and 80×24, over a real store:
//! a fresh session, checks running with live output, a failure selected with its evidence,
//! the help overlay, and a session where another operator signed. Snapshots live in
//! tests/snapshots/ (review a change with `cargo insta review`, or INSTA_UPDATE=always).

mod common;

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use relcon::checklist::plan::{Plan, Scope};
use relcon::checklist::Checklist;
use relcon::engine::event::{Event, Stream};
use relcon::redact::Redactor;
use relcon::session::{Body, ChecklistCopy, SignoffStatus};
use relcon::status::Status;
use relcon::store::Store;
use relcon::tui::app::{App, Mode, Pane};
use relcon::tui::theme::Theme;

const CHECKLIST: &str = r#"sections = ["Health", "Release"]

[checklist]
id = "shop"
title = "Shop backend"
version = 1
base_url = ["APP_URL"]
default_environment = "production"

[inputs]
APP_URL = {}
DB = { secret = true }

[connections.db]
from = ["DB"]

[environments.production]
production = true

[[item]]
id = "health.live"
section = "Health"
title = "The service answers"
kind = "http"
help = "GET /health answers 200 within the timeout."
url = "${origin}/health"

[[item]]
id = "health.ready"
section = "Health"
title = "Dependencies are reachable"
kind = "http"
help = "GET /ready answers 200: the database and the cache are reachable."
url = "${origin}/ready"
retries = 2

[[item]]
id = "build.assets"
section = "Release"
title = "Static assets build"
kind = "command"
help = "The asset build passes."
run = ["npm", "run", "build"]
writes = true

[[item]]
id = "migration.apply"
section = "Release"
title = "Schema migration applies"
kind = "sql.migration"
help = "Runs the migration inside a transaction that is rolled back."
connection = "db"
file = "migrations/0001.sql"

[[item]]
id = "security.no-committed-secrets"
section = "Release"
title = "No secret is committed"
kind = "scan"
help = "Scans the repository for secrets."
paths = ["**/*"]
rules = ["secrets"]

[[item]]
id = "backup.snapshot"
section = "Release"
title = "Backup taken before the migration"
kind = "manual"
help = "Take a snapshot and note its id."
instructions = "In the Neon console, create a branch of the production database named after the release, then copy its id (br-…) here."
evidence = [{ key = "snapshot_id", label = "Snapshot branch id", pattern = '^br-' }]
signoffs = 2
"#;

/// What a scene shows, built through a real store.
struct Scene {
    store: Store,
    session: String,
    _dir: tempfile::TempDir,
}

impl Scene {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&common::store_in(dir.path()))
            .await
            .expect("store");
        let checklist = ChecklistCopy {
            id: "shop".into(),
            title: "Shop backend".into(),
            version: 1,
            sha256: "0".repeat(64),
            name: "shop.toml".into(),
            source: CHECKLIST.into(),
        };
        store
            .create_session(
                "01a2-snapshot",
                "alice",
                &Body::SessionStarted {
                    checklist,
                    environment: Some("production".into()),
                    production: true,
                    allowed_signers: None,
                },
            )
            .await
            .expect("session");
        Scene {
            store,
            session: "01a2-snapshot".into(),
            _dir: dir,
        }
    }

    async fn add(&self, actor: &str, body: Body) {
        self.store
            .append(&self.session, actor, &body)
            .await
            .expect("append");
    }

    async fn result(&self, item: &str, status: Status, summary: &str, evidence: serde_json::Value) {
        let run_id = format!("run-{item}");
        self.add(
            "alice",
            Body::RunStarted {
                item: item.into(),
                run_id: run_id.clone(),
            },
        )
        .await;
        self.add(
            "alice",
            Body::Result {
                item: item.into(),
                run_id: Some(run_id),
                status,
                summary: summary.into(),
                evidence,
                started_at: Some("2026-11-26T07:00:00Z".into()),
                duration_ms: 38,
                attempts: 1,
                output: None,
            },
        )
        .await;
    }

    /// The console over the scene's session, drawn at `width`×`height`.
    async fn draw(&self, width: u16, height: u16, prepare: impl FnOnce(&mut App)) -> String {
        let checklist = Checklist::from_bytes("shop.toml", CHECKLIST.as_bytes()).expect("valid");
        let plan =
            Plan::new(&checklist, Some("production".into()), &Scope::default()).expect("plan");
        let session = self
            .store
            .open_session(&self.session, None)
            .await
            .expect("opens");
        let redactor = Redactor::with_key([7; 32]);
        let mut app = App::new(&plan, &self.session, &redactor);
        app.refresh(&plan, &session);
        app.attached = vec!["alice".into()];
        prepare(&mut app);
        let now = app.started_at.expect("a start") + Duration::from_secs(75);
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        terminal
            .draw(|frame| relcon::tui::view::draw(frame, &app, &Theme::new(false), now))
            .expect("draws");
        let buffer = terminal.backend().buffer();
        let mut screen = String::new();
        for y in 0..height {
            let line: String = (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            screen.push_str(line.trim_end());
            screen.push('\n');
        }
        screen
    }
}

fn select(app: &mut App, id: &str) {
    let rows = app.rows();
    app.selected = rows
        .iter()
        .position(|r| matches!(r, relcon::tui::app::Row::Item(i) if app.items[*i].id == id))
        .expect("the item is listed");
}

/// The screen with the times the store stamped made constant.
fn snapshot(name: &str, screen: &str) {
    let times = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").expect("a regex");
    let clock = regex::Regex::new(r"started \d\d:\d\d:\d\d UTC").expect("a regex");
    let screen = times.replace_all(screen, "[time]");
    // A time half covered by a dialog leaves its seconds showing.
    let seconds = regex::Regex::new(r":\d\dZ").expect("a regex");
    let screen = seconds.replace_all(&screen, ":ssZ");
    insta::assert_snapshot!(name, clock.replace_all(&screen, "started [time] UTC"));
}

async fn at_every_size(name: &str, scene: &Scene, prepare: impl Fn(&mut App)) {
    for (width, height) in [(120, 40), (80, 24), (200, 60)] {
        let screen = scene.draw(width, height, &prepare).await;
        snapshot(&format!("{name}_{width}x{height}"), &screen);
    }
}

#[tokio::test]
async fn a_fresh_session() {
    let scene = Scene::new().await;
    at_every_size("fresh", &scene, |_| {}).await;
}

#[tokio::test]
async fn checks_running_with_live_output() {
    let scene = Scene::new().await;
    scene
        .result(
            "health.live",
            Status::Pass,
            "GET /health → 200 in 12 ms",
            serde_json::json!({}),
        )
        .await;
    scene
        .add(
            "alice",
            Body::RunStarted {
                item: "build.assets".into(),
                run_id: "run-build".into(),
            },
        )
        .await;
    scene
        .add(
            "alice",
            Body::RunStarted {
                item: "health.ready".into(),
                run_id: "run-ready".into(),
            },
        )
        .await;
    at_every_size("running", &scene, |app| {
        // The frame is drawn 75 s after the session's start: build.assets has run for
        // 61 s, health.ready's second attempt (of 3) for 14 s.
        let start = app.started_at.expect("a start");
        app.on_engine(&Event::Started {
            id: "build.assets".into(),
            attempt: 1,
            at: start + Duration::from_secs(14),
        });
        app.on_engine(&Event::Started {
            id: "health.ready".into(),
            attempt: 2,
            at: start + Duration::from_secs(61),
        });
        for n in 1..=30 {
            app.on_engine(&Event::Output {
                id: "build.assets".into(),
                stream: if n % 10 == 0 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                },
                line: format!("step {n} of 30: compiling chunk-{n}.js"),
            });
        }
        select(app, "build.assets");
        app.follow = true;
        app.spinner = 3;
    })
    .await;
}

#[tokio::test]
async fn a_failure_selected_with_its_evidence() {
    let scene = Scene::new().await;
    scene
        .result(
            "health.live",
            Status::Pass,
            "GET /health → 200 in 12 ms",
            serde_json::json!({}),
        )
        .await;
    scene
        .result(
            "health.ready",
            Status::Fail,
            "GET /ready → 503 (expected 200)",
            serde_json::json!({
                "request": {"method": "GET", "url": "https://shop.example.com/ready"},
                "response": {"status": 503, "body": "{\"db\":\"timeout\"}"}
            }),
        )
        .await;
    at_every_size("failure", &scene, |app| {
        // The configuration lists the inputs the item names, with their values and source.
        app.show_inputs(&[
            (
                vec!["APP_URL".into(), "origin".into()],
                "APP_URL = https://shop.example.com  (.env.production:2)".into(),
            ),
            (vec!["DB".into()], "DB = set (a secret: not shown)".into()),
        ]);
        select(app, "health.ready");
        app.message = Some("saved health.ready's result and evidence to /home/alice/.local/share/relcon/evidence/01a2-snapshot/relcon-health.ready.json".into());
    })
    .await;
}

/// Esc clears a kept search and the footer's message; a message has its own line, so the
/// keys stay on screen.
#[tokio::test]
async fn esc_clears_a_kept_search_and_the_message() {
    use crossterm::event::{KeyCode, KeyEvent};
    let scene = Scene::new().await;
    let screen = scene
        .draw(80, 24, |app| {
            app.act(relcon::tui::keymap::Action::Search);
            for code in "snap".chars().map(KeyCode::Char).chain([KeyCode::Enter]) {
                app.on_key(&KeyEvent::from(code));
            }
            assert_eq!(app.search.as_deref(), Some("snap"), "Enter keeps it");
            assert_eq!(app.rows().len(), 2, "the section and backup.snapshot");
            app.message = Some("a message".into());
            app.on_key(&KeyEvent::from(KeyCode::Esc));
            assert_eq!(app.search, None);
            assert_eq!(app.message, None);
            assert_eq!(app.rows().len(), 8, "every section and item again");
            app.message = Some("signed backup.snapshot done as alice".into());
        })
        .await;
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines[22], "signed backup.snapshot done as alice");
    assert!(lines[23].starts_with("↓/j move"), "{screen}");
}

/// Evidence reads as labelled fields and tables, wrapped at word boundaries, at any width:
/// a migration's statements and advice, a scan's findings.
#[tokio::test]
async fn migration_and_scan_evidence_as_fields_and_tables() {
    let scene = Scene::new().await;
    scene
        .result(
            "migration.apply",
            Status::Warn,
            "applied 4 statements in a rolled-back transaction; 2 advice",
            serde_json::json!({
                "mode": "verify",
                "outcome": "rolled back",
                "file": "migrations/0001.sql",
                "connection": {"name": "db", "from": "DB", "url": "postgres://app:***@db.example.com/shop"},
                "applied_ms": 109,
                "statements": [
                    {"line": 1, "sql": "CREATE TABLE users", "ms": 12},
                    {"line": 9, "sql": "CREATE TABLE accounts", "ms": 31},
                    {"line": 24, "sql": "CREATE INDEX accounts_user_id", "ms": 66}
                ],
                "locks_on_existing_tables": [],
                "tables_before": ["users"],
                "advice": [
                    "accounts: no FOREIGN KEY (\"userId\") REFERENCES users: ON DELETE CASCADE removes a deleted user's accounts",
                    "sessions: no UNIQUE (\"sessionToken\"): a session token identifies one session"
                ]
            }),
        )
        .await;
    scene
        .result(
            "security.no-committed-secrets",
            Status::Fail,
            "2 findings in 2 files",
            serde_json::json!({
                "files_scanned": 412,
                "history": "scanned",
                "findings": [
                    {"file": ".env.production", "line": 3, "rule": "auth-secret", "fingerprint": "9f2c11ab"},
                    {"file": "deploy/values.yaml", "line": 41, "rule": "postgres-url", "fingerprint": "04d7e2c0"}
                ],
                "skipped": {"binary": 2, "too_large": 0}
            }),
        )
        .await;
    at_every_size("migration_evidence", &scene, |app| {
        select(app, "migration.apply")
    })
    .await;
    at_every_size("scan_evidence", &scene, |app| {
        select(app, "security.no-committed-secrets")
    })
    .await;
}

#[tokio::test]
async fn the_help_overlay() {
    let scene = Scene::new().await;
    at_every_size("help", &scene, |app| app.mode = Mode::Help).await;
}

#[tokio::test]
async fn another_operators_sign_off() {
    let scene = Scene::new().await;
    scene
        .add(
            "bob",
            Body::Signoff {
                item: "backup.snapshot".into(),
                status: SignoffStatus::Done,
                note: "snapshot taken before the migration".into(),
                evidence: [("snapshot_id".to_string(), "br-cool-12".to_string())].into(),
                signature: None,
            },
        )
        .await;
    at_every_size("signed_by_another", &scene, |app| {
        app.attached = vec!["alice".into(), "bob".into()];
        select(app, "backup.snapshot");
        app.focus = Pane::Detail;
    })
    .await;
    at_every_size("pair_view", &scene, |app| {
        app.attached = vec!["alice".into(), "bob".into()];
        app.claims_live(&[("build.assets".into(), "alice".into())]);
        app.act(relcon::tui::keymap::Action::Pair);
    })
    .await;
}

#[tokio::test]
async fn filters_and_search() {
    let scene = Scene::new().await;
    scene
        .result(
            "health.live",
            Status::Pass,
            "GET /health → 200 in 12 ms",
            serde_json::json!({}),
        )
        .await;
    scene
        .result(
            "health.ready",
            Status::Fail,
            "GET /ready → 503 (expected 200)",
            serde_json::json!({}),
        )
        .await;
    at_every_size("filter_failed", &scene, |app| {
        app.act(relcon::tui::keymap::Action::Filter);
    })
    .await;
    at_every_size("search_typing", &scene, |app| {
        app.act(relcon::tui::keymap::Action::Search);
        for c in "snap".chars() {
            app.on_key(&crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char(c),
            ));
        }
    })
    .await;
}

#[tokio::test]
async fn next_failure_and_quitting_while_checks_run_here() {
    use crossterm::event::{KeyCode, KeyEvent};
    use relcon::tui::keymap::Action;
    let scene = Scene::new().await;
    scene
        .result(
            "health.ready",
            Status::Fail,
            "GET /ready → 503",
            serde_json::json!({}),
        )
        .await;
    scene
        .draw(80, 24, |app| {
            select(app, "backup.snapshot");
            app.act(Action::NextFailure);
            assert_eq!(
                app.selected_item().map(|i| app.items[i].id.clone()),
                Some("health.ready".into()),
                "n wraps around to the failure"
            );
            // A check running here: q asks first; another key stays, q twice leaves.
            app.on_engine(&Event::Started {
                id: "build.assets".into(),
                attempt: 1,
                at: std::time::SystemTime::UNIX_EPOCH,
            });
            app.on_key(&KeyEvent::from(KeyCode::Char('q')));
            assert!(matches!(app.mode, Mode::ConfirmQuit) && !app.quit);
            app.on_key(&KeyEvent::from(KeyCode::Char('x')));
            assert!(!matches!(app.mode, Mode::ConfirmQuit) && !app.quit);
            app.on_key(&KeyEvent::from(KeyCode::Char('q')));
            app.on_key(&KeyEvent::from(KeyCode::Char('q')));
            assert!(app.quit);
        })
        .await;
}

#[tokio::test]
async fn writes_to_production_wait_for_the_environments_name() {
    use crossterm::event::{KeyCode, KeyEvent};
    use relcon::tui::app::Request;
    use relcon::tui::keymap::Action;
    let scene = Scene::new().await;
    let type_text = |app: &mut App, text: &str| {
        for c in text.chars() {
            app.on_key(&KeyEvent::from(KeyCode::Char(c)));
        }
    };
    let screen = scene
        .draw(80, 24, |app| {
            app.can_run = true;
            select(app, "build.assets");
            app.act(Action::Run);
            assert!(
                app.requests.is_empty(),
                "nothing runs before the name is typed"
            );
            type_text(app, "production");
        })
        .await;
    snapshot("consent_prompt_80x24", &screen);
    scene
        .draw(80, 24, |app| {
            app.can_run = true;
            select(app, "build.assets");
            // A wrong name runs nothing; the right one allows writes and runs the item.
            app.act(Action::Run);
            type_text(app, "prod");
            app.on_key(&KeyEvent::from(KeyCode::Enter));
            assert!(app.requests.is_empty() && !app.consented);
            app.act(Action::Run);
            type_text(app, "production");
            app.on_key(&KeyEvent::from(KeyCode::Enter));
            assert_eq!(
                app.requests,
                vec![Request::Consent, Request::Run(vec!["build.assets".into()])]
            );
            // Consent holds for the console's later runs.
            app.requests.clear();
            app.act(Action::Run);
            assert_eq!(
                app.requests,
                vec![Request::Run(vec!["build.assets".into()])]
            );
        })
        .await;
}

#[tokio::test]
async fn the_sign_off_dialog() {
    use crossterm::event::{KeyCode, KeyEvent};
    let scene = Scene::new().await;
    scene
        .add(
            "bob",
            Body::Signoff {
                item: "backup.snapshot".into(),
                status: SignoffStatus::Done,
                note: "snapshot br-cool-12 taken".into(),
                evidence: Default::default(),
                signature: None,
            },
        )
        .await;
    at_every_size("signoff_dialog", &scene, |app| {
        app.operator = "alice".into();
        select(app, "backup.snapshot");
        app.act(relcon::tui::keymap::Action::SignOff);
        for code in [KeyCode::Char('f'), KeyCode::Tab]
            .into_iter()
            .chain("restore test failed:".chars().map(KeyCode::Char))
            .chain([KeyCode::Enter])
            .chain("branch br-x is empty".chars().map(KeyCode::Char))
        {
            app.on_key(&KeyEvent::from(code));
        }
        app.signed(Err("the store refused: example".into()));
    })
    .await;
}

#[tokio::test]
async fn keys_on_an_empty_list_do_nothing_harmful() {
    use relcon::tui::keymap::Action;
    let scene = Scene::new().await;
    scene
        .draw(80, 24, |app| {
            // Nothing failed: the failed filter leaves no row at all.
            app.act(Action::Filter);
            assert!(app.rows().is_empty());
            for action in [
                Action::NextFailure,
                Action::Down,
                Action::Last,
                Action::PageDown,
                Action::Toggle,
                Action::Run,
                Action::Cancel,
                Action::Skip,
                Action::SignOff,
                Action::SaveEvidence,
            ] {
                app.act(action);
            }
            assert!(app.dialog().is_none() && app.requests.is_empty());
            assert_eq!(
                app.message.as_deref(),
                Some("select a manual item to sign it off")
            );
        })
        .await;
}

#[tokio::test]
async fn the_export_dialog() {
    use crossterm::event::{KeyCode, KeyEvent};
    use relcon::service::Request;
    let scene = Scene::new().await;
    at_every_size("export_dialog", &scene, |app| {
        app.act(relcon::tui::keymap::Action::Export);
        // JSON, a file of one's own, signed with a key file whose passphrase shows masked.
        for code in [KeyCode::Left, KeyCode::Left, KeyCode::Tab]
            .into_iter()
            .chain(std::iter::repeat_n(KeyCode::Backspace, 40))
            .chain("release.json".chars().map(KeyCode::Char))
            .chain([KeyCode::Tab, KeyCode::Left, KeyCode::Tab])
            .chain("/keys/release".chars().map(KeyCode::Char))
            .chain([KeyCode::Tab])
            .chain("hunter2-passphrase".chars().map(KeyCode::Char))
        {
            app.on_key(&KeyEvent::from(code));
        }
        let shown = format!("{app:?}");
        assert!(!shown.contains("hunter2"), "the passphrase never shows");
    })
    .await;
    scene
        .draw(80, 24, |app| {
            app.act(relcon::tui::keymap::Action::Export);
            for code in [KeyCode::Enter, KeyCode::Enter, KeyCode::Enter] {
                app.on_key(&KeyEvent::from(code));
            }
            let [Request::Export { format, path, sign }] = app.requests.as_slice() else {
                panic!("one export asked: {:?}", app.requests);
            };
            assert_eq!(*format, relcon::report::Format::Html);
            assert!(path
                .display()
                .to_string()
                .starts_with("relcon-01a2-snapshot"));
            assert!(sign.is_none(), "not signed: this console has no key");
            // The run's answer closes the dialog and says where the report went.
            app.exported(Ok("exported the html report (interim) to r.html".into()));
            assert!(matches!(app.mode, Mode::Browse));
            assert!(app.message.as_deref().is_some_and(|m| m.contains("r.html")));
        })
        .await;
}
