//! The real binary in a pseudo-terminal, its screen read by a terminal emulator (vt100):
//! `relcon demo` shows its results live, takes keys and mouse clicks, opens the help, and
//! leaves the terminal as it found it (main screen, cooked mode) when it quits and when it
//! is sent SIGTERM.

mod common;

use std::time::{Duration, Instant};

use common::pty::Pty;

#[test]
fn the_demo_runs_live_takes_keys_and_the_mouse_and_quits_cleanly() {
    let mut pty = Pty::start(&["demo"]);
    // The automated items run to their results; the manual ones wait for sign-offs.
    pty.wait_for("the automated results", 60, |s| {
        ["security.tls", "security.cookies", "security.node-env"]
            .iter()
            .all(|id| s.contains(&format!("✔ pass    {id}")))
            && !s.contains(" running")
    });
    assert!(pty.with_screen(vt100::Screen::alternate_screen));

    // The first item is selected: the backup, signed off in the dialog.
    pty.wait_for("the first item's detail", 10, |s| {
        s.contains("backup.snapshot · manual")
    });
    pty.send(b"s");
    pty.wait_for("the dialog", 10, |s| {
        s.contains("Snapshot branch id (br-…)")
    });
    pty.send(b"\t\tbr-demo-42\r");
    // The dialog closes on the store's answer, which may come after the list shows the
    // sign-off: a key pressed before then is the dialog's.
    pty.wait_for("the backup signed and the dialog closed", 10, |s| {
        s.contains("✔ pass    backup.snapshot") && !s.contains("Snapshot branch id (br-…)")
    });
    pty.send(b"j");
    pty.wait_for("the next line's detail", 10, |s| {
        s.contains("Migrations — Enter folds or unfolds it.")
    });

    // A click on an item selects it.
    let (column, row) = pty.find("secrets.email").expect("secrets.email is listed");
    pty.send(
        format!(
            "\x1b[<0;{};{}M\x1b[<0;{};{}m",
            column + 1,
            row + 1,
            column + 1,
            row + 1
        )
        .as_bytes(),
    );
    pty.wait_for("the clicked item's detail", 10, |s| {
        s.contains("secrets.email · env")
    });

    pty.send(b"?");
    pty.wait_for("the help", 10, |s| s.contains("any key closes this help"));
    pty.send(b"x");
    pty.wait_for("the help closed", 10, |s| {
        !s.contains("any key closes this help")
    });

    // Checks may still run below the fold (the database items come last): then q asks
    // first, and the test lets them finish rather than cancel them.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        pty.send(b"q");
        pty.wait_until("the console to close or ask", 10, |s| {
            !s.alternate_screen() || s.contents().contains("Checks are running here")
        });
        if !pty.contents().contains("Checks are running here") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "checks still run: {}",
            pty.contents()
        );
        pty.send(b"x");
        // No list row says running (evidence may say "running" in its words).
        pty.wait_for("the checks to end", 30, |s| {
            !s.contains("Checks are running here")
                && !"⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
                    .chars()
                    .any(|c| s.contains(&format!("{c} running")))
        });
    }
    assert_eq!(
        pty.wait_exit(30),
        3,
        "manual items are left to sign: incomplete"
    );
    pty.assert_restored();
}

#[test]
fn sigterm_leaves_a_clean_terminal() {
    let mut pty = Pty::start(&["demo"]);
    pty.wait_for("the console", 60, |s| s.contains("verdict"));
    let pid = pty.child.process_id().expect("a pid");
    // SAFETY: a plain kill(2) of the child this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    pty.wait_exit(30);
    pty.assert_restored();
}

const SIGNED: &str = r#"sections = ["Release"]

[checklist]
id = "release"
title = "Release"
version = 1

[[item]]
id = "backup"
section = "Release"
title = "Backup taken"
kind = "manual"
help = "Take a snapshot."
evidence = [{ key = "snapshot_id", label = "Snapshot id", pattern = '^br-' }]

