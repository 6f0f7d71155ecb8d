//! Synthetic reports for the renderers: a small one full of hostile text (canaries) with a
//! failure, warnings, manual sign-offs (one signed), long evidence and a planted secret;
//! and a large one of any size for the length limit and the benchmark. Shared by
//! `tests/report_render.rs`, `benches/report.rs` and `examples/report_sample.rs`.
#![allow(dead_code)] // each user takes its own part

use std::time::{Duration, SystemTime};

use relcon::report::model::{
    ChecklistRef, Counts, Events, Report, ReportItem, SecretPrint, Session, State, Tool, SCHEMA,
};
use relcon::session::{EventEntry, Timestamp};
use relcon::status::{Status, Verdict};
use serde_json::{json, Value};

/// A script tag, as a hostile server would answer.
pub const SCRIPT: &str = "<script>alert(1)</script>";
/// A Markdown image pointing out.
pub const IMAGE: &str = "![x](http://evil.example/x.png)";
/// A Markdown link pointing out.
pub const LINK: &str = "[x](http://evil.example)";
/// An HTML image with a handler.
pub const IMG_TAG: &str = "<img src=\"http://evil.example/y.png\" onerror=\"alert(2)\">";
/// A run of backticks that would close a short code fence.
pub const TICKS: &str = "``````";
/// A secret a check saw, which an export must not show.
pub const SECRET: &str = "hunter2-canary-secret";

/// Every canary in one line.
pub fn hostile() -> String {
    format!("{SCRIPT} {IMAGE} {LINK} {IMG_TAG} {TICKS}")
}

/// When the sample sessions start.
pub fn start() -> SystemTime {
    Timestamp::parse("2026-12-02T09:00:00Z")
        .expect("a valid time")
        .system()
}

/// `seconds` after the start, RFC 3339 with seconds.
fn at(seconds: u64) -> String {
    Timestamp::from(start() + Duration::from_secs(seconds)).seconds()
}

/// `ms` after the start, RFC 3339 with milliseconds.
fn at_ms(ms: u64) -> String {
    Timestamp::from(start() + Duration::from_millis(ms)).millis()
}

/// An item with the given facts and no run.
fn item(id: &str, section: &str, title: &str, kind: &str, status: Status) -> ReportItem {
    ReportItem {
        id: id.into(),
        section: section.into(),
        title: title.into(),
        kind: kind.into(),
        required: true,
        in_scope: true,
        status,
        summary: String::new(),
        started_at: None,
        duration_ms: 0,
        attempts: 0,
        run_by: None,
        evidence: json!({}),
        signoffs: Vec::new(),
    }
}

/// `item` as run by `by`, `start_s` seconds in, for `ms`.
fn ran(
    mut item: ReportItem,
    by: &str,
    start_s: u64,
    ms: u64,
    summary: &str,
    evidence: Value,
) -> ReportItem {
    item.run_by = Some(by.into());
    item.started_at = Some(at(start_s));
    item.duration_ms = ms;
    item.attempts = 1;
    item.summary = summary.into();
    item.evidence = evidence;
    item
}

/// A sign-off as a report carries it.
fn signoff(
    by: &str,
    status: &str,
    at_s_ms: u64,
    note: &str,
    evidence: Value,
    signed: bool,
) -> Value {
    json!({
        "by": by,
        "status": status,
        "note": note,
        "evidence": evidence,
        "at": at_ms(at_s_ms),
        "signature": signed.then_some("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----"),
    })
}

/// `events` entries, the last at `last_ms` after the start.
fn entries(count: usize, last_ms: u64) -> Vec<EventEntry> {
    (0..count)
        .map(|i| {
            let ms = last_ms * (i as u64 + 1) / count as u64;
            EventEntry {
                actor: "alice".into(),
                at: at_ms(ms),
                hash: format!("{:064x}", i + 1),
                payload: json!({"item": format!("item.{i}"), "note": "an event"}),
                prev_hash: format!("{:064x}", i),
                seq: i as i64 + 1,
                session: "0192f5a4-0000-7000-8000-000000000001".into(),
                kind: "result".into(),
            }
        })
        .collect()
}

