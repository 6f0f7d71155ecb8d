//! `relcon demo`: the shipped checklist against the sandbox passes every item it runs, and
//! each fault switch turns exactly its items to fail.

mod common;

use std::collections::BTreeSet;

use common::{item, report, run_in};

fn demo(faults: &str) -> (i32, serde_json::Value) {
    demo_with(faults, &[])
}

fn demo_with(faults: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = vec!["demo", "--json"];
    args.extend(extra);
    if !faults.is_empty() {
        args.extend(["--fault", faults]);
    }
    let ran = run_in(dir.path(), &args);
    let doc = report(&ran.stdout);
    (ran.code, doc)
}

#[test]
fn the_database_items_run_on_a_scratch_database_that_is_dropped_after() {
    // What a demo killed a day ago left behind (its name says when it was made).
    let stale = format!(
        "relcon_demo_1_{}",
        &uuid::Uuid::now_v7().simple().to_string()[24..]
    );
    common::admin(
        None,
        &format!("CREATE ROLE {stale}_owner; CREATE ROLE {stale}_app"),
    );
    common::admin(
        None,
        &format!("CREATE DATABASE {stale} OWNER {stale}_owner"),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let ran: common::Ran = common::relcon()
        .args(["demo", "--json"])
        .current_dir(dir.path())
        .env("RELCON_STORE", common::store_in(dir.path()))
        .env("XDG_DATA_HOME", dir.path())
        .env("RELCON_DEMO_PG", common::test_pg())
        .output()
        .expect("relcon runs")
        .into();
    let doc = report(&ran.stdout);
    for id in [
        "migration.apply",
        "migration.idempotent",
        "db.least-privilege",
        "db.adapter",
    ] {
        assert_eq!(
            item(&doc, id)["status"],
            "pass",
            "{id}: {}",
            item(&doc, id)["summary"]
        );
    }
    let name = ran
        .stderr
        .split_whitespace()
        .find(|w| w.starts_with("relcon_demo_"))
        .unwrap_or_else(|| panic!("the database is named: {}", ran.stderr))
        .to_string();
    let role = item(&doc, "db.least-privilege")["evidence"]["role"].clone();
    assert_eq!(
        role,
        format!("{name}_app"),
        "the app's role is the DML-only one"
    );
    // Gone once the demo ended: the database and both roles.
    let left = common::scalar(
        None,
        &format!("SELECT (SELECT count(*) FROM pg_database WHERE datname = '{name}') + (SELECT count(*) FROM pg_roles WHERE rolname LIKE '{name}%')"),
    );
    assert_eq!(left, 0, "{name} is gone");
    let left = common::scalar(
        None,
        &format!("SELECT (SELECT count(*) FROM pg_database WHERE datname = '{stale}') + (SELECT count(*) FROM pg_roles WHERE rolname LIKE '{stale}%')"),
    );
    assert_eq!(left, 0, "the stale {stale} is gone too");

    // Without a server, the demo says so and leaves the database items out.
    let ran: common::Ran = common::relcon()
        .args(["demo", "--json"])
        .current_dir(dir.path())
        .env("RELCON_STORE", common::store_in(dir.path()))
        .env("XDG_DATA_HOME", dir.path())
        .env(
            "RELCON_DEMO_PG",
            "postgres://nobody:pw-none@127.0.0.1:1/none",
        )
        .output()
        .expect("relcon runs")
        .into();
    assert!(
        ran.stderr.contains(
            "database: no local PostgreSQL (postgres://nobody:***@127.0.0.1:1/none: unreachable"
        ),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("pw-none"));
    let doc = report(&ran.stdout);
    assert_eq!(item(&doc, "migration.apply")["status"], "pending");
    assert_eq!(ran.code, 0, "what ran passed");
}

fn failing(doc: &serde_json::Value) -> BTreeSet<String> {
    doc["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["status"] == "fail" || i["status"] == "error")
        .filter_map(|i| i["id"].as_str().map(String::from))
        .collect()
}

#[test]
fn without_faults_everything_the_demo_runs_passes() {
    let (code, doc) = demo("");
    assert_eq!(code, 0, "{}", doc);
    assert_eq!(doc["verdict"], "go");
    for id in [
        "security.tls",
        "security.cookies",
        "e2e.oauth-callbacks",
        "obs.request-id",
        "health.live",
        "health.ready",
        "deploy.version",
        "smoke.session-anon",
        "smoke.session",
        "secrets.auth-secret",
        "security.no-dev-secrets",
        "security.no-committed-secrets",
        "ci.no-hardcoded-secrets",
    ] {
        assert_eq!(
            item(&doc, id)["status"],
            "pass",
            "{id}: {}",
            item(&doc, id)["summary"]
        );
    }
}

#[test]
fn each_fault_fails_exactly_its_items() {
    let cases: [(&'static str, &[&str]); 11] = [
        ("health-500", &["health.live"]),
        ("health-hang", &["health.live"]),
        ("ready-503", &["health.ready"]),
        ("insecure-cookies", &["security.cookies"]),
        ("host-cookie-domain", &["security.cookies"]),
        ("no-request-id", &["obs.request-id"]),
        ("wrong-callback", &["e2e.oauth-callbacks"]),
        ("no-redirect", &["security.tls"]),
        ("old-version", &["deploy.version"]),
        ("secret-drift", &["smoke.session"]),
        ("committed-secret", &["security.no-committed-secrets"]),
    ];
    // The demos run side by side: the slowest (a hung /health, retried) sets the pace.
    let runs: Vec<_> = cases
        .iter()
        .map(|&(fault, _)| std::thread::spawn(move || demo(fault)))
        .collect();
    for ((fault, expected), run) in cases.iter().zip(runs) {
        let (code, doc) = run.join().expect("the demo ran");
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(failing(&doc), expected, "--fault {fault}");
        assert_eq!(code, 1, "--fault {fault}: no-go");
    }
}

#[test]
fn the_signed_in_smoke_passes_whichever_way_the_sandbox_keeps_sessions() {
    let cases: [(&[&str], &str); 3] = [
        (&["--sessions", "database", "--authjs", "4"], "database"),
        (&["--sessions", "token"], "token"),
        (&["--sessions", "jwt", "--authjs", "4"], "jwt"),
    ];
    let runs: Vec<_> = cases
        .iter()
        .map(|&(args, _)| std::thread::spawn(move || demo_with("", args)))
        .collect();
    for ((args, strategy), run) in cases.iter().zip(runs) {
        let (code, doc) = run.join().expect("the demo ran");
        let smoke = item(&doc, "smoke.session");
        assert_eq!(smoke["status"], "pass", "{args:?}: {smoke}");
        assert_eq!(smoke["evidence"]["strategy"], *strategy, "{args:?}");
        assert_eq!(code, 0, "{args:?}");
    }
}

#[test]
fn missing_hsts_warns_with_the_advice_and_keeps_go() {
    let (code, doc) = demo("no-hsts");
    let tls = item(&doc, "security.tls");
    assert_eq!(tls["status"], "warn", "{tls}");
    assert!(tls["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("no Strict-Transport-Security header: set")));
    assert!(failing(&doc).is_empty(), "{:?}", failing(&doc));
    assert_eq!(code, 0);
}

#[test]
fn an_unknown_fault_is_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ran = run_in(dir.path(), &["demo", "--fault", "health-501"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.starts_with(
            "error: unknown fault `health-501` (did you mean `health-500`? faults: health-500, "
        ),
        "{}",
        ran.stderr
    );
}

/// The demo headless as `platform`, with its store in a directory of its own: the
/// directory (kept while it lives), the store's URL and the run.
fn demo_on(platform: &str) -> (tempfile::TempDir, String, common::Ran) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("sqlite://{}", dir.path().join("demo.sqlite").display());
    let ran: common::Ran = common::relcon()
        .args(["demo", "--json", "--platform", platform])
        .current_dir(dir.path())
        .env("RELCON_STORE", common::store_in(dir.path()))
        .env("RELCON_DEMO_STORE", &store)
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .expect("relcon runs")
        .into();
    (dir, store, ran)
}

/// The evidence a release manager would give each manual item of the shipped checklist.
fn evidence_for(item: &str, platform: &str) -> Vec<String> {
    let release = match platform {
        "vercel" => "dpl_8Kq2mZx7wPp1Ld4s",
        "workers" => "1f0c2a9e-6b1d-4c3e-9a7f-2d5e8b0c4a61",
        _ => "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
    };
    let fields: Vec<(&str, &str)> = match item {
        "backup.snapshot" => vec![("snapshot_id", "br-wispy-meadow-a5x3k2lq")],
        "migration.ci-runner" => vec![("run_url", "https://ci.example.com/acme/app/runs/812")],
        "ci.image-published" => vec![(
            "digest",
            "sha256:0f5b1c1a3e8d9c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b",
        )],
        "e2e.oauth-redirect" => vec![(
            "redirect_uris",
            "https://app.example.com/api/auth/callback/google https://app.example.com/api/auth/callback/github",
        )],
        "e2e.signin-flows" => vec![("run_url", "https://ci.example.com/acme/app/runs/811")],
        "obs.logs-aggregated" => vec![("logs_url", "https://logs.example.com/acme/app?release=4f2c9a1")],
        "health.workers" => vec![("preview_url", "https://preview.app.example.workers.dev/")],
        "rollback.plan" => vec![
            ("previous_release", release),
            ("restore_point", "2026-12-03T05:30:00Z"),
        ],
        other => panic!("no evidence known for {other}"),
    };
    fields
        .into_iter()
        .flat_map(|(key, value)| ["--evidence".to_string(), format!("{key}={value}")])
        .collect()
}

#[test]
fn the_shipped_checklist_gives_go_on_each_platform_once_its_manual_items_are_signed() {
    // What each platform's deployment is judged on beyond "every automated item passes".
    type Expect = (&'static str, &'static str, &'static str);
    let cases: [(&str, &[Expect]); 4] = [
        (
            "container",
            &[
                ("health.ready", "pass", ""),
                ("obs.request-id", "pass", "x-request-id"),
                ("ci.image-published", "pending", ""),
            ],
        ),
        (
            "kubernetes",
            &[
                ("security.tls", "pass", "no plain-HTTP listener"),
                ("health.ready", "pass", ""),
            ],
        ),
        (
            "vercel",
            &[
                ("health.ready", "skip", ""),
                ("ci.image-published", "skip", ""),
                ("obs.request-id", "pass", "x-vercel-id"),
                // Deployment Protection answers 401 without the bypass header.
                ("security.cookies", "pass", ""),
                ("smoke.session", "pass", ""),
            ],
        ),
        (
            "workers",
            &[
                ("health.ready", "skip", ""),
                (
                    "security.tls",
                    "warn",
                    "no Strict-Transport-Security header",
                ),
                ("security.node-env", "warn", "NODE_ENV is not set"),
                ("obs.request-id", "pass", "cf-ray"),
                ("health.workers", "pending", ""),
                ("migration.ci-runner", "pending", ""),
            ],
        ),
    ];
    let runs: Vec<_> = cases
        .iter()
        .map(|&(platform, _)| std::thread::spawn(move || demo_on(platform)))
        .collect();
    for ((platform, expected), run) in cases.iter().zip(runs) {
        let (dir, store, ran) = run.join().expect("the demo ran");
        let doc = report(&ran.stdout);
        assert_eq!(ran.code, 0, "--platform {platform}: {}", ran.stderr);
        assert!(
            failing(&doc).is_empty(),
            "--platform {platform}: {:?}",
            failing(&doc)
        );
        for (id, status, words) in *expected {
            let item = item(&doc, id);
            assert_eq!(
                item["status"], *status,
                "--platform {platform}: {id}: {item}"
            );
            assert!(
                item.to_string().contains(words),
                "--platform {platform}: {id} mentions {words}: {item}"
            );
        }
        // The manual items that apply are signed from a shell; the last one closes the
        // session with go.
        let session = doc["session"]["id"]
            .as_str()
            .expect("a session id")
            .to_string();
        let manual: Vec<&str> = doc["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["status"] == "pending")
            .filter_map(|i| i["id"].as_str())
            .collect();
        assert!(manual.contains(&"rollback.plan"), "{manual:?}");
        let mut last = String::new();
        for id in &manual {
            let mut args = vec![
                "signoff".to_string(),
                id.to_string(),
                "--store".into(),
                store.clone(),
                "--session".into(),
                session.clone(),
                "--as".into(),
                "rm-alice".into(),
                "--status".into(),
                "done".into(),
            ];
            args.extend(evidence_for(id, platform));
            let signed: common::Ran = common::relcon()
                .args(&args)
                .current_dir(dir.path())
                .output()
                .expect("relcon runs")
                .into();
            assert_eq!(
                signed.code, 0,
                "--platform {platform}: {id}: {}",
                signed.stderr
            );
            last = signed.stderr;
        }
        assert!(
            last.contains("closed: every required item passed"),
            "--platform {platform}: {last}"
        );
    }
}

#[test]
fn evidence_that_does_not_fit_the_claim_is_refused() {
    let (_dir, store, ran) = demo_on("vercel");
    let doc = report(&ran.stdout);
    let session = doc["session"]["id"]
        .as_str()
        .expect("a session id")
        .to_string();
    for (item, evidence, refusal) in [
        (
            "backup.snapshot",
            "snapshot_id=yesterday",
            "must be a Neon branch id (br-…) or a restore time",
        ),
        (
            "rollback.plan",
            "previous_release=v1.3",
            "must be an image digest",
        ),
        (
            "obs.logs-aggregated",
            "logs_url=the usual place",
            "must be a URL",
        ),
        (
            "e2e.oauth-redirect",
            "redirect_uris=all of them",
            "must match",
        ),
    ] {
        let signed: common::Ran = common::relcon()
            .args([
                "signoff",
                item,
                "--store",
                &store,
                "--session",
                &session,
                "--as",
                "rm-bob",
                "--status",
                "done",
                "--evidence",
                evidence,
            ])
            .output()
            .expect("relcon runs")
            .into();
        assert_eq!(signed.code, 2, "{item}: {}", signed.stderr);
        assert!(signed.stderr.contains(refusal), "{item}: {}", signed.stderr);
    }
}

/// `demo --serve` writes the configuration it gives the checklist: every placeholder filled,
/// none of the template's own comments left, and the file says what it is.
#[test]
fn the_served_configuration_has_no_template_text_left() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = common::relcon()
        .args(["demo", "--serve"])
        .current_dir(dir.path())
        .env("RELCON_STORE", common::store_in(dir.path()))
        .env("XDG_DATA_HOME", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("relcon runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut said = String::new();
    let mut path = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        said.push_str(&line);
        said.push('\n');
        if let Some(p) = line.strip_prefix("configuration: ") {
            path = Some(std::path::PathBuf::from(p));
        }
        if line.starts_with("try, while the demo runs: relcon run") {
            break;
        }
    }
    let path = path.unwrap_or_else(|| panic!("the configuration's path in {said}"));
    let text = std::fs::read_to_string(&path).expect("the configuration");
    // SIGTERM stops the sandbox; its files go with it.
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    child.wait().expect("the demo ends");
    assert!(!text.contains("{{") && !text.contains("}}"), "{text}");
    assert!(!text.contains("are filled when"), "{text}");
    assert!(
        text.starts_with("# The configuration relcon demo gives the shipped checklist against the sandbox at https://"),
        "{text}"
    );
    assert!(text.contains("\nDEPLOY_PLATFORM=container\n"), "{text}");
    assert!(!path.exists(), "removed when the demo ends");
}

/// A bake repeats the signed-in smoke only when it did not write at go: with database
/// sessions (a probe row) it is left out, and says why; the others are baked.
#[test]
fn a_bake_leaves_out_a_signed_in_smoke_that_wrote_at_go() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ran = run_in(
        dir.path(),
        &[
            "demo",
            "--headless",
            "--sessions",
            "database",
            "--bake",
            "2s",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert!(
        lines.contains(&"  left out: smoke.session: it wrote at go (a database session): writes are never repeated"),
        "{}",
        ran.stderr
    );
    assert!(
        lines.contains(&"bake GO: 2 rounds over 2.0 s without a regression"),
        "{}",
        ran.stderr
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("  health.live: 2 rounds, 0 failed")));
    assert!(!lines.iter().any(|l| l.starts_with("  smoke.session: ")));
}
