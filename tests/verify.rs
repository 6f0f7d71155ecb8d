//! Signed reports and sign-offs, end to end with the real binary and the real `ssh-keygen`:
//! a production release with two signed sign-offs, exported and signed, verifies with
//! `ssh-keygen -Y verify` and with `relcon verify`; a report signed by `ssh-keygen -Y sign`
//! verifies in relcon; and every tampering is named: a status flipped, a note edited, an
//! event dropped, two events swapped, the head changed, the chain recomputed after an edit,
//! a key not listed, an expired principal, a wrong namespace, a sign-off's signature moved
//! to another item. One key cannot stand for two people, and where signatures are required
//! an unsigned sign-off is refused.

mod common;

use std::path::{Path, PathBuf};

use common::{Backend, Place, Ran};

#[path = "sshsig/kit.rs"]
#[allow(dead_code)]
mod kit;

/// A production checklist with one automated item and a backup two people sign, signed.
fn checklist() -> String {
    format!(
        "{}default_environment = \"production\"\n\n[environments.production]\nproduction = true\nrequire_signed_signoffs = true\nallowed_signers = \"allowed_signers\"\n\n[environments.production.overrides.backup]\nsignoffs = 2\n{}\n[[item]]\nid = \"backup\"\nsection = \"Checks\"\ntitle = \"Backup\"\nkind = \"manual\"\nhelp = \"Take it.\"\nevidence = [{{ key = \"snapshot_id\", label = \"Snapshot\" }}]\n\n[[item]]\nid = \"notes\"\nsection = \"Checks\"\ntitle = \"Notes\"\nkind = \"manual\"\nhelp = \"Write them.\"\n",
        common::HEADER,
        common::command_item("build", "echo built", "bake = true")
    )
}

/// A release worked by alice and bob, each with a key of their own, and carol's key that
/// nobody lists.
struct Release {
    place: Place,
    lab: kit::Lab,
    alice: PathBuf,
    bob: PathBuf,
    carol: PathBuf,
    allowed: PathBuf,
    session: String,
}

impl Release {
    fn new(backend: Backend) -> Self {
        let place = Place::new(backend);
        let lab = kit::Lab::new();
        let (alice, bob, carol) = (
            lab.key("alice", "ed25519"),
            lab.key("bob", "ecdsa"),
            lab.key("carol", "ed25519"),
        );
        let line = |who: &str, key: &Path| {
            format!(
                "{who} namespaces=\"relcon-report,relcon-signoff\" {}",
                kit::key_text(key)
            )
        };
        let allowed = format!(
            "{}\n{}\n",
            line("alice@example.com", &alice),
            line("bob@example.com", &bob)
        );
        place.write("allowed_signers", &allowed);
        let allowed = place.path().join("allowed_signers");
        let path = place.write("c.toml", &checklist());
        let ran = place.run(&["run", &path, "--json", "--as", "alice@example.com"]);
        let session = common::session_id(&common::report(&ran.stdout));
        Release {
            place,
            lab,
            alice,
            bob,
            carol,
            allowed,
            session,
        }
    }

    fn sign(&self, item: &str, by: &str, key: &Path, extra: &[&str]) -> Ran {
        let key = key.display().to_string();
        let mut args = vec![
            "signoff",
            item,
            "--session",
            &self.session,
            "--as",
            by,
            "--status",
            "done",
            "--sign-key",
            &key,
        ];
        args.extend(extra);
        self.place.run(&args)
    }