/// The counts of `items` in scope.
fn counts(items: &[ReportItem]) -> Counts {
    let mut counts = Counts::default();
    items
        .iter()
        .filter(|i| i.in_scope)
        .for_each(|i| counts.add(i.status));
    counts
}

/// A report of `items` with `events` events ending at `last_ms`.
fn report(title: &str, items: Vec<ReportItem>, events: Vec<EventEntry>) -> Report {
    let verdict = Verdict::of(
        items
            .iter()
            .filter(|i| i.in_scope && i.required)
            .map(|i| i.status),
    );
    Report {
        schema: SCHEMA.into(),
        tool: Tool {
            name: "relcon".into(),
            version: "0.1.0".into(),
        },
        checklist: ChecklistRef {
            id: "web-release".into(),
            title: title.into(),
            version: 7,
            sha256: "c479e47ceae6bce82ffe9af3e41c81303cc78169afb5941db55926cc3e482f9b".into(),
        },
        session: Session {
            id: "0192f5a4-0000-7000-8000-000000000001".into(),
            environment: Some("production".into()),
            production: true,
            started_at: at(0),
            operators: vec!["alice".into(), "bob".into()],
        },
        state: Some(State::Interim),
        signed_by: Some("SHA256:q4Rk2bT0bsVYa0Rz9b3Yq0a8xLwz1Lq8GkzvX2b0cUo".into()),
        verdict,
        counts: counts(&items),
        items,
        secrets: Some(vec![SecretPrint {
            name: "API_TOKEN".into(),
            item: "deploy.health".into(),
            fingerprint: "a1b2c3d4".into(),
        }]),
        events: Some(Events {
            count: events.len() as i64,
            head: events.last().map_or(String::new(), |e| e.hash.clone()),
            entries: Some(events),
            redacted: Vec::new(),
        }),
        bake: None,
    }
}

/// A small report like a real release's, with every canary in summaries, evidence,
/// titles and sign-off notes, a failure with long evidence, warnings, sign-offs (one
/// signed), a blocked, a skipped, a pending and a left-out item, and [`SECRET`] in evidence.
pub fn canary() -> Report {
    let hostile = hostile();
    let long_body: String = (0..120)
        .map(|i| format!("line {i:03}: upstream said {SCRIPT} and {TICKS} while retrying\n"))
        .collect();
    let items = vec![
        ran(
            item(
                "build.tests",
                "Build",
                "Unit tests green",
                "command",
                Status::Pass,
            ),
            "alice",
            2,
            48_000,
            "exited 0",
            json!({"command": "cargo test --locked", "exit_code": 0, "output_lines": 812}),
        ),
        ran(
            item(
                "db.migrate",
                "Database",
                "Migration applied",
                "sql",
                Status::Warn,
            ),
            "alice",
            55,
            12_400,
            "applied in 12.4 s (slower than the 10 s budget)",
            json!({"statement": "ALTER TABLE accounts ADD COLUMN plan text", "rows": 0, "lock_ms": 830}),
        ),
        ran(
            item(
                "deploy.health",
                "Deploy",
                "Health endpoint answers",
                "http",
                Status::Fail,
            ),
            "bob",
            80,
            31_250,
            &format!("expected 200, got 500: {hostile}"),
            json!({
                "url": "https://api.example.com/health",
                "status": 500,
                "headers": {"content-type": "text/html", "x-note": hostile},
                "body": format!("{hostile}\n{TICKS}\nAPI_TOKEN={SECRET}\n{long_body}"),
            }),
        ),
        ran(
            item(
                "deploy.tls",
                "Deploy",
                "Certificate valid",
                "tls",
                Status::Warn,
            ),
            "bob",
            120,
            640,
            "expires in 12 days",
            json!({"host": "api.example.com", "days_left": 12, "issuer": "R11"}),
        ),
        {
            let mut it = item(
                "release.backup",
                "Release",
                &format!("Backup taken {SCRIPT}"),
                "manual",
                Status::Pass,
            );
            it.summary = "signed done by alice, bob".into();
            it.signoffs = vec![
                signoff(
                    "alice",
                    "done",
                    150_000,
                    &format!("snapshot ok {IMAGE}"),
                    json!({"snapshot_id": "br-cool-12"}),
                    true,
                ),
                signoff(
                    "bob",
                    "done",
                    151_500,
                    &format!("restore tested {LINK} {TICKS}"),
                    json!({"ticket": IMG_TAG}),
                    false,
                ),
            ];
            it
        },
        {
            let mut it = item(
                "release.notes",
                "Release",
                "Release notes written",
                "manual",
                Status::Pending,
            );
            it.summary = "waiting for a sign-off".into();
            it
        },
        {
            let mut it = item(
                "post.smoke",
                "After release",
                "Smoke test",
                "http",
                Status::Blocked,
            );
            it.summary = "needs deploy.health, which failed".into();
            it
        },
        {
            let mut it = item(
                "post.cdn",
                "After release",
                "CDN purged",
                "command",
                Status::Skip,
            );
            it.summary = "only in staging".into();
            it
        },
        {
            let mut it = item(
                "post.audit",
                "After release",
                "Audit export",
                "command",
                Status::Pending,
            );
            it.in_scope = false;
            it.required = false;
            it.summary = "left out of this run".into();
            it
        },
    ];
    report(
        &format!("Web release {SCRIPT} {LINK}"),
        items,
        entries(24, 160_000),
    )
}

