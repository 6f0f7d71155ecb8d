//! The database verifications against the real PostgreSQL: `sql.migration` (verify, apply,
//! expected tables, the idempotency proof), `sql.role` and `authjs.adapter`, through the
//! real binary and the shipped checklist. Each test works in a scratch database of its own
//! with roles of its own, all dropped after, and checks that its runs left nothing behind.

mod common;

use std::path::Path;

use common::{admin, item, item_status as status, item_summary as summary, report, Ran, ScratchDb};
use sqlx::{Connection, Executor};

/// The official Auth.js schema, as the demo ships it.
fn official() -> String {
    std::fs::read_to_string(common::repo().join("assets/create_authjs_tables.sql"))
        .expect("the demo's migration")
}

/// The stricter variant: foreign keys with ON DELETE CASCADE and the unique constraints.
const STRICTER: &str = r#"
CREATE TABLE IF NOT EXISTS users (id SERIAL PRIMARY KEY, name VARCHAR(255), email VARCHAR(255) UNIQUE,
  "emailVerified" TIMESTAMPTZ, image TEXT);
CREATE TABLE IF NOT EXISTS accounts (id SERIAL PRIMARY KEY,
  "userId" INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  type VARCHAR(255) NOT NULL, provider VARCHAR(255) NOT NULL, "providerAccountId" VARCHAR(255) NOT NULL,
  refresh_token TEXT, access_token TEXT, expires_at BIGINT, id_token TEXT, scope TEXT,
  session_state TEXT, token_type TEXT, UNIQUE (provider, "providerAccountId"));
