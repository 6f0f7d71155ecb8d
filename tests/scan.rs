//! Repository scans (`scan`) through the real binary on real git repositories made here:
//! the shipped checklist's three scan items on a clean Auth.js/Neon repository, each rule
//! found with its location, each look-alike left alone, a secret only in history, a shallow
//! clone, a directory that is not a checkout, and files a scanner must survive. Every
//! planted secret is a canary: none may appear in any output or the store.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{item, item_status as status, item_summary as summary, report, Ran};

/// A git repository in a temporary directory.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let repo = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "protocol.file.allow=always",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn write(&self, path: &str, text: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("dirs");
        std::fs::write(full, text).expect("writes");
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs the shipped checklist's `only` items (or the checklist at `checklist`) here.
    fn run(&self, only: &str, checklist: Option<&Path>) -> (Ran, serde_json::Value) {
        run_at(self.path(), only, checklist)
    }

    /// An existing checkout (kept by its owner).
    fn at(path: &Path) -> RepoAt {
        RepoAt(path.to_path_buf())
    }
}

/// A checkout somewhere else.
struct RepoAt(PathBuf);

impl RepoAt {
    fn run(&self, only: &str, checklist: Option<&Path>) -> (Ran, serde_json::Value) {
        run_at(&self.0, only, checklist)
    }
}

/// Runs the shipped checklist's `only` items (or the checklist at `checklist`) on the
/// checkout at `root`, with a store of its own; the store's bytes are appended to stderr,
/// so that canaries are searched there too.
fn run_at(root: &Path, only: &str, checklist: Option<&Path>) -> (Ran, serde_json::Value) {
    let store = tempfile::tempdir().expect("temp dir");
    let path = checklist.map_or_else(
        || common::repo().join("checklists/authjs-neon.toml"),
        Path::to_path_buf,
    );
    let ran: Ran = common::relcon()
        .arg("run")
        .arg(&path)
        .arg("--root")
        .arg(root)
        .args(["--only", only, "--json", "--headless"])
        .env("RELCON_STORE", common::store_in(store.path()))
        .env_remove("AUTH_SECRET")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("relcon runs")
        .into();
    let doc = report(&ran.stdout);
    let stored = std::fs::read_dir(store.path())
        .expect("the store dir")
        .flatten()
        .map(|e| String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default()).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let ran = Ran {
        stderr: format!("{}\n{stored}", ran.stderr),
        ..ran
    };
    (ran, doc)
}

const SCANS: &str = "security.no-dev-secrets,security.no-committed-secrets,ci.no-hardcoded-secrets";

/// A clean Auth.js/Neon repository, with every look-alike a scanner must leave alone.
fn clean_repo() -> Repo {
    let repo = Repo::new();
    repo.write(
        "package.json",
        r#"{"name": "app", "dependencies": {"next-auth": "5.0.0"}}"#,
    );
    repo.write(".gitignore", "node_modules/\n.env.local\n.dev.vars\n");
    repo.write(
        ".env.example",
        "AUTH_SECRET=\nNEON_PG_CONN=\nAUTH_GITHUB_SECRET=<your-secret>\nRESEND_API_KEY=changeme\n",
    );
    repo.write(
        "auth.ts",
        "export const { handlers } = NextAuth({ secret: process.env.AUTH_SECRET, providers: [] });\nconst token = uuid.v7().toString();\nconst passwordMinLength = 12;\n",
    );
    repo.write(
        ".github/workflows/ci.yml",
        "env:\n  DATABASE_URL: postgres://postgres:postgres@localhost:5432/test\n  DB2: postgresql://app:app@postgres:5432/app\n  AUTH_SECRET: ${{ secrets.AUTH_SECRET }}\n  NEXTAUTH_SECRET: ${NEXTAUTH_SECRET}\n",
    );
    repo.write(
        ".github/actions/setup/action.yml",
        "runs:\n  using: composite\n  steps:\n    - run: echo \"${{ inputs.token }}\"\n",
    );
    repo.write(
        "README.md",
        "Set `DATABASE_URL=postgresql://user:password@ep-example.neon.tech/db` and\n`AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE` (the docs' example).\nEmail from noreply@example.com.\n",
    );
    repo.write(
        ".env.production",
        "EMAIL_FROM=noreply@example.com\nAUTH_URL=https://app.example.com\n",
    );
    repo.write(
        "node_modules/lib/index.js",
        "const k = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';\n",
    );
    repo.git(&["add", "-f", "node_modules/lib/index.js"]);
    repo.write(
        "public/logo.png",
        [0x89, b'P', b'N', b'G', 0, 0, 0, 13, b'I', b'H', b'D', b'R'],
    );
    // Local files: ignored, so not committed, so not findings.
    repo.write(".env.local", "AUTH_SECRET=devsecret\n");
    repo.write(".dev.vars", "AUTH_SECRET=devsecret\n");
    repo.commit("clean");
    repo
}

