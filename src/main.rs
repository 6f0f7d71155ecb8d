//! The `relcon` command line: parsing and dispatch only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use relcon::checklist::plan::Scope;
use relcon::service::{RunArgs, SessionChoice, DEFAULT_CHECKLIST};
use relcon::session::{Head, SignoffStatus};

#[derive(Parser)]
#[command(
    name = "relcon",
    version,
    about = "A terminal release console: walk a deploy through its checklist.",
    after_help = "Examples:\n  relcon lint checklists/authjs-neon.toml\n  relcon run --env staging --env-file .env.staging\n  relcon run --env production --env-file prod.env --json > result.json\n\nEach command has --help with its own examples."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a checklist: a one-line summary, or every error with file:line:column.
    #[command(
        after_help = "Examples:\n  relcon lint checklists/authjs-neon.toml\n  relcon lint my-service.toml\n\nExit codes: 0 valid, 2 invalid or unreadable."
    )]
    Lint {
        /// The checklist file (default: checklists/authjs-neon.toml).
        checklist: Option<PathBuf>,
    },
    /// Run a checklist: progress on stderr, the verdict as the exit code.
    #[command(
        after_help = "Examples:\n  relcon run --env staging --env-file .env.staging\n  relcon run checklists/authjs-neon.toml --env production --env-file prod.env --json > result.json\n  relcon run --only health.live,health.ready --junit junit.xml\n\nExit codes: 0 go, 1 no-go, 3 incomplete, 2 bad input."
    )]
    Run(Box<Run>),
    /// List the sessions in the store: checklist, environment, start, verdict, counts, operators.
    #[command(
        after_help = "Examples:\n  relcon sessions\n  relcon sessions --store sqlite:///srv/relcon/store.sqlite\n  RELCON_STORE=postgres://relcon@db.internal/relcon relcon sessions\n\nA session whose event log does not verify is listed as BROKEN."
    )]
    Sessions {
        /// The store: sqlite://PATH or postgres://USER@HOST/DATABASE (default: a SQLite file under the XDG data dir).
        #[arg(long, env = "RELCON_STORE", hide_env_values = true, value_name = "URL")]
        store: Option<String>,
    },
    /// Sign off a manual item of a session.
    #[command(
        after_help = "Examples:\n  relcon signoff backup.snapshot --session 01a2… --status done --evidence snapshot_id=br-cool-12\n  relcon signoff health.workers --session 01a2… --status na --note \"not on Workers\"\n\nExit codes: 0 recorded, 2 refused (unknown or automated item, missing note or evidence, second sign-off by the same person, closed session)."
    )]
    Signoff {
        /// The item id.
        item: String,
        /// The session.
        #[arg(long, value_name = "ID")]
        session: String,
        /// Refuse unless the session's log begins with these events (COUNT:HASH, from a signed report's events.count and events.head, or a CI log): catches a store rewritten behind your back.
        #[arg(long, value_name = "COUNT:HASH")]
        expect_head: Option<Head>,
        /// Who signs (default: RELCON_OPERATOR, else the global git user.email, else $USER).
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
        /// done, failed or na (not applicable: needs a note).
        #[arg(long, value_parser = ["done", "failed", "na"])]
        status: String,
        /// What the signer says.
        #[arg(long)]
        note: Option<String>,
        /// An evidence field the item asks for (repeatable).
        #[arg(long, value_name = "KEY=VALUE")]
        evidence: Vec<String>,
        /// Sign the sign-off with this OpenSSH private key (default: RELCON_SIGNING_KEY, else the ssh-agent's key when one runs).
        #[arg(long, value_name = "KEYFILE")]
        sign_key: Option<PathBuf>,
        /// The store: sqlite://PATH or postgres://USER@HOST/DATABASE (default: a SQLite file under the XDG data dir).
        #[arg(long, env = "RELCON_STORE", hide_env_values = true, value_name = "URL")]
        store: Option<String>,
    },
    /// Print a session's events as JSON lines as they happen, until it closes.
    #[command(
        after_help = "Examples:\n  relcon watch --session 01a2…\n  relcon watch --session 01a2… | jq -r 'select(.type == \"signoff\") | .actor'\n\nExit codes: 0 when the session closes (or the reader goes away), 2 bad input."
    )]
    Watch {
        /// The session.
        #[arg(long, value_name = "ID")]
        session: String,
        /// Refuse unless the session's log begins with these events (COUNT:HASH, from a signed report's events.count and events.head, or a CI log): catches a store rewritten behind your back.
        #[arg(long, value_name = "COUNT:HASH")]
        expect_head: Option<Head>,
        /// The store: sqlite://PATH or postgres://USER@HOST/DATABASE (default: a SQLite file under the XDG data dir).
        #[arg(long, env = "RELCON_STORE", hide_env_values = true, value_name = "URL")]
        store: Option<String>,
    },
    /// Close a session: it accepts no new results after.
    #[command(
        after_help = "Examples:\n  relcon close --session 01a2…\n  relcon close --session 01a2… --as alice@example.com"
    )]
    Close {
        /// The session.
        #[arg(long, value_name = "ID")]
        session: String,
        /// Refuse unless the session's log begins with these events (COUNT:HASH, from a signed report's events.count and events.head, or a CI log): catches a store rewritten behind your back.
        #[arg(long, value_name = "COUNT:HASH")]
        expect_head: Option<Head>,
        /// Who closes it (default: RELCON_OPERATOR, else the global git user.email, else $USER).
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
        /// The store: sqlite://PATH or postgres://USER@HOST/DATABASE (default: a SQLite file under the XDG data dir).
        #[arg(long, env = "RELCON_STORE", hide_env_values = true, value_name = "URL")]
        store: Option<String>,
    },
    /// Write a session's report as JSON, Markdown, HTML or JUnit XML.
    #[command(
        after_help = "Examples:\n  relcon export --session 01a2… --format json --out report.json --sign ~/.ssh/id_ed25519\n  relcon export --session 01a2… --format json --out report.json --sign-agent\n  relcon export --session 01a2… --format md --out release.md\n  relcon export --session 01a2… --format html --out report.html --env-file prod.env\n\nAn open session's report says \"interim\", a closed one's \"final\". The export is recorded in the session.\nExit codes: 0 written, 2 bad input."
    )]
    Export {
        /// The session.
        #[arg(long, value_name = "ID")]
        session: String,
        /// Refuse unless the session's log begins with these events (COUNT:HASH, from a signed report's events.count and events.head, or a CI log): catches a store rewritten behind your back.
        #[arg(long, value_name = "COUNT:HASH")]
        expect_head: Option<Head>,
        /// The format.
        #[arg(long, value_parser = ["json", "md", "html", "junit"])]
        format: String,
        /// Where to write it.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Who exports it (default: RELCON_OPERATOR, else the global git user.email, else $USER).
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
        /// A dotenv file with the deployment's configuration: its secrets are scrubbed from the report (repeatable).
        #[arg(long = "env-file", value_name = "PATH")]
        env_files: Vec<PathBuf>,
        /// Sign the report with this OpenSSH private key (ed25519 or ECDSA): writes PATH.sig.
        #[arg(long, value_name = "KEYFILE", conflicts_with = "sign_agent")]
        sign: Option<PathBuf>,
        /// Sign the report with the ssh-agent's first key (SSH_AUTH_SOCK): writes PATH.sig.
        #[arg(long)]
        sign_agent: bool,
        /// The store: sqlite://PATH or postgres://USER@HOST/DATABASE (default: a SQLite file under the XDG data dir).
        #[arg(long, env = "RELCON_STORE", hide_env_values = true, value_name = "URL")]
        store: Option<String>,
    },
    /// Check an exported report offline: its signature, every sign-off's, the event chain, the verdict recomputed.
    #[command(
        after_help = "Examples:\n  relcon verify report.json --allowed-signers allowed_signers\n  relcon verify report.json --allowed-signers allowed_signers --checklist checklists/authjs-neon.toml\n  relcon verify report.json --allowed-signers allowed_signers --at 2026-11-26T07:00:00Z --json\n\nThe same report signature checks with OpenSSH alone:\n  ssh-keygen -Y verify -f allowed_signers -I alice@example.com -n relcon-report -s report.json.sig < report.json\n\nExit codes: 0 valid, 1 invalid (the first reason is named), 2 bad input."
    )]
    Verify {
        /// The report: a JSON export (relcon export --format json).
        report: PathBuf,
        /// The OpenSSH allowed_signers file saying which keys sign for whom (required: a signature by an unknown key proves nothing).
        #[arg(long, value_name = "FILE")]
        allowed_signers: PathBuf,
        /// The report's signature (default: REPORT.sig).
        #[arg(long, value_name = "FILE")]
        sig: Option<PathBuf>,
        /// The checklist file: its digest must be the one the session ran.
        #[arg(long, value_name = "FILE")]
        checklist: Option<PathBuf>,
        /// Judge the keys' validity at this time (RFC 3339 UTC) instead of now; SSHSIG carries no time.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Print the checks as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Compare a release with the last one: new failures and fixes, slower items, changed evidence, other signers, items added or removed, and secret continuity by keyed fingerprint.
    #[command(
        after_help = "Examples:\n  relcon diff                                  the latest session against the last closed one of its checklist and environment\n  relcon diff --session 01a2… --against 01a1…\n  relcon diff --session 01a2… --against last-release.json --json\n\nSecrets are compared by keyed fingerprint only, never by value; fingerprints compare within one store, so a report file says \"not comparable\".\nExit codes: 0 nothing needs attention, 1 a new failure or a secret warning (a changed session secret that ends every JWT session), 2 bad input."
    )]
    Diff {
        /// The session looked at (default: the store's latest).
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// A session id or an exported JSON report to compare with (default: the last closed session of the same checklist and environment).
        #[arg(long, value_name = "SESSION|REPORT.json")]
        against: Option<String>,
        /// An item that passed both times is slower when it took more than this many times as long (and 100 ms more).
        #[arg(long, default_value_t = 2.0, value_name = "RATIO")]
        slower: f64,
        /// Print the comparison (relcon.diff/v1) as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// The store: sqlite://PATH or postgres://USER@HOST/DATABASE (default: a SQLite file under the XDG data dir).
        #[arg(long, env = "RELCON_STORE", hide_env_values = true, value_name = "URL")]
        store: Option<String>,
    },
    /// Bake a release after go: re-run the items marked `bake = true` every interval, one line per round, until its time is up or a regression ends it.
    #[command(
        after_help = "Examples:\n  relcon bake --session 01a2… --for 15m --every 30s     once traffic has moved to the release\n  relcon bake --env production --env-file prod.env       the latest session of the checklist and environment\n\nA regression: an item failing 2 rounds in a row, or its p95 above max(3× its first rounds' median, that + 250 ms) (the checklist's [bake] table sets these). Every round is recorded in the session; Ctrl-C stops the bake (recorded as stopped), and a bake whose process died is taken up where it stopped.\nExit codes: 0 go, 1 no-go (a regression), 3 stopped, 2 bad input."
    )]
    Bake(Box<Bake>),
    /// Run the shipped checklist against a built-in sandbox that behaves like an Auth.js backend.
    #[command(after_help = demo_help())]
    Demo(Demo),
}

