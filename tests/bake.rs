//! The post-deploy bake against a deployment that goes bad on cue (after a number of
//! liveness probes it starts failing, slowing down, or answering with another build): the
//! regression is caught at the right round with the right reason; a bake killed with -9 is
//! taken up with every recorded round kept; another terminal watching sees the same rounds.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::{line_channel, read_until, report, run_in, session_id};
use relcon::demo::server::{full, Handler, Server};

/// What the deployment starts doing after a number of liveness probes.
#[derive(Clone, Copy)]
enum Fault {
    /// `/health` answers 502.
    Fails,
    /// Every answer takes 400 ms longer.
    Slows,
    /// `/version` names another build.
    DeployedOver,
    /// Nothing.
    None,
}

/// A deployment that answers each path well `after` times, then shows `fault` on it (each
/// path counts its own requests, so two items of one round never race for the switch).
async fn deployment(fault: Fault, after: u32) -> Server {
    let counts: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
    let handler: Handler = Arc::new(move |request| {
        let counts = counts.clone();
        Box::pin(async move {
            let path = request.uri().path().to_string();
            let seen = {
                let mut counts = counts.lock().expect("counts");
                let count = counts.entry(path.clone()).or_insert(0);
                *count += 1;
                *count
            };
            let bad = seen > after;
            if bad && matches!(fault, Fault::Slows) {
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            let (status, body) = match path.as_str() {
                "/health" if bad && matches!(fault, Fault::Fails) => (502, "bad gateway"),
                "/health" => (200, "ok"),
                "/version" if bad && matches!(fault, Fault::DeployedOver) => (200, "build-b"),
                "/version" => (200, "build-a"),
                _ => (404, "not found"),
            };
            let mut response = hyper::Response::new(full(body));
            *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a status");
            response
        })
    });
    Server::start(None, handler).await.expect("serves")
}

/// A checklist of two baked items, judged quickly: the baseline is the first round, and a
/// p95 over 3 samples after it counts.
fn checklist(dir: &Path, port: u16) {
    let text = r#"sections = ["Checks"]

[checklist]
id = "shop"
title = "Shop"
version = 1
base_url = ["APP_URL"]

[inputs]
APP_URL = {}

[bake]
latency_samples = 3
baseline_rounds = 1

[[item]]
id = "live"
section = "Checks"
title = "Live"
kind = "http"
help = "h"
url = "${origin}/health"
bake = true
timeout = "5s"
[item.expect]
status = 200

[[item]]
id = "version"
section = "Checks"
title = "The release runs"
kind = "http"
help = "h"
url = "${origin}/version"
bake = true
bake_fail_after = 1
[item.expect]
status = 200
body_contains = "build-a"
"#;
    std::fs::write(dir.join("c.toml"), text).expect("writes");
    std::fs::write(
        dir.join("app.env"),
        format!("APP_URL=http://127.0.0.1:{port}\n"),
    )
    .expect("writes");
}

/// `relcon run … --bake` for `secs`, a round a second; (exit code, stderr lines).
fn run_and_bake(dir: &Path, secs: u32) -> (i32, Vec<String>) {
    let ran = run_in(
        dir,
        &[
            "run",
            "c.toml",
            "--headless",
            "--env-file",
            "app.env",
            "--bake",
            &format!("{secs}s"),
            "--bake-every",
            "1s",
        ],
    );
    (ran.code, ran.stderr.lines().map(String::from).collect())
}

/// A deployment going bad with `fault` after `after` requests of a path, checked and baked
/// for `secs`: its directory, the exit code and the stderr lines.
async fn bake_against(
    fault: Fault,
    after: u32,
    secs: u32,
) -> (tempfile::TempDir, i32, Vec<String>) {
    let server = deployment(fault, after).await;
    let dir = tempfile::tempdir().expect("temp dir");
    checklist(dir.path(), server.addr.port());
    let (code, lines) = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || run_and_bake(&dir, secs)
    })
    .await
    .expect("runs");
    (dir, code, lines)
}

