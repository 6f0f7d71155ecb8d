//! `relcon demo`: the shipped checklist against the built-in sandbox, with a generated
//! configuration; or, with `--serve`, only the sandbox.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::authjs::Version;
use crate::checklist::plan::Scope;
use crate::checklist::values::Values;
use crate::commands::run::attend;
use crate::demo::database::{self, DemoDatabase};
use crate::demo::repository;
use crate::demo::sandbox::{Fault, Platform, Sandbox};
use crate::demo::sessions::{Sessions, Strategy};
use crate::engine::run::RunOptions;
use crate::exit;
use crate::out::bad_input;
use crate::service::{operator, parse_checklist, SessionChoice, Setup};

/// The shipped checklist, built in so the demo runs from anywhere.
const CHECKLIST: &[u8] = include_bytes!("../../checklists/authjs-neon.toml");

/// The configuration template (see `assets/demo.env`).
const CONFIGURATION: &str = include_str!("../../assets/demo.env");

/// What `relcon demo` was asked.
#[derive(Debug, Clone, Default)]
pub struct DemoArgs {
    /// Fault names.
    pub faults: Vec<String>,
    /// Only serve the sandbox.
    pub serve: bool,
    /// `--json`.
    pub json: bool,
    /// `--headless`.
    pub headless: bool,
    /// `--concurrency`.
    pub concurrency: usize,
    /// `--sessions`: jwt, database or token.
    pub sessions: String,
    /// `--authjs`: 4 or 5.
    pub authjs: u8,
    /// `--platform`: container, kubernetes, vercel or workers.
    pub platform: String,
    /// `--bake`: how long to bake once the automated items are done.
    pub bake: Option<Duration>,
}

/// A fresh secret like `npx auth secret` makes: 32 random bytes, base64.
fn fresh_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..43)
        .map(|_| ALPHABET[rand::random_range(0..64)] as char)
        .chain(std::iter::once('='))
        .collect()
}

/// Runs the demo; returns the exit code.
pub async fn run(args: DemoArgs) -> u8 {
    let mut faults = Vec::new();
    for name in &args.faults {
        match Fault::named(name) {
            Some(fault) => faults.push(fault),
            None => {
                let known: Vec<&str> = Fault::ALL
                    .iter()
                    .map(|(_, n, _)| *n)
                    .chain(crate::demo::sandbox::LATER.iter().map(|(n, _)| *n))
                    .collect();
                let hint = crate::checklist::spec::did_you_mean(name, known.iter().copied())
                    .map_or(String::new(), |near| format!("did you mean `{near}`? "));
                return bad_input(format!(
                    "unknown fault `{name}` ({hint}faults: {})",
                    known.join(", ")
                ));
            }
        }
    }
    let Some(platform) = Platform::named(&args.platform) else {
        let known: Vec<&str> = Platform::ALL.iter().map(|(_, n)| *n).collect();
        let hint = crate::checklist::spec::did_you_mean(&args.platform, known.iter().copied())
            .map_or(String::new(), |near| format!("did you mean `{near}`? "));
        return bad_input(format!(
            "unknown platform `{}` ({hint}platforms: {})",
            args.platform,
            known.join(", ")
        ));
    };
    let dir = match tempfile::Builder::new().prefix("relcon-demo-").tempdir() {
        Ok(dir) => dir,
        Err(err) => {
            return bad_input(format!("cannot make a working directory: {err}"));
        }
    };
    let secret = fresh_secret();
    let version = if args.authjs == 4 {
        Version::V4
    } else {
        Version::V5
    };
    let strategy = if args.sessions == "database" {
        Strategy::Database
    } else {
        Strategy::Jwt
    };
    let sessions = Sessions::new(version, strategy, vec![secret.clone()]);
    // The database is made while the sandbox starts: neither waits for the other.
    let (sandbox, database) = tokio::join!(
        Sandbox::start(platform, &faults, sessions, dir.path()),
        DemoDatabase::start()
    );
    let sandbox = match sandbox {
        Ok(sandbox) => sandbox,
        Err(err) => {
            if let Ok(database) = &database {
                database.remove().await;
            }
            return bad_input(format!("cannot start the sandbox: {err}"));
        }
    };
    if let Ok(db) = &database {
        let _ = sandbox.sessions.database.set(db.app_url.clone());
    }
    let code = with_database(args, faults, &dir, &sandbox, &database, &secret).await;
    if let Ok(database) = &database {
        database.remove().await;
    }
    drop(sandbox);
    code
}