CREATE TABLE IF NOT EXISTS sessions (id SERIAL PRIMARY KEY,
  "userId" INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires TIMESTAMPTZ NOT NULL, "sessionToken" VARCHAR(255) NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS verification_token (identifier TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL,
  token TEXT NOT NULL, PRIMARY KEY (identifier, token));
"#;

/// A scratch database with roles of its own (dropped after it), and a project root holding
/// the migration at the shipped checklist's path.
struct Fixture {
    db: Option<ScratchDb>,
    name: String,
    roles: Vec<String>,
    root: tempfile::TempDir,
}

impl Fixture {
    fn new(migration: &str) -> Self {
        let db = ScratchDb::create();
        let name = url::Url::parse(&db.url).expect("a URL").path()[1..].to_string();
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("services/backend/migrations");
        std::fs::create_dir_all(&dir).expect("dirs");
        std::fs::write(dir.join("create_authjs_tables.sql"), migration).expect("writes");
        Fixture {
            db: Some(db),
            name,
            roles: Vec::new(),
            root,
        }
    }

    /// A login role made with `attributes` (e.g. "CREATEDB"), named after the database.
    fn role(&mut self, tag: &str, attributes: &str) -> String {
        let role = format!("{}_{tag}", self.name);
        admin(
            None,
            &format!(
                "CREATE ROLE {role} PASSWORD 'pw-{tag}' {}",
                if attributes.contains("LOGIN") {
                    attributes.to_string()
                } else {
                    format!("LOGIN {attributes}")
                }
            ),
        );
        self.roles.push(role.clone());
        role
    }

    /// The URL that connects as `role` with its password.
    fn url_as(&self, role: &str) -> String {
        let mut url = url::Url::parse(&self.url()).expect("a URL");
        let tag = role.rsplit('_').next().expect("a tag");
        url.set_username(role).expect("user");
        url.set_password(Some(&format!("pw-{tag}")))
            .expect("password");
        url.to_string()
    }

    /// The scratch database's URL, as the test server's admin.
    fn url(&self) -> String {
        self.db.as_ref().expect("db").url.clone()
    }

    fn sql(&self, sql: &str) {
        admin(Some(&self.name), sql);
    }

    fn count(&self, sql: &str) -> i64 {
        common::scalar(Some(&self.name), sql)
    }

    /// The tables of the public schema.
    fn tables(&self) -> i64 {
        self.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    }

    /// Runs the shipped checklist's `only` items with `env` as the deployment's environment.
    fn run(&self, only: &str, env: &[(&str, &str)], extra: &[&str]) -> (Ran, serde_json::Value) {
        let args = [&["--only", only][..], extra].concat();
        self.run_file(
            &common::repo().join("checklists/authjs-neon.toml"),
            &args,
            env,
        )
    }

    /// A checklist of `items` whose connection `db` is the input `DB`.
    fn checklist(&self, items: &str) -> std::path::PathBuf {
        let text = format!(
            "{}default_environment = \"staging\"\n\n[inputs]\nDB = {{ secret = true }}\n\n[connections.db]\nfrom = [\"DB\"]\n\n[environments.staging]\n[environments.production]\nproduction = true\n{items}",
            common::HEADER
        );
        let path = self.root.path().join("c.toml");
        std::fs::write(&path, text).expect("writes");
        path
    }

    /// Runs the checklist at `path` with `args`.
    fn run_file(
        &self,
        path: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (Ran, serde_json::Value) {
        let mut command = common::relcon();
        command
            .arg("run")
            .arg(path)
            .arg("--root")
            .arg(self.root.path())
            .arg("--json")
            .args(args)
            .current_dir(common::repo())
            .env("RELCON_STORE", common::store_in(self.root.path()))
            .env_remove("NEON_PG_CONN")
            .env_remove("NEON_PG_CONN_MIGRATE")
            .env_remove("RUST_BACKTRACE");
        for (name, value) in env {
            command.env(name, value);
        }
        let ran: Ran = command.output().expect("relcon runs").into();
        let doc = report(&ran.stdout);
        (ran, doc)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        drop(self.db.take());
        for role in &self.roles {
            admin(None, &format!("DROP ROLE IF EXISTS {role}"));
        }
    }
}

/// Nothing of the password in any output.
fn assert_no_password(ran: &Ran, password: &str) {
    assert!(!ran.stdout.contains(password), "{}", ran.stdout);
    assert!(!ran.stderr.contains(password), "{}", ran.stderr);
}

/// A database where the app's role applied the Auth.js tables itself.
fn app_applied(migration: &str) -> (Fixture, String) {
    let mut fx = Fixture::new(migration);
    let app = fx.role("app", "");
    fx.sql(&format!("GRANT CREATE ON SCHEMA public TO {app}"));
    let url = fx.url_as(&app);
    common::execute(&url, migration).expect("the app's role applies the migration");
    (fx, url)
}

const DATABASE_ITEMS: &str = "migration.apply,migration.idempotent,db.least-privilege,db.adapter";

#[test]
fn the_app_role_that_applied_the_tables_passes_with_a_warning_on_its_privileges() {
    let (fx, url) = app_applied(&official());
    let (ran, doc) = fx.run(DATABASE_ITEMS, &[("NEON_PG_CONN", &url)], &[]);
    assert_eq!(status(&doc, "migration.apply"), "pass", "{}", ran.stderr);
    assert_eq!(
        status(&doc, "migration.idempotent"),
        "pass",
        "{}",
        ran.stderr
    );
    assert_eq!(status(&doc, "db.adapter"), "pass", "{}", ran.stderr);
    assert_eq!(status(&doc, "db.least-privilege"), "warn", "{}", ran.stderr);
    let role = summary(&doc, "db.least-privilege");
    assert!(
        role.contains("owns 4 tables (accounts, sessions, users, verification_token)")
            && role.contains("can CREATE in public"),
        "{role}"
    );
    let evidence = &item(&doc, "db.least-privilege")["evidence"];
    assert_eq!(evidence["attributes"]["superuser"], false);
    assert_eq!(evidence["memberships"]["pg_write_all_data"], "not a member");
    assert!(evidence["hint"]
        .as_str()
        .is_some_and(|h| h.contains("GRANT SELECT, INSERT, UPDATE, DELETE")));
    let proof = &item(&doc, "migration.idempotent")["evidence"]["idempotency"];
    assert!(
        proof["objects_compared"].as_i64().is_some_and(|n| n > 20),
        "{proof}"
    );
    // The official schema lacks the stricter constraints: advice, not a failure.
    let advice = item(&doc, "migration.apply")["evidence"]["advice"].to_string();
    assert!(
        advice.contains("no UNIQUE (\\\"sessionToken\\\")"),
        "{advice}"
    );
    // The round trips left no row; the password is nowhere.
    assert_eq!(
        fx.count("SELECT count(*) FROM users") + fx.count("SELECT count(*) FROM sessions"),
        0
    );
    assert_eq!(fx.count("SELECT count(*) FROM verification_token"), 0);
    assert_no_password(&ran, "pw-app");
}

#[test]
fn uuid_and_bigint_ids_pass_the_migration_and_the_adapter_round_trips() {
    for (label, id, user_id) in [
        (
            "uuid",
            "id uuid DEFAULT gen_random_uuid()",
            "\"userId\" uuid NOT NULL",
        ),
        ("bigint", "id BIGSERIAL", "\"userId\" BIGINT NOT NULL"),
    ] {
        let schema = official()
            .replace("id SERIAL", id)
            .replace("\"userId\" INTEGER NOT NULL", user_id);
        assert_ne!(schema, official(), "{label}: the schema changed");
        let (fx, url) = app_applied(&schema);
        let (ran, doc) = fx.run("migration.apply,db.adapter", &[("NEON_PG_CONN", &url)], &[]);
        for id in ["migration.apply", "db.adapter"] {
            assert_eq!(
                status(&doc, id),
                "pass",
                "{label} {id}: {} {}",
                summary(&doc, id),
                ran.stderr
            );
        }
    }
    // Another type still fails, naming it.
    let (fx, url) = app_applied(&official().replace("id SERIAL", "id SMALLSERIAL"));
    let (_, doc) = fx.run("migration.apply", &[("NEON_PG_CONN", &url)], &[]);
    assert_eq!(status(&doc, "migration.apply"), "fail");
    assert!(summary(&doc, "migration.apply")
        .contains("is smallint, expected integer | bigint | uuid | text"));
}

#[test]
fn a_dml_only_app_role_without_a_migration_url_is_told_what_to_set() {
    let mut fx = Fixture::new(&official());
    let owner = fx.role("owner", "");
    let app = fx.role("app", "");
    fx.sql(&format!(
        "GRANT CREATE ON SCHEMA public TO {owner}; \
         ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}; \
         ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app}; \
         REVOKE CREATE ON SCHEMA public FROM PUBLIC"
    ));
    let app_url = fx.url_as(&app);
    let env = [("NEON_PG_CONN", app_url.as_str())];
    // No tables yet: the role cannot create them, and nothing says they are there.
    let (_, doc) = fx.run("migration.apply", &env, &[]);
    assert_eq!(status(&doc, "migration.apply"), "fail");
    let said = summary(&doc, "migration.apply");
    assert!(
        said.starts_with("the role of NEON_PG_CONN may not run the migration (")
            && said
                .contains("set NEON_PG_CONN_MIGRATE to the URL of the role that owns the schema"),
        "{said}"
    );
    // The owner applied them: verify reads them from the catalog and warns.
    fx.sql(&format!("SET ROLE {owner}; {}", official()));
    let (ran, doc) = fx.run("migration.apply,migration.idempotent", &env, &[]);
    for (id, ends) in [
        ("migration.apply", "the 4 tables it creates are there as expected (read from the catalog), but the file itself could not be replayed"),
        ("migration.idempotent", "; not proven: the file could not be replayed"),
    ] {
        assert_eq!(status(&doc, id), "warn", "{id}: {} {}", summary(&doc, id), ran.stderr);
        assert!(summary(&doc, id).ends_with(ends), "{}", summary(&doc, id));
    }
    // Applying stays a failure, with the same words.
    let checklist = fx.checklist(
        "\n[[item]]\nid = \"m\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"sql.migration\"\nhelp = \"h\"\nconnection = \"db\"\nfile = \"services/backend/migrations/create_authjs_tables.sql\"\nmode = \"apply\"\nexpect_tables = [{ name = \"users\" }]\n",
    );
    let (_, doc) = fx.run_file(&checklist, &[], &[("DB", app_url.as_str())]);
    assert_eq!(status(&doc, "m"), "fail");
    assert!(
        summary(&doc, "m").starts_with("the role of DB may not run the migration (")
            && summary(&doc, "m").ends_with("use a connection whose role owns the schema"),
        "{}",
        summary(&doc, "m")
    );
}

#[test]
fn an_owner_role_for_migrations_and_a_dml_only_app_role_pass() {
    let mut fx = Fixture::new(&official());
    let owner = fx.role("owner", "");
    let app = fx.role("app", "");
    fx.sql(&format!(
        "GRANT CREATE ON SCHEMA public TO {owner}; \
         ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}; \
         ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app}; \
         REVOKE CREATE ON SCHEMA public FROM PUBLIC"
    ));
    let (owner_url, app_url) = (fx.url_as(&owner), fx.url_as(&app));
    // Staging verifies in a rolled-back transaction: nothing is created.
    let env = [
        ("NEON_PG_CONN", app_url.as_str()),
        ("NEON_PG_CONN_MIGRATE", owner_url.as_str()),
    ];
    let (ran, doc) = fx.run(
        "migration.apply,migration.idempotent,db.least-privilege",
        &env,
        &[],
    );
    assert_eq!(status(&doc, "migration.apply"), "pass", "{}", ran.stderr);
    assert_eq!(
        status(&doc, "migration.idempotent"),
        "pass",
        "{}",
        ran.stderr
    );
    assert_eq!(
        status(&doc, "db.least-privilege"),
        "pass",
        "{}",
        summary(&doc, "db.least-privilege")
    );
    assert_eq!(fx.tables(), 0, "verify left tables behind");
    // The tables found after the rolled-back apply are not claimed as the database's.
    let apply = common::item(&doc, "migration.apply");
    assert_eq!(apply["evidence"]["tables_before"], serde_json::json!([]));
    assert!(
        summary(&doc, "migration.apply").ends_with(
            "4 expected tables as expected after applying; the database had none of them before"
        ),
        "{}",
        summary(&doc, "migration.apply")
    );
    // Applied by the owner, the app's DML-only role runs the adapter's round trips.
    fx.sql(&format!("SET ROLE {owner}; {}", official()));
    let (ran, doc) = fx.run("migration.apply,db.adapter,db.least-privilege", &env, &[]);
    let apply = common::item(&doc, "migration.apply");
    assert_eq!(
        apply["evidence"]["tables_before"],
        serde_json::json!(["users", "accounts", "sessions", "verification_token"]),
        "{apply}"
    );
    assert!(
        summary(&doc, "migration.apply").ends_with("the database had them all before"),
        "{}",
        summary(&doc, "migration.apply")
    );
    assert_eq!(status(&doc, "db.adapter"), "pass", "{}", ran.stderr);
    assert_eq!(
        status(&doc, "db.least-privilege"),
        "pass",
        "{}",
        summary(&doc, "db.least-privilege")
    );
    assert_eq!(fx.count("SELECT count(*) FROM users"), 0);
    assert_no_password(&ran, "pw-owner");
}

#[test]
fn a_migration_that_fails_on_rerun_fails_the_proof_with_its_error() {
    let not_idempotent =
        official().replace("CREATE TABLE IF NOT EXISTS users", "CREATE TABLE users");
    let fx = Fixture::new(&not_idempotent);
    let url = fx.url();
    let (ran, doc) = fx.run(
        "migration.apply,migration.idempotent",
        &[("NEON_PG_CONN", &url)],
        &[],
    );
    assert_eq!(status(&doc, "migration.apply"), "pass", "{}", ran.stderr);
    assert_eq!(status(&doc, "migration.idempotent"), "fail");
    let said = summary(&doc, "migration.idempotent");
    assert!(
        said.starts_with("second apply: services/backend/migrations/create_authjs_tables.sql:")
            && said.contains("`CREATE TABLE users")
            && said.contains("relation \"users\" already exists"),
        "{said}"
    );
    assert_eq!(ran.code, 1);
    assert_eq!(fx.tables(), 0);
}

#[test]
fn a_migration_that_changes_the_catalog_on_rerun_fails_with_the_difference() {
    let growing = format!("{}\nCREATE INDEX ON sessions (\"userId\");\n", official());
    let fx = Fixture::new(&growing);
    let url = fx.url();
    let (_, doc) = fx.run(
        "migration.apply,migration.idempotent",
        &[("NEON_PG_CONN", &url)],
        &[],
    );
    assert_eq!(status(&doc, "migration.apply"), "pass");
    assert_eq!(status(&doc, "migration.idempotent"), "fail");
    let said = summary(&doc, "migration.idempotent");
    assert!(said.contains("index sessions_userId_idx1 added"), "{said}");
    assert_eq!(fx.tables(), 0);
}

#[test]
fn a_missing_table_and_an_unquoted_column_fail_with_what_is_missing() {
    let without_users = official()
        .split("CREATE TABLE IF NOT EXISTS users")
        .next()
        .expect("before users")
        .replace("\"sessionToken\"", "sessionToken");
    let fx = Fixture::new(&without_users);
    let url = fx.url();
    let (_, doc) = fx.run("migration.apply", &[("NEON_PG_CONN", &url)], &[]);
    assert_eq!(status(&doc, "migration.apply"), "fail");
    let said = summary(&doc, "migration.apply");
    assert_eq!(said, "table users is missing (and 1 more)");
    let evidence = &item(&doc, "migration.apply")["evidence"];
    assert_eq!(evidence["outcome"], "rolled back");
    assert!(
        evidence["failures"][1]
            .as_str()
            .is_some_and(|f| f
                .starts_with("column sessions.\"sessionToken\" is missing (found sessiontoken")),
        "{evidence}"
    );
    assert_eq!(fx.tables(), 0);
}

#[test]
fn a_commit_after_a_column_named_begin_is_still_refused_and_nothing_commits() {
    let fx = Fixture::new(
        "CREATE TABLE t (id int, begin timestamptz);\nCOMMIT;\nCREATE TABLE u (x int);\n",
    );
    let url = fx.url();
    let (_, doc) = fx.run("migration.apply", &[("NEON_PG_CONN", &url)], &[]);
    assert!(
        summary(&doc, "migration.apply").starts_with(
            "services/backend/migrations/create_authjs_tables.sql:2: `COMMIT`: transaction control"
        ),
        "{}",
        summary(&doc, "migration.apply")
    );
    assert_eq!(fx.tables(), 0);
}

#[test]
fn a_password_in_a_migration_is_never_shown() {
    let fx = Fixture::new(
        "CREATE ROLE relcon_never_made LOGIN PASSWORD 'canary-pw-4711' NOSUCHOPTION;\n",
    );
    let url = fx.url();
    let (ran, doc) = fx.run("migration.apply", &[("NEON_PG_CONN", &url)], &[]);
    assert_eq!(status(&doc, "migration.apply"), "fail");
    assert!(
        summary(&doc, "migration.apply").contains("PASSWORD ***"),
        "{}",
        summary(&doc, "migration.apply")
    );
    assert_no_password(&ran, "canary-pw-4711");
    for file in ["store.sqlite", "store.sqlite-wal"] {
        let bytes = std::fs::read(fx.root.path().join(file)).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("canary-pw-4711"),
            "{file} holds the password"
        );
    }
}

#[test]
fn transaction_control_and_concurrently_are_refused_with_their_lines() {
    let fx = Fixture::new(&format!(
        "{}\nCOMMIT;\nCREATE INDEX CONCURRENTLY ON users (email);\n",
        official()
    ));
    let url = fx.url();
    let (_, doc) = fx.run("migration.apply", &[("NEON_PG_CONN", &url)], &[]);
    assert_eq!(status(&doc, "migration.apply"), "fail");
    let said = summary(&doc, "migration.apply");
    let line = official().lines().count() + 2;
    assert!(
        said.starts_with(&format!("services/backend/migrations/create_authjs_tables.sql:{line}: `COMMIT`: transaction control")),
        "{said}"
    );
    assert!(said.ends_with("(and 1 more)"), "{said}");
    assert_eq!(fx.tables(), 0, "nothing ran");
}

#[test]
fn one_outer_begin_commit_pair_is_accepted_and_any_other_transaction_control_refused() {
    // As migration runners write files: the pair is relcon's own transaction already.
    let wrapped = format!("BEGIN;\n{}\nCOMMIT;\n", official());
    let fx = Fixture::new(&wrapped);
    let url = fx.url();
    let (ran, doc) = fx.run(
        "migration.apply",
        &[("NEON_PG_CONN", &url)],
        &["--yes-apply"],
    );
    assert_eq!(status(&doc, "migration.apply"), "pass", "{}", ran.stderr);
    assert!(item(&doc, "migration.apply")["evidence"]["outer_transaction"].is_string());
    // A COMMIT inside the pair is still refused, with its line, and nothing runs.
    let inner = format!(
        "BEGIN;\n{}\nCOMMIT;\nCREATE TABLE later (id int);\nCOMMIT;\n",
        official()
    );
    let fx = Fixture::new(&inner);
    let url = fx.url();
    let (_, doc) = fx.run("migration.apply", &[("NEON_PG_CONN", &url)], &[]);
    assert_eq!(status(&doc, "migration.apply"), "fail");
    let said = summary(&doc, "migration.apply");
    let line = official().lines().count() + 3; // after the BEGIN line and the blank line
    assert!(
        said.contains(&format!(":{line}: `COMMIT`: transaction control")),
        "{said}"
    );
    assert_eq!(fx.tables(), 0, "nothing ran");
}

#[test]
fn a_failing_statement_is_named_with_its_line_and_the_servers_words() {
    let broken = format!("{}\n-- a comment; with a semicolon\nDO $$ BEGIN\n  PERFORM 1;\nEND $$;\nALTER TABLE users ADD COLUMN age INTEGR;\n", official());
    let fx = Fixture::new(&broken);
    let url = fx.url();
    let (_, doc) = fx.run("migration.apply", &[("NEON_PG_CONN", &url)], &[]);
    let said = summary(&doc, "migration.apply");
    let line = official().lines().count() + 6;
    assert!(
        said.starts_with(&format!("services/backend/migrations/create_authjs_tables.sql:{line}: `ALTER TABLE users ADD COLUMN age INTEGR` failed: type \"integr\" does not exist")),
        "{said}"
    );
    assert_eq!(fx.tables(), 0);
}

#[test]
fn a_lock_held_by_a_live_transaction_ends_the_migration_at_lock_timeout() {
    let fx = Fixture::new(&format!(
        "{}\nALTER TABLE users ADD COLUMN IF NOT EXISTS age integer;\n",
        official()
    ));
    fx.sql(&official());
    let url = fx.url();
    // Another session holds the table; relcon waits lock_timeout (5 s), not forever.
    let mut holder_url = url::Url::parse(&url).expect("a URL");
    holder_url.set_query(None);
    let holder = holder_url.to_string();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holding = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&holder)
                    .await
                    .expect("connects");
                conn.execute("BEGIN; LOCK TABLE users IN ACCESS SHARE MODE")
                    .await
                    .expect("locks");
                locked_tx.send(()).expect("told");
                let _ = tokio::task::spawn_blocking(move || release_rx.recv()).await;
                conn.execute("ROLLBACK").await.expect("releases");
            })
    });
    locked_rx.recv().expect("locked");
    let started = std::time::Instant::now();
    let (_, doc) = fx.run("migration.apply", &[("NEON_PG_CONN", &url)], &[]);
    release_tx.send(()).expect("release");
    holding.join().expect("holder ends");
    assert_eq!(status(&doc, "migration.apply"), "fail");
    let said = summary(&doc, "migration.apply");
    assert!(
        said.contains("lock timeout") && said.contains("lock_timeout"),
        "{said}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn production_applies_only_with_consent_and_then_commits() {
    let fx = Fixture::new(&official());
    let url = fx.url();
    let path = fx.checklist(
        "\n[[item]]\nid = \"migrate\"\nsection = \"Checks\"\ntitle = \"Migrate\"\nkind = \"sql.migration\"\nhelp = \"Applies.\"\nconnection = \"db\"\nfile = \"services/backend/migrations/create_authjs_tables.sql\"\nmode = \"apply\"\n",
    );
    let run = |extra: &[&str]| {
        fx.run_file(
            &path,
            &[&["--env", "production"][..], extra].concat(),
            &[("DB", url.as_str())],
        )
    };
    let (_, doc) = run(&[]);
    assert_eq!(status(&doc, "migrate"), "pending");
    assert!(summary(&doc, "migrate").starts_with("needs --yes-apply"));
    assert_eq!(fx.tables(), 0, "nothing committed without consent");
    let (ran, doc) = run(&["--yes-apply"]);
    assert_eq!(status(&doc, "migrate"), "pass", "{}", ran.stderr);
    assert!(summary(&doc, "migrate").contains("committed"));
    assert_eq!(fx.tables(), 4);
}