fn position(lines: &[String], wanted: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(wanted))
        .unwrap_or_else(|| panic!("no line with {wanted:?} in {lines:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_failing_two_rounds_in_a_row_ends_the_bake_no_go() {
    // One probe at go, then rounds 1 and 2 pass; 3 and 4 fail.
    let (dir, code, lines) = bake_against(Fault::Fails, 3, 30).await;
    assert_eq!(code, 1, "a regression is no-go: {lines:#?}");
    assert!(
        lines.iter().any(|l| l.starts_with("✔ round 2/30")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("✘ round 3/30")),
        "{lines:#?}"
    );
    let verdict = position(&lines, "bake NO-GO");
    assert!(
        lines[verdict].contains("live failed 2 rounds in a row: GET /health → 502 (expected 200)"),
        "{}",
        lines[verdict]
    );
    assert!(verdict > position(&lines, "round 4/30"));
    assert!(
        !lines.iter().any(|l| l.contains("round 5/30")),
        "{lines:#?}"
    );
    // A summary per item, then the next step.
    assert!(
        lines[verdict + 1].starts_with("  live: 4 rounds, 2 failed, p50 "),
        "{}",
        lines[verdict + 1]
    );
    assert!(lines[verdict + 2].starts_with("  version: 4 rounds, 0 failed"));
    assert!(lines[verdict + 3].starts_with("next: roll back"));

    // The exports show it: a table in Markdown, a chart in HTML.
    let session = common::announced_session(&lines);
    for (format, file) in [("md", "r.md"), ("html", "r.html")] {
        let exported = run_in(
            dir.path(),
            &[
                "export",
                "--session",
                &session,
                "--format",
                format,
                "--out",
                file,
            ],
        );
        assert_eq!(exported.code, 0, "{}", exported.stderr);
    }
    let md = std::fs::read_to_string(dir.path().join("r.md")).expect("written");
    assert!(md.contains("## Post-deploy bake: ✘ NO-GO"), "{md}");
    assert!(md.contains("| `live` | 4 | 2 |"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("r.html")).expect("written");
    assert!(html.contains("<section id=\"bake\">"));
    assert!(html.contains("aria-label=\"latency of live over 4 rounds\""));
    assert_eq!(
        html.matches("<title>round ").count(),
        2,
        "two failed rounds marked"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_deployed_over_fails_the_bake_at_once() {
    let (_dir, code, lines) = bake_against(Fault::DeployedOver, 2, 30).await;
    assert_eq!(code, 1, "{lines:#?}");
    let verdict = position(&lines, "bake NO-GO");
    assert!(
        lines[verdict].contains("version failed in a round"),
        "{}",
        lines[verdict]
    );
    assert!(verdict > position(&lines, "round 2/30"));
    assert!(
        !lines.iter().any(|l| l.contains("round 3/30")),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slowdown_is_caught_against_the_first_round_and_a_healthy_bake_is_go() {
    // The first round is the baseline; from round 3 every answer is 400 ms slower: two slow
    // samples among three after the baseline are a regression, at round 4.
    let (_dir, code, lines) = bake_against(Fault::Slows, 2, 30).await;
    assert_eq!(code, 1, "{lines:#?}");
    let verdict = position(&lines, "bake NO-GO");
    assert!(
        lines[verdict].contains("became slower: p95 4"),
        "{}",
        lines[verdict]
    );
    assert!(verdict > position(&lines, "round 4/30"));
    assert!(
        !lines.iter().any(|l| l.contains("round 5/30")),
        "{lines:#?}"
    );

    let (_, code, lines) = bake_against(Fault::None, 0, 3).await;
    assert_eq!(code, 0, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l == "bake GO: 3 rounds over 3.0 s without a regression"),
        "{lines:#?}"
    );
}

/// The bake events of `session`, from its exported JSON report: (type, payload).
fn bake_events(dir: &Path, session: &str) -> Vec<(String, serde_json::Value)> {
    let exported = run_in(
        dir,
        &[
            "export",
            "--session",
            session,
            "--format",
            "json",
            "--out",
            "r.json",
        ],
    );
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    // Validated against the report schema, bake and all.
    let doc = report(&std::fs::read_to_string(dir.join("r.json")).expect("written"));
    assert!(doc["bake"].is_object(), "the report carries the bake");
    doc["events"]["entries"]
        .as_array()
        .expect("the report holds the events")
        .iter()
        .filter_map(|e| {
            let kind = e["type"].as_str()?.to_string();
            kind.starts_with("bake_")
                .then(|| (kind, e["payload"].clone()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bake_killed_is_taken_up_with_every_round_kept_and_watched_alike() {
    let server = deployment(Fault::None, 0).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path().to_path_buf();
    checklist(&dir, server.addr.port());
    let ran = run_in(
        &dir,
        &[
            "run",
            "c.toml",
            "--headless",
            "--json",
            "--env-file",
            "app.env",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let session = session_id(&report(&ran.stdout));
    let bake = |args: &[&str]| {
        let mut command = common::relcon();
        command
            .args([
                "bake",
                "c.toml",
                "--env-file",
                "app.env",
                "--session",
                &session,
            ])
            .args(args)
            .current_dir(&dir)
            .env("RELCON_STORE", common::store_in(&dir))
            .env("XDG_DATA_HOME", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().expect("bake starts")
    };
    let mut first = bake(&["--for", "60s", "--every", "1s"]);
    let lines = line_channel(first.stderr.take().expect("stderr"));
    read_until(&lines, 30, |seen| {
        seen.iter().any(|l| l.starts_with("✔ round 3/60"))
    });
    // Another terminal follows the session while it bakes (a closed session without a bake has nothing more to show).
    let mut watch = common::relcon()
        .args(["watch", "--session", &session])
        .current_dir(&dir)
        .env("RELCON_STORE", common::store_in(&dir))
        .stdout(Stdio::piped())
        .spawn()
        .expect("watch starts");
    let watched = line_channel(watch.stdout.take().expect("stdout"));

    // SIGKILL: nothing is said, nothing is ended.
    first.kill().expect("kills");
    first.wait().expect("reaped");

    // Taken up once its last round is old enough for its process to be dead (asked again
    // until then, with a deadline).
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let (mut second, lines) = loop {
        let mut child = bake(&[]);
        let lines = line_channel(child.stderr.take().expect("stderr"));
        let first_line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a first line");
        if first_line.contains("taken up after round") {
            break (child, lines);
        }
        assert!(
            first_line.contains("is being baked already"),
            "{first_line}"
        );
        child.wait().expect("ends");
        assert!(std::time::Instant::now() < deadline, "never taken up");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let seen = read_until(&lines, 30, |seen| {
        seen.iter().any(|l| l.contains("round 5/60"))
    });
    assert!(
        !seen.iter().any(|l| l.contains("round 1/60")),
        "rounds already recorded are not run again: {seen:#?}"
    );
    // Ctrl-C stops it: recorded as stopped, not failed.
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(second.id() as i32, libc::SIGINT) };
    let status = second.wait().expect("ends");
    assert_eq!(status.code(), Some(3), "a stopped bake is not a failure");
    let mut rest = String::new();
    let _ = second
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut rest));
    let stopped: Vec<String> = lines.try_iter().collect();
    assert!(
        stopped
            .iter()
            .any(|l| l.starts_with("bake STOPPED: stopped by")),
        "{stopped:#?}"
    );

    let events = bake_events(&dir, &session);
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"bake_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"bake_ended"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "bake_started").count(), 1);
    let rounds: Vec<u64> = events
        .iter()
        .filter(|(k, _)| k == "bake_round")
        .map(|(_, p)| p["round"].as_u64().expect("a round number"))
        .collect();
    let expected: Vec<u64> = (1..=rounds.len() as u64).collect();
    assert_eq!(rounds, expected, "every round once, in order");
    assert!(rounds.len() >= 5);

    // The watching terminal saw the same rounds, and ended with the bake.
    let watched = read_until(&watched, 20, |seen| {
        seen.iter().any(|l| l.contains("\"bake_ended\""))
    });
    let watched_rounds = watched
        .iter()
        .filter(|l| l.contains("\"bake_round\""))
        .count();
    assert_eq!(watched_rounds, rounds.len());
    let ended = watch.wait().expect("watch ends");
    assert_eq!(ended.code(), Some(0));
}
