//! Store speed on each backend: a real SQLite file (WAL, synchronous=FULL) and a scratch
//! database on the PostgreSQL server at `RELCON_TEST_PG` (default: the local one). For each:
//! appending 10,000 events, a full open (read, verify the chain, fold) of them, the commit
//! latency of sign-offs, and the delay for another store handle (as another process would
//! have) to see a committed event through the change feed.
//! `cargo bench --bench store` prints the figures; targets: open ≤ 200 ms, sign-off p50 ≤ 5 ms,
//! propagation p99 ≤ 1 s on SQLite and ≤ 100 ms on PostgreSQL.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use relcon::session::{Body, ChecklistCopy, SignoffStatus};
use relcon::store::Store;
use sqlx::{Connection, Executor};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn bench(label: &str, url: &str, target_p99: &str) {
    let events_wanted: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let store = Store::open(url).await.expect("store");
    let checklist = ChecklistCopy {
        id: "bench".into(),
        title: "Bench".into(),
        version: 1,
        sha256: "0".repeat(64),
        name: "bench.toml".into(),
        source: "x".repeat(20_000),
    };
    let started = Body::SessionStarted {
        checklist,
        environment: Some("staging".into()),
        production: false,
        allowed_signers: None,
    };
    store
        .create_session("s", "bench", &started)
        .await
        .expect("session");

    let clock = Instant::now();
    for n in 1..events_wanted {
        let body = Body::Result {
            item: format!("item.{}", n % 500),
            run_id: Some(format!("run-{n}")),
            status: relcon::status::Status::Pass,
            summary: "GET /health → 200 in 12 ms".into(),
            evidence: serde_json::json!({"request": {"method": "GET", "url": "https://app.example.com/health"}, "response": {"status": 200}}),
            started_at: Some("2026-11-26T07:00:00Z".into()),
            duration_ms: 12,
            attempts: 1,
            output: None,
        };
        store.append("s", "bench", &body).await.expect("append");
    }
    let appended = clock.elapsed();

    let clock = Instant::now();
    let session = store.open_session("s", None).await.expect("open");
    let opened = clock.elapsed();
    assert_eq!(session.head.count as usize, events_wanted);
    let clock = Instant::now();
    let events = store.events("s").await.expect("events");
    let read = clock.elapsed();
    let clock = Instant::now();
    let head = relcon::session::chain::verify_chain("s", &events, None).expect("verifies");
    let verified = clock.elapsed();
    let clock = Instant::now();
    relcon::session::SessionState::fold(&events, head).expect("folds");
    let folded = clock.elapsed();

    let mut latencies = Vec::new();
    for n in 0..300 {
        let body = Body::Signoff {
            item: format!("manual.{n}"),
            status: SignoffStatus::Done,
            note: "done".into(),
            evidence: BTreeMap::from([("snapshot_id".to_string(), format!("br-{n}"))]),
            signature: None,
        };
        let clock = Instant::now();
        store.append("s", "bench", &body).await.expect("sign-off");
        latencies.push(clock.elapsed());
    }
    latencies.sort();

    // Propagation: a second store handle follows the session while the first appends, one
    // event at a time, each at a random moment while the follower already waits.
    let other = Store::open(url).await.expect("second handle");
    let seen = other
        .open_session("s", None)
        .await
        .expect("open")
        .head
        .count;
    let mut feed = relcon::store::feed::Feed::new(&other, "s", seen)
        .await
        .expect("feed");
    if let Some(warning) = feed.warning() {
        println!("warning: {warning}");
    }
    let mut delays = Vec::new();
    for n in 0..100 {
        let writer = store.clone();
        let committed = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(rand::random_range(20..220))).await;
            let body = Body::Skipped {
                item: format!("p{n}"),
                reason: "bench".into(),
            };
            writer.append("s", "bench", &body).await.expect("append");
            Instant::now()
        });
        feed.next().await.expect("seen");
        let seen = Instant::now();
        let committed = committed.await.expect("the writer ran");
        delays.push(seen.saturating_duration_since(committed));
    }
    delays.sort();
    println!("{label}:");
    println!(
        "  append {events_wanted} events, one commit each: {:.0} ms in all, {:.2} ms per commit",
        ms(appended),
        ms(appended) / events_wanted as f64
    );
    println!(
        "  open {events_wanted} events (read, verify the chain, fold): {:.0} ms (target ≤ 200 ms; read {:.0} ms, verify {:.0} ms, fold {:.0} ms)",
        ms(opened),
        ms(read),
        ms(verified),
        ms(folded)
    );
    println!(
        "  sign-off commit latency over {}: p50 {:.2} ms (target ≤ 5 ms), p99 {:.2} ms",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99))
    );
    println!(
        "  another handle sees an event (commit to feed) over 100: p50 {:.1} ms, p99 {:.1} ms (target p99 ≤ {target_p99})",
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99))
    );
    store.close().await;
    other.close().await;
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
        bench("SQLite", &sqlite, "1 s").await;

        let server = std::env::var("RELCON_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("relcon_bench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {server} (RELCON_TEST_PG): {e}"));
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("creates the bench database");
        let mut url = url::Url::parse(&server).expect("a URL");
        url.set_path(&format!("/{name}"));
        bench("PostgreSQL", url.as_str(), "100 ms").await;
        admin
            .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
            .await
            .expect("drops the bench database");
    });
}