#[test]
fn each_forbidden_attribute_fails_and_inherited_membership_is_found() {
    let mut fx = Fixture::new(&official());
    for (tag, attribute, said) in [
        ("su", "SUPERUSER", "is superuser"),
        ("cr", "CREATEROLE", "can create roles"),
        ("cd", "CREATEDB", "can create databases"),
        ("rp", "REPLICATION", "can replicate"),
        ("br", "BYPASSRLS", "bypasses row-level security"),
    ] {
        let role = fx.role(tag, attribute);
        let url = fx.url_as(&role);
        let (ran, doc) = fx.run("db.least-privilege", &[("NEON_PG_CONN", &url)], &[]);
        assert_eq!(
            status(&doc, "db.least-privilege"),
            "fail",
            "{attribute}: {}",
            ran.stderr
        );
        let summary = summary(&doc, "db.least-privilege");
        assert!(summary.contains(said), "{attribute}: {summary}");
        let key = attribute.to_lowercase();
        assert_eq!(
            item(&doc, "db.least-privilege")["evidence"]["attributes"][&key],
            true,
            "{key}"
        );
        assert_no_password(&ran, &format!("pw-{tag}"));
    }
    // A member of a role that is a member of pg_write_all_data. The forbidden roles are the
    // checklist's: one the server has, one it does not (names of this test's own, so the
    // server's other roles, such as a Neon server's neon_superuser, change nothing).
    let writers = fx.role("writers", "NOLOGIN");
    let inherits = fx.role("inh", "");
    let banned = fx.role("banned", "NOLOGIN");
    let absent = format!("{}_absent", fx.name);
    fx.sql(&format!(
        "GRANT pg_write_all_data TO {writers}; GRANT {writers} TO {inherits}"
    ));
    let path = fx.checklist(&format!(
        "\n[[item]]\nid = \"role\"\nsection = \"Checks\"\ntitle = \"Role\"\nkind = \"sql.role\"\nhelp = \"Least privilege.\"\nconnection = \"db\"\nforbidden_roles = [\"{absent}\", \"{banned}\", \"pg_write_all_data\"]\n"
    ));
    let as_inherits = fx.url_as(&inherits);
    let (ran, doc) = fx.run_file(&path, &[], &[("DB", as_inherits.as_str())]);
    assert_eq!(status(&doc, "role"), "fail", "{}", ran.stderr);
    assert!(
        summary(&doc, "role").contains("is a member (inherited) of pg_write_all_data"),
        "{}",
        summary(&doc, "role")
    );
    let memberships = &item(&doc, "role")["evidence"]["memberships"];
    assert_eq!(memberships[&absent], "no such role here", "{memberships}");
    assert_eq!(memberships[&banned], "not a member", "{memberships}");
}

