//! allowed_signers files read by relcon and by `ssh-keygen -Y`, compared on the same files,
//! keys, namespaces and times.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use relcon::sshsig::{AllowedSigners, AllowedSignersError, PublicKey};

use super::kit::*;

/// A time as `ssh-keygen -O verify-time=` takes it (UTC, `YYYYMMDD[HHMM[SS]]Z`), and the
/// same instant for relcon.
fn at(time: &str) -> SystemTime {
    let digits = time.strip_suffix('Z').expect("a UTC time");
    let padded = format!("{digits:0<14}");
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &padded[..4],
        &padded[4..6],
        &padded[6..8],
        &padded[8..10],
        &padded[10..12],
        &padded[12..14]
    );
    humantime::parse_rfc3339(&rfc3339).expect("a time")
}

/// The keys of the parity runs and one signature of each per namespace, by `ssh-keygen`.
struct Keys {
    lab: Lab,
    message: PathBuf,
    keys: Vec<(&'static str, PathBuf)>,
}

const NAMESPACES: [&str; 3] = [NS, "git", "relcon-signoff"];

impl Keys {
    fn new() -> Self {
        let lab = Lab::new();
        let keys = vec![
            ("ed", lab.key("ed", "ed25519")),
            ("ec", lab.key("ec", "ecdsa")),
            ("out", lab.key("out", "ed25519")),
        ];
        let message = lab.write("report.json", b"{\"verdict\":\"go\"}\n");
        for (name, key) in &keys {
            for namespace in NAMESPACES {
                let signature = keygen_sign(key, namespace, &message);
                std::fs::rename(signature, lab.path(&format!("{name}.{namespace}.sig")))
                    .expect("rename");
            }
        }
        Self { lab, message, keys }
    }

    fn signature(&self, name: &str, namespace: &str) -> PathBuf {
        self.lab.path(&format!("{name}.{namespace}.sig"))
    }

    /// `template` with `ED`, `EC` and `OUT` replaced by the keys.
    fn file(&self, name: &str, template: &str) -> (PathBuf, AllowedSigners) {
        let mut text = template.to_string();
        for (key_name, key) in &self.keys {
            text = text.replace(&format!("<{key_name}>"), &key_text(key));
        }
        let path = self.lab.write(name, &text);
        let parsed = AllowedSigners::from_file(&path).expect("relcon reads the file");
        (path, parsed)
    }
}

/// A file exercising part of the format, and the namespaces and times worth asking it.
struct Case {
    name: &'static str,
    template: &'static str,
    namespaces: &'static [&'static str],
    times: &'static [&'static str],
}

/// Files exercising the format: quoting, patterns, several keys, namespaces, validity,
/// option names in any case, comments and blank lines.
const FILES: [Case; 3] = [
    Case {
        name: "patterns",
        template: "# release signers: who may sign relcon reports\n\
                   \n\
                   \"alice@example.com,bob@example.com\" <ed> alice's laptop\n\
                   \t# an indented comment\n   \n\
                   *@ops.example.com,!mallory@ops.example.com <ec> ops team\n\
                   car?l@example.com <ed>\n\
                   \"quoted, spaced\" <ec>\n",
        namespaces: &[NS, "git"],
        times: &["20250101Z"],
    },
    Case {
        name: "namespaces",
        template: "alice@example.com NAMESPACES=\"relcon-*\",VALID-AFTER=\"20200101Z\" <ed>\n\
                   bob@example.com Namespaces=\"git,relcon-report\" <ec>\n\
                   git-only@example.com namespaces=\"git\" <ec>\n\
                   all@example.com namespaces=\"*,!relcon-signoff\" <ed>\n",
        namespaces: &NAMESPACES,
        times: &["20190601Z", "20250101Z"],
    },
    Case {
        name: "validity",
        template: "past@example.com valid-before=\"20200101Z\" <ed>\n\
                   future@example.com valid-after=\"20300101\" <ed>\n\
                   window@example.com valid-after=\"20240101Z\",valid-before=\"20260101120000Z\" <ed>\n\
                   local@example.com Valid-After=\"20100101\",Valid-Before=\"20330101\" <ec>\n\
                   !nobody@example.com,* <ec>\n",
        namespaces: &[NS],
        times: &[
            "20190601Z",
            "20231231235959Z",
            "20240101Z",
            "20250101Z",
            "20260101120000Z",
            "20260101120001Z",
            "20350101Z",
        ],
    },
];