#[derive(Args)]
struct Demo {
    /// Switch on sandbox faults (comma-separated names, listed below).
    #[arg(long = "fault", value_name = "NAME,…", value_delimiter = ',')]
    faults: Vec<String>,
    /// Only serve the sandbox: print its URL, CA certificate and configuration, until Ctrl-C.
    #[arg(long)]
    serve: bool,
    /// Print the result document (relcon.report/v1) on stdout (runs headless).
    #[arg(long)]
    json: bool,
    /// Run without the console: progress lines on stderr (the default when there is no terminal).
    #[arg(long)]
    headless: bool,
    /// How many checks may run at once.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// How the sandbox keeps sessions, and so how the signed-in smoke gets one: jwt (minted
    /// with the configured secret), database (a probe row; needs the demo's database) or token
    /// (a token of a signed-in user given in the configuration).
    #[arg(long, default_value = "jwt", value_parser = ["jwt", "database", "token"])]
    sessions: String,
    /// The Auth.js generation the sandbox runs.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(4..=5))]
    authjs: u8,
    /// The platform the sandbox plays: container (a load balancer that redirects plain HTTP),
    /// kubernetes (an HTTPS-only load balancer), vercel (x-vercel-id, Deployment Protection,
    /// no canonical URL) or workers (cf-ray, no HSTS, no Node environment).
    #[arg(long, default_value = "container", value_parser = ["container", "kubernetes", "vercel", "workers"])]
    platform: String,
    /// Bake the release for this long once the automated items are done (every second; default 90s when a fault sets in later, such as slow-after:30).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    bake: Option<std::time::Duration>,
}