[[item]]
id = "notes"
section = "Release"
title = "Release notes published"
kind = "manual"
help = "Publish them."
"#;

/// The session id the console's header shows.
fn session_of(pty: &Pty) -> String {
    let contents = pty.contents();
    contents
        .split_whitespace()
        .skip_while(|w| *w != "session")
        .nth(1)
        .expect("a session id in the header")
        .to_string()
}

#[test]
fn a_sign_off_made_in_one_console_appears_in_the_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("c.toml"), SIGNED).expect("writes");
    let mut alice = Pty::start_in(dir.path(), &["run", "c.toml", "--as", "alice"], 40, 120);
    alice.wait_for("alice's console", 30, |s| s.contains("backup · manual"));
    let session = session_of(&alice);
    let mut bob = Pty::start_in(
        dir.path(),
        &["run", "c.toml", "--session", &session, "--as", "bob"],
        40,
        120,
    );
    bob.wait_for("bob's console", 30, |s| s.contains("backup · manual"));
    alice.wait_for("bob attached", 10, |s| s.contains("attached: alice, bob"));

    // Bob signs backup through the dialog; a wrong snapshot id is refused in the dialog.
    bob.send(b"s");
    bob.wait_for("the dialog", 10, |s| s.contains("signing as bob"));
    bob.send(b"\t\tnope\r");
    bob.wait_for("the refusal", 10, |s| s.contains("must match ^br-"));
    bob.send(b"\x7f\x7f\x7f\x7fbr-7\r");
    let signed_at = Instant::now();
    bob.wait_for("the sign-off recorded", 10, |s| {
        s.contains("signed backup done as bob")
    });
    alice.wait_for("bob's sign-off with what he signed", 10, |s| {
        s.contains("bob · done ·") && s.contains("snapshot_id  br-7")
    });
    assert!(
        signed_at.elapsed() < Duration::from_secs(2),
        "seen after {:?}",
        signed_at.elapsed()
    );
    assert!(alice.contents().contains("✔ pass"), "{}", alice.contents());

    bob.send(b"q");
    assert_eq!(bob.wait_exit(30), 3, "notes is still to sign: incomplete");
    bob.assert_restored();
    alice.wait_for("bob gone", 10, |s| {
        s.contains("attached: alice") && !s.contains("alice, bob")
    });
    alice.send(b"q");
    alice.wait_exit(30);
    alice.assert_restored();
}

const CONTROLLED: &str = r#"sections = ["Checks"]

[checklist]
id = "controlled"
title = "Controlled"
version = 1

[[item]]
id = "flaky"
section = "Checks"
title = "Fails the first time"
kind = "command"
help = "Fails once."
run = ["sh", "-c", "test -f marker || { touch marker; exit 1; }"]

[[item]]
id = "slow"
section = "Checks"
title = "Takes its time"
kind = "command"
help = "Sleeps."
run = ["sleep", "120"]

[[item]]
id = "optional"
section = "Checks"
title = "Not needed today"
kind = "command"
help = "Exits 1."
run = ["false"]
"#;

