//! `relcon export`, with the real binary on both stores: a session's report in every
//! format, interim while the session is open and final once it is closed, with the whole
//! event log (enough to recompute the chain), the same bytes for the same head, recorded in
//! the session, and scrubbed of the secrets the exporting process knows, in every format,
//! without its structure ever rewritten.

mod common;

use common::{report, Backend, Place, HEADER};
use relcon::session::chain::verify_chain;
use relcon::session::EventEntry;

const CANARY: &str = "canary-7Hq2Lx9Wv4Rt1Zs8";

/// A checklist of a passing command, a secret input, and a manual item.
fn checklist() -> String {
    format!(
        "{HEADER}\n[inputs]\nTOKEN = {{ secret = true }}\n{}\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n",
        common::command_item("build", "echo built", "")
    )
}

/// A run of the checklist in `place`: the session's id.
fn session(place: &Place) -> String {
    let path = place.write("c.toml", &checklist());
    let ran = place.run(&["run", &path, "--json", "--as", "alice"]);
    common::session_id(&report(&ran.stdout))
}

fn export(place: &Place, session: &str, format: &str, out: &str, extra: &[&str]) -> common::Ran {
    let out = place.path().join(out).display().to_string();
    let mut args = vec![
        "export",
        "--session",
        session,
        "--format",
        format,
        "--out",
        &out,
        "--as",
        "bob",
    ];
    args.extend(extra);
    place.run(&args)
}

fn read(place: &Place, name: &str) -> String {
    std::fs::read_to_string(place.path().join(name)).expect("the export is written")
}

