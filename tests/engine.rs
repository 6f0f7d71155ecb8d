//! The engine with real processes: ordering along `needs`, the concurrency bound, timeouts,
//! retries, cancellation, and the reasons of skipped and blocked items.

mod common;

use std::time::{Duration, Instant};

use common::{assert_process_ends, command_item, run_checklist, HEADER};
use relcon::engine::event::Event;
use relcon::status::Status;
use tokio_util::sync::CancellationToken;

fn position(events: &[Event], wanted: impl Fn(&Event) -> bool) -> usize {
    events.iter().position(wanted).expect("the event happened")
}

fn started(id: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::Started { id: i, .. } if i == id)
}

fn finished(id: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::Finished { id: i, .. } if i == id)
}

/// A token cancelled once `file` exists (polled, with a deadline of 20 s).
fn cancel_once_made(file: std::path::PathBuf) -> CancellationToken {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !file.exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        trigger.cancel();
    });
    cancel
}

#[tokio::test]
async fn needs_order_the_run() {
    let text = format!(
        "{HEADER}{}{}{}",
        command_item("c", "true", "needs = [\"b\"]"),
        command_item("b", "true", "needs = [\"a\"]"),
        command_item("a", "true", ""),
    );
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    assert!(run.results.values().all(|r| r.status == Status::Pass));
    assert!(position(&run.events, finished("a")) < position(&run.events, started("b")));
    assert!(position(&run.events, finished("b")) < position(&run.events, started("c")));
}

#[tokio::test]
async fn at_most_concurrency_checks_run_at_once() {
    let items: String = (0..6)
        .map(|i| command_item(&format!("w{i}"), "sleep 0.3", ""))
        .collect();
    let run = run_checklist(
        &format!("{HEADER}{items}"),
        &[],
        2,
        CancellationToken::new(),
    )
    .await;
    let (mut running, mut most) = (0i32, 0i32);
    for event in &run.events {
        match event {
            Event::Started { .. } => running += 1,
            Event::Finished { .. } => running -= 1,
            Event::Output { .. } | Event::Waiting { .. } => {}
        }
        most = most.max(running);
    }
    assert_eq!(most, 2, "the bound is reached and never passed");
    assert_eq!(run.results.len(), 6);
}

#[tokio::test]
async fn a_timeout_ends_the_check_as_error() {
    let text = format!(
        "{HEADER}{}",
        command_item("slow", "sleep 30", "timeout = \"1s\"")
    );
    let clock = Instant::now();
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    let result = &run.results["slow"];
    assert_eq!(result.status, Status::Error);
    assert!(
        result.summary.starts_with("timed out after 1s"),
        "{}",
        result.summary
    );
    assert!(clock.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_failure_is_retried_until_it_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = dir.path().join("attempts");
    // Fails on the first attempt, passes on the second.
    let script = format!(
        "echo x >> {0}; test $(wc -l < {0}) -ge 2",
        counter.display()
    );
    let text = format!(
        "{HEADER}{}",
        command_item("flaky", &script, "retries = 3\nretry_interval = \"100ms\"")
    );
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    let result = &run.results["flaky"];
    assert_eq!((result.status, result.attempts), (Status::Pass, 2));
    let retries = run
        .events
        .iter()
        .filter(|e| matches!(e, Event::Started { attempt: 2, .. }))
        .count();
    assert_eq!(retries, 1);
}

#[tokio::test]
async fn retries_stop_at_their_count() {
    let text = format!(
        "{HEADER}{}",
        command_item("broken", "exit 3", "retries = 2\nretry_interval = \"50ms\"")
    );
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    let result = &run.results["broken"];
    assert_eq!((result.status, result.attempts), (Status::Fail, 3));
    assert_eq!(result.summary, "exited 3, expected 0");
}

#[tokio::test]
async fn cancelling_keeps_finished_results_and_stops_running_checks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("pid");
    let text = format!(
        "{HEADER}{}{}{}",
        command_item("quick", "true", ""),
        command_item(
            "long",
            &format!("echo $$ > {}; exec sleep 60", pid_file.display()),
            "needs = [\"quick\"]"
        ),
        command_item("later", "true", "needs = [\"long\"]"),
    );
    // Cancelled once the long check's process exists.
    let cancel = cancel_once_made(pid_file.clone());
    let run = run_checklist(&text, &[], 8, cancel).await;
    assert_eq!(run.results["quick"].status, Status::Pass);
    assert_eq!(
        (
            run.results["long"].status,
            run.results["long"].summary.as_str()
        ),
        (Status::Pending, "cancelled")
    );
    assert_eq!(run.results["later"].status, Status::Pending);
    assert_process_ends(&pid_file, "the cancelled check's process was stopped").await;
}