fn locations(doc: &serde_json::Value, id: &str) -> Vec<String> {
    item(doc, id)["evidence"]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["allowed"].is_null())
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap_or_default(),
                f["location"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn assert_hidden(ran: &Ran, canaries: &[&str]) {
    for canary in canaries {
        assert!(!ran.stdout.contains(canary), "{canary} reached stdout");
        assert!(
            !ran.stderr.contains(canary),
            "{canary} reached stderr or the store"
        );
    }
}

#[test]
fn a_clean_repository_passes_all_three_and_its_look_alikes_are_left_alone() {
    let repo = clean_repo();
    let (ran, doc) = repo.run(SCANS, None);
    for id in SCANS.split(',') {
        assert_eq!(
            status(&doc, id),
            "pass",
            "{id}: {} {:?}",
            summary(&doc, id),
            locations(&doc, id)
        );
    }
    let evidence = &item(&doc, "security.no-committed-secrets")["evidence"];
    assert_eq!(evidence["skipped"]["binary"], 1);
    assert_eq!(evidence["skipped"]["vendored"], 1);
    assert_eq!(evidence["history"], "scanned");
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// Planted secrets: (file, line text, rule). Values are random-looking and made up.
const PLANTED: &[(&str, &str, &str)] = &[
    ("config/key.pem", "-----BEGIN RSA PRIVATE KEY-----", "private-key"),
    ("scripts/deploy.sh", "export GH=ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ9876543", "github-token"),
    ("lib/google.ts", "const clientSecret = \"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\";", "google-oauth-secret"),
    ("infra/aws.env", "AWS_ACCESS_KEY_ID=AKIAQ4TJ7XW2NPLR5VZB", "aws-access-key"),
    ("ops/slack.json", "{\"hook\": \"xoxb-123456789012-abcdefABCDEF12\"}", "slack-token"),
    ("lib/mail.ts", "const resend = new Resend(\"re_Qm4vT9xL_7KpW2sN8bR5cY1fH6jD3gZ0\");", "resend-api-key"),
    ("sentry.ts", "dsn: \"https://4f1a9c2e8b7d6a5f4e3d2c1b0a9f8e7d:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b@o12.ingest.sentry.io/3\",", "sentry-dsn-secret"),
    ("tests/session.txt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIiwiZXhwIjo0MTAwMDAwMDAwfQ.Xk9vQ2mR7tL4pW8sZ1yB6nC3", "jwt"),
    ("apps/web/.env.production", "AUTH_SECRET=Qz8vK3mX9pL2wT7rB4nY6cF1hJ5sD0gA", "named-secret"),
    ("lib/db.ts", "const url = \"postgresql://app:Tq7Lm2Xw9Kp4Vz8R@ep-silent-3.eu-central-1.aws.neon.tech/neondb\";", "connection-string"),
    ("lib/pay.ts", "STRIPE_API_TOKEN = \"sk8Hq2Lm5Xw9Vp3Kz7Rt4Yn\"", "generic-secret"),
    (".github/actions/deploy/action.yml", "      NPM_TOKEN: npm9Fq2Lx7Kw4Vm8Tz3Rp6Yb", "generic-secret"),
];

fn secret_of(line: &str) -> &str {
    // The longest run of secret-ish characters: what the canary is.
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .max_by_key(|s| s.len())
        .unwrap_or_default()
}

#[test]
fn each_rule_finds_its_secret_with_file_and_line_and_never_shows_it() {
    let repo = clean_repo();
    for (path, line, _) in PLANTED {
        repo.write(path, format!("# a file\n{line}\n"));
    }
    repo.commit("planted");
    let (ran, doc) = repo.run(
        "security.no-committed-secrets,ci.no-hardcoded-secrets",
        None,
    );
    assert_eq!(status(&doc, "security.no-committed-secrets"), "fail");
    let found = locations(&doc, "security.no-committed-secrets");
    for (path, _, rule) in PLANTED {
        let wanted = format!("{rule} {path}:2");
        assert!(found.contains(&wanted), "{wanted} not in {found:?}");
    }
    assert_eq!(found.len(), PLANTED.len(), "{found:?}");
    assert_eq!(status(&doc, "ci.no-hardcoded-secrets"), "fail");
    assert_eq!(
        locations(&doc, "ci.no-hardcoded-secrets"),
        vec!["generic-secret .github/actions/deploy/action.yml:2".to_string()]
    );
    let canaries: Vec<&str> = PLANTED
        .iter()
        .filter(|(_, _, rule)| *rule != "private-key")
        .map(|(_, line, _)| secret_of(line))
        .collect();
    assert_hidden(&ran, &canaries);
}

#[test]
fn a_secret_removed_since_is_found_in_history_with_the_commit_that_introduced_it() {
    let repo = clean_repo();
    let password = "Hx7Kq2Vm9Lp4Tz8W";
    repo.write(
        ".env",
        format!("NEON_PG_CONN=postgresql://app:{password}@ep-a-1.aws.neon.tech/db\n"),
    );
    repo.git(&["add", "-f", ".env"]);
    let introduced = repo.commit("oops");
    repo.git(&["rm", "-q", "--cached", ".env"]);
    std::fs::remove_file(repo.path().join(".env")).expect("removes");
    repo.commit("remove it");
    let (ran, doc) = repo.run("security.no-committed-secrets", None);
    assert_eq!(status(&doc, "security.no-committed-secrets"), "fail");
    let said = summary(&doc, "security.no-committed-secrets");
    assert!(said.contains(".env:1 in history"), "{said}");
    assert!(said.contains(&introduced[..12]), "{said}");
    assert_hidden(&ran, &[password]);
    // A shallow clone cannot see it: warn, never a silent pass.
    let shallow = tempfile::tempdir().expect("temp dir");
    let clone = shallow.path().join("clone");
    let url = format!("file://{}", repo.path().display());
    let out = Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(&clone)
        .output()
        .expect("git clones");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, doc) = Repo::at(&clone).run("security.no-committed-secrets", None);
    assert_eq!(status(&doc, "security.no-committed-secrets"), "warn");
    assert!(summary(&doc, "security.no-committed-secrets")
        .contains("history not scanned: shallow clone"));
}

#[test]
fn a_directory_that_is_not_a_checkout_is_an_error_never_a_pass() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(".env"), "AUTH_SECRET=devsecret\n").expect("writes");
    let (_, doc) = Repo::at(dir.path()).run(SCANS, None);
    for id in SCANS.split(',') {
        assert_eq!(status(&doc, id), "error", "{id}");
        assert!(
            summary(&doc, id).contains("not a git repository"),
            "{}",
            summary(&doc, id)
        );
    }
}