const PRINCIPALS: [&str; 17] = [
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "carl@example.com",
    "dev@ops.example.com",
    "mallory@ops.example.com",
    "quoted",
    " spaced",
    "quoted, spaced",
    "git-only@example.com",
    "all@example.com",
    "past@example.com",
    "future@example.com",
    "window@example.com",
    "local@example.com",
    "nobody@example.com",
    "anyone",
];

#[test]
fn find_principals_agrees_with_ssh_keygen() {
    let keys = Keys::new();
    let (mut named, mut unnamed) = (0, 0);
    for case in &FILES {
        let (name, (path, signers)) = (case.name, keys.file(case.name, case.template));
        for (key_name, key) in &keys.keys {
            let signature = keys.signature(key_name, NS);
            for time in case.times.iter().copied() {
                let theirs = keygen_find_principals(&path, &signature, time);
                let ours = signers.find_principals(&public_key(key), NS, at(time));
                assert_eq!(ours, theirs, "{name}, key {key_name}, at {time}");
                if ours.is_empty() {
                    unnamed += 1;
                } else {
                    named += 1;
                }
            }
        }
    }
    assert!(
        named >= 10 && unnamed >= 3,
        "{named} named, {unnamed} not: both are tested"
    );
}

#[test]
fn check_agrees_with_ssh_keygen_verify() {
    let keys = Keys::new();
    std::thread::scope(|scope| {
        for case in &FILES {
            let keys = &keys;
            scope.spawn(move || {
                let (name, (path, signers)) = (case.name, keys.file(case.name, case.template));
                let (mut accepted, mut refused) = (0, 0);
                for (key_name, key) in &keys.keys {
                    let key = public_key(key);
                    for namespace in case.namespaces.iter().copied() {
                        let signature = keys.signature(key_name, namespace);
                        for time in case.times.iter().copied() {
                            for principal in PRINCIPALS {
                                let theirs = keygen_verifies(
                                    &path,
                                    principal,
                                    namespace,
                                    &signature,
                                    &keys.message,
                                    Some(time),
                                );
                                let ours = signers.check(principal, &key, namespace, at(time));
                                assert_eq!(
                                    ours.is_ok(),
                                    theirs,
                                    "{name}: {principal:?} with key {key_name} in {namespace} at {time}: relcon says {ours:?}"
                                );
                                if theirs {
                                    accepted += 1;
                                } else {
                                    refused += 1;
                                }
                            }
                        }
                    }
                }
                assert!(accepted > 10 && refused > 10, "{name}: {accepted} accepted, {refused} refused");
            });
        }
    });
}

#[test]
fn find_principals_skips_lines_whose_namespaces_exclude_it() {
    // OpenSSH 9.2's find-principals ignores namespaces=; relcon names only a principal that
    // `ssh-keygen -Y verify` would accept in that namespace.
    let keys = Keys::new();
    let (path, signers) = keys.file(
        "difference",
        "git-only@example.com namespaces=\"git\" <ed>\nalice@example.com <ed>\n",
    );
    let (ed, signature) = (&keys.keys[0].1, keys.signature("ed", NS));
    let now = "20250101Z";
    assert_eq!(
        keygen_find_principals(&path, &signature, now),
        ["git-only@example.com"]
    );
    assert!(!keygen_verifies(
        &path,
        "git-only@example.com",
        NS,
        &signature,
        &keys.message,
        Some(now)
    ));
    assert_eq!(
        signers.find_principals(&public_key(ed), NS, at(now)),
        ["alice@example.com"]
    );
    assert_eq!(
        signers.find_principals(&public_key(ed), "git", at(now)),
        ["git-only@example.com"]
    );
}

