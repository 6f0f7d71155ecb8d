//! A run's cost per item does not grow with the session: the rows the database reads for a
//! claim (the item's latest result) and for an append (the last event, whether the session
//! is closed) are the same for a session of 60 events and of 2,000. Counted by PostgreSQL
//! itself (EXPLAIN ANALYZE of the store's own statements), not timed.

mod common;

use common::ScratchDb;
use relcon::session::{Body, ChecklistCopy};
use relcon::status::Status;
use relcon::store::leases::LATEST_RESULT_SQL;
use relcon::store::{Store, CLOSED_SQL, LAST_EVENT_SQL};
use sqlx::Connection;

fn result(item: String) -> Body {
    Body::Result {
        item,
        run_id: None,
        status: Status::Pass,
        summary: "ok".into(),
        evidence: serde_json::json!({}),
        started_at: None,
        duration_ms: 1,
        attempts: 1,
        output: None,
    }
}

/// The rows every scan of `plan` read: those it returned and those its filters removed.
fn rows_read(plan: &serde_json::Value) -> f64 {
    let own = if plan["Node Type"]
        .as_str()
        .is_some_and(|t| t.contains("Scan"))
    {
        let kept = plan["Actual Rows"].as_f64().unwrap_or(0.0);
        let removed = plan["Rows Removed by Filter"].as_f64().unwrap_or(0.0)
            + plan["Rows Removed by Index Recheck"]
                .as_f64()
                .unwrap_or(0.0);
        (kept + removed) * plan["Actual Loops"].as_f64().unwrap_or(1.0)
    } else {
        0.0
    };
    own + plan["Plans"]
        .as_array()
        .map_or(0.0, |plans| plans.iter().map(rows_read).sum())
}

/// The rows `sql` reads with `args` in place of its parameters (quoted literals).
async fn measure(conn: &mut sqlx::PgConnection, sql: &str, args: &[&str]) -> f64 {
    let mut statement = sql.to_string();
    // From the highest parameter down, so $1 does not eat $10.
    for (n, arg) in args.iter().enumerate().rev() {
        statement = statement.replace(&format!("${}", n + 1), &format!("'{arg}'"));
    }
    let explained: String =
        sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {statement}"))
            .fetch_one(&mut *conn)
            .await
            .map(|v: serde_json::Value| v.to_string())
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    let plan: serde_json::Value = serde_json::from_str(&explained).expect("a JSON plan");
    rows_read(&plan[0]["Plan"])
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_read_per_claim_and_per_append_stay_constant_as_a_session_grows() {
    let db = ScratchDb::create();
    let store = Store::open(&db.url).await.expect("the store opens");
    let session = "rows-read";
    store
        .create_session(
            session,
            "alice",
            &Body::SessionStarted {
                checklist: ChecklistCopy {
                    id: "c".into(),
                    title: "C".into(),
                    version: 1,
                    sha256: "0".repeat(64),
                    name: "c.toml".into(),
                    source: String::new(),
                },
                environment: None,
                production: false,
                allowed_signers: None,
            },
        )
        .await
        .expect("a session");
    let mut conn = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("a connection");
    // The question is what the indexes allow, not what the planner prefers for a small
    // table: without them every plan below reads the whole session.
    for setting in ["SET enable_seqscan = off", "SET enable_bitmapscan = off"] {
        sqlx::query(setting)
            .execute(&mut conn)
            .await
            .expect("a setting");
    }
    let mut made = 1;
    let mut seen = Vec::new();
    for size in [60, 2_000] {
        let bodies: Vec<Body> = (made..size).map(|n| result(format!("i{n}"))).collect();
        store
            .append_many(session, "alice", &bodies, &[])
            .await
            .expect("results recorded");
        made = size;
        sqlx::query("ANALYZE events")
            .execute(&mut conn)
            .await
            .expect("analyze");
        let claim = measure(&mut conn, LATEST_RESULT_SQL, &[session, "i7", "0"]).await;
        let last = measure(&mut conn, LAST_EVENT_SQL, &[session]).await;
        let closed = measure(&mut conn, CLOSED_SQL, &[session]).await;
        seen.push((size, claim, last, closed));
        // What was measured is what the store does: a claim finds the item's result.
        let settled = store
            .result_since(session, "i7", 0)
            .await
            .expect("a lookup");
        assert!(settled.is_some(), "the result of i7 is found");
    }
    let (small, large) = (seen[0], seen[1]);
    assert!(small.1 >= 1.0, "a claim reads the item's result: {seen:?}");
    assert_eq!(
        (small.1, small.2, small.3),
        (large.1, large.2, large.3),
        "rows read (claim, last event, closed?) at {} and {} events",
        small.0,
        large.0
    );
    store.close().await;
}