fn demo_help() -> String {
    let faults: Vec<String> = relcon::demo::sandbox::Fault::ALL
        .iter()
        .map(|(_, name, what)| (*name, *what))
        .chain(relcon::demo::sandbox::LATER)
        .map(|(name, what)| format!("  {name:<20} {what}"))
        .collect();
    format!(
        "Faults:\n{}\n\nExamples:\n  relcon demo\n  relcon demo --fault health-500,no-hsts\n  relcon demo --sessions database --authjs 4\n  relcon demo --platform vercel\n  relcon demo --fault secret-drift\n  relcon demo --fault slow-after:30     a bake that catches the release slowing down\n  relcon demo --serve\n\nExit codes: 0 go, 1 no-go (a fault), 3 incomplete (in the console: manual items still unsigned when you quit), 2 bad input.",
        faults.join("\n")
    )
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("resume_or_session").args(["session", "resume"]).multiple(false))]
struct Run {
    /// The checklist file (default: checklists/authjs-neon.toml under --root).
    checklist: Option<PathBuf>,
    #[command(flatten)]
    deployment: Deployment,
    /// Run without the console: progress lines on stderr (the default when there is no terminal).
    #[arg(long)]
    headless: bool,
    /// Print the result document (relcon.report/v1) on stdout.
    #[arg(long)]
    json: bool,
    /// Also write JUnit XML to PATH.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Run only these items (comma-separated ids); the others are left out of the verdict.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    only: Vec<String>,
    /// Leave these items out (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    skip: Vec<String>,
    /// Leave manual items out of the verdict.
    #[arg(long)]
    automated_only: bool,
    /// How many checks may run at once.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// Work in this session.
    #[arg(long, value_name = "ID", conflicts_with = "resume")]
    session: Option<String>,
    /// Resume the latest open session of this checklist and environment.
    #[arg(long)]
    resume: bool,
    /// With --session or --resume: refuse unless the session's log begins with these events (COUNT:HASH, from a signed report's events.count and events.head, or a CI log).
    #[arg(long, value_name = "COUNT:HASH", requires = "resume_or_session")]
    expect_head: Option<Head>,
    /// With --session or --resume: run finished automated items again too.
    #[arg(long, requires = "resume_or_session")]
    rerun: bool,
    /// Consent to writes (a migration apply, a made session, a command that writes) in a production environment.
    #[arg(long)]
    yes_apply: bool,
    /// Sign the console's sign-offs with this OpenSSH private key (default: RELCON_SIGNING_KEY, else the ssh-agent's key when one runs).
    #[arg(long, value_name = "KEYFILE")]
    sign_key: Option<PathBuf>,
    /// At go, start the post-deploy bake for this long (for teams that move traffic first); see `relcon bake`.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    bake: Option<std::time::Duration>,
    /// With --bake: the time between rounds (default: the checklist's [bake] every, else 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, requires = "bake")]
    bake_every: Option<std::time::Duration>,
}

