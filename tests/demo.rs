//! `relcon demo`: the shipped checklist against the sandbox passes every item it runs, and
//! each fault switch turns exactly its items to fail.

mod common;

use std::collections::BTreeSet;

use common::{item, report, run_in};

fn demo(faults: &str) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = vec!["demo", "--json"];
    if !faults.is_empty() {
        args.extend(["--fault", faults]);
    }
    let ran = run_in(dir.path(), &args);
    let doc = report(&ran.stdout);
    (ran.code, doc)
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
        "secrets.auth-secret",
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
    let cases: [(&'static str, &[&str]); 10] = [
        ("health-500", &["health.live"]),
        ("health-hang", &["health.live"]),
        ("ready-503", &["health.ready"]),
        ("insecure-cookies", &["security.cookies"]),
        ("host-cookie-domain", &["security.cookies"]),
        ("no-request-id", &["obs.request-id"]),
        ("wrong-callback", &["e2e.oauth-callbacks"]),
        ("no-hsts", &["security.tls"]),
        ("no-redirect", &["security.tls"]),
        ("old-version", &["deploy.version"]),
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