/// A large report: `count` items over twelve sections (mostly passing; some failures,
/// errors, warnings, pending and skipped; every tenth manual and signed) and `events`
/// events, with evidence of a few hundred characters each.
pub fn large(count: usize, events: usize) -> Report {
    let items: Vec<ReportItem> = (0..count)
        .map(|i| {
            let section = format!("Section {:02}", i % 12);
            let id = format!("check.{i:05}");
            let title = format!("Check number {i} of the release");
            if i % 10 == 9 {
                let status = if i % 70 == 9 { Status::Pending } else { Status::Pass };
                let mut it = item(&id, &section, &title, "manual", status);
                if status == Status::Pass {
                    it.summary = "signed done by bob".into();
                    it.signoffs = vec![signoff("bob", "done", i as u64 * 3_000 + 1_500, "looked at the dashboard", json!({"ticket": format!("REL-{i}")}), i % 20 == 9)];
                } else {
                    it.summary = "waiting for a sign-off".into();
                }
                return it;
            }
            let status = match i {
                i if i % 97 == 1 => Status::Fail,
                i if i % 89 == 2 => Status::Error,
                i if i % 53 == 3 => Status::Warn,
                i if i % 41 == 4 => Status::Skip,
                _ => Status::Pass,
            };
            let ms = 150 + (i as u64 * 7_919) % 9_000;
            let kind = ["http", "command", "sql", "tls"][i % 4];
            let summary = match status {
                Status::Fail => format!("expected 200, got 503 after {ms} ms"),
                Status::Error => "connection refused".to_string(),
                Status::Warn => "slower than its budget".to_string(),
                Status::Skip => "not in this environment".to_string(),
                _ => format!("answered 200 in {ms} ms"),
            };
            let evidence = json!({
                "url": format!("https://svc-{}.example.com/health?check={i}", i % 30),
                "status": if status == Status::Fail { 503 } else { 200 },
                "elapsed_ms": ms,
                "headers": {"content-type": "application/json", "server": "envoy"},
                "body": format!("{{\"ok\":{},\"build\":\"{:x}\",\"region\":\"eu-west-{}\"}}", status != Status::Fail, i * 2_654_435_761 % 4_294_967_296, i % 3),
            });
            let it = item(&id, &section, &title, kind, status);
            if status == Status::Skip {
                return ReportItem { summary, ..it };
            }
            ran(it, ["alice", "bob"][i % 2], i as u64 * 3, ms, &summary, evidence)
        })
        .collect();
    let last_ms = count as u64 * 3_000 + 60_000;
    report(
        "Quarterly platform release",
        items,
        entries(events, last_ms),
    )
}