/// Where the deployment is and how to reach it, for the commands that check it.
#[derive(Args)]
struct Deployment {
    /// The environment (default: the checklist's default_environment; for bake, the session's).
    #[arg(long = "env", value_name = "NAME")]
    environment: Option<String>,
    /// A dotenv file with the deployment's configuration; repeatable, later files win.
    #[arg(long = "env-file", value_name = "PATH")]
    env_files: Vec<PathBuf>,
    /// The deployed project's repository root (default: the current directory).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The timeout of items that set none, in seconds (or a duration such as 90s, 2m).
    #[arg(long, default_value = "60", value_name = "SECS", value_parser = parse_timeout)]
    timeout: std::time::Duration,
    /// Operator identity (default: RELCON_OPERATOR, else the global git user.email, else $USER).
    #[arg(long = "as", value_name = "NAME")]
    operator: Option<String>,
    /// An extra trusted CA (PEM) for HTTPS checks, like curl's --cacert.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// The store: sqlite://PATH or postgres://USER@HOST/DATABASE (default: a SQLite file under the XDG data dir).
    #[arg(long, env = "RELCON_STORE", hide_env_values = true, value_name = "URL")]
    store: Option<String>,
}

#[derive(Args)]
struct Bake {
    /// The checklist file (default: checklists/authjs-neon.toml under --root).
    checklist: Option<PathBuf>,
    #[command(flatten)]
    deployment: Deployment,
    /// The session to bake (default: the store's latest of the checklist and environment).
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// How long the bake lasts (default: the checklist's [bake] for, else 15m).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_timeout)]
    duration: Option<std::time::Duration>,
    /// The time between rounds (default: the checklist's [bake] every, else 30s; at least 1s).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    every: Option<std::time::Duration>,
}