#[test]
fn the_adapter_passes_on_the_stricter_schema_and_fails_without_tables_or_grants() {
    let (fx, url) = app_applied(STRICTER);
    let (ran, doc) = fx.run("migration.apply,db.adapter", &[("NEON_PG_CONN", &url)], &[]);
    assert_eq!(status(&doc, "db.adapter"), "pass", "{}", ran.stderr);
    assert_eq!(fx.count("SELECT count(*) FROM users"), 0);

    let mut bare = Fixture::new(&official());
    let nobody = bare.role("nob", "");
    let adapter = bare.checklist("\n[[item]]\nid = \"db.adapter\"\nsection = \"Checks\"\ntitle = \"Adapter\"\nkind = \"authjs.adapter\"\nhelp = \"Round trips.\"\nconnection = \"db\"\n");
    let as_nobody = bare.url_as(&nobody);
    let env = [("DB", as_nobody.as_str())];
    let (_, doc) = bare.run_file(&adapter, &[], &env);
    assert_eq!(status(&doc, "db.adapter"), "fail");
    assert!(
        summary(&doc, "db.adapter").contains("the Auth.js tables are missing"),
        "{}",
        summary(&doc, "db.adapter")
    );

    bare.sql(&official());
    bare.sql(&format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {nobody}"
    ));
    let (_, doc) = bare.run_file(&adapter, &[], &env);
    assert_eq!(status(&doc, "db.adapter"), "fail");
    let said = summary(&doc, "db.adapter");
    assert!(
        said.starts_with("createUser: permission denied for table users"),
        "{said}"
    );
    assert!(
        said.contains("grant the app's role SELECT, INSERT, UPDATE, DELETE"),
        "{said}"
    );
    assert_eq!(bare.count("SELECT count(*) FROM users"), 0);
}