fn an_export_carries_the_log_says_interim_or_final_and_is_recorded(backend: Backend) {
    let place = Place::new(backend);
    let session = session(&place);
    let ran = export(&place, &session, "json", "r.json", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("(interim, "), "{}", ran.stderr);
    let doc = report(&read(&place, "r.json"));
    assert_eq!(doc["state"], "interim");
    let entries: Vec<EventEntry> =
        serde_json::from_value(doc["events"]["entries"].clone()).expect("entries");
    assert_eq!(
        entries.len() as i64,
        doc["events"]["count"].as_i64().expect("a count")
    );
    // Anyone can recompute the chain from the entries, up to the head the report names.
    let stored: Vec<_> = entries
        .iter()
        .map(|e| e.stored().expect("canonical"))
        .collect();
    let head = verify_chain(&session, &stored, None).expect("the chain verifies");
    assert_eq!(head.hash, doc["events"]["head"]);

    // The session records what was handed out; a closed session still takes exports.
    let closed = place.run(&["close", "--session", &session, "--as", "carol"]);
    assert_eq!(closed.code, 0, "{}", closed.stderr);
    let ran = export(&place, &session, "json", "final.json", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = report(&read(&place, "final.json"));
    assert_eq!(doc["state"], "final");
    let entries = doc["events"]["entries"].as_array().expect("entries");
    let exported: Vec<&serde_json::Value> =
        entries.iter().filter(|e| e["type"] == "exported").collect();
    assert_eq!(
        exported.len(),
        1,
        "the first export, recorded before the second"
    );
    assert_eq!(exported[0]["actor"], "bob");
    assert_eq!(exported[0]["payload"]["format"], "json");
    let first = std::fs::read(place.path().join("r.json")).expect("the first export");
    let digest: String = <sha2::Sha256 as sha2::Digest>::digest(&first)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(exported[0]["payload"]["sha256"], digest);

    // Every format writes.
    for (format, name) in [("md", "r.md"), ("html", "r.html"), ("junit", "r.xml")] {
        let ran = export(&place, &session, format, name, &[]);
        assert_eq!(ran.code, 0, "{format}: {}", ran.stderr);
        assert!(!read(&place, name).is_empty(), "{format}");
    }
    let junit = read(&place, "r.xml");
    assert!(
        junit.contains("<testcase") && junit.contains("build"),
        "{junit}"
    );
}

crate::on_both_backends!(an_export_carries_the_log_says_interim_or_final_and_is_recorded);

#[test]
fn two_exports_at_one_head_are_the_same_bytes() {
    let place = Place::new(Backend::Sqlite);
    let session = session(&place);
    // Each export is recorded, so the second export of one store has another head: two
    // copies of the store are exported once each.
    let copy = tempfile::tempdir().expect("temp dir");
    // With its write-ahead log, if the last process left one behind.
    for file in ["store.sqlite", "store.sqlite-wal"] {
        if place.path().join(file).exists() {
            std::fs::copy(place.path().join(file), copy.path().join(file))
                .expect("copies the store");
        }
    }
    let ran = export(&place, &session, "json", "a.json", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let out = copy.path().join("b.json").display().to_string();
    let other: common::Ran = common::relcon()
        .args([
            "export",
            "--session",
            &session,
            "--format",
            "json",
            "--out",
            &out,
        ])
        .args(["--as", "someone else"])
        .env("RELCON_STORE", common::store_in(copy.path()))
        .output()
        .expect("relcon runs")
        .into();
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert_eq!(
        read(&place, "a.json"),
        std::fs::read_to_string(copy.path().join("b.json")).expect("written")
    );
}

#[test]
fn exports_scrub_the_secrets_this_process_knows_in_every_format_and_keep_the_structure() {
    let place = Place::new(Backend::Sqlite);
    let session = session(&place);
    // A result recorded by a process that did not know the secret, quoting it, and a secret
    // as short as a status word.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let store = relcon::store::Store::open(&place.store)
            .await
            .expect("store");
        store
            .append(
                &session,
                "dave",
                &relcon::session::Body::Result {
                    item: "build".into(),
                    run_id: Some("run-dave".into()),
                    status: relcon::status::Status::Pass,
                    summary: format!("built with {CANARY}"),
                    evidence: serde_json::json!({ "echo": format!("token={CANARY}") }),
                    started_at: Some("2026-11-26T07:00:00Z".into()),
                    duration_ms: 5,
                    attempts: 1,
                    output: None,
                },
            )
            .await
            .expect("appends");
        store.close().await;
    });
    let env = place.write("secrets.env", &format!("TOKEN={CANARY}\n"));
    for (format, name) in [
        ("json", "s.json"),
        ("md", "s.md"),
        ("html", "s.html"),
        ("junit", "s.xml"),
    ] {
        let ran = export(&place, &session, format, name, &["--env-file", &env]);
        assert_eq!(ran.code, 0, "{format}: {}", ran.stderr);
        let text = read(&place, name);
        assert!(!text.contains(CANARY), "{format} leaks the secret:\n{text}");
        assert!(!ran.stderr.contains(CANARY), "{}", ran.stderr);
        assert!(ran.stderr.contains("were scrubbed"), "{}", ran.stderr);
    }
    let doc = report(&read(&place, "s.json"));
    let build = common::item(&doc, "build");
    assert!(
        build["summary"]
            .as_str()
            .is_some_and(|s| s.contains("[secret ")),
        "{build}"
    );
    assert!(!doc["events"]["redacted"]
        .as_array()
        .expect("the scrubbed events are named")
        .is_empty());

    // A secret that happens to be a status word leaves the document's structure alone.
    let short = place.write("short.env", "TOKEN=pass\n");
    let ran = export(
        &place,
        &session,
        "json",
        "short.json",
        &["--env-file", &short],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = report(&read(&place, "short.json"));
    assert_eq!(common::item(&doc, "build")["status"], "pass");
    assert_eq!(doc["schema"], "relcon.report/v1");
}

#[test]
fn exporting_a_session_that_is_not_there_is_bad_input() {
    let place = Place::new(Backend::Sqlite);
    // A store with another session in it.
    let path = place.write(
        "c.toml",
        &format!("{HEADER}{}", common::command_item("a", "true", "")),
    );
    assert_eq!(place.run(&["run", &path, "--headless"]).code, 0);
    let ran = export(&place, "nope", "json", "x.json", &[]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("no session nope"), "{}", ran.stderr);
    assert!(!place.path().join("x.json").exists());
}
