//! `relcon diff` between real sessions in one store, with planted changes: a new failure, a
//! fix, a slower item, changed evidence, another signer, items added and removed, and a
//! rotated AUTH_SECRET with and without the old one kept (by fingerprint only).

mod common;

use std::path::Path;

use common::{command_item, report, run_in, session_id};

/// A release's checklist: `version` 1 has `old`, 2 has `added` instead.
fn checklist(version: u32) -> String {
    let mut text = format!(
        "sections = [\"Checks\"]\n\n[checklist]\nid = \"shop\"\ntitle = \"Shop\"\nversion = {version}\nbase_url = [\"APP_URL\"]\n\n[inputs]\nAPP_URL = {{}}\nAUTH_SECRET = {{ secret = true }}\nAUTH_SECRET_1 = {{ secret = true }}\nRELEASE = {{}}\nDB_PASSWORD = {{ secret = true }}\n\n[[item]]\nid = \"secret\"\nsection = \"Checks\"\ntitle = \"Secrets\"\nkind = \"env\"\nhelp = \"h\"\n[[item.rules]]\nnames = [\"AUTH_SECRET\"]\n[[item.rules]]\nnames = [\"AUTH_SECRET_1\"]\n[[item.rules]]\nnames = [\"RELEASE\"]\n[[item.rules]]\nnames = [\"DB_PASSWORD\"]\n\n[[item]]\nid = \"smoke\"\nsection = \"Checks\"\ntitle = \"Signed-in smoke\"\nkind = \"authjs.session\"\nhelp = \"h\"\nurl = \"${{origin}}/api/auth/session\"\nstrategy = \"jwt\"\nsecret_from = [\"AUTH_SECRET_1\", \"AUTH_SECRET\"]\n"
    );
    text.push_str(&command_item("flaky", "test ! -f broken", ""));
    text.push_str(&command_item("fixme", "test -f fixed", ""));
    text.push_str(&command_item(
        "slow",
        "if test -f slow; then sleep 0.6; fi",
        "",
    ));
    text.push_str(&command_item(
        if version == 1 { "old" } else { "added" },
        "true",
        "",
    ));
    text.push_str("\n[[item]]\nid = \"notes\"\nsection = \"Checks\"\ntitle = \"Release notes\"\nkind = \"manual\"\nhelp = \"Publish them.\"\n");
    text
}

const SECRET_A: &str = "Zq3vJ8kP2mX9rT5wY1bN7cF4hL6dS0gA8eU2iO5pK3=";
const SECRET_B: &str = "Wm4nB7xC2vZ9qL5kR8tY1pD6fG3hJ0sA7eU4iO2pQ9=";
const SECRET_C: &str = "Tc8rE1wQ5yU3iO9pA2sD7fG4hJ6kL0zX1cV8bN3mQ5=";