#[test]
fn connection_failures_say_what_happened_without_the_password() {
    let mut fx = Fixture::new(&official());
    let role = fx.role("lim", "");
    let good = url::Url::parse(&fx.url_as(&role)).expect("a URL");
    let with = |edit: &dyn Fn(&mut url::Url)| {
        let mut url = good.clone();
        edit(&mut url);
        url.to_string()
    };
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let cases = [
        (
            with(&|u| u.set_port(Some(port)).expect("port")),
            "unreachable",
        ),
        (
            with(&|u| u.set_username("relcon_nobody_here").expect("user")),
            "authentication failed",
        ),
        (
            with(&|u| u.set_path("/relcon_no_such_database")),
            "the database does not exist",
        ),
    ];
    for (url, said) in cases {
        let (ran, doc) = fx.run("db.least-privilege", &[("NEON_PG_CONN", &url)], &[]);
        assert_eq!(status(&doc, "db.least-privilege"), "fail", "{said}");
        let summary = summary(&doc, "db.least-privilege");
        assert!(
            summary.contains(said) && summary.contains(":***@"),
            "{said}: {summary}"
        );
        assert_no_password(&ran, "pw-lim");
    }
    fx.sql(&format!(
        "REVOKE CONNECT ON DATABASE {} FROM PUBLIC",
        fx.name
    ));
    let (ran, doc) = fx.run(
        "db.least-privilege",
        &[("NEON_PG_CONN", good.as_str())],
        &[],
    );
    assert!(
        summary(&doc, "db.least-privilege").contains("permission denied"),
        "{}",
        summary(&doc, "db.least-privilege")
    );
    assert_no_password(&ran, "pw-lim");
    // Off this machine, TLS that is not verified is refused before anything is sent.
    let (_, doc) = fx.run(
        "db.least-privilege",
        &[(
            "NEON_PG_CONN",
            "postgres://app:pw-remote@db.example.invalid/app?sslmode=disable",
        )],
        &[],
    );
    assert_eq!(status(&doc, "db.least-privilege"), "fail");
    assert!(summary(&doc, "db.least-privilege").contains("verified TLS"));
    assert!(!doc.to_string().contains("pw-remote"));
}

