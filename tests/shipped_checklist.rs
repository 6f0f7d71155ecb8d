//! The shipped checklist: lints clean, holds every item id of the product's table with its
//! kind, and carries the environment rules PRODUCT.md asks for. Its deployment specifics
//! (variable names, paths) appear nowhere in `src/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use relcon::checklist::Checklist;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Checklist {
    Checklist::load(&root().join("checklists/authjs-neon.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// PRODUCT.md's table: id and kind.
const ITEMS: &[(&str, &str)] = &[
    ("backup.snapshot", "manual"),
    ("migration.apply", "sql.migration"),
    ("migration.idempotent", "sql.migration"),
    ("migration.ci-runner", "manual"),
    ("secrets.auth-secret", "env"),
    ("secrets.neon-conn", "env"),
    ("secrets.oauth", "env"),
    ("secrets.email", "env"),
    ("obs.sentry", "env"),
    ("security.node-env", "env"),
    ("security.https-url", "env"),
    ("security.trust-host", "env"),
    ("security.tls", "tls"),
    ("security.cookies", "cookies"),
    ("security.no-dev-secrets", "scan"),
    ("security.no-committed-secrets", "scan"),
    ("db.least-privilege", "sql.role"),
    ("db.adapter", "authjs.adapter"),
    ("ci.image-published", "manual"),
    ("ci.no-hardcoded-secrets", "scan"),
    ("e2e.oauth-redirect", "manual"),
    ("e2e.oauth-callbacks", "http"),
    ("e2e.signin-flows", "manual"),
    ("obs.request-id", "http"),
    ("obs.logs-aggregated", "manual"),
    ("health.live", "http"),
    ("health.ready", "http"),
    ("health.workers", "manual"),
    ("deploy.version", "http"),
    ("smoke.session-anon", "http"),
    ("smoke.session", "authjs.session"),
    ("rollback.plan", "manual"),
];

#[test]
fn lint_passes_with_a_one_line_summary() {
    let output = Command::new(env!("CARGO_BIN_EXE_relcon"))
        .args(["lint", "checklists/authjs-neon.toml"])
        .current_dir(root())
        .output()
        .expect("relcon runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("checklists/authjs-neon.toml: ok: 32 items in 11 sections, 2 environments (staging, production); kinds: env 8, http 6,"), "{stdout}");
}

#[test]
fn lint_defaults_to_the_shipped_checklist() {
    let output = Command::new(env!("CARGO_BIN_EXE_relcon"))
        .arg("lint")
        .current_dir(root())
        .output()
        .expect("relcon runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains(": ok: 32 items"));
}

#[test]
fn unreadable_file_is_bad_input() {
    let output = Command::new(env!("CARGO_BIN_EXE_relcon"))
        .args(["lint", "no/such/checklist.toml"])
        .output()
        .expect("relcon runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr)
        .starts_with("error: cannot read no/such/checklist.toml: "));
}

#[test]
fn holds_every_product_item_with_its_kind() {
    let checklist = shipped();
    let ids: Vec<(&str, &str)> = checklist
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.kind.name))
        .collect();
    let mut expected = ITEMS.to_vec();
    let mut actual = ids.clone();
    expected.sort_unstable();
    actual.sort_unstable();
    assert_eq!(actual, expected);
    assert!(
        checklist.items.iter().all(|i| i.help.len() > 80),
        "every item explains what, why and what to do"
    );
}

#[test]
fn environments_follow_the_product_rules() {
    let checklist = shipped();
    assert_eq!(checklist.default_environment.as_deref(), Some("staging"));
    assert!(checklist
        .environment("production")
        .is_some_and(|e| e.production));
    assert!(checklist
        .environment("staging")
        .is_some_and(|e| !e.production));
    // Production sign-offs are signed by keys the repository's allowed_signers lists.
    let production = checklist.environment("production").expect("production");
    assert!(production.require_signed_signoffs);
    assert_eq!(
        production.allowed_signers.as_deref(),
        Some("allowed_signers")
    );
    assert!(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("checklists/allowed_signers")
        .is_file());
    assert!(!checklist
        .environment("staging")
        .is_some_and(|e| e.require_signed_signoffs));
    let item = |id: &str| checklist.item(id).unwrap_or_else(|| panic!("{id}"));
    for id in ["backup.snapshot", "rollback.plan"] {
        let signoffs = |env| {
            item(id)
                .resolve(Some(env))
                .config
                .get("signoffs")
                .and_then(toml::Value::as_integer)
        };
        assert_eq!(signoffs("production"), Some(2), "{id}");
        assert_eq!(signoffs("staging"), None, "{id}: one signer in staging");
    }
    let apply = item("migration.apply");
    let production = apply.resolve(Some("production"));
    assert_eq!(production.needs, vec!["backup.snapshot"]);
    assert!(production.writes && production.retries == 0);
    let staging = apply.resolve(Some("staging"));
    assert!(staging.needs.is_empty() && !staging.writes);
    assert_eq!(item("db.adapter").only_in, vec!["staging"]);
    assert!(!item("db.adapter").runs_in("production"));
    assert_eq!(
        checklist
            .connections
            .iter()
            .find(|c| c.name == "migrate")
            .map(|c| c.from.clone()),
        Some(vec![
            "NEON_PG_CONN_MIGRATE".to_string(),
            "NEON_PG_CONN".to_string()
        ])
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn deployment_specifics_live_in_the_checklist_not_in_src() {
    let checklist = shipped();
    let mut specifics: Vec<String> = checklist.inputs.iter().map(|i| i.name.clone()).collect();
    specifics.extend(checklist.items.iter().filter_map(|i| {
        i.keys
            .get("file")
            .and_then(toml::Value::as_str)
            .map(String::from)
    }));
    specifics.extend(
        checklist
            .vars
            .iter()
            .map(|(_, value)| value.clone())
            .filter(|v| v.matches('/').count() > 1),
    );
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    // The sandbox is a stand-in deployment: it may know a deployment's paths.
    files.retain(|f| !f.starts_with(root().join("src/demo")));
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for name in &specifics {
            assert!(
                !text.contains(name.as_str()),
                "{} mentions `{name}`, which belongs in the checklist",
                file.display()
            );
        }
    }
}