/// Runs an async command on a fresh runtime.
fn block_on(command: impl std::future::Future<Output = u8>) -> u8 {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => {
            let code = runtime.block_on(command);
            // The command awaited all it does; what is left (a heartbeat, a feed, an idle
            // worker) need not be waited for on the way out.
            runtime.shutdown_background();
            code
        }
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            relcon::exit::BAD_INPUT
        }
    }
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let timeout = match text.parse::<u64>() {
        Ok(secs) => std::time::Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(text).map_err(|_| {
            format!("`{text}` is not a number of seconds or a duration such as 90s")
        })?,
    };
    let cap = relcon::checklist::spec::duration_cap("timeout");
    if timeout.is_zero() {
        Err("the timeout must be longer than zero".into())
    } else if timeout > cap {
        Err(format!(
            "the timeout must be at most {}",
            relcon::checklist::spec::cap_text(cap)
        ))
    } else {
        Ok(timeout)
    }
}

fn main() -> ExitCode {
    // Readable reports for the unexpected (a panic); expected failures have their own messages.
    if let Err(err) = color_eyre::install() {
        eprintln!("warning: {err}");
    }
    // A panic is a stop like any other: the claims and presence this process holds are
    // given up, not left to lapse.
    let reported = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        reported(info);
        relcon::store::leases::give_up_after_panic();
    }));
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Lint { checklist } => {
            if checklist.is_none() && !std::path::Path::new(DEFAULT_CHECKLIST).exists() {
                eprintln!("error: no checklist given, and there is no {DEFAULT_CHECKLIST} under the current directory: name one, e.g. `relcon lint my-checklist.toml`");
                return ExitCode::from(relcon::exit::BAD_INPUT);
            }
            let path = checklist.unwrap_or_else(|| PathBuf::from(DEFAULT_CHECKLIST));
            relcon::commands::lint::run(&path, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Command::Run(run) => {
            let args = RunArgs {
                checklist: run.checklist,
                environment: run.deployment.environment,
                env_files: run.deployment.env_files,
                root: run.deployment.root,
                json: run.json,
                junit: run.junit,
                scope: Scope {
                    only: run.only,
                    skip: run.skip,
                    automated_only: run.automated_only,
                },
                concurrency: usize::from(run.concurrency),
                timeout: run.deployment.timeout,
                operator: run.deployment.operator,
                cacert: run.deployment.cacert,
                store: run.deployment.store,
                session: match (run.session, run.resume) {
                    (Some(id), _) => SessionChoice::Id(id),
                    (None, true) => SessionChoice::Resume,
                    (None, false) => SessionChoice::New,
                },
                rerun: run.rerun,
                yes_apply: run.yes_apply,
                headless: run.headless,
                sign_key: run.sign_key,
                expect_head: run.expect_head,
                bake: run.bake.map(|duration| relcon::service::bake::Asked {
                    duration: Some(duration),
                    every: run.bake_every,
                }),
            };
            block_on(relcon::commands::run::run(args))
        }
        Command::Bake(bake) => block_on(relcon::commands::bake::run(
            relcon::commands::bake::BakeArgs {
                run: RunArgs {
                    checklist: bake.checklist,
                    environment: bake.deployment.environment,
                    env_files: bake.deployment.env_files,
                    root: bake.deployment.root,
                    json: false,
                    junit: None,
                    scope: Scope::default(),
                    concurrency: 64,
                    timeout: bake.deployment.timeout,
                    operator: bake.deployment.operator,
                    cacert: bake.deployment.cacert,
                    store: bake.deployment.store,
                    session: SessionChoice::New,
                    rerun: false,
                    yes_apply: false,
                    headless: true,
                    sign_key: None,
                    expect_head: None,
                    bake: None,
                },
                session: bake.session,
                asked: relcon::service::bake::Asked {
                    duration: bake.duration,
                    every: bake.every,
                },
            },
        )),
        Command::Sessions { store } => block_on(relcon::commands::session::list(store.as_deref())),
        Command::Signoff {
            item,
            session,
            by,
            status,
            note,
            evidence,
            sign_key,
            store,
            expect_head,
        } => {
            let status = match status.as_str() {
                "done" => SignoffStatus::Done,
                "failed" => SignoffStatus::Failed,
                _ => SignoffStatus::Na,
            };
            block_on(relcon::commands::session::signoff(
                relcon::commands::session::SignoffArgs {
                    item,
                    session,
                    by,
                    status,
                    note,
                    evidence,
                    store,
                    sign_key,
                    expect_head,
                },
            ))
        }
        Command::Watch {
            session,
            store,
            expect_head,
        } => block_on(relcon::commands::watch::run(
            &session,
            store.as_deref(),
            expect_head,
        )),
        Command::Close {
            session,
            by,
            store,
            expect_head,
        } => block_on(relcon::commands::session::close(
            &session,
            by.as_deref(),
            store.as_deref(),
            expect_head,
        )),
        Command::Export {
            session,
            format,
            out,
            by,
            env_files,
            sign,
            sign_agent,
            store,
            expect_head,
        } => block_on(relcon::commands::export::run(
            relcon::commands::export::ExportArgs {
                session,
                store,
                format: relcon::report::Format::named(&format)
                    .unwrap_or(relcon::report::Format::Json),
                out,
                by,
                env_files,
                expect_head,
                sign: match (sign, sign_agent) {
                    (Some(path), _) => Some(relcon::service::signing::KeyChoice::File(path)),
                    (None, true) => Some(relcon::service::signing::KeyChoice::Agent),
                    (None, false) => None,
                },
            },
        )),
        Command::Diff {
            session,
            against,
            slower,
            json,
            store,
        } => block_on(relcon::commands::diff::run(
            relcon::commands::diff::DiffArgs {
                session,
                against,
                store,
                json,
                slower,
            },
        )),
        Command::Verify {
            report,
            allowed_signers,
            sig,
            checklist,
            at,
            json,
        } => relcon::commands::verify::run(&relcon::commands::verify::VerifyArgs {
            report,
            allowed_signers,
            sig,
            checklist,
            at,
            json,
        }),
        Command::Demo(demo) => block_on(relcon::commands::demo::run(
            relcon::commands::demo::DemoArgs {
                faults: demo.faults,
                serve: demo.serve,
                json: demo.json,
                headless: demo.headless,
                concurrency: usize::from(demo.concurrency),
                sessions: demo.sessions,
                authjs: demo.authjs,
                platform: demo.platform,
                bake: demo.bake,
            },
        )),
    };
    ExitCode::from(code)
}