#[test]
fn verify_leaves_an_existing_database_as_it_was() {
    let fx = Fixture::new(&format!(
        "{}\nALTER TABLE users ADD COLUMN IF NOT EXISTS age integer;\nSELECT pg_sleep(0.3);\n",
        official()
    ));
    fx.sql(&official());
    fx.sql("INSERT INTO users (name) VALUES ('kept')");
    let url = fx.url();
    let (_, doc) = fx.run(
        "migration.apply,migration.idempotent",
        &[("NEON_PG_CONN", &url)],
        &[],
    );
    assert_eq!(status(&doc, "migration.apply"), "pass");
    assert_eq!(status(&doc, "migration.idempotent"), "pass");
    let locks = &item(&doc, "migration.apply")["evidence"]["locks_on_existing_tables"];
    assert_eq!(locks[0]["table"], "users", "{locks}");
    assert_eq!(locks[0]["mode"], "AccessExclusiveLock", "{locks}");
    // Held from the ALTER to the rollback, the statement after it included.
    assert!(
        locks[0]["held_ms"].as_u64().is_some_and(|ms| ms >= 300),
        "{locks}"
    );
    assert_eq!(fx.count("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'age'"), 0);
    assert_eq!(fx.count("SELECT count(*) FROM users"), 1);
}

