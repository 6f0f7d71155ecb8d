//! Golden outputs of a committed store: for every session of `tests/golden/store.sqlite`
//! (sign-offs by two people, an operator's skip, a run killed and resumed, a run killed and
//! left, a session closed on go and one closed by hand), the report model, `relcon
//! sessions`, and `relcon watch` of the closed ones must stay byte for byte what they were
//! when the fixture was made: the session model may be reorganised, never reinterpreted.
//!
//! The fixture was made once with `cargo test --test golden -- --ignored make_the_fixture`
//! (it writes `tests/golden/store.sqlite` and `tests/golden/checklist.toml`), and the
//! expected outputs with `RELCON_BLESS=1 cargo test --test golden`: review the diff.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use relcon::checklist::plan::{Plan, Scope};
use relcon::checklist::Checklist;
use relcon::report::model::Report;
use relcon::store::Store;

fn golden() -> PathBuf {
    common::repo().join("tests/golden")
}

/// A copy of the fixture store in a directory of its own: opening a store writes to it.
fn fixture_copy() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        golden().join("store.sqlite"),
        dir.path().join("store.sqlite"),
    )
    .expect("the fixture store is there");
    let url = common::store_in(dir.path());
    (dir, url)
}

/// The report of a session over `scope`, as every view gets it, serialised.
async fn report_text(store: &Store, id: &str, scope: &Scope) -> String {
    let session = store.open_session(id, None).await.expect("opens");
    let checklist =
        Checklist::from_bytes(&session.checklist.name, session.checklist.source.as_bytes())
            .expect("the checklist copy validates");
    let plan = Plan::new(&checklist, session.environment.clone(), scope).expect("a plan");
    serde_json::to_string_pretty(&Report::of_session(&plan, &session)).expect("serialises") + "\n"
}