    fn export(&self, name: &str, key: &Path) -> PathBuf {
        let out = self.place.path().join(name);
        let key = key.display().to_string();
        let out_text = out.display().to_string();
        let ran = self.place.run(&[
            "export",
            "--session",
            &self.session,
            "--format",
            "json",
            "--out",
            &out_text,
            "--sign",
            &key,
            "--as",
            "alice@example.com",
        ]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        out
    }

    fn verify(&self, report: &Path, extra: &[&str]) -> Ran {
        let (report, allowed) = (
            report.display().to_string(),
            self.allowed.display().to_string(),
        );
        let mut args = vec!["verify", &report, "--allowed-signers", &allowed];
        args.extend(extra);
        self.place.run(&args)
    }
}

fn signed_release(backend: Backend) -> (Release, PathBuf) {
    let release = Release::new(backend);
    let first = release.sign(
        "backup",
        "alice@example.com",
        &release.alice,
        &["--evidence", "snapshot_id=br-7"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    // One key cannot stand for two people.
    let twice = release.sign(
        "backup",
        "bob@example.com",
        &release.alice,
        &["--evidence", "snapshot_id=br-7"],
    );
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    assert!(
        twice.stderr.contains("cannot sign with")
            || twice.stderr.contains("one key stands for one person"),
        "{}",
        twice.stderr
    );
    let second = release.sign(
        "backup",
        "bob@example.com",
        &release.bob,
        &["--evidence", "snapshot_id=br-7"],
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    let notes = release.sign("notes", "bob@example.com", &release.bob, &[]);
    assert_eq!(notes.code, 0, "{}", notes.stderr);
    let report = release.export("report.json", &release.alice);
    (release, report)
}

fn a_signed_release_verifies_with_ssh_keygen_and_relcon(backend: Backend) {
    let (release, report) = signed_release(backend);
    let sig = release.place.path().join("report.json.sig");
    assert!(kit::keygen_verifies(
        &release.allowed,
        "alice@example.com",
        "relcon-report",
        &sig,
        &report,
        None
    ));
    let checklist = release.place.path().join("c.toml").display().to_string();
    let ran = release.verify(&report, &["--checklist", &checklist]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    for said in [
        "✓ report signature: by alice@example.com",
        "✓ event chain",
        "✓ verdict and counts recomputed from the events: go",
        "✓ sign-off of backup by alice@example.com",
        "✓ sign-off of backup by bob@example.com",
        "✓ checklist: the file is the one the session ran",
    ] {
        assert!(ran.stdout.contains(said), "{said}:\n{}", ran.stdout);
    }
}

crate::on_both_backends!(a_signed_release_verifies_with_ssh_keygen_and_relcon);

/// The report edited by `edit`, its signature kept.
fn tampered(
    release: &Release,
    report: &Path,
    name: &str,
    edit: impl Fn(&mut serde_json::Value),
) -> PathBuf {
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("the report")).expect("JSON");
    edit(&mut doc);
    let out = release.place.path().join(name);
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&doc).expect("JSON") + "\n",
    )
    .expect("writes");
    std::fs::copy(
        release.place.path().join("report.json.sig"),
        release.place.path().join(format!("{name}.sig")),
    )
    .expect("the signature");
    out
}

/// The lines of `relcon verify` that fail.
fn failures(ran: &Ran) -> Vec<String> {
    ran.stdout
        .lines()
        .filter(|l| l.starts_with('✗'))
        .map(String::from)
        .collect()
}

fn entries(doc: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    doc["events"]["entries"].as_array_mut().expect("entries")
}

/// Recomputes every hash and link of the report's entries, and its head, as a forger who
/// edited events would.
fn rechain(doc: &mut serde_json::Value) {
    let mut prev = relcon::session::chain::GENESIS.to_string();
    for entry in entries(doc).iter_mut() {
        let parsed: relcon::session::EventEntry =
            serde_json::from_value(entry.clone()).expect("an entry");
        let mut stored = parsed.stored().expect("stored");
        stored.prev_hash = prev.clone();
        stored.hash = relcon::session::chain::hash(
            &stored.session,
            stored.seq,
            &stored.at,
            &stored.actor,
            &stored.kind,
            &stored.payload_json,
            &stored.prev_hash,
        );
        prev = stored.hash.clone();
        *entry = serde_json::to_value(stored.entry()).expect("JSON");
    }
    doc["events"]["head"] = prev.into();
}

#[test]
fn every_tampering_is_named() {
    let (release, report) = signed_release(Backend::Sqlite);
    let index_of = |doc: &serde_json::Value, kind: &str| {
        doc["events"]["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .position(|e| e["type"] == kind)
            .expect("such an event")
    };
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "status.json",
            Box::new(|doc| doc["items"][0]["status"] = "fail".into()),
            "items: build (status: the report says \"fail\", its events \"pass\") not as their events say",
        ),
        (
            "verdict.json",
            Box::new(|doc| {
                doc["verdict"] = "no-go".into();
                doc["counts"]["fail"] = 1.into();
            }),
            "verdict and counts: the report says no-go (",
        ),
        (
            "note.json",
            Box::new(move |doc| {
                let at = index_of(doc, "signoff");
                entries(doc)[at]["payload"]["note"] = "edited".into();
            }),
            "does not match its hash (edited)",
        ),
        (
            "dropped.json",
            Box::new(|doc| {
                entries(doc).remove(2);
            }),
            "(deleted, inserted or reordered)",
        ),
        (
            "swapped.json",
            Box::new(|doc| entries(doc).swap(2, 3)),
            "(deleted, inserted or reordered)",
        ),
        (
            "head.json",
            Box::new(|doc| doc["events"]["head"] = "0".repeat(64).into()),
            "not the event the recorded head names",
        ),
    ];
    for (name, edit, said) in cases {
        let out = tampered(&release, &report, name, edit);
        let ran = release.verify(&out, &[]);
        assert_eq!(ran.code, 1, "{name}: {}", ran.stdout);
        let failed = failures(&ran);
        assert!(
            failed.iter().any(|f| f.starts_with("✗ report signature")),
            "{name}: the signature catches every edit:\n{}",
            ran.stdout
        );
        assert!(
            failed.iter().any(|f| f.contains(said)),
            "{name}: expected «{said}»:\n{}",
            ran.stdout
        );
        assert!(ran.stderr.starts_with("INVALID: "), "{}", ran.stderr);
        // OpenSSH agrees that the edited bytes are not what was signed.
        assert!(!kit::keygen_verifies(
            &release.allowed,
            "alice@example.com",
            "relcon-report",
            &release.place.path().join(format!("{name}.sig")),
            &out,
            None
        ));
    }
}

#[test]
fn a_chain_recomputed_after_an_edit_is_caught_by_the_signature() {
    let (release, report) = signed_release(Backend::Sqlite);
    let out = tampered(&release, &report, "rehashed.json", |doc| {
        // Edit the last event's note and recompute its hash and the head, as a forger would.
        let last = entries(doc).len() - 1;
        let entry: relcon::session::EventEntry =
            serde_json::from_value(entries(doc)[last].clone()).expect("an entry");
        let mut stored = entry.stored().expect("stored");
        stored.payload_json = stored
            .payload_json
            .replace("\"note\":\"\"", "\"note\":\"forged\"");
        stored.hash = relcon::session::chain::hash(
            &stored.session,
            stored.seq,
            &stored.at,
            &stored.actor,
            &stored.kind,
            &stored.payload_json,
            &stored.prev_hash,
        );
        entries(doc)[last] = serde_json::to_value(stored.entry()).expect("JSON");
        doc["events"]["head"] = stored.hash.into();
    });
    let ran = release.verify(&out, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let failed = failures(&ran);
    assert!(
        failed.iter().any(|f| f.starts_with("✗ report signature")),
        "{}",
        ran.stdout
    );
}

#[test]
fn keys_principals_and_namespaces_are_judged() {
    let (release, report) = signed_release(Backend::Sqlite);
    // Signed by a key nobody lists.
    let by_carol = release.export("carol.json", &release.carol);
    let ran = release.verify(&by_carol, &[]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.stdout
            .contains("a key the allowed signers do not list for relcon-report"),
        "{}",
        ran.stdout
    );
    // A signature made for another namespace (of a copy: ssh-keygen writes COPY.sig).
    let copy = release.place.path().join("copy.json");
    std::fs::copy(&report, &copy).expect("copies");
    let elsewhere = kit::keygen_sign(&release.alice, "file", &copy);
    let elsewhere = elsewhere.display().to_string();
    let ran = release.verify(&report, &["--sig", &elsewhere]);
    assert_eq!(ran.code, 1);
    assert!(ran.stdout.contains("namespace \"file\""), "{}", ran.stdout);
    // A principal whose validity ended: judged now it fails, judged at a time in its
    // window it holds.
    let expired = release.place.write(
        "expired_signers",
        &format!(
            "alice@example.com namespaces=\"relcon-report,relcon-signoff\",valid-before=\"20260101Z\" {}\nbob@example.com {}\n",
            kit::key_text(&release.alice),
            kit::key_text(&release.bob)
        ),
    );
    let report_text = report.display().to_string();
    let ran = release
        .place
        .run(&["verify", &report_text, "--allowed-signers", &expired]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let ran = release.place.run(&[
        "verify",
        &report_text,
        "--allowed-signers",
        &expired,
        "--at",
        "2025-06-01T00:00:00Z",
    ]);
    assert!(
        ran.stdout
            .contains("✓ report signature: by alice@example.com")
            && ran.stdout.contains("allowed at 2025-06-01T00:00:00Z"),
        "{}",
        ran.stdout
    );
    // Without allowed signers nothing is proven: refused.
    let ran = release.place.run(&["verify", &report_text]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    // A report signed by ssh-keygen itself verifies in relcon.
    let second = release.place.path().join("second.json");
    std::fs::copy(&report, &second).expect("copies");
    let by_keygen = kit::keygen_sign(&release.alice, "relcon-report", &second);
    let by_keygen = by_keygen.display().to_string();
    let ran = release.verify(&report, &["--sig", &by_keygen, "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
    assert_eq!(doc["valid"], true);
}

#[test]
fn a_sign_off_signature_moved_to_another_item_is_caught() {
    let (release, report) = signed_release(Backend::Sqlite);
    let out = tampered(&release, &report, "moved.json", |doc| {
        let list = entries(doc);
        let signed: Vec<usize> = list
            .iter()
            .enumerate()
            .filter(|(_, e)| e["type"] == "signoff")
            .map(|(i, _)| i)
            .collect();
        let (backup, notes) = (signed[1], signed[2]);
        let signature = list[backup]["payload"]["signature"].clone();
        list[notes]["payload"]["signature"] = signature;
        rechain(doc);
    });
    let ran = release.verify(&out, &[]);
    assert_eq!(ran.code, 1);
    let failed = failures(&ran);
    assert!(
        failed.iter().any(|f| f.starts_with("✗ report signature")),
        "{}",
        ran.stdout
    );
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("✗ sign-off of notes by bob@example.com")
                && f.contains("does not match the message")),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("✓ event chain"), "{}", ran.stdout);
}

#[test]
fn where_signatures_are_required_unsigned_and_unlisted_sign_offs_are_refused() {
    let release = Release::new(Backend::Sqlite);
    let unsigned = release.place.run(&[
        "signoff",
        "notes",
        "--session",
        &release.session,
        "--as",
        "bob@example.com",
        "--status",
        "done",
    ]);
    assert_eq!(unsigned.code, 2, "{}", unsigned.stderr);
    assert!(
        unsigned
            .stderr
            .contains("sign-offs in production must be signed"),
        "{}",
        unsigned.stderr
    );
    let unlisted = release.sign("notes", "carol@example.com", &release.carol, &[]);
    assert_eq!(unlisted.code, 2, "{}", unlisted.stderr);
    assert!(
        unlisted
            .stderr
            .contains("carol@example.com cannot sign with"),
        "{}",
        unlisted.stderr
    );
    // Someone else's key, for oneself.
    let borrowed = release.sign("notes", "bob@example.com", &release.alice, &[]);
    assert_eq!(borrowed.code, 2, "{}", borrowed.stderr);
    drop(release.lab);
}

#[test]
fn the_agent_signs_reports_and_sign_offs() {
    let release = Release::new(Backend::Sqlite);
    let agent = kit::Agent::start(&release.lab);
    agent.add(&release.alice);
    // The agent's key signs a sign-off when no key is named.
    let signed: Ran = release
        .place
        .relcon()
        .args([
            "signoff",
            "notes",
            "--session",
            &release.session,
            "--as",
            "alice@example.com",
            "--status",
            "done",
        ])
        .env("SSH_AUTH_SOCK", &agent.socket)
        .env_remove("RELCON_SIGNING_KEY")
        .output()
        .expect("relcon runs")
        .into();
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let out = release
        .place
        .path()
        .join("agent.json")
        .display()
        .to_string();
    let exported: Ran = release
        .place
        .relcon()
        .args([
            "export",
            "--session",
            &release.session,
            "--format",
            "json",
            "--out",
            &out,
            "--sign-agent",
        ])
        .env("SSH_AUTH_SOCK", &agent.socket)
        .output()
        .expect("relcon runs")
        .into();
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let ran = release.verify(Path::new(&out), &[]);
    assert!(
        ran.stdout
            .contains("✓ report signature: by alice@example.com")
            && ran
                .stdout
                .contains("✓ sign-off of notes by alice@example.com"),
        "{}",
        ran.stdout
    );
}

/// A bake's verdict is carried into the report and checked against its rounds: a report
/// whose bake outcome was edited (its chain recomputed, as a forger would) is named, and so
/// is one whose account of the bake differs from its events.
#[test]
fn a_bakes_verdict_is_recomputed_from_its_rounds() {
    let release = Release::new(Backend::Sqlite);
    for (item, by, key) in [
        ("backup", "alice@example.com", &release.alice),
        ("backup", "bob@example.com", &release.bob),
    ] {
        let signed = release.sign(item, by, key, &["--evidence", "snapshot_id=br-7"]);
        assert_eq!(signed.code, 0, "{}", signed.stderr);
    }
    let notes = release.sign("notes", "bob@example.com", &release.bob, &[]);
    assert_eq!(notes.code, 0, "{}", notes.stderr);
    let path = release.place.path().join("c.toml").display().to_string();
    let baked = release.place.run(&[
        "bake",
        &path,
        "--session",
        &release.session,
        "--for",
        "2s",
        "--every",
        "1s",
    ]);
    assert_eq!(baked.code, 0, "{}", baked.stderr);
    let report = release.export("report.json", &release.alice);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the report")).expect("JSON");
    assert_eq!(doc["bake"]["outcome"], "go");
    assert_eq!(doc["bake"]["rounds"], 2);
    assert_eq!(doc["bake"]["items"][0]["id"], "build");
    let ran = release.verify(&report, &[]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains("✓ bake: go (2 rounds over 2.0 s without a regression), as its 2 rounds say"),
        "{}",
        ran.stdout
    );

    let forged = tampered(&release, &report, "forged.json", |doc| {
        for entry in entries(doc).iter_mut() {
            if entry["type"] == "bake_ended" {
                entry["payload"]["outcome"] = "no-go".into();
                entry["payload"]["reason"] = "build failed 2 rounds in a row".into();
            }
        }
        rechain(doc);
        doc["bake"]["outcome"] = "no-go".into();
        doc["bake"]["reason"] = "build failed 2 rounds in a row".into();
    });
    let ran = release.verify(&forged, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        failures(&ran).contains(
            &"✗ bake: recorded no-go (build failed 2 rounds in a row), but none of its 2 rounds shows a regression".to_string()
        ),
        "{}",
        ran.stdout
    );

    let restated = tampered(&release, &report, "restated.json", |doc| {
        doc["bake"]["items"][0]["failures"] = 1.into();
    });
    let ran = release.verify(&restated, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        failures(&ran)
            .contains(&"✗ bake: the report's account of it is not what its events say".to_string()),
        "{}",
        ran.stdout
    );
}
