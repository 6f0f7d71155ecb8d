//! What the chain alone cannot tell: a store rewritten behind the operator's back is caught
//! by a head known from outside it (`--expect-head`); the sessions table, an index, is
//! checked against each session's first event; and a process that panics gives up its
//! claims and presence like any other stop.

mod common;

use common::{command_item, report, Backend, Place, HEADER};
use relcon::store::Store;

async fn count(store: &Store, sql: &str) -> i64 {
    let mut conn = store.raw().await.expect("a connection");
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn execute(store: &Store, sql: &str) {
    let mut conn = store.raw().await.expect("a connection");
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn a_panic_gives_up_the_claims_and_presence_it_held(backend: Backend) {
    let place = Place::new(backend);
    let path = place.write(
        "c.toml",
        &format!("{HEADER}{}", command_item("one", "true", "")),
    );
    let ran = place
        .relcon()
        .args(["run", &path, "--headless"])
        .env("RELCON_FAILPOINT", "panic-after-claim")
        .output()
        .expect("relcon runs");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(101), "{stderr}");
    assert!(stderr.contains("failpoint panic-after-claim"), "{stderr}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Store::open(&place.store).await.expect("store");
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM sessions").await,
            1,
            "the run had started its session"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM claims").await,
            0,
            "no claim outlives the panic"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM presence").await,
            0,
            "no presence outlives the panic"
        );
        store.close().await;
    });
}

fn a_store_rewritten_behind_a_known_head_is_refused(backend: Backend) {
    let place = Place::new(backend);
    let path = place.write(
        "c.toml",
        &format!(
            "{HEADER}{}{}",
            command_item("one", "echo one", ""),
            command_item("two", "echo two", "")
        ),
    );
    let first = place.run(&["run", &path, "--headless", "--json", "--only", "one"]);
    let doc = report(&first.stdout);
    let session = common::session_id(&doc);
    let head = format!(
        "{}:{}",
        doc["events"]["count"].as_i64().expect("a count"),
        doc["events"]["head"].as_str().expect("a head")
    );
    // The head holds while the session only grows (another terminal may append).
    let grown = place.run(&[
        "run",
        &path,
        "--headless",
        "--session",
        &session,
        "--only",
        "two",
        "--expect-head",
        &head,
    ]);
    assert_eq!(grown.code, 0, "{}", grown.stderr);
    let watched = place.run(&["watch", "--session", &session, "--expect-head", &head]);
    assert_eq!(watched.code, 0, "{}", watched.stderr);

    // Someone with the store rewrites the first result and re-hashes the whole chain: the
    // chain verifies, the head known from outside does not.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Store::open(&place.store).await.expect("store");
        let events = store.events(&session).await.expect("events");
        execute(&store, &format!("DELETE FROM events WHERE session_id = '{session}'")).await;
        let mut prev = relcon::session::chain::GENESIS.to_string();
        for event in events {
            let payload = event.payload_json.replace("\"pass\"", "\"warn\"");
            let hash = relcon::session::chain::hash(
                &session,
                event.seq,
                &event.at,
                &event.actor,
                &event.kind,
                &payload,
                &prev,
            );
            let mut conn = store.raw().await.expect("a connection");
            sqlx::query("INSERT INTO events (session_id, seq, at, actor, type, payload, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(&session)
                .bind(event.seq)
                .bind(&event.at)
                .bind(&event.actor)
                .bind(&event.kind)
                .bind(&payload)
                .bind(&prev)
                .bind(&hash)
                .execute(&mut *conn)
                .await
                .expect("re-hashed event");
            prev = hash;
        }
        store.close().await;
    });
    let unaware = place.run(&["sessions"]);
    assert_eq!(unaware.code, 0, "a re-hashed chain verifies on its own");
    let out = place.path().join("r.json").display().to_string();
    for args in [
        vec![
            "export",
            "--session",
            &session,
            "--format",
            "json",
            "--out",
            &out,
        ],
        vec!["watch", "--session", &session],
        vec!["signoff", "x", "--session", &session, "--status", "done"],
    ] {
        let mut args = args.clone();
        args.extend(["--expect-head", &head]);
        let refused = place.run(&args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains("it is not the event the recorded head names"),
            "{args:?}: {}",
            refused.stderr
        );
    }
    let malformed = place.run(&["close", "--session", &session, "--expect-head", "12"]);
    assert_eq!(malformed.code, 2);
    assert!(
        malformed.stderr.contains("is not COUNT:HASH"),
        "{}",
        malformed.stderr
    );
}

fn a_sessions_row_that_disagrees_with_the_first_event_is_broken(backend: Backend) {
    let place = Place::new(backend);
    let path = place.write(
        "c.toml",
        &format!("{HEADER}{}", command_item("one", "true", "")),
    );
    let ran = place.run(&["run", &path, "--headless", "--json"]);
    let session = common::session_id(&report(&ran.stdout));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Store::open(&place.store).await.expect("store");
        execute(
            &store,
            &format!("UPDATE sessions SET environment = 'production' WHERE id = '{session}'"),
        )
        .await;
        store.close().await;
    });
    let listed = place.run(&["sessions"]);
    assert_eq!(listed.code, 2, "{}", listed.stdout);
    assert!(
        listed
            .stdout
            .contains("BROKEN: its row in the sessions table says"),
        "{}",
        listed.stdout
    );
}

crate::on_both_backends!(
    a_panic_gives_up_the_claims_and_presence_it_held,
    a_store_rewritten_behind_a_known_head_is_refused,
    a_sessions_row_that_disagrees_with_the_first_event_is_broken,
);