#[test]
fn dev_defaults_are_found_in_committed_env_files_as_values_only() {
    let repo = clean_repo();
    repo.write(
        "apps/web/.env.production",
        "# AUTH_SECRET=devsecret (a comment)\nexport AUTH_SECRET=\"dev-secret\"\nEMAIL_FROM=noreply@example.com\nSESSION_NAME=changeme-sessions\n",
    );
    repo.write(
        "wrangler.toml",
        "name = \"app\"\n[vars]\nAPI_KEY = \"changeme\"\n[env.production]\nroute = \"changeme\"\n",
    );
    repo.write(".env", "DB_PASSWORD=password123-local\n");
    repo.git(&["add", "-f", ".env"]);
    repo.commit("dev values");
    let (ran, doc) = repo.run("security.no-dev-secrets", None);
    assert_eq!(status(&doc, "security.no-dev-secrets"), "fail");
    let mut found = locations(&doc, "security.no-dev-secrets");
    found.sort();
    assert_eq!(
        found,
        vec![
            "dev-default .env:1".to_string(),
            "dev-default apps/web/.env.production:2".to_string(),
            "dev-default wrangler.toml:3".to_string(),
        ]
    );
    assert_hidden(&ran, &["password123-local"]);
}

#[test]
fn findings_allowed_inline_or_by_the_checklist_are_reported_as_allowed() {
    let repo = clean_repo();
    repo.write(
        "tests/fixtures/tokens.ts",
        "export const t = \"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0LTEyMyJ9.Qm9vS2xL4pW8sZ1yB6nC3vT\";\n",
    );
    repo.write(
        "lib/legacy.ts",
        "const API_TOKEN = \"Zr7Pq3Lx9Vm2Kw8T\"; // relcon:allow generic-secret revoked in 2024, kept for the migration test\nconst OTHER_TOKEN = \"Wq4Nx8Lm2Vz7Kp3R\"; // relcon:allow generic-secret\n",
    );
    repo.commit("fixtures");
    let checklist = repo.path().join("scan.toml");
    std::fs::write(
        &checklist,
        format!(
            "{}\n[[item]]\nid = \"s\"\nsection = \"Checks\"\ntitle = \"No secrets\"\nkind = \"scan\"\nhelp = \"h\"\npaths = [\"**/*\"]\nrules = [\"secrets\"]\nallow = [{{ rule = \"jwt\", path = \"tests/fixtures/**\", reason = \"signed with a test key\" }}]\n",
            common::HEADER
        ),
    )
    .expect("writes");
    let (_, doc) = repo.run("s", Some(&checklist));
    // The comment without a reason does not allow its line.
    assert_eq!(
        locations(&doc, "s"),
        vec!["generic-secret lib/legacy.ts:2".to_string()]
    );
    let allowed: Vec<String> = item(&doc, "s")["evidence"]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["allowed"].as_str().map(String::from))
        .collect();
    assert_eq!(allowed.len(), 2, "{allowed:?}");
    assert!(allowed.iter().any(|a| a.contains("signed with a test key")));
    assert!(allowed.iter().any(|a| a.contains("revoked in 2024")));
}