#[test]
fn the_console_runs_cancels_and_skips_items() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("c.toml"), CONTROLLED).expect("writes");
    let mut pty = Pty::start_in(dir.path(), &["run", "c.toml", "--as", "alice"], 40, 120);
    pty.wait_for("flaky failed and slow running", 30, |s| {
        s.contains("✘ fail    flaky") && s.contains("running slow")
    });

    // Cancel slow, the running check.
    pty.send(b"j");
    pty.wait_for("slow selected", 10, |s| s.contains("slow · command"));
    pty.send(b"c");
    pty.wait_for("slow cancelled", 20, |s| s.contains("· pending slow"));

    // Run flaky again: it passes this time.
    pty.send(b"k");
    pty.wait_for("flaky selected", 10, |s| s.contains("flaky · command"));
    pty.send(b"r");
    pty.wait_for("flaky passed", 20, |s| s.contains("✔ pass    flaky"));

    // Its result and evidence, saved to a file whose path is shown.
    pty.send(b"e");
    pty.wait_for("the saved file", 10, |s| {
        s.contains("saved flaky's result and evidence to")
    });
    // Under the data directory (the test's own), one folder per session, the whole path
    // shown.
    let session = session_of(&pty);
    let saved = dir
        .path()
        .join("relcon/evidence")
        .join(&session)
        .join("relcon-flaky.json");
    pty.wait_for("the whole path", 10, |s| {
        s.replace(['\n', '│', ' '], "")
            .contains(&saved.display().to_string().replace(' ', ""))
    });
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("reads")).expect("JSON");
    assert_eq!(saved["status"], "pass");
    assert_eq!(saved["run_by"], "alice");

    // Skip optional, with a reason.
    pty.send(b"jj");
    pty.wait_for("optional selected", 10, |s| {
        s.contains("optional · command")
    });
    pty.send(b"xnot today\r");
    pty.wait_for("optional skipped", 20, |s| {
        s.contains("↷ skip    optional") && s.contains("skipped by alice: not today")
    });

    pty.send(b"q");
    assert_eq!(pty.wait_exit(30), 3, "slow is still to run: incomplete");
    pty.wait_for("the way back", 10, |s| {
        s.contains("resume it with relcon run c.toml --store sqlite://")
            && s.contains("--as alice --session")
    });
    pty.assert_restored();
}

const CANARY: &str = "canary-Zq8v1Lr0Xw5Tn3Kp";

/// A secret written into an item's configuration, and into a result another process
/// recorded without knowing it, never reaches the console's configuration pane or a saved
/// result file: both are scrubbed by the console itself.
#[test]
fn a_secret_in_the_configuration_or_a_stored_result_stays_out_of_the_console() {
    let dir = tempfile::tempdir().expect("temp dir");
    let checklist = format!(
        r#"sections = ["Checks"]

[checklist]
id = "canary"
title = "Canary"
version = 1

[inputs]
TOKEN = {{ secret = true }}

[[item]]
id = "probe"
section = "Checks"
title = "Probe"
kind = "command"
help = "Passes."
run = ["sh", "-c", "exit 0", "{CANARY}"]
pass_secrets = ["TOKEN"]

[[item]]
id = "sign"
section = "Checks"
title = "Sign"
kind = "manual"
help = "Sign it."
"#
    );
    std::fs::write(dir.path().join("c.toml"), checklist).expect("writes");
    std::fs::write(dir.path().join("env"), format!("TOKEN={CANARY}\n")).expect("writes");
    let store = common::store_in(dir.path());
    let ran: common::Ran = common::relcon()
        .args([
            "run",
            "c.toml",
            "--as",
            "alice",
            "--env-file",
            "env",
            "--json",
        ])
        .current_dir(dir.path())
        .env("RELCON_STORE", &store)
        .output()
        .expect("relcon runs")
        .into();
    let session = common::session_id(&common::report(&ran.stdout));
    assert!(!ran.stdout.contains(CANARY) && !ran.stderr.contains(CANARY));
    // Another process's result, recorded as it came (that process did not know the secret).
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let opened = relcon::store::Store::open(&store).await.expect("store");
        opened
            .append(
                &session,
                "bob",
                &relcon::session::Body::Result {
                    item: "probe".into(),
                    run_id: Some("run-bob".into()),
                    status: relcon::status::Status::Fail,
                    summary: "the probe failed".into(),
                    evidence: serde_json::json!({ "body": format!("token={CANARY}") }),
                    started_at: Some("2026-11-26T07:00:00Z".into()),
                    duration_ms: 5,
                    attempts: 1,
                    output: None,
                },
            )
            .await
            .expect("appends");
        opened.close().await;
    });

    let mut pty = Pty::start_in(
        dir.path(),
        &[
            "run",
            "c.toml",
            "--session",
            &session,
            "--as",
            "alice",
            "--env-file",
            "env",
        ],
        40,
        120,
    );
    pty.wait_for("the probe's detail", 30, |s| s.contains("probe · command"));
    // ] jumps section by section down to the configuration.
    pty.send(b"]]]]]]");
    pty.wait_for("the configuration", 10, |s| s.contains("run = "));
    let screen = pty.contents();
    let run_line = screen
        .lines()
        .find(|l| l.contains("run = "))
        .expect("the configuration's run line");
    assert!(
        run_line.contains("[secret ") && !run_line.contains(CANARY),
        "{run_line}"
    );
    // The secret input the configuration names is listed as set, its value not shown; the
    // stored result's evidence echoes it and is scrubbed on screen too.
    pty.wait_for("the secret input listed", 10, |s| {
        s.contains("TOKEN = set (a secret: not shown)")
    });
    pty.send(b"[[[[[[");
    pty.wait_for("the evidence", 10, |s| s.contains("body  token="));
    assert!(!pty.contents().contains(CANARY), "{}", pty.contents());
    pty.send(b"e");
    pty.wait_for("the saved file", 10, |s| {
        s.contains("saved probe's result and evidence to")
    });
    let saved = dir
        .path()
        .join("relcon/evidence")
        .join(&session)
        .join("relcon-probe.json");
    let saved = std::fs::read_to_string(saved).expect("reads");
    assert!(
        saved.contains("[secret ") && !saved.contains(CANARY),
        "{saved}"
    );
    pty.send(b"q");
    pty.wait_exit(30);
    pty.assert_restored();
}