/// A failure waiting for its next try is not final: cancelled then, the item is pending
/// ("cancelled"), not failed, so that the session's verdict is incomplete and a resume
/// tries it again.
#[tokio::test]
async fn cancelling_while_a_failure_waits_to_be_retried_leaves_it_pending() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tried = dir.path().join("tried");
    let text = format!(
        "{HEADER}{}",
        command_item(
            "flaky",
            &format!("touch {}; exit 1", tried.display()),
            "retries = 3\nretry_interval = \"30s\""
        ),
    );
    // Cancelled once the first try has run; the next is 30 s away.
    let cancel = cancel_once_made(tried);
    let clock = Instant::now();
    let run = run_checklist(&text, &[], 8, cancel).await;
    let result = &run.results["flaky"];
    assert_eq!(
        (result.status, result.summary.as_str(), result.attempts),
        (Status::Pending, "cancelled", 1)
    );
    assert!(clock.elapsed() < Duration::from_secs(25));
}

#[tokio::test]
async fn skipped_and_blocked_items_say_why() {
    let text = format!(
        "{HEADER}\n[inputs]\nPLATFORM = {{}}\n\n[environments.staging]\n\n[environments.production]\nproduction = true\n\n[checklist.extra]\n{}{}{}{}",
        command_item("fails", "exit 1", ""),
        command_item("after-failure", "true", "needs = [\"fails\"]"),
        command_item("workers-only", "true", "when = \"PLATFORM == 'workers'\""),
        command_item("prod-only", "true", "only_in = [\"production\"]"),
    )
    .replace("\n[checklist.extra]\n", "");
    let text = text.replacen(
        "version = 1\n",
        "version = 1\ndefault_environment = \"staging\"\n",
        1,
    );
    let run = run_checklist(&text, &[("PLATFORM", "node")], 8, CancellationToken::new()).await;
    let got = |id: &str| (run.results[id].status, run.results[id].summary.clone());
    assert_eq!(
        got("after-failure"),
        (Status::Blocked, "needs fails (fail)".into())
    );
    assert_eq!(
        got("workers-only"),
        (
            Status::Skip,
            "condition is false: PLATFORM == 'workers'".into()
        )
    );
    assert_eq!(
        got("prod-only"),
        (Status::Skip, "only in production".into())
    );
}

/// In production, a write whose needs have not passed is blocked on them (what holds it up
/// first); one whose needs passed, or that has none, waits for consent.
#[tokio::test]
async fn a_production_write_is_judged_on_its_needs_before_consent() {
    let manual = "\n[[item]]\nid = \"backup\"\nsection = \"Checks\"\ntitle = \"Backup\"\nkind = \"manual\"\nhelp = \"Take one.\"\n";
    let text = format!(
        "{HEADER}\n[environments.production]\nproduction = true\n{manual}{}{}{}",
        command_item("migrate", "true", "writes = true\nneeds = [\"backup\"]"),
        command_item("seed", "true", "writes = true\nneeds = [\"check\"]"),
        command_item("check", "true", ""),
    )
    .replacen(
        "version = 1\n",
        "version = 1\ndefault_environment = \"production\"\n",
        1,
    );
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    let got = |id: &str| (run.results[id].status, run.results[id].summary.clone());
    assert_eq!(
        got("migrate"),
        (Status::Blocked, "needs backup (pending)".into())
    );
    assert_eq!(got("seed").0, Status::Pending);
    assert!(
        got("seed").1.starts_with("needs --yes-apply"),
        "{:?}",
        got("seed")
    );
}

#[tokio::test]
async fn output_streams_as_events_before_the_result() {
    let text = format!(
        "{HEADER}{}",
        command_item("talk", "echo one; echo two >&2; echo three", "")
    );
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    let lines: Vec<&str> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Output { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.contains(&"one") && lines.contains(&"two") && lines.contains(&"three"));
    let last_line = run
        .events
        .iter()
        .rposition(|e| matches!(e, Event::Output { .. }))
        .expect("output");
    assert!(last_line < position(&run.events, finished("talk")));
    assert_eq!(run.results["talk"].evidence["output_lines"], 3);
}

#[tokio::test]
async fn exit_codes_are_judged_against_the_expected_one() {
    let text = format!(
        "{HEADER}{}{}{}",
        command_item("zero", "exit 0", ""),
        command_item("three-expected", "exit 3", "expect_exit = 3"),
        command_item("missing", "exec /no/such/program", ""),
    );
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    assert_eq!(run.results["zero"].status, Status::Pass);
    assert_eq!(run.results["three-expected"].status, Status::Pass);
    assert_eq!(run.results["missing"].status, Status::Fail);
    assert_eq!(run.results["missing"].summary, "exited 127, expected 0");
}

#[tokio::test]
async fn a_program_that_cannot_start_is_an_error() {
    let text = format!("{HEADER}\n[[item]]\nid = \"nope\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"command\"\nhelp = \"h\"\nrun = [\"/no/such/program\"]\n");
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    assert_eq!(run.results["nope"].status, Status::Error);
    assert!(
        run.results["nope"]
            .summary
            .starts_with("cannot start `/no/such/program`"),
        "{}",
        run.results["nope"].summary
    );
}