#[test]
fn the_console_applies_in_production_only_once_the_environments_name_is_typed() {
    let fx = Fixture::new(&official());
    let path = fx.checklist(
        "\n[[item]]\nid = \"migrate\"\nsection = \"Checks\"\ntitle = \"Migrate\"\nkind = \"sql.migration\"\nhelp = \"Applies.\"\nconnection = \"db\"\nfile = \"services/backend/migrations/create_authjs_tables.sql\"\nmode = \"apply\"\n",
    );
    let env_file = fx.root.path().join("db.env");
    std::fs::write(&env_file, format!("DB={}\n", fx.url())).expect("writes");
    let args = [
        "run",
        path.to_str().expect("a path"),
        "--env",
        "production",
        "--env-file",
        env_file.to_str().expect("a path"),
        "--as",
        "alice",
    ];
    let mut pty = common::pty::Pty::start_in(fx.root.path(), &args, 40, 120);
    pty.wait_for("the apply held back", 30, |s| {
        s.contains("needs --yes-apply")
    });
    assert_eq!(fx.tables(), 0, "nothing applied before consent");

    // A wrong name allows nothing.
    pty.send(b"r");
    pty.wait_for("the consent prompt", 10, |s| {
        s.contains("writes to production: type \"production\" to allow:")
            && s.contains("Esc: no · migrate")
    });
    pty.send(b"prod\r");
    pty.wait_for("the refusal", 10, |s| {
        s.contains("nothing written: \"prod\" is not the environment's name")
    });
    assert_eq!(fx.tables(), 0, "nothing applied with a wrong name");

    pty.send(b"r");
    pty.wait_for("the consent prompt again", 10, |s| s.contains("to allow:"));
    pty.send(b"production\r");
    pty.wait_for("the apply passed", 30, |s| s.contains("✔ pass    migrate"));
    assert_eq!(fx.tables(), 4, "committed");
    pty.send(b"q");
    pty.wait_exit(30);
    pty.assert_restored();
}

#[test]
fn a_database_off_this_machine_is_reached_with_verified_tls_only() {
    use relcon::demo::pki::{Ca, Validity};
    let mut fx = Fixture::new(&official());
    let role = fx.role("tls", "");
    let ca = Ca::new("relcon test CA").expect("a CA");
    let other = Ca::new("someone else's CA").expect("a CA");
    let (ca_file, other_file) = (
        fx.root.path().join("ca.pem"),
        fx.root.path().join("other.pem"),
    );
    std::fs::write(&ca_file, ca.pem()).expect("writes");
    std::fs::write(&other_file, other.pem()).expect("writes");
    let port = common::tls_front(
        &ca.issue(&["127.0.0.1"], Validity::days(30))
            .expect("a leaf"),
    );
    // As Neon's console writes it: a remote host name and sslmode=require (here the host
    // name is not resolved: hostaddr says where the server is).
    let url = format!(
        "postgresql://{role}:pw-tls@db.example.com:{port}/{}?hostaddr=127.0.0.1&sslmode=require&channel_binding=require",
        fx.name
    );
    let env = [("NEON_PG_CONN", url.as_str())];
    let cacert = |file: &Path| vec!["--cacert".to_string(), file.display().to_string()];
    let trusted = cacert(&ca_file);
    let args: Vec<&str> = trusted.iter().map(String::as_str).collect();
    let (ran, doc) = fx.run("db.least-privilege", &env, &args);
    assert_eq!(
        status(&doc, "db.least-privilege"),
        "pass",
        "{}",
        summary(&doc, "db.least-privilege")
    );
    let notes = item(&doc, "db.least-privilege")["evidence"]["connection"]["notes"].to_string();
    assert!(
        notes.contains("sslmode=require asked; relcon verifies"),
        "{notes}"
    );
    assert!(notes.contains("channel_binding is not applied"), "{notes}");
    assert_no_password(&ran, "pw-tls");

    // Migrations through a -pooler host (PgBouncer, transaction mode) warn.
    fx.sql(&format!("GRANT CREATE ON SCHEMA public TO {role}"));
    let pooled = url.replace(
        "db.example.com",
        "ep-test-1-pooler.eu-central-1.aws.neon.tech",
    );
    let (_, doc) = fx.run(
        "migration.apply",
        &[("NEON_PG_CONN", pooled.as_str())],
        &args,
    );
    assert_eq!(
        status(&doc, "migration.apply"),
        "warn",
        "{}",
        summary(&doc, "migration.apply")
    );
    assert!(summary(&doc, "migration.apply").contains("-pooler host"));
    assert_eq!(fx.tables(), 0);

    let untrusted = cacert(&other_file);
    let args: Vec<&str> = untrusted.iter().map(String::as_str).collect();
    let (ran, doc) = fx.run("db.least-privilege", &env, &args);
    assert_eq!(status(&doc, "db.least-privilege"), "fail");
    assert!(
        summary(&doc, "db.least-privilege").contains("TLS failed"),
        "{}",
        summary(&doc, "db.least-privilege")
    );
    assert_no_password(&ran, "pw-tls");
}

#[test]
fn a_server_that_never_answers_fails_at_the_connections_timeout() {
    let fx = Fixture::new(&official());
    // Accepts connections and says nothing, as a compute that does not wake up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let path = fx.checklist(
        "\n[[item]]\nid = \"role\"\nsection = \"Checks\"\ntitle = \"Role\"\nkind = \"sql.role\"\nhelp = \"Judges the role.\"\nconnection = \"db\"\n",
    );
    let text = std::fs::read_to_string(&path).expect("reads").replace(
        "from = [\"DB\"]",
        "from = [\"DB\"]\nconnect_timeout = \"1s\"",
    );
    std::fs::write(&path, text).expect("writes");
    let url = format!("postgres://app:pw-deaf@127.0.0.1:{port}/app");
    let started = std::time::Instant::now();
    let (ran, doc) = fx.run_file(&path, &[], &[("DB", url.as_str())]);
    assert_eq!(status(&doc, "role"), "fail");
    assert!(
        summary(&doc, "role").contains("no answer within 1s (a Neon compute may be waking up"),
        "{}",
        summary(&doc, "role")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_no_password(&ran, "pw-deaf");
}

