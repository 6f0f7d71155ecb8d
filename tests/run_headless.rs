//! `relcon run --headless`: the real binary on the shipped checklist and on small ones;
//! progress on stderr, the result document (validated against the schema), JUnit, the
//! verdict's exit code, scope flags, bad input, and canary secrets that must appear nowhere.

mod common;

use std::path::Path;

use common::{command_item, item, repo, report, run_in, HEADER};

const GOOD_ENV: &str = "\
AUTH_URL=https://127.0.0.1:1
AUTH_SECRET=Zq3vJ8kP2mX9rT5wY1bN7cF4hL6dS0gA8eU2iO5pK3=
NEON_PG_CONN=postgresql://app:app-password-1@ep-cool-1.eu-central-1.aws.neon.tech/neondb?sslmode=require
NODE_ENV=production
EMAIL_SIGNIN=true
RESEND_API_KEY=re_123456789abcdefghijk
SENTRY_DSN=https://abc123@o1.ingest.sentry.io/4504
";

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).expect("writes");
    dir.join(name).display().to_string()
}

/// `relcon run` of the shipped checklist's item `id` only, headless with the JSON report,
/// on the env file `deploy.env` in `dir` holding `env_file`.
fn shipped_only(dir: &Path, id: &str, env_file: &str) -> std::process::Command {
    let env = write(dir, "deploy.env", env_file);
    let mut command = common::relcon();
    command
        .args([
            "run",
            "--root",
            &repo().display().to_string(),
            "--headless",
            "--json",
        ])
        .args(["--only", id, "--env-file", &env])
        .current_dir(dir)
        .env("RELCON_STORE", common::store_in(dir));
    command
}