#[test]
fn long_lines_binaries_symlinks_non_utf8_files_and_submodules_are_survived() {
    let repo = clean_repo();
    // A 10 MB line: skipped as too large, counted.
    repo.write("data/huge.txt", "x".repeat(10 * 1024 * 1024));
    // A binary file with a secret inside: skipped as binary.
    let mut binary = vec![0u8, 1, 2, 3];
    binary.extend_from_slice(b"AUTH_SECRET=Bn3Kq8Lx2Vm7Wz4Rt9Yp5Hc1");
    repo.write("bin/blob.bin", binary);
    // A symbolic link loop, and a link out of the repository: never followed.
    std::os::unix::fs::symlink("loop", repo.path().join("loop")).expect("a link");
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("passwd")).expect("a link");
    // A file that is not UTF-8, with a secret in it: still found.
    let mut latin1 = b"caf\xe9\n".to_vec();
    latin1.extend_from_slice(b"AUTH_SECRET=Jd6Vn1Qx8Lm3Tz5Kw2Rb7Ys4\n");
    repo.write("legacy/latin1.conf", latin1);
    repo.commit("odd files");
    // A submodule (a gitlink): left alone.
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},vendor/sub"),
    ]);
    repo.git(&["commit", "-q", "-m", "submodule"]);
    let (ran, doc) = repo.run("security.no-committed-secrets", None);
    assert_eq!(
        locations(&doc, "security.no-committed-secrets"),
        vec!["named-secret legacy/latin1.conf:2".to_string()]
    );
    let skipped = &item(&doc, "security.no-committed-secrets")["evidence"]["skipped"];
    assert_eq!(skipped["too_large"], 1, "{skipped}");
    assert_eq!(skipped["binary"], 2, "{skipped}");
    assert_hidden(&ran, &["Jd6Vn1Qx8Lm3Tz5Kw2Rb7Ys4", "root:x:0:0"]);
}