#[tokio::test]
async fn a_child_ignoring_sigterm_is_killed_at_the_timeout() {
    let text = format!(
        "{HEADER}{}",
        command_item(
            "stubborn",
            "trap '' TERM; echo ready; while true; do sleep 0.1; done",
            "timeout = \"1s\""
        )
    );
    let clock = Instant::now();
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    assert_eq!(run.results["stubborn"].status, Status::Error);
    // The timeout, the 2 s grace after SIGTERM, then SIGKILL: well before the engine's own limit.
    assert!(
        clock.elapsed() < Duration::from_secs(6),
        "took {:?}",
        clock.elapsed()
    );
}

#[tokio::test]
async fn a_grandchild_left_running_is_killed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("grandchild");
    let script = format!(
        "sleep 300 & echo $! > {}; echo parent done",
        pid_file.display()
    );
    let text = format!(
        "{HEADER}{}",
        command_item("leaves-one", &script, "timeout = \"30s\"")
    );
    let clock = Instant::now();
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    assert_eq!(run.results["leaves-one"].status, Status::Pass);
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "the held pipe did not stall the check"
    );
    assert_process_ends(&pid_file, "the grandchild was killed with its group").await;
}

#[tokio::test]
async fn the_environment_of_a_command_is_allowlisted() {
    let text = format!(
        "{HEADER}\n[inputs]\nPASSED = {{}}\nNOT_PASSED = {{}}\nTOKEN = {{ secret = true }}\n{}",
        command_item("env", "echo \"passed=$PASSED not=$NOT_PASSED token=$TOKEN\"; env | cut -d= -f1 | sort | tr '\\n' ' '", "pass_env = [\"PASSED\"]\npass_secrets = [\"TOKEN\"]"),
    );
    let run = run_checklist(
        &text,
        &[
            ("PASSED", "yes"),
            ("NOT_PASSED", "no"),
            ("TOKEN", "tok-canary-123"),
        ],
        8,
        CancellationToken::new(),
    )
    .await;
    let lines: Vec<&str> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Output { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        lines[0].starts_with("passed=yes not= token=[secret "),
        "{}",
        lines[0]
    );
    assert!(
        !lines.join("\n").contains("tok-canary-123"),
        "the secret is scrubbed from output"
    );
    let names: Vec<&str> = lines[1].split_whitespace().collect();
    assert!(
        names.iter().all(|n| [
            "PATH", "HOME", "LANG", "TERM", "TZ", "PASSED", "TOKEN", "PWD", "SHLVL", "_", "OLDPWD"
        ]
        .contains(n)),
        "unexpected variables: {names:?}"
    );
}

#[tokio::test]
async fn a_manual_item_waits_for_its_needs() {
    let manual = |id: &str, needs: &str| {
        format!("\n[[item]]\nid = \"{id}\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"manual\"\nhelp = \"h\"\nneeds = [\"{needs}\"]\n")
    };
    let text = format!(
        "{HEADER}{}{}{}{}",
        command_item("ok", "true", ""),
        command_item("bad", "false", ""),
        manual("after-ok", "ok"),
        manual("after-bad", "bad")
    );
    let run = run_checklist(&text, &[], 8, CancellationToken::new()).await;
    assert_eq!(
        (
            run.results["after-ok"].status,
            run.results["after-ok"].summary.as_str()
        ),
        (Status::Pending, "awaiting sign-off")
    );
    assert_eq!(
        (
            run.results["after-bad"].status,
            run.results["after-bad"].summary.as_str()
        ),
        (Status::Blocked, "needs bad (fail)")
    );
}

#[tokio::test]
async fn an_endless_line_is_held_to_the_cap_and_a_secret_across_the_cut_stays_masked() {
    // 16 KiB less 10 bytes of filler, then a secret that straddles the cut, then far more.
    let script = "head -c 16374 /dev/zero | tr '\\0' a; printf '%s' \"$TOKEN\"; head -c 5000000 /dev/zero | tr '\\0' b; echo; echo next";
    let text = format!(
        "{HEADER}\n[inputs]\nTOKEN = {{ secret = true }}\n{}",
        command_item("long", script, "pass_secrets = [\"TOKEN\"]"),
    );
    let token = "Straddle-Canary-Token-42x";
    let run = run_checklist(&text, &[("TOKEN", token)], 8, CancellationToken::new()).await;
    let lines: Vec<&str> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Output { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "{:?}",
        lines.iter().map(|l| l.len()).collect::<Vec<_>>()
    );
    assert!(
        lines[0].ends_with("… (5000015 more bytes)"),
        "{}",
        &lines[0][16000..]
    );
    assert!(lines[0].contains("[secret "), "the cut part is masked");
    assert!(!lines[0].contains("Straddle"), "{}", &lines[0][16300..]);
    assert_eq!(lines[1], "next");
}