#[test]
fn check_refusals_say_which_condition_failed() {
    let keys = Keys::new();
    let (_, signers) = keys.file("validity", FILES[2].template);
    let (ed, out) = (public_key(&keys.keys[0].1), public_key(&keys.keys[2].1));
    let said = |principal: &str, key: &PublicKey, time: &str| {
        signers
            .check(principal, key, NS, at(time))
            .expect_err("refused")
            .to_string()
    };
    assert!(said("window@example.com", &out, "20250101Z").contains("is not in the allowed signers"));
    assert!(said("bob@example.com", &ed, "20250101Z").contains("not allowed for bob@example.com"));
    assert!(said("window@example.com", &ed, "20231231235959Z")
        .contains("valid only from 2024-01-01T00:00:00Z"));
    assert!(said("window@example.com", &ed, "20260101120001Z")
        .contains("expired at 2026-01-01T12:00:00Z"));
    let (_, namespaced) = keys.file("namespaces", FILES[1].template);
    let refusal = namespaced
        .check("alice@example.com", &ed, "git", at("20250101Z"))
        .expect_err("namespace");
    assert_eq!(
        refusal.to_string(),
        "line 1: the key of alice@example.com may sign only in namespaces \"relcon-*\", not \"git\""
    );
}

#[test]
fn cert_authority_lines_are_refused_naming_the_line() {
    let keys = Keys::new();
    let template = "# trusted\nalice@example.com <ed>\n*@example.com cert-authority <ec>\n";
    let mut text = template.to_string();
    for (name, key) in &keys.keys {
        text = text.replace(&format!("<{name}>"), &key_text(key));
    }
    let path = keys.lab.write("with_ca", &text);
    let error = AllowedSigners::from_file(&path).expect_err("refused");
    assert!(
        matches!(error, AllowedSignersError::Line { line: 3, .. }),
        "{error}"
    );
    let said = error.to_string();
    assert!(
        said.contains("line 3") && said.contains("certificates"),
        "{said}"
    );
    let missing = AllowedSigners::from_file(Path::new("/nonexistent/allowed_signers"));
    assert!(matches!(missing, Err(AllowedSignersError::Read { .. })));
}

#[test]
fn local_times_are_read_like_ssh_keygen_in_summer() {
    // Local times depend on the process's zone: run this check again in a child process of
    // this test binary with TZ set, so that relcon and ssh-keygen read the same zone.
    const CHILD: &str = "RELCON_SSHSIG_TZ_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let name = module_path!()
            .split_once("::")
            .map(|(_, m)| m)
            .unwrap_or_default();
        let test = format!("{name}::local_times_are_read_like_ssh_keygen_in_summer");
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", &test, "--nocapture"])
            .env(CHILD, "1")
            .env("TZ", "Europe/Berlin")
            .output()
            .expect("the test binary runs");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("1 passed"),
            "{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let keys = Keys::new();
    // 12:00 in Berlin in July: ssh-keygen reads it as standard time (11:00Z), not as the
    // summer wall clock (10:00Z); so must relcon, or a key's validity would differ by an
    // hour between the two.
    let (path, signers) = keys.file(
        "summer",
        "bob@example.com valid-after=\"20240701120000\",valid-before=\"20241231\" <ed>\n",
    );
    let (ed, signature) = (public_key(&keys.keys[0].1), keys.signature("ed", NS));
    let verdicts: Vec<(&str, bool)> = ["20240701095959Z", "20240701103000Z", "20240701110000Z"]
        .into_iter()
        .map(|time| {
            let theirs = keygen_verifies(
                &path,
                "bob@example.com",
                NS,
                &signature,
                &keys.message,
                Some(time),
            );
            let ours = signers.check("bob@example.com", &ed, NS, at(time));
            assert_eq!(ours.is_ok(), theirs, "at {time}: relcon says {ours:?}");
            let found = keygen_find_principals(&path, &signature, time);
            assert_eq!(
                signers.find_principals(&ed, NS, at(time)),
                found,
                "at {time}"
            );
            (time, theirs)
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("20240701095959Z", false),
            ("20240701103000Z", false),
            ("20240701110000Z", true)
        ],
        "the zone's standard time is in effect"
    );
}