#[test]
fn the_shipped_checklist_judges_the_env_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = write(dir.path(), "good.env", GOOD_ENV);
    let root = repo().display().to_string();
    let ran = run_in(
        dir.path(),
        &[
            "run",
            "--root",
            &root,
            "--headless",
            "--json",
            "--env-file",
            &env,
            "--as",
            "tester@example.com",
        ],
    );
    let doc = report(&ran.stdout);
    assert_eq!(
        doc["session"]["environment"], "staging",
        "the default environment"
    );
    for id in [
        "secrets.auth-secret",
        "secrets.neon-conn",
        "secrets.email",
        "security.node-env",
        "security.https-url",
        "obs.sentry",
    ] {
        assert_eq!(item(&doc, id)["status"], "pass", "{id}: {}", item(&doc, id));
    }
    // A pass on configuration says what it rests on: what was supplied, not what runs.
    let secret = item(&doc, "secrets.auth-secret");
    assert!(
        secret["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("all rules met in the configuration supplied")),
        "{secret}"
    );
    assert!(secret["evidence"]["checked"]
        .as_str()
        .is_some_and(|s| s.ends_with("not read from the running deployment")));
    assert_eq!(
        item(&doc, "secrets.oauth")["status"],
        "skip",
        "no provider configured"
    );
    // This repository commits no env file, and the loaded values hold no dev default.
    let dev = item(&doc, "security.no-dev-secrets");
    assert_eq!(dev["status"], "pass", "{dev}");
    assert!(
        dev["summary"]
            .as_str()
            .is_some_and(|s| s.contains("and the loaded secret inputs")),
        "{dev}"
    );
    // The migration file is not under --root; the database is not reachable from here.
    let migration = item(&doc, "migration.apply");
    assert_eq!(migration["status"], "error");
    assert!(
        migration["summary"].as_str().is_some_and(|s| s.starts_with("cannot read ")
            && s.ends_with("services/backend/migrations/create_authjs_tables.sql: No such file or directory (os error 2)")),
        "{migration}"
    );
    let role = item(&doc, "db.least-privilege");
    assert_eq!(role["status"], "fail", "{role}");
    assert!(
        role["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("cannot connect to postgresql://app:***@ep-cool-1.")),
        "{role}"
    );
    assert!(!ran.stdout.contains("app-password-1") && !ran.stderr.contains("app-password-1"));
    // Nothing listens at the base URL: the network checks fail with the reason.
    for id in ["security.tls", "health.live", "security.cookies"] {
        assert_eq!(item(&doc, id)["status"], "fail", "{id}");
        let summary = item(&doc, id)["summary"].as_str().unwrap_or_default();
        assert!(summary.contains("connect"), "{id}: {summary}");
    }
    for id in ["backup.snapshot", "rollback.plan", "ci.image-published"] {
        assert_eq!(item(&doc, id)["status"], "pending", "{id}");
    }
    for id in ["db.adapter", "migration.idempotent", "smoke.session"] {
        assert_eq!(
            item(&doc, id)["status"],
            "blocked",
            "{id} needs migration.apply, which errored"
        );
        assert_eq!(item(&doc, id)["summary"], "needs migration.apply (error)");
    }
    assert_eq!(doc["verdict"], "no-go");
    assert_eq!(ran.code, 1);
    assert_eq!(
        doc["session"]["operators"],
        serde_json::json!(["tester@example.com"])
    );
    assert!(
        ran.stderr.contains("✔ pass    secrets.auth-secret"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("verdict: no-go")),
        "{}",
        ran.stderr
    );

    // The same deployment with a weak secret and plain-http database fails exactly those items.
    let weak = GOOD_ENV
        .replace("Zq3vJ8kP2mX9rT5wY1bN7cF4hL6dS0gA8eU2iO5pK3=", "devsecret")
        .replace("?sslmode=require", "");
    let env = write(dir.path(), "weak.env", &weak);
    let ran = run_in(
        dir.path(),
        &["run", "--root", &root, "--json", "--env-file", &env],
    );
    let doc = report(&ran.stdout);
    assert_eq!(item(&doc, "secrets.auth-secret")["status"], "fail");
    assert_eq!(item(&doc, "secrets.neon-conn")["status"], "fail");
    assert_eq!(item(&doc, "security.node-env")["status"], "pass");
}

#[test]
fn canary_secrets_appear_in_no_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let canaries = [
        "canary-auth-secret-7Hq9ZxP2",
        "canary-db-password-Lk3",
        "GOCSPX-canaryGoogleSecret0123456789",
        "canary-token-Wq8",
    ];
    let env = format!(
        "AUTH_URL=https://127.0.0.1:1\nAUTH_SECRET={}\nNEXTAUTH_SECRET={}x\nNEON_PG_CONN=postgres://app:{}@db.example.com/db\nGOOGLE_CLIENT_ID=1-abc.apps.googleusercontent.com\nGOOGLE_CLIENT_SECRET={}\nSMOKE_SESSION_TOKEN={}\n",
        canaries[0], canaries[0], canaries[1], canaries[2], canaries[3]
    );
    let env = write(dir.path(), "canary.env", &env);
    let junit = dir.path().join("junit.xml");
    let root = repo().display().to_string();
    let ran = run_in(
        dir.path(),
        &[
            "run",
            "--root",
            &root,
            "--json",
            "--junit",
            &junit.display().to_string(),
            "--env-file",
            &env,
        ],
    );
    report(&ran.stdout);
    let junit = std::fs::read_to_string(&junit).expect("junit written");
    for canary in canaries {
        for (name, text) in [
            ("stdout", &ran.stdout),
            ("stderr", &ran.stderr),
            ("junit", &junit),
        ] {
            assert!(!text.contains(canary), "{canary} leaked into {name}");
        }
    }

    // A command that prints a secret it was given: the line reaches the output scrubbed.
    let checklist = format!(
        "{HEADER}\n[inputs]\nTOKEN = {{ secret = true }}\n{}",
        command_item(
            "echo-secret",
            "echo \"token is $TOKEN\"; exit 1",
            "pass_secrets = [\"TOKEN\"]"
        )
    );
    let path = write(dir.path(), "echo.toml", &checklist);
    let env = write(dir.path(), "token.env", "TOKEN=canary-printed-secret-9\n");
    let ran = run_in(
        dir.path(),
        &[
            "run",
            &path,
            "--json",
            "--junit",
            "j.xml",
            "--env-file",
            &env,
        ],
    );
    let junit = std::fs::read_to_string(dir.path().join("j.xml")).expect("junit written");
    for text in [&ran.stdout, &ran.stderr, &junit] {
        assert!(!text.contains("canary-printed-secret-9"), "leaked: {text}");
    }
    assert!(ran.stderr.contains("token is [secret "), "{}", ran.stderr);
}