/// The console exports the session's report, signed with the operator's key, and says
/// where it went; OpenSSH verifies the signature.
#[test]
fn the_console_exports_a_signed_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("c.toml"), SIGNED).expect("writes");
    let key = dir.path().join("alice");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(made.success());
    let key_text = key.display().to_string();
    let mut pty = Pty::start_in(
        dir.path(),
        &["run", "c.toml", "--as", "alice", "--sign-key", &key_text],
        40,
        120,
    );
    pty.wait_for("the console", 30, |s| s.contains("backup · manual"));
    pty.send(b"E");
    pty.wait_for("the export dialog", 10, |s| {
        s.contains("Export the report") && s.contains("(•) my signing key")
    });
    pty.send(b"\r\r\r");
    pty.wait_for("the report written", 20, |s| {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        s.contains("exported the html report (interim) to relcon-")
            && s.contains("signed with SHA256:")
    });
    let report = std::fs::read_dir(dir.path())
        .expect("the directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "html"))
        .expect("an HTML report");
    let allowed = dir.path().join("allowed_signers");
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("the public key");
    std::fs::write(&allowed, format!("alice {public}")).expect("writes");
    let mut sig = report.clone().into_os_string();
    sig.push(".sig");
    let verified = std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "relcon-report", "-I", "alice", "-f"])
        .arg(&allowed)
        .arg("-s")
        .arg(&sig)
        .stdin(std::fs::File::open(&report).expect("the report"))
        .output()
        .expect("ssh-keygen runs");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    pty.send(b"q");
    pty.wait_exit(30);
    pty.assert_restored();
}

#[test]
fn c_cancels_a_hung_http_check_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A server that takes connections and never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = hung.local_addr().expect("address").port();
    std::fs::write(
        dir.path().join("c.toml"),
        format!(
            "sections = [\"Checks\"]\n\n[checklist]\nid = \"hang\"\ntitle = \"Hang\"\nversion = 1\n\n[[item]]\nid = \"hung\"\nsection = \"Checks\"\ntitle = \"Never answers\"\nkind = \"http\"\nhelp = \"GET a server that never answers.\"\nurl = \"http://127.0.0.1:{port}/health\"\ntimeout = \"60s\"\nretries = 2\n"
        ),
    )
    .expect("writes");
    let mut pty = Pty::start_in(dir.path(), &["run", "c.toml", "--as", "alice"], 40, 120);
    pty.wait_for("hung running", 30, |s| s.contains("running hung"));
    pty.wait_for("hung selected", 10, |s| s.contains("hung · http"));
    // Its timeout is a minute, three times: the cancel, not the timeout, ends it.
    pty.send(b"c");
    pty.wait_for("hung cancelled", 5, |s| s.contains("· pending hung"));
    pty.wait_for("who cancelled it", 5, |s| s.contains("cancelled by alice"));
    drop(hung);
}