/// One release run headless in `dir` (files planted first), its manual item signed by
/// `signer`; the session's id.
fn release(dir: &Path, version: u32, env: &str, plant: &[&str], signer: &str) -> String {
    for name in ["broken", "fixed", "slow"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    for name in plant {
        std::fs::write(dir.join(name), "").expect("plants");
    }
    std::fs::write(dir.join("c.toml"), checklist(version)).expect("writes");
    std::fs::write(
        dir.join("release.env"),
        format!("APP_URL=https://app.example.test\n{env}"),
    )
    .expect("writes");
    let ran = run_in(
        dir,
        &[
            "run",
            "c.toml",
            "--headless",
            "--json",
            "--env-file",
            "release.env",
            "--as",
            "ci",
            // No deployment answers here: the smoke is in the checklist for its secret_from.
            "--skip",
            "smoke",
        ],
    );
    let session = session_id(&report(&ran.stdout));
    let signed = run_in(
        dir,
        &[
            "signoff",
            "notes",
            "--session",
            &session,
            "--status",
            "done",
            "--as",
            signer,
        ],
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    session
}

fn close(dir: &Path, session: &str) {
    let closed = run_in(dir, &["close", "--session", session]);
    // A session that reached go closed itself at its last sign-off.
    assert!(
        closed.code == 0 || closed.stderr.contains("already closed"),
        "{}",
        closed.stderr
    );
}

#[test]
fn a_release_is_compared_with_the_last_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let first = release(
        dir,
        1,
        &format!("AUTH_SECRET={SECRET_A}\nRELEASE=r1\nDB_PASSWORD=Pg-one-9f8e7d6c5b4a\n"),
        &[],
        "alice",
    );
    close(dir, &first);
    // The next release: flaky breaks, fixme is fixed, slow is slow, the secret rotated with
    // the old one kept in AUTH_SECRET_1, the release moves on, bob signs.
    let second = release(
        dir,
        2,
        &format!("AUTH_SECRET={SECRET_B}\nAUTH_SECRET_1={SECRET_A}\nRELEASE=r2\nDB_PASSWORD=Pg-two-1a2b3c4d5e6f\n"),
        &["broken", "fixed", "slow"],
        "bob",
    );
    let ran = run_in(dir, &["diff", "--session", &second]);
    assert_eq!(ran.code, 1, "a new failure needs attention: {}", ran.stdout);
    let text = &ran.stdout;
    for expected in [
        format!("against {first} "),
        "new failures (1)\n  ✘ flaky: pass → fail".to_string(),
        "fixed (1)\n  ✔ fixme: fail → pass".to_string(),
        "slower (1)\n  slow: ".to_string(),
        "secret variables.RELEASE.value: r1 → r2".to_string(),
        "secret variables.AUTH_SECRET_1.set: false → true".to_string(),
        "signed by other people (1)\n  notes: alice → bob".to_string(),
        "items added (1)\n  added".to_string(),
        "items removed (1)\n  old".to_string(),
        "AUTH_SECRET changed since the last release; the old one is kept in AUTH_SECRET_1"
            .to_string(),
    ] {
        assert!(text.contains(&expected), "{expected:?} in\n{text}");
    }
    for secret in [SECRET_A, SECRET_B] {
        assert!(!text.contains(&secret[..12]), "a secret in\n{text}");
    }

    let json = run_in(dir, &["diff", "--session", &second, "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(doc["schema"], "relcon.diff/v1");
    assert_eq!(doc["against"]["session"], first.as_str());
    assert_eq!(doc["new_failures"][0]["id"], "flaky");
    assert_eq!(doc["slower"][0]["id"], "slow");
    assert!(doc["slower"][0]["after_ms"].as_u64() >= Some(600), "{doc}");
    assert_eq!(doc["secrets"]["comparable"], true);
    assert!(
        doc["secrets"]["findings"]
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f["status"] == "pass")),
        "{doc}"
    );

    // The release after: the secret changed again, the old one not kept: every JWT session
    // would end at deploy.
    close(dir, &second);
    let third = release(
        dir,
        2,
        &format!("AUTH_SECRET={SECRET_C}\nRELEASE=r3\nDB_PASSWORD=Pg-two-1a2b3c4d5e6f\n"),
        &["broken", "fixed", "slow"],
        "bob",
    );
    let ran = run_in(dir, &["diff", "--session", &third]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stdout.contains(&format!("against {second} ")),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("▲ AUTH_SECRET changed since the last release and the old one is not kept"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("new failures"), "{}", ran.stdout);

    // The console's d shows the same comparison.
    let mut pty = common::pty::Pty::start_in(
        dir,
        &[
            "run",
            "c.toml",
            "--session",
            &third,
            "--env-file",
            "release.env",
            "--as",
            "bob",
            "--skip",
            "smoke",
        ],
        40,
        120,
    );
    pty.wait_for("the console", 30, |s| s.contains("secret · env"));
    pty.send(b"d");
    pty.wait_for("the comparison", 20, |s| {
        s.contains("Since the last release")
            && s.contains(&format!("against {second}"))
            && s.contains("AUTH_SECRET changed since the last release")
    });
    pty.send(b"x");
    pty.wait_for("the comparison closed", 10, |s| {
        !s.contains("Since the last release")
    });
    pty.send(b"q");
    pty.wait_exit(30);
    pty.assert_restored();

    // Against an exported report: compared, but fingerprints are keyed per store.
    let exported = run_in(
        dir,
        &[
            "export",
            "--session",
            &first,
            "--format",
            "json",
            "--out",
            "first.json",
        ],
    );
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    // The export lists the secrets' fingerprints the env item gave under `variables`.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("first.json")).expect("reads"))
            .expect("JSON");
    let print = &doc["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == "secret"))
        .expect("the env item")["evidence"]["variables"]["AUTH_SECRET"]["fingerprint"];
    assert_eq!(
        doc["secrets"],
        serde_json::json!([
            {"name": "AUTH_SECRET", "item": "secret", "fingerprint": print},
            {"name": "DB_PASSWORD", "item": "secret", "fingerprint": doc["secrets"][1]["fingerprint"]}
        ]),
        "{doc}"
    );
    // The Markdown and HTML reports say what changed since the last release; the first
    // release has none to say.
    for (session, out) in [
        (&second, "second.md"),
        (&second, "second.html"),
        (&first, "first.md"),
    ] {
        let format = if out.ends_with(".md") { "md" } else { "html" };
        let exported = run_in(
            dir,
            &[
                "export",
                "--session",
                session,
                "--format",
                format,
                "--out",
                out,
            ],
        );
        assert_eq!(exported.code, 0, "{}", exported.stderr);
    }
    let md = std::fs::read_to_string(dir.join("second.md")).expect("reads");
    assert!(md.contains("## Since the last release ("), "{md}");
    assert!(
        md.contains(&format!("Compared with session {first} ")),
        "{md}"
    );
    assert!(md.contains("- **new failure** flaky: pass → fail"), "{md}");
    assert!(md.contains("- **signed by** notes: alice → bob"), "{md}");
    let html = std::fs::read_to_string(dir.join("second.html")).expect("reads");
    assert!(
        html.contains("<section id=\"since\"><h2>Since the last release ("),
        "{html}"
    );
    assert!(
        html.contains("<li><strong>fixed</strong> fixme: fail → pass"),
        "{html}"
    );
    let md = std::fs::read_to_string(dir.join("first.md")).expect("reads");
    assert!(!md.contains("Since the last release"), "{md}");

    let ran = run_in(
        dir,
        &["diff", "--session", &second, "--against", "first.json"],
    );
    assert!(ran.stdout.contains("from first.json"), "{}", ran.stdout);
    assert!(ran.stdout.contains("new failures (1)"), "{}", ran.stdout);
    assert!(ran.stdout.contains("not comparable"), "{}", ran.stdout);
}

#[test]
fn nothing_to_compare_with_is_bad_input_that_says_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let only = release(
        dir,
        1,
        &format!("AUTH_SECRET={SECRET_A}\nRELEASE=r1\n"),
        &[],
        "alice",
    );
    let ran = run_in(dir, &["diff", "--session", &only]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("--against SESSION|REPORT.json"),
        "{}",
        ran.stderr
    );
    let ran = run_in(dir, &["diff", "--session", &only, "--against", "nope"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("no report file of that name"),
        "{}",
        ran.stderr
    );
}

#[test]
fn without_a_closed_release_the_previous_session_is_compared_and_said_to_be() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let env = format!("AUTH_SECRET={SECRET_A}\nRELEASE=r1\nDB_PASSWORD=Pg-one-9f8e7d6c5b4a\n");
    // A no-go release stays open; the next one has no closed release before it.
    let first = release(dir, 1, &env, &["broken"], "alice");
    let second = release(dir, 1, &env, &[], "bob");
    let ran = run_in(dir, &["diff", "--session", &second]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains(&format!("against {first} (no environment, started"))
            && ran
                .stdout
                .contains("from store: the previous session, none earlier was closed"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("fixed (1)"), "{}", ran.stdout);
}