fn checklist_with(dir: &Path, items: &str) -> String {
    write(dir, "c.toml", &format!("{HEADER}{items}"))
}

#[test]
fn the_exit_code_follows_the_verdict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let go = checklist_with(
        dir.path(),
        &(command_item("a", "true", "") + &command_item("b", "true", "")),
    );
    assert_eq!(run_in(dir.path(), &["run", &go]).code, 0);
    let no_go = checklist_with(
        dir.path(),
        &(command_item("a", "true", "") + &command_item("b", "false", "")),
    );
    assert_eq!(run_in(dir.path(), &["run", &no_go]).code, 1);
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let incomplete = checklist_with(dir.path(), &(command_item("a", "true", "") + manual));
    let ran = run_in(dir.path(), &["run", &incomplete, "--json"]);
    assert_eq!(
        (ran.code, report(&ran.stdout)["verdict"].clone()),
        (3, serde_json::json!("incomplete"))
    );
    // no-go wins over incomplete.
    let both = checklist_with(dir.path(), &(command_item("a", "false", "") + manual));
    assert_eq!(run_in(dir.path(), &["run", &both]).code, 1);
    // An item with required = false never changes the verdict.
    let optional = checklist_with(
        dir.path(),
        &(command_item("a", "true", "") + &command_item("b", "false", "required = false")),
    );
    assert_eq!(run_in(dir.path(), &["run", &optional]).code, 0);
    // Bad input (2) wins over every verdict: here an unwritable JUnit path after a go run.
    let go = checklist_with(dir.path(), &command_item("a", "true", ""));
    let ran = run_in(
        dir.path(),
        &["run", &go, "--junit", "/no/such/dir/junit.xml"],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr
            .contains("cannot write JUnit XML to /no/such/dir/junit.xml"),
        "{}",
        ran.stderr
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = checklist_with(dir.path(), &command_item("a", "true", ""));
    let broken = write(
        dir.path(),
        "broken.toml",
        "sections = [\"Checks\"]\n[checklist]\nid = \"x\"\n",
    );
    let envs = write(
        dir.path(),
        "envs.toml",
        &format!(
            "{HEADER}\n[environments.staging]\n[environments.production]\n{}",
            command_item("a", "true", "")
        ),
    );
    let empty = dir.path().join("empty-root");
    std::fs::create_dir(&empty).expect("a directory");
    let empty = empty.display().to_string();
    let no_checklist =
        format!("error: no checklist given and {empty}/checklists/authjs-neon.toml does not exist");
    let cases: [(&[&str], &str); 10] = [
        (&["run", &good, "--env-file", "missing.env"], "error: cannot read env file missing.env"),
        (&["run", &broken], "error: invalid checklist (3 errors, first "),
        (&["run", &good, "--env", "prod"], "error: unknown environment `prod`"),
        (&["run", &envs], "error: the checklist has several environments (staging, production) and no default_environment"),
        (&["run", &good, "--only", "b"], "error: --only names unknown item `b`"),
        (&["run", "--root", &empty], &no_checklist),
        (&["run", "--root", "/nonexistent-root"], "error: --root /nonexistent-root is not a directory"),
        (&["run", &good, "--junit", "/no/such/dir/j.xml"], "error: cannot write JUnit XML to /no/such/dir/j.xml: /no/such/dir is not a directory"),
        (&["run", &good, "--only", "a", "--skip", "a"], "error: nothing to run: --only, --skip and --automated-only leave no item in scope"),
        (&["run", &good, "--env", "staging"], "error: unknown environment `staging` (the checklist has: no environments)"),
    ];
    for (args, expected) in cases {
        let ran = run_in(dir.path(), args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.starts_with(expected), "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.lines().count(), 1, "one line: {}", ran.stderr);
    }
}

#[test]
fn scope_flags_leave_items_out_of_the_verdict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let items = command_item("ok", "true", "")
        + &command_item("bad", "false", "")
        + &command_item("after", "true", "needs = [\"bad\"]")
        + manual;
    let path = checklist_with(dir.path(), &items);
    let ran = run_in(dir.path(), &["run", &path, "--only", "ok", "--json"]);
    let r = report(&ran.stdout);
    assert_eq!(
        (ran.code, r["verdict"].clone()),
        (0, serde_json::json!("go"))
    );
    assert_eq!(item(&r, "bad")["in_scope"], false);
    assert_eq!(item(&r, "bad")["summary"], "left out of this run");
    assert_eq!(r["counts"]["pass"], 1);
    assert_eq!(r["counts"]["pending"], 0);

    let ran = run_in(
        dir.path(),
        &["run", &path, "--skip", "bad", "--automated-only", "--json"],
    );
    let r = report(&ran.stdout);
    assert_eq!(item(&r, "after")["status"], "blocked");
    assert_eq!(
        item(&r, "after")["summary"],
        "needs bad, which is left out of this run"
    );
    assert_eq!(item(&r, "sign")["in_scope"], false);
    assert_eq!(ran.code, 3, "blocked keeps the verdict incomplete");
}