/// Compares `actual` with the expectation `name` (or writes it, when blessing).
fn expect(name: &str, actual: &str, failures: &mut Vec<String>) {
    let path = golden().join(name);
    if std::env::var_os("RELCON_BLESS").is_some() {
        std::fs::write(&path, actual).expect("writes the expectation");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (RELCON_BLESS=1 writes it)", path.display()));
    if expected != actual {
        failures.push(format!(
            "{name} differs:\n--- expected\n{expected}\n--- actual\n{actual}"
        ));
    }
}

#[tokio::test]
async fn every_view_of_the_committed_sessions_is_unchanged() {
    let (dir, url) = fixture_copy();
    let store = Store::open(&url).await.expect("the fixture opens");
    let sessions = store.sessions().await.expect("sessions");
    assert_eq!(sessions.len(), 5, "the fixture holds five sessions");
    let mut failures = Vec::new();
    for (n, summary) in sessions.iter().rev().enumerate() {
        let name = format!("session{}", n + 1);
        let text = report_text(&store, &summary.id, &Scope::default()).await;
        expect(&format!("{name}.report.json"), &text, &mut failures);
        let automated = Scope {
            automated_only: true,
            ..Scope::default()
        };
        let text = report_text(&store, &summary.id, &automated).await;
        expect(
            &format!("{name}.automated.report.json"),
            &text,
            &mut failures,
        );
        let session = store.open_session(&summary.id, None).await.expect("opens");
        if session.closed.is_some() {
            let watched = common::relcon()
                .args(["watch", "--session", &summary.id, "--store", &url])
                .output()
                .expect("relcon watch runs");
            assert!(watched.status.success());
            expect(
                &format!("{name}.watch.jsonl"),
                &String::from_utf8_lossy(&watched.stdout),
                &mut failures,
            );
        }
    }
    store.close().await;
    let listed = common::relcon()
        .args(["sessions", "--store", &url])
        .output()
        .expect("relcon sessions runs");
    assert!(listed.status.success());
    expect(
        "sessions.txt",
        &String::from_utf8_lossy(&listed.stdout),
        &mut failures,
    );
    drop(dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The checklist the fixture's sessions ran.
const CHECKLIST: &str = r#"sections = ["Checks", "Release"]

[checklist]
id = "golden"
title = "Golden sessions"
version = 3
default_environment = "staging"

[environments.staging]

[environments.production]
production = true

[environments.production.overrides."release.backup"]
signoffs = 2

[[item]]
id = "build.echo"
section = "Checks"
title = "Prints to both streams"
kind = "command"
help = "Prints a line on stdout and one on stderr."
run = ["sh", "-c", "echo one; echo two >&2"]

[[item]]
id = "build.fails"
section = "Checks"
title = "Fails in staging"
kind = "command"
help = "Exits 1."
run = ["sh", "-c", "echo broken >&2; exit 1"]
only_in = ["staging"]

[[item]]
id = "build.slow"
section = "Checks"
title = "Slow the first time"
kind = "command"
help = "Sleeps until killed the first time it runs in a directory; passes after."
run = ["sh", "-c", "if [ -f started ]; then echo again; else touch started; echo first; sleep 60; fi"]

[[item]]
id = "build.after"
section = "Checks"
title = "Needs the echo"
kind = "command"
help = "Runs once the echo passed."
run = ["true"]
needs = ["build.echo"]

[[item]]
id = "release.backup"
section = "Release"
title = "Backup taken"
kind = "manual"
help = "Take a snapshot and note its id."
evidence = [{ key = "snapshot_id", label = "Snapshot id" }]

[[item]]
id = "release.notes"
section = "Release"
title = "Release notes written"
kind = "manual"
help = "Write the notes."
"#;

/// A directory of its own for each run (the slow item's marker lives there).
fn run(dir: &Path, store: &str, args: &[&str]) -> common::Ran {
    common::relcon()
        .arg("run")
        .arg(golden().join("checklist.toml"))
        .args(["--headless", "--store", store, "--root"])
        .arg(dir)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("relcon runs")
        .into()
}

fn relcon(store: &str, args: &[&str]) -> common::Ran {
    let ran: common::Ran = common::relcon()
        .args(args)
        .args(["--store", store])
        .output()
        .expect("relcon runs")
        .into();
    assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
    ran
}

/// Starts a run whose slow item is killed with SIGKILL once it runs: its session is left
/// with an interrupted run.
fn killed_run(dir: &Path, store: &str, args: &[&str]) -> String {
    let mut child = common::relcon()
        .arg("run")
        .arg(golden().join("checklist.toml"))
        .args(["--headless", "--store", store, "--root"])
        .arg(dir)
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .expect("relcon runs");
    let lines = common::line_channel(child.stderr.take().expect("stderr"));
    let seen = common::read_until(&lines, 30, |seen| {
        seen.iter().any(|l| l.contains("│ first"))
    });
    child.kill().expect("killed");
    let _ = child.wait();
    common::announced_session(&seen)
}

fn session_of(ran: &common::Ran) -> String {
    let lines: Vec<String> = ran.stderr.lines().map(String::from).collect();
    common::announced_session(&lines)
}

/// Makes the fixture store (run once; the expected outputs are then blessed from it).
#[tokio::test]
#[ignore = "makes the committed fixture"]
async fn make_the_fixture() {
    std::fs::create_dir_all(golden()).expect("dir");
    std::fs::write(golden().join("checklist.toml"), CHECKLIST).expect("writes");
    let work = tempfile::tempdir().expect("temp dir");
    let store = common::store_in(work.path());
    let place = |name: &str| {
        let dir = work.path().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    };

    // 1. Production, closed on go: two people sign the backup, the slow item had run before.
    let one = place("one");
    std::fs::write(one.join("started"), "").expect("marker");
    let ran = run(&one, &store, &["--env", "production", "--as", "alice"]);
    let first = session_of(&ran);
    relcon(
        &store,
        &[
            "signoff",
            "release.backup",
            "--session",
            &first,
            "--as",
            "alice",
            "--status",
            "done",
            "--evidence",
            "snapshot_id=br-cool-12",
        ],
    );
    relcon(
        &store,
        &[
            "signoff",
            "release.notes",
            "--session",
            &first,
            "--as",
            "bob",
            "--status",
            "done",
            "--note",
            "in the wiki",
        ],
    );
    relcon(
        &store,
        &[
            "signoff",
            "release.backup",
            "--session",
            &first,
            "--as",
            "Bob",
            "--status",
            "done",
            "--note",
            "restore tested",
            "--evidence",
            "snapshot_id=br-cool-12",
        ],
    );

    // 2. Staging, open and no-go: a failure, an operator's skip, a not-applicable sign-off.
    let two = place("two");
    std::fs::write(two.join("started"), "").expect("marker");
    let ran = run(
        &two,
        &store,
        &["--as", "alice", "--only", "build.echo,build.fails"],
    );
    let second = session_of(&ran);
    {
        let opened = Store::open(&store).await.expect("store");
        opened
            .append_decided(&second, "carol", |now| {
                relcon::session::rules::skip(now, "build.slow", "covered by the canary")
            })
            .await
            .expect("the skip is taken");
        opened.close().await;
    }
    relcon(
        &store,
        &[
            "signoff",
            "release.notes",
            "--session",
            &second,
            "--as",
            "bob",
            "--status",
            "na",
            "--note",
            "no user-facing change",
        ],
    );

    // 3. Staging, a run killed while the slow item ran, then resumed by another operator.
    let three = place("three");
    let third = killed_run(&three, &store, &["--as", "alice"]);
    let ran = run(&three, &store, &["--as", "bob", "--session", &third]);
    assert_ne!(ran.code, 2, "{}", ran.stderr);

    // 4. Staging, killed and left: its run stays interrupted.
    let four = place("four");
    let _fourth = killed_run(&four, &store, &["--as", "dave", "--automated-only"]);

    // 5. Production, closed by hand while incomplete.
    let five = place("five");
    std::fs::write(five.join("started"), "").expect("marker");
    let ran = run(
        &five,
        &store,
        &[
            "--env",
            "production",
            "--as",
            "erin",
            "--skip",
            "build.after",
        ],
    );
    let fifth = session_of(&ran);
    relcon(&store, &["close", "--session", &fifth, "--as", "erin"]);

    // The killed runs' leases lapse; the store is copied once nothing holds it.
    std::thread::sleep(Duration::from_millis(200));
    std::fs::copy(
        work.path().join("store.sqlite"),
        golden().join("store.sqlite"),
    )
    .expect("copies the store");
}
