//! The store with real SQLite files and real processes: tampering with the event log is
//! detected at the first bad event, a newer store is refused, a run killed with SIGKILL
//! resumes with every acknowledged result, sign-offs are checked and kept, output is capped.

mod common;

use std::process::Stdio;

use common::{command_item, item, report, Backend, Place, HEADER};
use relcon::session::chain::{verify_chain, Head};
use relcon::session::{Body, ChecklistCopy};
use relcon::store::Store;

async fn store_with_events(place: &Place, count: usize) -> (Store, String) {
    let store = Store::open(&place.store).await.expect("store opens");
    let checklist = ChecklistCopy {
        id: "c".into(),
        title: "C".into(),
        version: 1,
        sha256: "0".repeat(64),
        name: "c.toml".into(),
        source: String::new(),
    };
    store
        .create_session(
            "s1",
            "alice",
            &Body::SessionStarted {
                checklist,
                environment: None,
                production: false,
                allowed_signers: None,
            },
        )
        .await
        .expect("session");
    for n in 1..count {
        store
            .append(
                "s1",
                "alice",
                &Body::Skipped {
                    item: format!("i{n}"),
                    reason: "test".into(),
                },
            )
            .await
            .expect("append");
    }
    (store, "s1".into())
}

async fn sql(store: &Store, statements: &[&str]) {
    let mut conn = store.raw().await.expect("a connection");
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

async fn broken_at(store: &Store) -> (i64, String) {
    let err = store
        .open_session("s1", None)
        .await
        .expect_err("the chain is broken");
    match err {
        relcon::store::StoreError::Broken(broken) => (broken.seq, broken.why),
        other => panic!("not a broken chain: {other}"),
    }
}

async fn an_intact_log_verifies_and_folds(backend: Backend) {
    let place = Place::new(backend);
    let (store, id) = store_with_events(&place, 5).await;
    let session = store.open_session(&id, None).await.expect("opens");
    assert_eq!(session.head.count, 5);
    assert_eq!(
        session
            .items
            .values()
            .filter(|i| i.result.is_some())
            .count(),
        4
    );
    assert_eq!(session.operators, vec!["alice"]);
}

/// A burst of events goes in as one JSON array: every character of their text comes back
/// as it was written (the chain's hashes, recomputed on reading, say so too).
async fn a_burst_keeps_every_character_of_its_events(backend: Backend) {
    let place = Place::new(backend);
    let (store, id) = store_with_events(&place, 1).await;
    let awkward = [
        "quote \" backslash \\ slash /",
        "control \u{1} tab \t newline \n return \r",
        "accents é ü, wide 漢字, astral 🚀, separators \u{2028}\u{2029}",
        "json-looking [1, {\"a\": null}] and ->> 0",
        "",
    ];
    let bodies: Vec<Body> = awkward
        .iter()
        .enumerate()
        .map(|(n, reason)| Body::Skipped {
            item: format!("item {n} \"{reason}\""),
            reason: reason.to_string(),
        })
        .collect();
    let appended = store
        .append_many(&id, "ålice \"the\" operator", &bodies, &[])
        .await
        .expect("the burst is appended");
    let read = store.events(&id).await.expect("the log reads");
    assert_eq!(
        &read[1..],
        &appended[..],
        "what was read is what was written"
    );
    let session = store
        .open_session(&id, None)
        .await
        .expect("the chain verifies");
    for (n, reason) in awkward.iter().enumerate() {
        let item = format!("item {n} \"{reason}\"");
        let result = session.items[&item].result.as_ref().expect("a result");
        assert_eq!(
            result.summary,
            format!("skipped by ålice \"the\" operator: {reason}"),
            "{item}"
        );
    }
}

async fn a_session_caught_up_from_an_earlier_state_is_the_session_read_whole(backend: Backend) {
    let place = Place::new(backend);
    let (store, id) = store_with_events(&place, 2).await;
    let early = store.open_session(&id, None).await.expect("opens");
    for n in 2..6 {
        store
            .append(
                &id,
                "bob",
                &Body::Skipped {
                    item: format!("i{n}"),
                    reason: "later".into(),
                },
            )
            .await
            .expect("append");
    }
    // Nothing decided: the session is only brought up to date, and nothing is written.
    let caught_up = |known| async {
        store
            .append_following(known, "carol", &[], &[], None, |_| Vec::new())
            .await
            .map(|(now, _)| now)
    };
    let caught = caught_up(early.clone()).await.expect("caught up");
    let whole = store.open_session(&id, None).await.expect("opens");
    assert_eq!(caught.head, whole.head);
    assert_eq!(caught.head.count, 6);
    assert_eq!(caught.operators, whole.operators);
    let results = |s: &relcon::session::SessionState| {
        let mut done: Vec<(String, Option<String>)> = s
            .items
            .iter()
            .map(|(id, item)| (id.clone(), item.result.as_ref().map(|r| r.summary.clone())))
            .collect();
        done.sort();
        done
    };
    assert_eq!(results(&caught), results(&whole));
    // What came after the state it knew is verified as it is followed.
    sql(
        &store,
        &["UPDATE events SET payload = replace(payload, 'later', 'forged') WHERE seq = 4"],
    )
    .await;
    match caught_up(early).await {
        Err(relcon::store::StoreError::Broken(broken)) => assert_eq!(broken.seq, 4),
        other => panic!("the edit was not found: {other:?}"),
    }
}

async fn an_edited_event_is_found(backend: Backend) {
    let place = Place::new(backend);
    let (store, _) = store_with_events(&place, 5).await;
    sql(
        &store,
        &["UPDATE events SET payload = replace(payload, 'test', 'forged') WHERE seq = 3"],
    )
    .await;
    let (seq, why) = broken_at(&store).await;
    assert_eq!(seq, 3);
    assert!(why.contains("edited"), "{why}");
}

async fn an_edited_actor_or_time_is_found(backend: Backend) {
    let place = Place::new(backend);
    let (store, _) = store_with_events(&place, 5).await;
    sql(
        &store,
        &["UPDATE events SET actor = 'mallory' WHERE seq = 4"],
    )
    .await;
    assert_eq!(broken_at(&store).await.0, 4);
}

async fn a_deleted_event_is_found(backend: Backend) {
    let place = Place::new(backend);
    let (store, _) = store_with_events(&place, 5).await;
    sql(&store, &["DELETE FROM events WHERE seq = 3"]).await;
    let (seq, why) = broken_at(&store).await;
    assert_eq!(seq, 3);
    assert!(why.contains("deleted"), "{why}");
}

async fn an_inserted_event_is_found(backend: Backend) {
    let place = Place::new(backend);
    let (store, _) = store_with_events(&place, 5).await;
    // Make room after event 2 and copy event 2 into it, as a forger would.
    sql(&store, &[
        "UPDATE events SET seq = seq + 100 WHERE seq >= 3",
        "UPDATE events SET seq = seq - 99 WHERE seq >= 103",
        "INSERT INTO events SELECT session_id, 3, at, actor, type, payload, hash, hash, item FROM events WHERE seq = 2",
    ])
    .await;
    assert_eq!(broken_at(&store).await.0, 3);
}

async fn reordered_events_are_found(backend: Backend) {
    let place = Place::new(backend);
    let (store, _) = store_with_events(&place, 5).await;
    sql(
        &store,
        &[
            "UPDATE events SET seq = 100 WHERE seq = 2",
            "UPDATE events SET seq = 2 WHERE seq = 3",
            "UPDATE events SET seq = 3 WHERE seq = 100",
        ],
    )
    .await;
    assert_eq!(broken_at(&store).await.0, 2);
}

async fn a_truncated_tail_is_found_against_a_recorded_head(backend: Backend) {
    let place = Place::new(backend);
    let (store, id) = store_with_events(&place, 5).await;
    let head = store.open_session(&id, None).await.expect("opens").head;
    sql(&store, &["DELETE FROM events WHERE seq = 5"]).await;
    // The shorter log is consistent in itself…
    assert!(store.open_session(&id, None).await.is_ok());
    // …but not with the head printed earlier.
    let err = verify_chain(&id, &store.events(&id).await.expect("events"), Some(&head))
        .expect_err("truncated");
    assert_eq!(err.seq, 5);
    assert!(err.why.contains("truncated"), "{}", err.why);
    let wrong = Head {
        count: 4,
        hash: "f".repeat(64),
    };
    assert!(verify_chain(&id, &store.events(&id).await.expect("events"), Some(&wrong)).is_err());
}

async fn a_store_from_a_newer_relcon_is_refused(backend: Backend) {
    let place = Place::new(backend);
    let (store, _) = store_with_events(&place, 2).await;
    sql(
        &store,
        &["UPDATE meta SET value = '99' WHERE key = 'schema_version'"],
    )
    .await;
    store.close().await;
    let err = Store::open(&place.store.clone())
        .await
        .expect_err("refused");
    assert!(
        err.to_string()
            .contains("written by a newer relcon (schema version 99; this one knows 4)"),
        "{err}"
    );
    let ran = place.run(&["sessions"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("newer relcon"), "{}", ran.stderr);
}

async fn two_stores_fingerprint_one_value_differently(backend: Backend) {
    let (a, b) = (Place::new(backend), Place::new(backend));
    let key = |place: &Place| {
        let url = place.store.clone();
        async move { Store::open(&url).await.expect("store").fingerprint_key() }
    };
    let (key_a, key_b) = (key(&a).await, key(&b).await);
    assert_ne!(key_a, key_b);
    assert_eq!(key_a, key(&a).await, "a store keeps its key");
}

/// Starts `relcon run` in `dir`, and SIGKILLs it once a stderr line satisfies `until`.
fn run_and_kill(place: &Place, args: &[&str], until: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut child = place
        .relcon()
        .args(args)
        // A killed runner's claims lapse after 5 s instead of 30: long enough for the next
        // run to find them live, even on a busy machine.
        .env("RELCON_CLAIM_LEASE", "5s")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("relcon starts");
    let lines = common::line_channel(child.stderr.take().expect("stderr"));
    let seen = common::read_until(&lines, 30, until);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    seen
}

fn a_run_killed_with_sigkill_resumes_with_every_acknowledged_result(backend: Backend) {
    let place = Place::new(backend);
    let marker = place.path().join("second-time");
    let items = command_item("quick", "true", "")
        + &command_item("slow", &format!("test -f {0} || (touch {0}; echo marked; sleep 60)", marker.display()), "needs = [\"quick\"]")
        + "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let path = place.write("c.toml", &format!("{HEADER}{items}"));
    let seen = run_and_kill(&place, &["run", &path], |lines| {
        lines
            .iter()
            .any(|l| l.contains("pass") && l.contains("quick"))
            && lines.iter().any(|l| l.contains("start") && l.ends_with("slow"))
            // The marker is there before the kill, so the next run of slow is quick.
            && lines.iter().any(|l| l.contains("slow") && l.ends_with("marked"))
    });
    assert!(seen.iter().any(|l| l.starts_with("session ")));

    // Acknowledged results are there; the killed run shows as interrupted, never pass.
    let ran = place.run(&["run", &path, "--resume", "--only", "quick", "--json"]);
    let doc = report(&ran.stdout);
    assert_eq!(item(&doc, "quick")["status"], "pass");
    assert_eq!(item(&doc, "quick")["attempts"], 1, "not run again");
    assert_eq!(item(&doc, "slow")["status"], "pending");
    assert!(
        item(&doc, "slow")["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("interrupted")),
        "{}",
        item(&doc, "slow")
    );

    // A sign-off, then a run killed right after it: the sign-off stays.
    let session = common::session_id(&doc);
    let signed = place.run(&[
        "signoff",
        "sign",
        "--session",
        &session,
        "--as",
        "alice",
        "--status",
        "done",
    ]);
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    run_and_kill(&place, &["run", &path, "--session", &session], |lines| {
        lines.iter().any(|l| l.starts_with("session "))
    });

    // Resuming runs what is not finished, once the killed runner's claim has lapsed;
    // everything passes and the session closes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (ran, doc) = loop {
        let ran = place.run(&["run", &path, "--resume", "--json"]);
        let doc = report(&ran.stdout);
        let claimed = item(&doc, "slow")["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("running ("));
        if !claimed || std::time::Instant::now() > deadline {
            break (ran, doc);
        }
    };
    assert_eq!(doc["session"]["id"], session.as_str());
    assert_eq!(
        item(&doc, "slow")["status"],
        "pass",
        "{}\n{}",
        item(&doc, "slow"),
        ran.stderr
    );
    assert_eq!(item(&doc, "sign")["status"], "pass");
    assert_eq!(item(&doc, "sign")["signoffs"][0]["by"], "alice");
    assert_eq!(
        (ran.code, doc["verdict"].clone()),
        (0, serde_json::json!("go"))
    );
    assert!(
        ran.stderr.contains(&format!("session {session} closed")),
        "{}",
        ran.stderr
    );
    assert!(doc["events"]["count"].as_i64().is_some_and(|n| n > 5));

    // A closed session takes nothing more, and --resume finds no open one.
    let again = place.run(&["run", &path, "--session", &session]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("is closed"), "{}", again.stderr);
    assert_eq!(place.run(&["run", &path, "--resume"]).code, 2);
}

fn a_tampered_session_is_refused_with_the_first_bad_event(backend: Backend) {
    let place = Place::new(backend);
    let path = place.write(
        "c.toml",
        &format!(
            "{HEADER}{}",
            command_item("a", "true", "") + &command_item("b", "false", "")
        ),
    );
    let ran = place.run(&["run", &path, "--json"]);
    let session = common::session_id(&report(&ran.stdout));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Store::open(&place.store.clone()).await.expect("store");
        sql(&store, &["UPDATE events SET payload = replace(payload, 'fail', 'pass') WHERE type = 'result'"]).await;
    });
    let ran = place.run(&["run", &path, "--session", &session]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains(&format!(
            "the event log of session {session} is broken at event "
        )),
        "{}",
        ran.stderr
    );
    let listed = place.run(&["sessions"]);
    assert!(listed.stdout.contains("BROKEN"), "{}", listed.stdout);
    assert_eq!(
        listed.code, 2,
        "a broken chain is bad input: {}",
        listed.stderr
    );
}

/// A manual item whose needs have not passed is blocked: signing it done or not applicable
/// is refused (it would open the gate its needs keep); that it failed can be said.
fn a_blocked_manual_item_is_not_signed_past_its_needs(backend: Backend) {
    let place = Place::new(backend);
    let manual = "\n[[item]]\nid = \"approve\"\nsection = \"Checks\"\ntitle = \"Approve\"\nkind = \"manual\"\nhelp = \"Approve it.\"\nneeds = [\"gate\"]\n";
    let path = place.write(
        "c.toml",
        &format!("{HEADER}{}{manual}", command_item("gate", "exit 1", "")),
    );
    let ran = place.run(&["run", &path, "--json"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let doc = report(&ran.stdout);
    assert_eq!(item(&doc, "approve")["status"], "blocked");
    let session = common::session_id(&doc);
    let sign = |status: &str, note: &str| {
        place.run(&[
            "signoff",
            "approve",
            "--session",
            &session,
            "--as",
            "alice",
            "--status",
            status,
            "--note",
            note,
        ])
    };
    for status in ["done", "na"] {
        let refused = sign(status, "looks fine");
        assert!(
            refused.code == 2
                && refused.stderr.contains(
                    "`approve` needs gate, which is fail: it can be signed once gate passes"
                ),
            "{status}: {}",
            refused.stderr
        );
    }
    assert_eq!(sign("failed", "the gate failed").code, 0);
}

fn signoffs_are_checked_before_they_are_recorded(backend: Backend) {
    let place = Place::new(backend);
    let manual = "\n[[item]]\nid = \"backup\"\nsection = \"Checks\"\ntitle = \"Backup\"\nkind = \"manual\"\nhelp = \"Take one.\"\nsignoffs = 2\nevidence = [{ key = \"snapshot_id\", label = \"Snapshot id\", pattern = '^br-' }]\n";
    let path = place.write(
        "c.toml",
        &format!("{HEADER}{manual}{}", command_item("auto", "true", "")),
    );
    let ran = place.run(&["run", &path, "--json"]);
    let session = common::session_id(&report(&ran.stdout));
    let sign = |extra: &[&str]| {
        let mut args = vec!["signoff", "backup", "--session", session.as_str()];
        args.extend_from_slice(extra);
        place.run(&args)
    };
    for (extra, message) in [
        (
            vec!["--as", "alice", "--status", "done"],
            "needs --evidence snapshot_id=",
        ),
        (
            vec![
                "--as",
                "alice",
                "--status",
                "done",
                "--evidence",
                "snapshot_id=nope",
            ],
            "evidence `snapshot_id` must match ^br-",
        ),
        (
            vec!["--as", "alice", "--status", "done", "--evidence", "other=1"],
            "asks for no evidence `other`",
        ),
        (vec!["--as", "alice", "--status", "na"], "needs a --note"),
    ] {
        let ran = sign(&extra);
        assert_eq!(ran.code, 2, "{extra:?}");
        assert!(ran.stderr.contains(message), "{extra:?}: {}", ran.stderr);
    }
    let auto = place.run(&["signoff", "auto", "--session", &session, "--status", "done"]);
    assert!(
        auto.code == 2
            && auto
                .stderr
                .contains("is a command check, not a manual item"),
        "{}",
        auto.stderr
    );
    let unknown = place.run(&[
        "signoff",
        "bakup",
        "--session",
        &session,
        "--status",
        "done",
    ]);
    assert!(
        unknown.code == 2 && unknown.stderr.contains("did you mean `backup`"),
        "{}",
        unknown.stderr
    );

    assert_eq!(
        sign(&[
            "--as",
            "alice",
            "--status",
            "done",
            "--evidence",
            "snapshot_id=br-1"
        ])
        .code,
        0
    );
    let twice = sign(&[
        "--as",
        "alice",
        "--status",
        "done",
        "--evidence",
        "snapshot_id=br-1",
    ]);
    assert!(
        twice.code == 2 && twice.stderr.contains("alice has already signed `backup`"),
        "{}",
        twice.stderr
    );
    let ran = place.run(&["run", &path, "--session", &session, "--json"]);
    let doc = report(&ran.stdout);
    assert_eq!(
        (
            item(&doc, "backup")["status"].clone(),
            item(&doc, "backup")["summary"].clone()
        ),
        (
            serde_json::json!("pending"),
            serde_json::json!("1 of 2: alice")
        )
    );
    let second = sign(&[
        "--as",
        "bob",
        "--status",
        "done",
        "--evidence",
        "snapshot_id=br-1",
    ]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stderr.contains("closed: every required item passed"),
        "{}",
        second.stderr
    );
    let late = sign(&["--as", "carol", "--status", "failed", "--note", "late"]);
    assert!(
        late.code == 2 && late.stderr.contains("is closed"),
        "{}",
        late.stderr
    );
    let listed = place.run(&["sessions"]);
    assert!(
        listed.stdout.contains("go (closed)") && listed.stdout.contains("alice, bob"),
        "{}",
        listed.stdout
    );
}

fn output_is_kept_up_to_the_cap_with_a_count_of_the_rest(backend: Backend) {
    let place = Place::new(backend);
    let path = place.write(
        "c.toml",
        &format!("{HEADER}{}", command_item("chatty", "seq 1 100010", "")),
    );
    let ran = place.run(&["run", &path, "--json"]);
    let session = common::session_id(&report(&ran.stdout));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Store::open(&place.store.clone()).await.expect("store");
        let events = store.events(&session).await.expect("events");
        let result = events
            .iter()
            .find(|e| e.kind == "result")
            .expect("a result");
        assert_eq!(result.payload()["output"]["lines"], 100000);
        assert_eq!(result.payload()["output"]["dropped"], 10);
        let run_id = result.payload()["run_id"]
            .as_str()
            .map(String::from)
            .expect("a run id");
        let item = result.payload()["item"]
            .as_str()
            .map(String::from)
            .expect("an item");
        let lines = store
            .output_checked(&session, &item, &run_id)
            .await
            .expect("the kept lines match the digest in the chain");
        // The digest in the chain is of exactly the kept lines.
        let hashes: Vec<[u8; 32]> = lines
            .iter()
            .map(|(s, l)| relcon::store::output::line_hash(s, l))
            .collect();
        assert_eq!(
            result.payload()["output"]["sha256"],
            relcon::store::output::digest(&hashes)
        );
        assert_eq!(lines.len(), 100_000);
        assert_eq!(
            lines.first().map(|l| l.1.as_str()),
            Some("11"),
            "the oldest lines are the ones dropped"
        );
        assert_eq!(lines.last().map(|l| l.1.as_str()), Some("100010"));
        // A kept line changed in the store is caught by the digest in the chain.
        sql(
            &store,
            &["UPDATE output SET line = 'changed' WHERE n = 500"],
        )
        .await;
        let changed = store.output_checked(&session, &item, &run_id).await;
        assert!(
            changed
                .as_ref()
                .is_err_and(|e| e.to_string().contains("does not match the digest")),
            "{changed:?}"
        );
    });
}

fn resuming_with_a_changed_checklist_is_refused_with_both_digests(backend: Backend) {
    let place = Place::new(backend);
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let path = place.write("c.toml", &format!("{HEADER}{manual}"));
    let ran = place.run(&["run", &path, "--json"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let doc = report(&ran.stdout);
    let before = doc["checklist"]["sha256"]
        .as_str()
        .expect("a digest")
        .to_string();
    std::fs::write(&path, format!("{HEADER}{manual}# edited\n")).expect("edits");
    let ran = place.run(&["run", &path, "--resume"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains(&format!("(session: {before}, file: ")),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
}

fn signers_are_people_and_items_must_apply(backend: Backend) {
    let place = Place::new(backend);
    let manual = |id: &str, extra: &str| {
        format!("\n[[item]]\nid = \"{id}\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"manual\"\nhelp = \"h\"\n{extra}\n")
    };
    let text = format!(
        "{HEADER}\n[environments.staging]\n\n[environments.production]\nproduction = true\n{}{}",
        manual("two", "signoffs = 2"),
        manual("prod", "only_in = [\"production\"]")
    )
    .replacen(
        "version = 1\n",
        "version = 1\ndefault_environment = \"staging\"\n",
        1,
    );
    let path = place.write("c.toml", &text);
    let ran = place.run(&["run", &path, "--json"]);
    let session = common::session_id(&report(&ran.stdout));
    let sign = |args: &[&str]| {
        let mut all = vec!["signoff", "--session", session.as_str()];
        all.extend_from_slice(args);
        place.run(&all)
    };
    let prod = sign(&["prod", "--as", "alice", "--status", "done"]);
    assert!(
        prod.code == 2 && prod.stderr.contains("does not apply in staging"),
        "{}",
        prod.stderr
    );
    let empty = sign(&["two", "--as", " ", "--status", "done"]);
    assert!(
        empty.code == 2 && empty.stderr.contains("name is empty"),
        "{}",
        empty.stderr
    );
    let failed = sign(&["two", "--as", "alice", "--status", "failed"]);
    assert!(
        failed.code == 2 && failed.stderr.contains("needs a --note saying what failed"),
        "{}",
        failed.stderr
    );
    assert_eq!(sign(&["two", "--as", "alice", "--status", "done"]).code, 0);
    let again = sign(&["two", "--as", " ALICE", "--status", "done"]);
    assert!(
        again.code == 2 && again.stderr.contains("has already signed"),
        "{}",
        again.stderr
    );
}

fn two_processes_racing_to_run_one_item_run_it_once(backend: Backend) {
    let place = Place::new(backend);
    let log = place.path().join("runs.log");
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let items = command_item(
        "once",
        &format!("echo RUN >> {}; sleep 3", log.display()),
        "",
    ) + manual;
    let path = place.write("c.toml", &format!("{HEADER}{items}"));
    let made = place.run(&["run", &path, "--only", "sign", "--json"]);
    let session = common::session_id(&report(&made.stdout));
    // Both start at once; the item runs in one of them, and the other waits for its result.
    let start = |who: &str| {
        place
            .relcon()
            .args(["run", &path, "--session", &session, "--as", who, "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("relcon starts")
    };
    let (alice, bob) = (start("alice"), start("bob"));
    // While both work, both are attached: their presence leases are live.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let listed = place.run(&["sessions"]);
        if listed.stdout.contains("(attached now: alice, bob)") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never both attached: {}",
            listed.stdout
        );
    }
    let finish = |child: std::process::Child| {
        let output = child.wait_with_output().expect("the run ends");
        (
            report(&String::from_utf8_lossy(&output.stdout)),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let ((alice, alice_said), (bob, bob_said)) = (finish(alice), finish(bob));
    assert_eq!(
        std::fs::read_to_string(&log)
            .expect("the log")
            .lines()
            .count(),
        1,
        "the item ran once"
    );
    for doc in [&alice, &bob] {
        assert_eq!(item(doc, "once")["status"], "pass", "{}", item(doc, "once"));
    }
    let runner = item(&alice, "once")["run_by"].clone();
    assert_eq!(runner, item(&bob, "once")["run_by"], "both report one run");
    let waiter_said = if runner == "alice" {
        bob_said
    } else {
        alice_said
    };
    assert!(
        waiter_said.contains(&format!(
            "running ({}) in another process: waiting for its result",
            runner.as_str().expect("a runner")
        )),
        "{waiter_said}"
    );
    assert!(
        waiter_said.contains(&format!("(run by {})", runner.as_str().expect("a runner"))),
        "the waiter says whose result it reports: {waiter_said}"
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let results = rt.block_on(async {
        let store = Store::open(&place.store).await.expect("store");
        store
            .events(&session)
            .await
            .expect("events")
            .into_iter()
            .filter(|e| e.kind == "result" && e.payload()["item"] == "once")
            .count()
    });
    assert_eq!(results, 1, "one result recorded, by the runner");
    let listed = place.run(&["sessions"]);
    assert!(
        !listed.stdout.contains("attached now"),
        "nobody is attached once both runs ended: {}",
        listed.stdout
    );
}

fn a_dead_runners_claim_lapses_and_a_waiting_process_runs_the_item(backend: Backend) {
    let place = Place::new(backend);
    let marker = place.path().join("ran-once");
    let items = command_item(
        "slow",
        &format!(
            "test -f {0} || (touch {0}; echo marked; sleep 60)",
            marker.display()
        ),
        "",
    );
    let path = place.write("c.toml", &format!("{HEADER}{items}"));
    // Killed once the marker is there (not merely once the check started), so that the
    // next run's attempt finds it and passes.
    let seen = run_and_kill(&place, &["run", &path, "--as", "alice"], |lines| {
        lines.iter().any(|l| l.ends_with("│ marked"))
    });
    let session = common::announced_session(&seen);
    // The killed runner's claim lives on for its lease (5 s): the next run waits on it, then
    // runs the item itself.
    let started = std::time::Instant::now();
    let ran = place
        .relcon()
        .args(["run", &path, "--session", &session, "--as", "bob", "--json"])
        .env("RELCON_CLAIM_LEASE", "2s")
        .output()
        .expect("relcon runs");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    let doc = report(&String::from_utf8_lossy(&ran.stdout));
    assert_eq!(item(&doc, "slow")["status"], "pass", "{stderr}");
    assert_eq!(item(&doc, "slow")["run_by"], "bob");
    assert!(
        stderr.contains("running (alice) in another process: waiting for its result"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// Starts `relcon` in `place` with `args`; its stderr lines arrive on the channel.
fn spawn(place: &Place, args: &[&str]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = place
        .relcon()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("relcon starts");
    let lines = common::line_channel(child.stderr.take().expect("stderr"));
    (child, lines)
}

fn an_item_another_process_finished_meanwhile_is_not_run_again(backend: Backend) {
    let place = Place::new(backend);
    let log = place.path().join("runs.log");
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let items = command_item("slow", "sleep 2", "")
        + &command_item("fast", &format!("echo RUN >> {}", log.display()), "")
        + manual;
    let path = place.write("c.toml", &format!("{HEADER}{items}"));
    let made = place.run(&["run", &path, "--only", "sign", "--json"]);
    let session = common::session_id(&report(&made.stdout));
    // Bob runs everything one at a time: slow first, fast after it.
    let (bob, bob_said) = spawn(
        &place,
        &[
            "run",
            &path,
            "--session",
            &session,
            "--as",
            "bob",
            "--concurrency",
            "1",
            "--json",
        ],
    );
    common::read_until(&bob_said, 30, |seen| {
        seen.iter()
            .any(|l| l.contains("start") && l.ends_with("slow"))
    });
    // Meanwhile alice runs fast alone, to the end.
    let alice = place.run(&[
        "run",
        &path,
        "--session",
        &session,
        "--as",
        "alice",
        "--only",
        "fast",
        "--json",
    ]);
    assert_eq!(
        item(&report(&alice.stdout), "fast")["status"],
        "pass",
        "{}",
        alice.stderr
    );
    let output = bob.wait_with_output().expect("bob's run ends");
    let doc = report(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(item(&doc, "fast")["status"], "pass");
    assert_eq!(
        item(&doc, "fast")["run_by"],
        "alice",
        "bob reports alice's run"
    );
    assert_eq!(
        std::fs::read_to_string(&log)
            .expect("the log")
            .lines()
            .count(),
        1,
        "fast ran once"
    );
}

fn a_process_that_leaves_while_waiting_does_not_overwrite_the_runners_results(backend: Backend) {
    let place = Place::new(backend);
    let items: String = (1..=6)
        .map(|n| command_item(&format!("s{n}"), "sleep 2", ""))
        .collect();
    let path = place.write("c.toml", &format!("{HEADER}{items}"));
    let (alice, alice_said) = spawn(&place, &["run", &path, "--as", "alice", "--json"]);
    let seen = common::read_until(&alice_said, 30, |seen| {
        seen.iter().filter(|l| l.contains("start")).count() == 6
    });
    let session = common::announced_session(&seen);
    // Bob joins: every item is alice's, so he waits on all six (on one feed)…
    let (mut bob, bob_said) = spawn(
        &place,
        &["run", &path, "--session", &session, "--as", "bob", "--json"],
    );
    common::read_until(&bob_said, 30, |seen| {
        seen.iter()
            .filter(|l| l.contains("waiting for its result"))
            .count()
            == 6
    });
    // …and leaves before alice is done.
    // SAFETY: a plain kill(2) of the child this test started.
    assert_eq!(unsafe { libc::kill(bob.id() as i32, libc::SIGTERM) }, 0);
    let _ = bob.wait();
    let output = alice.wait_with_output().expect("alice's run ends");
    let doc = report(&String::from_utf8_lossy(&output.stdout));
    for n in 1..=6 {
        assert_eq!(item(&doc, &format!("s{n}"))["status"], "pass", "s{n}");
    }
    assert_eq!(doc["verdict"], "go");
}

fn one_person_signing_one_item_from_four_processes_at_once_signs_it_once(backend: Backend) {
    let place = Place::new(backend);
    let manual = "\n[[item]]\nid = \"shared\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"manual\"\nhelp = \"h\"\nsignoffs = 2\n";
    let path = place.write("c.toml", &format!("{HEADER}{manual}"));
    let ran = place.run(&["run", &path, "--json"]);
    let session = common::session_id(&report(&ran.stdout));
    let children: Vec<_> = (0..4)
        .map(|_| {
            place
                .relcon()
                .args([
                    "signoff",
                    "shared",
                    "--session",
                    &session,
                    "--as",
                    "alice",
                    "--status",
                    "done",
                ])
                .stderr(Stdio::piped())
                .spawn()
                .expect("signoff starts")
        })
        .collect();
    let outcomes: Vec<(bool, String)> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("signoff ends");
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|(ok, _)| *ok).count(),
        1,
        "{outcomes:?}"
    );
    for (ok, said) in &outcomes {
        assert!(
            *ok || said.contains("alice has already signed `shared`"),
            "{said}"
        );
    }
    let doc = report(
        &place
            .run(&["run", &path, "--session", &session, "--json"])
            .stdout,
    );
    assert_eq!(
        item(&doc, "shared")["signoffs"].as_array().map(Vec::len),
        Some(1)
    );
}

fn two_runs_finishing_one_session_both_say_go(backend: Backend) {
    let place = Place::new(backend);
    let items = command_item("init", "true", "")
        + &command_item("a", "sleep 1", "")
        + &command_item("b", "sleep 1", "");
    let path = place.write("c.toml", &format!("{HEADER}{items}"));
    let made = place.run(&["run", &path, "--only", "init", "--json"]);
    let session = common::session_id(&report(&made.stdout));
    let start = |who: &str| {
        place
            .relcon()
            .args(["run", &path, "--session", &session, "--as", who, "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("relcon starts")
    };
    let (alice, bob) = (start("alice"), start("bob"));
    for child in [alice, bob] {
        let output = child.wait_with_output().expect("the run ends");
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{said}");
        assert_eq!(
            report(&String::from_utf8_lossy(&output.stdout))["verdict"],
            "go",
            "{said}"
        );
    }
}

fn printed_output_survives_a_kill(backend: Backend) {
    let place = Place::new(backend);
    let items = command_item(
        "ticks",
        "for i in 1 2 3; do echo tick $i; done; sleep 60",
        "",
    );
    let path = place.write("c.toml", &format!("{HEADER}{items}"));
    let seen = run_and_kill(&place, &["run", &path], |lines| {
        lines.iter().any(|l| l.ends_with("tick 3"))
    });
    let session = common::announced_session(&seen);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let lines = rt.block_on(async {
        let store = Store::open(&place.store).await.expect("store");
        let events = store.events(&session).await.expect("events");
        let run = events
            .iter()
            .find(|e| e.kind == "run_started")
            .and_then(|e| e.payload()["run_id"].as_str().map(String::from))
            .expect("a run");
        store.output(&session, &run).await.expect("output")
    });
    let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        texts,
        ["tick 1", "tick 2", "tick 3"],
        "every line shown was kept"
    );
}

fn concurrent_sign_offs_from_eight_processes_lose_nothing(backend: Backend) {
    let place = Place::new(backend);
    let manual: String = (0..8).map(|n| format!("\n[[item]]\nid = \"m{n}\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"manual\"\nhelp = \"h\"\n")).collect::<String>() + "\n[[item]]\nid = \"shared\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"manual\"\nhelp = \"h\"\nsignoffs = 9\n";
    let path = place.write("c.toml", &format!("{HEADER}{manual}"));
    let ran = place.run(&["run", &path, "--json"]);
    let session = common::session_id(&report(&ran.stdout));
    let store = place.store.clone();
    // Eight processes at once, each signing its own item and then the shared one.
    let children: Vec<_> = (0..8)
        .map(|n| {
            let (session, store, item, who) = (
                session.clone(),
                store.clone(),
                format!("m{n}"),
                format!("signer{n}"),
            );
            std::thread::spawn(move || {
                let sign = |item: &str| {
                    common::relcon()
                        .args([
                            "signoff",
                            item,
                            "--session",
                            &session,
                            "--as",
                            &who,
                            "--status",
                            "done",
                        ])
                        .env("RELCON_STORE", &store)
                        .output()
                        .expect("signoff runs")
                };
                (sign(&item), sign("shared"))
            })
        })
        .collect();
    for child in children {
        let (own, shared) = child.join().expect("the signer ran");
        assert!(
            own.status.success(),
            "{}",
            String::from_utf8_lossy(&own.stderr)
        );
        assert!(
            shared.status.success(),
            "{}",
            String::from_utf8_lossy(&shared.stderr)
        );
    }
    let ran = place.run(&["run", &path, "--session", &session, "--json"]);
    let doc = report(&ran.stdout);
    for n in 0..8 {
        assert_eq!(item(&doc, &format!("m{n}"))["status"], "pass", "m{n}");
    }
    assert_eq!(
        item(&doc, "shared")["signoffs"].as_array().map(Vec::len),
        Some(8),
        "no sign-off lost or doubled"
    );
    assert_eq!(
        item(&doc, "shared")["summary"]
            .as_str()
            .map(|s| s.starts_with("8 of 9")),
        Some(true),
        "{}",
        item(&doc, "shared")
    );
}

async fn a_closed_session_takes_records_about_it_and_nothing_else(backend: Backend) {
    let place = Place::new(backend);
    let (store, id) = store_with_events(&place, 2).await;
    store
        .append(
            &id,
            "alice",
            &Body::SessionClosed {
                reason: "closed by alice".into(),
            },
        )
        .await
        .expect("closes");
    let exported = Body::Exported {
        format: "json".into(),
        sha256: "a".repeat(64),
        signer: None,
    };
    store
        .append(&id, "bob", &exported)
        .await
        .expect("an export is recorded after the close");
    let refused = store
        .append(
            &id,
            "bob",
            &Body::Skipped {
                item: "late".into(),
                reason: "too late".into(),
            },
        )
        .await
        .expect_err("no skip after the close");
    assert!(
        matches!(refused, relcon::store::StoreError::Closed(_)),
        "{refused}"
    );
    let session = store.open_session(&id, None).await.expect("opens");
    assert_eq!(session.head.count, 4);
    assert_eq!(session.audit.len(), 1);
    assert_eq!(session.audit[0].body, exported);
}

crate::on_both_backends_async!(
    a_closed_session_takes_records_about_it_and_nothing_else,
    an_intact_log_verifies_and_folds,
    a_burst_keeps_every_character_of_its_events,
    a_session_caught_up_from_an_earlier_state_is_the_session_read_whole,
    an_edited_event_is_found,
    an_edited_actor_or_time_is_found,
    a_deleted_event_is_found,
    an_inserted_event_is_found,
    reordered_events_are_found,
    a_truncated_tail_is_found_against_a_recorded_head,
    a_store_from_a_newer_relcon_is_refused,
    two_stores_fingerprint_one_value_differently
);

crate::on_both_backends!(
    a_run_killed_with_sigkill_resumes_with_every_acknowledged_result,
    a_tampered_session_is_refused_with_the_first_bad_event,
    signoffs_are_checked_before_they_are_recorded,
    a_blocked_manual_item_is_not_signed_past_its_needs,
    output_is_kept_up_to_the_cap_with_a_count_of_the_rest,
    resuming_with_a_changed_checklist_is_refused_with_both_digests,
    signers_are_people_and_items_must_apply,
    two_processes_racing_to_run_one_item_run_it_once,
    a_dead_runners_claim_lapses_and_a_waiting_process_runs_the_item,
    concurrent_sign_offs_from_eight_processes_lose_nothing,
    two_runs_finishing_one_session_both_say_go,
    printed_output_survives_a_kill,
    one_person_signing_one_item_from_four_processes_at_once_signs_it_once,
    an_item_another_process_finished_meanwhile_is_not_run_again,
    a_process_that_leaves_while_waiting_does_not_overwrite_the_runners_results,
);

/// Commands that work on what is recorded refuse a store that does not exist, and make
/// nothing: a mistyped path must not leave an empty store (or its directories) behind.
#[test]
fn a_store_that_does_not_exist_is_said_and_not_made() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("typo/store.sqlite");
    let url = format!("sqlite://{}", missing.display());
    let checklist = dir.path().join("c.toml");
    std::fs::write(
        &checklist,
        format!("{HEADER}{}", command_item("a", "true", "")),
    )
    .expect("writes");
    let checklist = checklist.display().to_string();
    let out = dir.path().join("r.json").display().to_string();
    let id = "01900000-0000-7000-8000-000000000000";
    let commands: [Vec<&str>; 7] = [
        vec!["sessions"],
        vec!["export", "--session", id, "--format", "json", "--out", &out],
        vec!["watch", "--session", id],
        vec!["signoff", "a", "--session", id, "--status", "done"],
        vec!["close", "--session", id],
        vec!["diff", "--session", id],
        vec!["run", &checklist, "--headless", "--session", id],
    ];
    for args in commands {
        let ran: common::Ran = common::relcon()
            .args(&args)
            .args(["--store", &url])
            .output()
            .expect("relcon runs")
            .into();
        assert!(
            ran.code == 2 && ran.stderr.contains(&format!("no store at {url}")),
            "{args:?}: {} {}",
            ran.code,
            ran.stderr
        );
        assert!(
            !missing.parent().expect("a parent").exists(),
            "{args:?} made it"
        );
    }
}

#[test]
fn a_file_that_is_not_a_sqlite_store_is_said_so_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.sqlite");
    let checklist = dir.path().join("c.toml");
    std::fs::write(
        &checklist,
        format!("{HEADER}{}", command_item("a", "true", "")),
    )
    .expect("writes");
    let ran = common::relcon()
        .args([
            "run",
            &checklist.display().to_string(),
            "--headless",
            "--store",
        ])
        .arg(format!("sqlite://{}", good.display()))
        .output()
        .expect("relcon runs");
    assert_eq!(ran.status.code(), Some(0));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&good).expect("made").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a new store is its owner's alone");
    let bytes = std::fs::read(&good).expect("reads");
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "text.sqlite",
            b"hello, not a database\n".to_vec(),
            "does not start with the SQLite header",
        ),
        (
            "random.sqlite",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
                .collect(),
            "does not start with the SQLite header",
        ),
        ("truncated.sqlite", bytes[..100].to_vec(), "malformed"),
    ];
    for (name, content, why) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("writes");
        let ran: common::Ran = common::relcon()
            .args([
                "sessions",
                "--store",
                &format!("sqlite://{}", path.display()),
            ])
            .output()
            .expect("relcon runs")
            .into();
        assert_eq!(ran.code, 2, "{name}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("not a SQLite database (or damaged): ") && ran.stderr.contains(why),
            "{name}: {}",
            ran.stderr
        );
    }
}

#[test]
fn a_claim_that_never_lapses_is_waited_on_no_longer_than_a_run_can_take() {
    let place = Place::new(Backend::Sqlite);
    // A manual item keeps the session open.
    let items = command_item("stuck", "true", "timeout = \"2s\"")
        + "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let path = place.write("c.toml", &format!("{HEADER}{items}"));
    let made = place.run(&["run", &path, "--only", "stuck", "--json"]);
    let session = common::session_id(&report(&made.stdout));
    // A claim whose expiry lies a century ahead, as a clock gone wrong or a hostile
    // writer would leave it.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Store::open(&place.store).await.expect("store");
        sql(
            &store,
            &[&format!("INSERT INTO claims (session_id, item, holder, token, expires_ms) VALUES ('{session}', 'stuck', 'mallory', 't-1', 4102444800000) ON CONFLICT (session_id, item) DO UPDATE SET holder = 'mallory', token = 't-1', expires_ms = 4102444800000")],
        )
        .await;
    });
    let ran = place
        .relcon()
        .args(["run", &path, "--session", &session, "--rerun", "--json"])
        .env("RELCON_CLAIM_LEASE", "2s")
        .output()
        .expect("relcon runs");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(
        stderr.contains(
            "claimed (mallory) for longer than a run of it can take (6.0 s with its retries and lease); not waiting any longer"
        ),
        "{stderr}"
    );
    assert_eq!(ran.status.code(), Some(3), "incomplete: {stderr}");
}