#[test]
fn junit_has_a_suite_per_section_and_a_case_per_item() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let path = checklist_with(
        dir.path(),
        &(command_item("ok", "true", "") + &command_item("bad", "exit 4", "") + manual),
    );
    let ran = run_in(dir.path(), &["run", &path, "--junit", "out.xml"]);
    assert_eq!(ran.code, 1);
    let xml = std::fs::read_to_string(dir.path().join("out.xml")).expect("junit written");
    assert!(
        xml.contains("<testsuite name=\"Checks\" tests=\"3\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"ok\" classname=\"Checks\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"fail: exited 4, expected 0\" type=\"fail\""),
        "{xml}"
    );
    assert!(
        xml.contains("<skipped message=\"pending: awaiting sign-off\" type=\"pending\""),
        "{xml}"
    );
}

#[test]
fn ctrl_c_cancels_running_checks_and_keeps_finished_results() {
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = checklist_with(
        dir.path(),
        &(command_item("quick", "true", "")
            + &command_item("long", "sleep 60", "needs = [\"quick\"]")),
    );
    let mut child = common::relcon()
        .args(["run", &path, "--json"])
        .current_dir(dir.path())
        .env("RELCON_STORE", common::store_in(dir.path()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("relcon starts");
    let lines = common::line_channel(child.stderr.take().expect("stderr"));
    common::read_until(&lines, 20, |seen| {
        seen.iter()
            .any(|l| l.contains("start") && l.ends_with("long"))
    });
    // SAFETY: sends SIGINT, as Ctrl-C would, to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().expect("relcon ends");
    let doc = report(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(
        output.status.code(),
        Some(3),
        "incomplete: a cancelled item is pending"
    );
    assert_eq!(item(&doc, "quick")["status"], "pass");
    assert_eq!(
        (
            item(&doc, "long")["status"].clone(),
            item(&doc, "long")["summary"].clone()
        ),
        (serde_json::json!("pending"), serde_json::json!("cancelled"))
    );
}

#[test]
fn writes_in_production_wait_for_consent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("written");
    let items = command_item(
        "migrate",
        &format!("touch {}", marker.display()),
        "writes = true",
    );
    let text = format!(
        "{HEADER}\n[environments.staging]\n\n[environments.production]\nproduction = true\n{items}"
    )
    .replacen(
        "version = 1\n",
        "version = 1\ndefault_environment = \"staging\"\n",
        1,
    );
    let path = checklist_with_text(dir.path(), &text);
    let ran = run_in(dir.path(), &["run", &path, "--env", "production", "--json"]);
    let doc = report(&ran.stdout);
    assert_eq!(
        (ran.code, item(&doc, "migrate")["status"].clone()),
        (3, serde_json::json!("pending"))
    );
    assert_eq!(
        item(&doc, "migrate")["summary"],
        "needs --yes-apply: it writes to a production environment (in the console: r, then type the environment's name)"
    );
    assert!(!marker.exists(), "nothing was written without consent");
    let ran = run_in(
        dir.path(),
        &["run", &path, "--env", "production", "--yes-apply"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(marker.exists());
    // Staging needs no consent.
    std::fs::remove_file(&marker).expect("removes");
    assert_eq!(
        run_in(dir.path(), &["run", &path, "--env", "staging"]).code,
        0
    );
    assert!(marker.exists());
}

fn checklist_with_text(dir: &Path, text: &str) -> String {
    write(dir, "c.toml", text)
}

#[test]
fn odd_output_is_kept_readable_and_harmless() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Bytes that are not UTF-8, then escape sequences, a bell and a carriage return.
    let script =
        "printf 'caf\\351\\n'; printf 'a\\033[31mred\\033[0m\\007 b\\rc\\n'; seq 1 20000 | tail -1";
    let path = checklist_with(dir.path(), &command_item("odd", script, ""));
    let ran = run_in(dir.path(), &["run", &path, "--json"]);
    assert_eq!(ran.code, 0, "the program was not killed: {}", ran.stderr);
    assert!(ran.stderr.contains("caf\u{fffd}"), "{}", ran.stderr);
    assert!(
        !ran.stderr.contains('\u{1b}')
            && !ran.stderr.contains('\u{7}')
            && !ran.stderr.contains('\r'),
        "control characters reached the terminal"
    );
    assert!(ran.stderr.contains("20000"));
}

#[test]
fn out_of_scope_needs_met_earlier_in_the_session_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A manual item keeps the session open throughout.
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let path = checklist_with(
        dir.path(),
        &(command_item("a", "true", "") + &command_item("b", "true", "needs = [\"a\"]") + manual),
    );
    let ran = run_in(dir.path(), &["run", &path, "--only", "a", "--json"]);
    let session = common::session_id(&report(&ran.stdout));
    // b alone: a is out of scope but passed earlier in the session, so b runs.
    let ran = run_in(
        dir.path(),
        &["run", &path, "--session", &session, "--only", "b", "--json"],
    );
    let doc = report(&ran.stdout);
    assert_eq!(item(&doc, "b")["status"], "pass", "{}", item(&doc, "b"));
    // --rerun runs finished items in scope again; a stays as it was.
    let session_doc = run_in(
        dir.path(),
        &[
            "run",
            &path,
            "--session",
            &session,
            "--only",
            "b",
            "--rerun",
            "--json",
        ],
    );
    let doc = report(&session_doc.stdout);
    assert_eq!(item(&doc, "b")["status"], "pass");
    assert_eq!(item(&doc, "a")["status"], "pass");
}

#[test]
fn an_input_read_from_files_only_ignores_the_runners_own_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |env_file: &str| {
        let ran: common::Ran = shipped_only(dir.path(), "security.node-env", env_file)
            // A CI job's own NODE_ENV: not the deployment's.
            .env("NODE_ENV", "test")
            .output()
            .expect("relcon runs")
            .into();
        report(&ran.stdout)
    };
    let doc = run("AUTH_URL=https://app.example.com\nNODE_ENV=production\n");
    let node = item(&doc, "security.node-env");
    assert_eq!(node["status"], "pass", "{node}");
    let source = node["evidence"]["variables"]["NODE_ENV"]["source"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(source.ends_with("deploy.env:2"), "{node}");
    // Not in the files: unset (a warning), never the runner's "test".
    let doc = run("AUTH_URL=https://app.example.com\n");
    let node = item(&doc, "security.node-env");
    assert_eq!(node["status"], "warn", "{node}");
    assert_eq!(
        node["evidence"]["variables"]["NODE_ENV"]["set"], false,
        "{node}"
    );
}

#[test]
fn base_url_inputs_on_different_origins_stop_the_run_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = repo().display().to_string();
    let env = write(
        dir.path(),
        "deploy.env",
        "DEPLOY_URL=https://app.example.com\nAUTH_URL=https://evil.example.net\nAUTH_SECRET=Zq3vJ8kP2mX9rT5wY1bN7cF4hL6dS0gA8eU2iO5pK3=\n",
    );
    let ran: common::Ran = common::relcon()
        .args(["run", "--root", &root, "--headless", "--env-file", &env])
        .current_dir(dir.path())
        .env("RELCON_STORE", common::store_in(dir.path()))
        .output()
        .expect("relcon runs")
        .into();
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("DEPLOY_URL (https://app.example.com) and AUTH_URL (https://evil.example.net) name different origins"),
        "{}",
        ran.stderr
    );
    // Vercel runs v5 without AUTH_URL: the deployment's own URL is the origin.
    let env = write(
        dir.path(),
        "vercel.env",
        "DEPLOY_URL=https://app.example.com\n",
    );
    let ran: common::Ran = common::relcon()
        .args([
            "run",
            "--root",
            &root,
            "--headless",
            "--json",
            "--only",
            "security.https-url",
        ])
        .args(["--env-file", &env])
        .current_dir(dir.path())
        .env("RELCON_STORE", common::store_in(dir.path()))
        .env_remove("AUTH_URL")
        .env_remove("NEXTAUTH_URL")
        .output()
        .expect("relcon runs")
        .into();
    let doc = report(&ran.stdout);
    assert_eq!(
        item(&doc, "security.https-url")["status"],
        "pass",
        "{}",
        ran.stderr
    );
}

