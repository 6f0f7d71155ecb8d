//! Store speed on a real SQLite file (WAL, synchronous=FULL): appending 10,000 events, a
//! full open (read, verify the chain, fold) of them, and the commit latency of sign-offs.
//! `cargo bench --bench store` prints the figures; targets: fold ≤ 200 ms, p50 ≤ 5 ms.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use relcon::store::session::{Body, ChecklistCopy, SignoffStatus};
use relcon::store::Store;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.sqlite").display())).await.expect("store");
        let checklist = ChecklistCopy { id: "bench".into(), title: "Bench".into(), version: 1, sha256: "0".repeat(64), name: "bench.toml".into(), source: "x".repeat(20_000) };
        store.create_session("s", "bench", &Body::SessionStarted { checklist, environment: Some("staging".into()), production: false }).await.expect("session");

        let clock = Instant::now();
        for n in 1..std::env::var("EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000) {
            let body = Body::Result {
                item: format!("item.{}", n % 500),
                run_id: Some(format!("run-{n}")),
                status: relcon::engine::status::Status::Pass,
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
        let folded = clock.elapsed();
        let clock = Instant::now();
        let events = store.events("s").await.expect("events");
        let read = clock.elapsed();
        let clock = Instant::now();
        let head = relcon::store::chain::verify_chain("s", &events, None).expect("verifies");
        let verified = clock.elapsed();
        let clock = Instant::now();
        relcon::store::session::Session::fold(&events, head).expect("folds");
        println!("(read {:.0} ms, verify {:.0} ms, fold {:.0} ms)", read.as_secs_f64() * 1e3, verified.as_secs_f64() * 1e3, clock.elapsed().as_secs_f64() * 1e3);
        assert!(session.head.count > 1);

        let mut latencies = Vec::new();
        for n in 0..300 {
            let body = Body::Signoff { item: format!("manual.{n}"), status: SignoffStatus::Done, note: "done".into(), evidence: BTreeMap::from([("snapshot_id".to_string(), format!("br-{n}"))]), signature: None };
            let clock = Instant::now();
            store.append("s", "bench", &body).await.expect("sign-off");
            latencies.push(clock.elapsed());
        }
                latencies.sort();

        // Propagation: a second store handle (its own connections, as another process would
        // have) follows the session while the first appends, one event at a time.
        let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
        let other = Store::open(&url).await.expect("second handle");
        let seen = other.open_session("s", None).await.expect("open").head.count;
        let mut feed = relcon::store::feed::Feed::new(&other, "s", seen).await.expect("feed");
        let mut delays = Vec::new();
                for n in 0..100 {
            // The watcher is already waiting when the event is committed, at a random moment.
            let writer = store.clone();
            let committed = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(rand::random_range(20..220))).await;
                writer.append("s", "bench", &Body::Skipped { item: format!("p{n}"), reason: "bench".into() }).await.expect("append");
                Instant::now()
            });
            feed.next().await.expect("seen");
            let seen = Instant::now();
            let committed = committed.await.expect("the writer ran");
            delays.push(seen.saturating_duration_since(committed));
        }
        delays.sort();
        println!("append 10,000 events, one commit each: {:.0} ms in all, {:.2} ms per commit", appended.as_secs_f64() * 1e3, appended.as_secs_f64() * 1e3 / 10_000.0);
        println!("open 10,000 events (read, verify the chain, fold): {:.0} ms (target ≤ 200 ms)", folded.as_secs_f64() * 1e3);
                println!("sign-off commit latency over {}: p50 {:.2} ms (target ≤ 5 ms), p99 {:.2} ms", latencies.len(), percentile(&latencies, 0.5).as_secs_f64() * 1e3, percentile(&latencies, 0.99).as_secs_f64() * 1e3);
        println!("SQLite: another handle sees an event (commit to feed) over 100: p50 {:.0} ms, p99 {:.0} ms (target p99 ≤ 1 s)", percentile(&delays, 0.5).as_secs_f64() * 1e3, percentile(&delays, 0.99).as_secs_f64() * 1e3);
    });
}
