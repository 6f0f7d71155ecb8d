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
        ran.stderr
            .starts_with("error: unknown fault `health-501` (faults: health-500, "),
        "{}",
        ran.stderr
    );
}