#[test]
fn a_platform_the_checklist_does_not_know_stops_the_run_and_an_old_name_is_read_as_its_new_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |platform: &str| -> common::Ran {
        let env = format!("AUTH_URL=https://app.example.com\nDEPLOY_PLATFORM={platform}\n");
        shipped_only(dir.path(), "health.workers", &env)
            .env_remove("DEPLOY_PLATFORM")
            .output()
            .expect("relcon runs")
            .into()
    };
    let refused = run("heroku");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("DEPLOY_PLATFORM = 'heroku' (")
            && refused
                .stderr
                .contains("is not one of container, kubernetes, vercel, workers"),
        "{}",
        refused.stderr
    );
    // `node`, the old name, is a container: the Workers item does not apply.
    let doc = report(&run("node").stdout);
    assert_eq!(item(&doc, "health.workers")["status"], "skip");
    let doc = report(&run("workers").stdout);
    assert_eq!(item(&doc, "health.workers")["status"], "pending");
    // Unset: the checklist's default, a container.
    let doc = report(&run("").stdout);
    assert_eq!(item(&doc, "health.workers")["status"], "skip");
}

#[test]
fn auth_js_must_know_its_url_everywhere_but_on_vercel() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |env_file: &str| {
        let ran: common::Ran = shipped_only(dir.path(), "security.trust-host", env_file)
            .output()
            .expect("relcon runs")
            .into();
        item(&report(&ran.stdout), "security.trust-host").clone()
    };
    let deploy = "DEPLOY_URL=https://app.example.com\n";
    let trust = run(&format!("{deploy}DEPLOY_PLATFORM=kubernetes\n"));
    assert_eq!(trust["status"], "fail", "{trust}");
    assert_eq!(
        trust["summary"],
        "none of AUTH_URL, NEXTAUTH_URL, AUTH_TRUST_HOST is set"
    );
    let trust = run(&format!("{deploy}DEPLOY_PLATFORM=vercel\n"));
    assert_eq!(trust["status"], "skip", "{trust}");
    let trust = run(&format!(
        "{deploy}DEPLOY_PLATFORM=workers\nAUTH_TRUST_HOST=true\n"
    ));
    assert_eq!(trust["status"], "pass", "{trust}");
    let trust = run(&format!(
        "{deploy}AUTH_URL=https://app.example.com\nAUTH_TRUST_HOST=false\n"
    ));
    assert_eq!(trust["status"], "warn", "{trust}");
    assert!(trust["summary"]
        .as_str()
        .is_some_and(|s| s.contains("unset it instead of setting it to false")));
}