/// One closing rule: the console's last sign-off closes a session that is go at once, as
/// `relcon signoff` does, not when the console quits.
#[test]
fn the_consoles_last_sign_off_closes_the_session_while_it_is_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("c.toml"),
        "sections = [\"Checks\"]\n\n[checklist]\nid = \"closing\"\ntitle = \"Closing\"\nversion = 1\n\n[[item]]\nid = \"probe\"\nsection = \"Checks\"\ntitle = \"Probe\"\nkind = \"command\"\nhelp = \"Passes.\"\nrun = [\"true\"]\n\n[[item]]\nid = \"notes\"\nsection = \"Checks\"\ntitle = \"Release notes published\"\nkind = \"manual\"\nhelp = \"Publish them.\"\n",
    )
    .expect("writes");
    let mut pty = Pty::start_in(dir.path(), &["run", "c.toml", "--as", "alice"], 40, 120);
    pty.wait_for("probe passed", 30, |s| s.contains("✔ pass    probe"));
    let session = session_of(&pty);
    pty.send(b"j");
    pty.wait_for("notes selected", 10, |s| s.contains("notes · manual"));
    pty.send(b"s");
    pty.wait_for("the dialog", 10, |s| s.contains("signing as alice"));
    // The note takes several lines; Ctrl-S signs.
    pty.send(b"\tpublished\x13");
    pty.wait_for("closed at the sign-off", 10, |s| {
        s.contains("session closed")
    });

    // Another process sees it closed while the console is still open.
    let store = format!("sqlite://{}", dir.path().join("store.sqlite").display());
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_relcon"))
        .args(["sessions", "--store", &store])
        .current_dir(dir.path())
        .output()
        .expect("relcon sessions");
    let listed = String::from_utf8_lossy(&listed.stdout);
    let line = listed
        .lines()
        .find(|l| l.contains(&session))
        .unwrap_or_else(|| panic!("{session} listed in {listed}"));
    assert!(line.contains("go (closed)"), "{line}");

    pty.send(b"q");
    assert_eq!(pty.wait_exit(30), 0, "go");
    pty.assert_restored();
}

/// The bake in the console: asked for by the demo's later fault, it starts once the
/// automated items are done, shows its rounds live in its pane, and ends no-go at the round
/// the deployment's second failure comes in, with the next step; the header says it too.
#[test]
fn the_console_shows_a_bake_catch_a_release_going_bad() {
    let mut pty = Pty::start(&["demo", "--fault", "fail-after:4"]);
    pty.wait_for("the bake's pane", 90, |s| s.contains("post-deploy bake"));
    pty.wait_for("rounds live", 30, |s| s.contains("BAKING round"));
    pty.wait_for("the no-go", 30, |s| {
        s.contains("BAKE NO-GO: health.live failed 2 rounds in a row")
    });
    pty.wait_for("the next step", 5, |s| s.contains("Next: roll back"));
    pty.wait_for("the failed rounds marked", 5, |s| s.contains("××"));
    // Any key closes the pane; the header keeps the bake's verdict; b opens it again.
    pty.send(b"x");
    pty.wait_for("the pane closed", 5, |s| !s.contains("post-deploy bake"));
    pty.wait_for("the header says it", 5, |s| s.contains("BAKE NO-GO"));
    pty.send(b"b");
    pty.wait_for("the pane again", 5, |s| s.contains("post-deploy bake"));
    pty.send(b"q");
    pty.send(b"q");
    pty.wait_exit(20);
    pty.assert_restored();
}