#[test]
fn the_proof_compares_the_rows_the_file_writes() {
    let seeding = format!(
        "{}\nINSERT INTO verification_token (identifier, expires, token) VALUES ('seed', now(), 't') ON CONFLICT DO NOTHING;\n",
        official()
    );
    let fx = Fixture::new(&seeding);
    let url = fx.url();
    let (_, doc) = fx.run(
        "migration.apply,migration.idempotent",
        &[("NEON_PG_CONN", &url)],
        &[],
    );
    assert_eq!(
        status(&doc, "migration.idempotent"),
        "pass",
        "{}",
        summary(&doc, "migration.idempotent")
    );
    assert!(summary(&doc, "migration.idempotent").contains("and the rows of 1 table compared"));

    let duplicating = format!(
        "{}\nINSERT INTO users (name) VALUES ('seed');\n",
        official()
    );
    let fx = Fixture::new(&duplicating);
    let url = fx.url();
    let (_, doc) = fx.run(
        "migration.apply,migration.idempotent",
        &[("NEON_PG_CONN", &url)],
        &[],
    );
    assert_eq!(status(&doc, "migration.idempotent"), "fail");
    let said = summary(&doc, "migration.idempotent");
    assert!(
        said.contains("rows of users changed: 1 row, content ")
            && said.contains(" → 2 rows, content "),
        "{said}"
    );
    assert_eq!(fx.tables(), 0);
}

#[test]
fn the_adapter_says_when_its_schema_is_missing_or_out_of_reach() {
    let mut fx = Fixture::new(&official());
    let app = fx.role("sch", "");
    fx.sql(&format!(
        "CREATE SCHEMA auth; SET search_path = auth; {}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA auth TO {app}",
        official()
    ));
    let item = |schema: &str| {
        format!("\n[[item]]\nid = \"adapter\"\nsection = \"Checks\"\ntitle = \"Adapter\"\nkind = \"authjs.adapter\"\nhelp = \"Round trips.\"\nconnection = \"db\"\nschema = \"{schema}\"\n")
    };
    let url = fx.url_as(&app);
    let path = fx.checklist(&item("auth"));
    let (_, doc) = fx.run_file(&path, &[], &[("DB", url.as_str())]);
    assert_eq!(
        summary(&doc, "adapter"),
        "permission denied for schema auth: GRANT USAGE ON SCHEMA \"auth\" TO the app's role"
    );
    let path = fx.checklist(&item("nosuch"));
    let (_, doc) = fx.run_file(&path, &[], &[("DB", url.as_str())]);
    assert!(
        summary(&doc, "adapter").starts_with("schema nosuch does not exist"),
        "{}",
        summary(&doc, "adapter")
    );
    // With USAGE, the round trips pass on the tables of that schema.
    fx.sql(&format!(
        "GRANT USAGE ON SCHEMA auth TO {app}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA auth TO {app}"
    ));
    let path = fx.checklist(&item("auth"));
    let (_, doc) = fx.run_file(&path, &[], &[("DB", url.as_str())]);
    assert_eq!(
        status(&doc, "adapter"),
        "pass",
        "{}",
        summary(&doc, "adapter")
    );
}

#[test]
fn a_role_that_reaches_the_servers_programs_fails() {
    let mut fx = Fixture::new(&official());
    let role = fx.role("prog", "");
    fx.sql(&format!("GRANT pg_execute_server_program TO {role}"));
    let (_, doc) = fx.run(
        "db.least-privilege",
        &[("NEON_PG_CONN", &fx.url_as(&role))],
        &[],
    );
    assert_eq!(status(&doc, "db.least-privilege"), "fail");
    assert!(
        summary(&doc, "db.least-privilege").contains("member (direct) of pg_execute_server_program: it reaches the database server's files or programs"),
        "{}",
        summary(&doc, "db.least-privilege")
    );
}

#[test]
fn a_port_that_is_not_postgresql_is_said_so() {
    let fx = Fixture::new(&official());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        use std::io::Write;
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let url = format!("postgres://app:pw-http@127.0.0.1:{port}/app");
    let (ran, doc) = fx.run("db.least-privilege", &[("NEON_PG_CONN", &url)], &[]);
    assert!(
        summary(&doc, "db.least-privilege")
            .ends_with("the server did not answer like PostgreSQL: check the host and port"),
        "{}",
        summary(&doc, "db.least-privilege")
    );
    assert_no_password(&ran, "pw-http");
}

#[test]
fn a_stopped_run_has_the_server_cancel_its_running_statement() {
    let fx = Fixture::new("SELECT pg_sleep(30);\n");
    let url = fx.url();
    let mut child = common::relcon()
        .args(["run", "checklists/authjs-neon.toml", "--root"])
        .arg(fx.root.path())
        .args(["--only", "migration.apply", "--headless"])
        .current_dir(common::repo())
        .env("RELCON_STORE", common::store_in(fx.root.path()))
        .env("NEON_PG_CONN", &url)
        .env_remove("NEON_PG_CONN_MIGRATE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("relcon starts");
    let lines = common::line_channel(child.stderr.take().expect("stderr"));
    common::read_until(&lines, 30, |l| {
        l.iter().any(|l| l.contains("1 statement from"))
    });
    let sleeping = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'",
        fx.name
    );
    let until = |want: i64, secs: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while common::scalar(None, &sleeping) != want {
            assert!(
                std::time::Instant::now() < deadline,
                "the statement count never became {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    until(1, 10);
    // SAFETY: a plain kill(2) of the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    // Without a cancel the server would sleep on for 30 s: the client's going is not seen
    // while a statement runs.
    until(0, 5);
    let _ = child.wait();
}