#[test]
fn durations_and_leases_out_of_bounds_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = "AUTH_URL=https://app.example.com\n";
    for (timeout, refusal) in [
        ("18446744073709551615", "the timeout must be at most 7d"),
        ("300000000000y", "the timeout must be at most 7d"),
        ("0s", "the timeout must be longer than zero"),
        ("0", "the timeout must be longer than zero"),
    ] {
        let ran: common::Ran = shipped_only(dir.path(), "security.https-url", env)
            .args(["--timeout", timeout])
            .output()
            .expect("relcon runs")
            .into();
        assert_eq!(ran.code, 2, "--timeout {timeout}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(refusal),
            "--timeout {timeout}: {}",
            ran.stderr
        );
    }
    for (lease, refusal) in [
        (
            "abc",
            "RELCON_CLAIM_LEASE=`abc` is not a duration such as 30s",
        ),
        ("1ns", "RELCON_CLAIM_LEASE must be from 2s to 7d; it is 1ns"),
    ] {
        let ran: common::Ran = shipped_only(dir.path(), "security.https-url", env)
            .env("RELCON_CLAIM_LEASE", lease)
            .output()
            .expect("relcon runs")
            .into();
        assert_eq!(ran.code, 2, "RELCON_CLAIM_LEASE={lease}: {}", ran.stderr);
        assert!(ran.stderr.contains(refusal), "{}", ran.stderr);
    }
}