/// The rest of the demo, with its database or the reason it has none.
async fn with_database(
    args: DemoArgs,
    faults: Vec<Fault>,
    dir: &tempfile::TempDir,
    sandbox: &Sandbox,
    database: &Result<DemoDatabase, String>,
    secret: &str,
) -> u8 {
    let migration = dir.path().join(database::MIGRATION_PATH);
    let written = migration
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&migration, database::MIGRATION));
    if let Err(err) = written {
        return bad_input(format!("cannot write {}: {err}", migration.display()));
    }
    // The deployed repository, committed before the configuration (which holds a secret)
    // is written beside it.
    let plant = faults.contains(&Fault::CommittedSecret);
    let repository = repository::write_repository(dir.path(), plant);
    // Without a database, a well-formed URL keeps the configuration's own checks meaningful.
    let (app_url, owner_url) = match database {
        Ok(db) => (db.app_url.as_str(), db.owner_url.as_str()),
        Err(_) => ("postgresql://demo:demo@127.0.0.1:5432/demo", ""),
    };
    // A signed-in user's token, when the smoke is to use a given one.
    let token = if args.sessions == "token" {
        sandbox.sessions.mint("user@sandbox.test", true)
    } else {
        String::new()
    };
    // The template's comments speak of its placeholders; the file written says what it is.
    let template: String = CONFIGURATION
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    let configuration = format!(
        "# The configuration relcon demo gives the shipped checklist against the sandbox at {}.\n# It holds the sandbox's secret and is removed when the demo ends.\n{}",
        sandbox.base_url,
        sandbox
            .fill(&template, secret)
            .replace("{{session_token}}", &token)
            .replace("{{app_url}}", app_url)
            .replace("{{owner_url}}", owner_url)
    );
    let env_path = dir.path().join("demo.env");
    if let Err(err) = std::fs::write(&env_path, configuration) {
        return bad_input(format!("cannot write {}: {err}", env_path.display()));
    }
    let fault_list = if faults.is_empty() {
        "none".to_string()
    } else {
        faults
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if args.serve {
        // Ctrl-C or SIGTERM: the sandbox stops and its files (the configuration holds a
        // secret) are removed with the working directory. The handlers are in place before
        // anything is printed, so a signal sent on reading the output is never the default
        // one that would leave the files behind.
        use tokio::signal::unix::{signal, SignalKind};
        let (interrupt, terminate) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        println!("sandbox: {}", sandbox.base_url);
        println!("plain http: http://localhost:{}", sandbox.http_port);
        println!("CA certificate: {}", sandbox.ca_path.display());
        println!("configuration: {}", env_path.display());
        match database {
            Ok(db) => println!("database: {} on {}", db.name(), db.server()),
            Err(why) => println!("database: none ({why})"),
        }
        println!("faults: {fault_list}");
        println!(
            "try, while the demo runs: relcon run checklists/authjs-neon.toml --root {} --env-file {} --cacert {} --automated-only",
            dir.path().display(),
            env_path.display(),
            sandbox.ca_path.display()
        );
        println!("Ctrl-C stops it.");
        let received = |signal: std::io::Result<tokio::signal::unix::Signal>| async move {
            match signal {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            () = received(interrupt) => {}
            () = received(terminate) => {}
        }
        return exit::GO;
    }
    let checklist = match parse_checklist("checklists/authjs-neon.toml", CHECKLIST) {
        Ok(checklist) => checklist,
        Err(err) => {
            return bad_input(err);
        }
    };
    let environment = checklist.default_environment.clone();
    // The demo's configuration is all there is: nothing is read from this shell's environment.
    let values = match Values::load(
        &checklist,
        environment.as_deref(),
        std::slice::from_ref(&env_path),
        &|_| None,
    ) {
        Ok(values) => values,
        Err(err) => {
            return bad_input(err);
        }
    };
    let net = match crate::checks::net::Net::new(Some(&sandbox.ca_path)) {
        Ok(net) => net,
        Err(err) => {
            return bad_input(err);
        }
    };
    // The demo's sessions outlive it, in a store of their own: its reports can be exported
    // after the demo (and never land in the store of real releases).
    let store_url = std::env::var("RELCON_DEMO_STORE").unwrap_or_else(|_| {
        format!(
            "sqlite://{}",
            crate::store::data_dir().join("demo.sqlite").display()
        )
    });
    let store = match crate::store::Store::open(&store_url).await {
        Ok(store) => store,
        Err(err) => {
            return bad_input(err);
        }
    };
    let unbuilt: Vec<String> = checklist
        .items
        .iter()
        .filter(|i| !crate::checks::built(i.kind))
        .map(|i| i.id.clone())
        .collect();
    eprintln!(
        "relcon demo: the shipped checklist against the sandbox at {} playing {} (faults: {fault_list})",
        sandbox.base_url,
        sandbox.platform.name()
    );
    let shown_store = crate::dburl::shown(&store_url);
    eprintln!("demo store: {shown_store} (kept after the demo)");
    let mut skip = unbuilt.clone();
    if let Err(why) = &repository {
        let scans: Vec<String> = checklist
            .items
            .iter()
            .filter(|i| i.kind.name == "scan")
            .map(|i| i.id.clone())
            .collect();
        eprintln!("repository: none ({why}); left out: {}", scans.join(", "));
        skip.extend(scans);
    }
    match database {
        Ok(db) => eprintln!(
            "database: scratch database {} on {}: its owner role applied the Auth.js migration, its app role has DML only; dropped when the demo ends",
            db.name(),
            db.server()
        ),
        Err(why) => {
            let items: Vec<String> = checklist
                .items
                .iter()
                .filter(|i| crate::checks::built(i.kind) && i.keys.contains_key("connection"))
                .map(|i| i.id.clone())
                .collect();
            eprintln!(
                "database: no local PostgreSQL ({why}); left out: {} (set {}=postgres://USER@HOST/DB to use one)",
                items.join(", "),
                database::SERVER_VARIABLE
            );
            skip.extend(items);
        }
    }
    // The console takes the manual items too: they are signed off in its dialog. Headless,
    // the demo is its automated part.
    let console = crate::service::wants_console(args.headless || args.json);
    if !unbuilt.is_empty() {
        eprintln!(
            "left out: {}kinds not built yet: {}",
            if console {
                ""
            } else {
                "manual items (the console signs them off) and "
            },
            unbuilt.join(", ")
        );
    }
    let setup = Setup {
        checklist,
        bytes: CHECKLIST.to_vec(),
        environment,
        scope: Scope {
            only: Vec::new(),
            skip,
            automated_only: !console,
        },
        values,
        options: RunOptions {
            concurrency: args.concurrency.max(1),
            default_timeout: Duration::from_secs(60),
            root: PathBuf::from(dir.path()),
            operator: operator(None).await,
            net: Arc::new(net),
            yes_apply: false,
        },
        json: args.json,
        junit: None,
        console,
        store,
        session: SessionChoice::New,
        rerun: false,
        resume: None,
        signer: None,
        bake: demo_bake(&args, &faults),
    };
    let (code, session) = attend(setup).await;
    if let Some(session) = session {
        eprintln!(
            "the demo's session {session} is kept in {shown_store}: export its report with relcon export --store {shown_store} --session {session} --format html --out relcon-demo.html"
        );
    }
    code
}

/// The demo's bake: as long as asked, or 90 seconds when a fault sets in later; a round
/// every second, so that it shows in a minute.
fn demo_bake(args: &DemoArgs, faults: &[Fault]) -> Option<crate::service::bake::Asked> {
    let duration = args.bake.or_else(|| {
        faults
            .iter()
            .any(|f| f.later())
            .then_some(Duration::from_secs(90))
    })?;
    Some(crate::service::bake::Asked {
        duration: Some(duration),
        every: Some(Duration::from_secs(1)),
    })
}
