//! Makes a store holding one large session, for `bench/export.sh`: a checklist of ITEMS
//! items (command items, and manual ones signed off), and EVENTS events (each item run
//! several times, results with evidence). `cargo run --release --example big_session --
//! STORE_URL [ITEMS] [EVENTS]` prints the session's id.

use std::collections::BTreeMap;
use std::process::ExitCode;

use relcon::session::{Body, ChecklistCopy, SignoffStatus};
use relcon::status::Status;
use relcon::store::Store;
use sha2::{Digest, Sha256};

fn checklist(items: usize) -> String {
    let mut text = String::from(
        "sections = [\"Build\", \"Release\"]\n\n[checklist]\nid = \"big\"\ntitle = \"A large release\"\nversion = 1\n",
    );
    for n in 0..items {
        if n % 50 == 49 {
            text.push_str(&format!("\n[[item]]\nid = \"release.step-{n:04}\"\nsection = \"Release\"\ntitle = \"Step {n} signed off\"\nkind = \"manual\"\nhelp = \"Step {n} of the release, done by a person and signed off.\"\n"));
        } else {
            text.push_str(&format!("\n[[item]]\nid = \"build.step-{n:04}\"\nsection = \"Build\"\ntitle = \"Step {n} passes\"\nkind = \"command\"\nhelp = \"Runs step {n} of the build and checks that it exits 0.\"\nrun = [\"true\"]\n"));
        }
    }
    text
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: big_session STORE_URL [ITEMS] [EVENTS]");
        return ExitCode::from(2);
    };
    let items: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let events: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let store = Store::open(&url).await.expect("the store opens");
    let source = checklist(items);
    let id = uuid::Uuid::now_v7().to_string();
    let started = Body::SessionStarted {
        checklist: ChecklistCopy {
            id: "big".into(),
            title: "A large release".into(),
            version: 1,
            sha256: Sha256::digest(source.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            name: "big.toml".into(),
            source,
        },
        environment: None,
        production: false,
        allowed_signers: None,
    };
    store
        .create_session(&id, "alice@example.com", &started)
        .await
        .expect("the session starts");
    let mut bodies = Vec::new();
    let mut made = 1;
    let mut round = 0;
    while made < events {
        for n in 0..items {
            if made >= events {
                break;
            }
            if n % 50 == 49 {
                bodies.push(Body::Signoff {
                    item: format!("release.step-{n:04}"),
                    status: SignoffStatus::Done,
                    note: format!("done in round {round}"),
                    evidence: BTreeMap::new(),
                    signature: None,
                });
                made += 1;
                continue;
            }
            let item = format!("build.step-{n:04}");
            let run_id = format!("run-{round}-{n}");
            bodies.push(Body::RunStarted {
                item: item.clone(),
                run_id: run_id.clone(),
            });
            bodies.push(Body::Result {
                item,
                run_id: Some(run_id),
                status: if n % 97 == 0 { Status::Warn } else { Status::Pass },
                summary: format!("exited 0 after step {n} of round {round}"),
                evidence: serde_json::json!({"command": "true", "exit_code": 0, "output_lines": 12}),
                started_at: Some("2026-11-26T07:00:00Z".into()),
                duration_ms: 12 + (n as u64 % 40),
                attempts: 1,
                output: None,
            });
            made += 2;
        }
        round += 1;
    }
    for chunk in bodies.chunks(500) {
        store
            .append_many(&id, "alice@example.com", chunk, &[])
            .await
            .expect("appends");
    }
    store.close().await;
    println!("{id}");
    ExitCode::SUCCESS
}