#[test]
fn the_default_identity_is_the_users_not_the_checked_out_repositorys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::write(
        home.join(".gitconfig"),
        "[user]\n\tname = Me\n\temail = me@home.example\n",
    )
    .expect("writes");
    // A repository whose own config names someone else.
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).expect("project");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&project)
            .env("HOME", &home)
            .output()
            .expect("git runs")
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "intruder@repo.example"]);
    let run = |operator: Option<&str>| -> serde_json::Value {
        let env = "AUTH_URL=https://app.example.com\n";
        let mut command = shipped_only(dir.path(), "security.https-url", env);
        command
            .current_dir(&project)
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("RELCON_OPERATOR");
        if let Some(name) = operator {
            command.env("RELCON_OPERATOR", name);
        }
        let ran: common::Ran = command.output().expect("relcon runs").into();
        report(&ran.stdout)
    };
    assert_eq!(
        run(None)["session"]["operators"],
        serde_json::json!(["me@home.example"])
    );
    assert_eq!(
        run(Some("ops\u{200B}-bot\u{7}"))["session"]["operators"],
        serde_json::json!(["ops-bot"])
    );
}

#[test]
fn a_concurrency_beyond_the_open_file_limit_is_held_to_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let items: String = (0..300)
        .map(|n| command_item(&format!("i{n}"), "exit 0", ""))
        .collect();
    let path = checklist_with(dir.path(), &items);
    let relcon = env!("CARGO_BIN_EXE_relcon");
    // Soft and hard limit both 256: there is no raising it.
    let ran = std::process::Command::new("bash")
        .args([
            "-c",
            &format!(
                "ulimit -n 256 && exec {relcon} run {path} --headless --json --concurrency 65535"
            ),
        ])
        .current_dir(dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env_remove("RELCON_STORE")
        .output()
        .expect("relcon runs");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "note: running at most 24 items at once, not 65535: the open-file limit is 256"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("Too many open files"), "{stderr}");
    let doc = report(&String::from_utf8_lossy(&ran.stdout));
    assert_eq!(doc["counts"]["pass"], 300, "{stderr}");
}

#[test]
fn a_partial_run_says_its_verdict_and_the_sessions_as_relcon_sessions_lists_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = checklist_with(
        dir.path(),
        &format!(
            "{}\n[[item]]\nid = \"m\"\nsection = \"Checks\"\ntitle = \"Signed by hand\"\nkind = \"manual\"\nhelp = \"A person does it.\"\n",
            command_item("a", "exit 0", "")
        ),
    );
    let ran = run_in(
        dir.path(),
        &["run", &path, "--headless", "--automated-only"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "verdict: go (1 pass, 0 warn, 0 fail, 0 error, 0 skip, 0 blocked, 0 pending)\nthe session as a whole (relcon sessions): incomplete (1 pass, 0 warn, 0 fail, 0 error, 0 skip, 0 blocked, 1 pending)"
        ),
        "{}",
        ran.stderr
    );
    let listed = run_in(dir.path(), &["sessions"]);
    let row = listed.stdout.lines().nth(1).unwrap_or_default().to_string();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells.get(4..12),
        Some(&["incomplete", "1", "0", "0", "0", "0", "0", "1"][..]),
        "{}",
        listed.stdout
    );
    // Every line's columns start where the header's do.
    let header = listed.stdout.lines().next().unwrap_or_default();
    let at = header.find("pending").expect("a pending column") + "pending".len();
    assert_eq!(row.get(at - 1..at), Some("1"), "{}", listed.stdout);
}
