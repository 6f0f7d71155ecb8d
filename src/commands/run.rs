//! `relcon run`: run a checklist headless, print progress on stderr, the result document
//! on stdout with `--json`, JUnit XML with `--junit`, and exit with the verdict's code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::checklist::plan::{self, Plan, Scope};
use crate::checklist::values::Values;
use crate::checklist::Checklist;
use crate::commands::{bad_input, say};
use crate::engine::event::Emitter;
use crate::engine::event::ItemResult;
use crate::engine::run::{RunOptions, Runner};
use crate::headless::Printer;
use crate::redact::Redactor;
use crate::report::model::Report;
use crate::session::rules::{self, CLOSED_ON_GO};
use crate::session::{Body, ChecklistCopy, SessionState as Session};
use crate::status::Status;
use crate::store::claims::StoreClaims;
use crate::store::Store;

/// The shipped checklist's path under `--root`, used when no checklist is named.
pub const DEFAULT_CHECKLIST: &str = "checklists/authjs-neon.toml";

/// What `relcon run` was asked.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// The checklist file.
    pub checklist: Option<PathBuf>,
    /// `--env`.
    pub environment: Option<String>,
    /// `--env-file`s, in order.
    pub env_files: Vec<PathBuf>,
    /// `--root`.
    pub root: Option<PathBuf>,
    /// `--json`.
    pub json: bool,
    /// `--junit`.
    pub junit: Option<PathBuf>,
    /// `--only`, `--skip`, `--automated-only`.
    pub scope: Scope,
    /// `--concurrency`.
    pub concurrency: usize,
    /// `--timeout`.
    pub timeout: Duration,
    /// `--as`.
    pub operator: Option<String>,
    /// `--cacert`.
    pub cacert: Option<PathBuf>,
    /// `--store`.
    pub store: Option<String>,
    /// `--session` or `--resume`.
    pub session: SessionChoice,
    /// `--rerun`.
    pub rerun: bool,
    /// `--yes-apply`.
    pub yes_apply: bool,
    /// `--headless`.
    pub headless: bool,
}

/// Which session a run works in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SessionChoice {
    /// A new one.
    #[default]
    New,
    /// This one.
    Id(String),
    /// The latest open one of the checklist and environment.
    Resume,
}

/// The operator: `--as`, else git's user.email, else $USER.
pub async fn operator(requested: Option<&str>) -> String {
    if let Some(name) = requested {
        return name.to_string();
    }
    let git = tokio::process::Command::new("git")
        .args(["config", "user.email"])
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    if let Ok(output) = git {
        let email = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if output.status.success() && !email.is_empty() {
            return email;
        }
    }
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}

/// The checklist file: the one given, else the shipped one under the root.
pub fn checklist_path(given: Option<&Path>, root: &Path) -> Result<PathBuf, String> {
    match given {
        Some(path) => Ok(path.to_path_buf()),
        None => {
            let path = root.join(DEFAULT_CHECKLIST);
            if path.exists() {
                Ok(path)
            } else {
                Err(format!(
                    "no checklist given and {} does not exist",
                    path.display()
                ))
            }
        }
    }
}

/// A checklist read and validated from `bytes`; an invalid one is bad input, said in one line.
pub fn parse_checklist(name: &str, bytes: &[u8]) -> Result<Checklist, String> {
    Checklist::from_bytes(name, bytes).map_err(|invalid| {
        let first = invalid.problems.first().map(|p| {
            let (line, column) = invalid.source.location(p.span.start);
            format!("{}:{line}:{column}: {}", invalid.source.name, p.message)
        });
        format!(
            "invalid checklist ({} errors, first {}); see `relcon lint {name}`",
            invalid.problems.len(),
            first.unwrap_or_default()
        )
    })
}

/// Everything a run needs, gathered and checked before anything runs.
pub struct Setup {
    /// The checklist.
    pub checklist: Checklist,
    /// Its file's bytes (their digest goes in the report).
    pub bytes: Vec<u8>,
    /// The environment.
    pub environment: Option<String>,
    /// Which items run.
    pub scope: Scope,
    /// The values.
    pub values: Values,
    /// How the engine runs.
    pub options: RunOptions,
    /// `--json`.
    pub json: bool,
    /// `--junit`.
    pub junit: Option<PathBuf>,
    /// Whether the run shows the console (else progress lines on stderr).
    pub console: bool,
    /// The store.
    pub store: Store,
    /// The session to work in.
    pub session: SessionChoice,
    /// Re-run finished automated items of a resumed session.
    pub rerun: bool,
    /// The command line that takes this run's session up again, but for `--session ID`
    /// (none for a throwaway store).
    pub resume: Option<String>,
}

/// `relcon run` with what this run was given that finds its session and its configuration
/// again: checklist, root, environment, env files, scope, and the store when one was named
/// (its password shown as `***`, to be put back).
fn resume_command(args: &RunArgs, checklist: &Path) -> String {
    fn quoted(arg: &str) -> String {
        if !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-:=@%+,".contains(c))
        {
            arg.to_string()
        } else {
            format!("'{}'", arg.replace('\'', "'\\''"))
        }
    }
    let mut line = vec![
        "relcon".to_string(),
        "run".to_string(),
        quoted(&checklist.display().to_string()),
    ];
    let mut flag = |name: &str, value: &str| {
        line.push(name.to_string());
        line.push(quoted(value));
    };
    if let Some(root) = &args.root {
        flag("--root", &root.display().to_string());
    }
    if let Some(environment) = &args.environment {
        flag("--env", environment);
    }
    for file in &args.env_files {
        flag("--env-file", &file.display().to_string());
    }
    if let Some(store) = &args.store {
        flag("--store", &crate::dburl::shown(store));
    }
    if !args.scope.only.is_empty() {
        flag("--only", &args.scope.only.join(","));
    }
    if !args.scope.skip.is_empty() {
        flag("--skip", &args.scope.skip.join(","));
    }
    if let Some(who) = &args.operator {
        flag("--as", who);
    }
    if args.scope.automated_only {
        line.push("--automated-only".into());
    }
    line.join(" ")
}

/// Whether a run shows the console: unless told not to, when it has a terminal to show it on
/// (stdin and stdout, and a terminal that can draw).
pub fn wants_console(headless: bool) -> bool {
    use std::io::IsTerminal;
    !headless
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Runs the command; returns the exit code.
pub async fn run(args: RunArgs) -> u8 {
    match setup(&args).await {
        Ok(setup) => execute(setup).await,
        Err(message) => bad_input(message),
    }
}

async fn setup(args: &RunArgs) -> Result<Setup, String> {
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        return Err(format!("--root {} is not a directory", root.display()));
    }
    // A JUnit path that cannot be written is found before the run, not after it.
    if let Some(junit) = &args.junit {
        let parent = junit
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            return Err(format!(
                "cannot write JUnit XML to {}: {} is not a directory",
                junit.display(),
                parent.display()
            ));
        }
    }
    let path = checklist_path(args.checklist.as_deref(), &root)?;
    let bytes =
        std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let checklist = parse_checklist(&path.display().to_string(), &bytes)?;
    let environment = plan::choose_environment(&checklist, args.environment.as_deref())
        .map_err(|e| e.to_string())?;
    let values = Values::load(
        &checklist,
        environment.as_deref(),
        &args.env_files,
        &|name| std::env::var(name).ok(),
    )
    .map_err(|e| e.to_string())?;
    let net = crate::checks::net::Net::new(args.cacert.as_deref())?;
    let store = Store::open(&args.store.clone().unwrap_or_else(crate::store::default_url))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Setup {
        checklist,
        bytes,
        environment,
        scope: args.scope.clone(),
        values,
        options: RunOptions {
            concurrency: args.concurrency,
            default_timeout: args.timeout,
            root,
            operator: operator(args.operator.as_deref()).await,
            net: Arc::new(net),
            yes_apply: args.yes_apply,
        },
        json: args.json,
        junit: args.junit.clone(),
        console: wants_console(args.headless || args.json || args.junit.is_some()),
        store,
        session: args.session.clone(),
        rerun: args.rerun,
        resume: Some(resume_command(args, &path)),
    })
}

/// The session a run works in: a new one, or one resumed after checking its chain, its
/// environment and that the checklist file is the one it started with.
async fn open_session(setup: &Setup, operator: &str) -> Result<Session, String> {
    let checklist = &setup.checklist;
    let sha256: String = Sha256::digest(&setup.bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let id = match &setup.session {
        SessionChoice::New => {
            let id = uuid::Uuid::now_v7().to_string();
            let body = Body::SessionStarted {
                checklist: ChecklistCopy {
                    id: checklist.id.clone(),
                    title: checklist.title.clone(),
                    version: checklist.version,
                    sha256,
                    name: checklist.source.name.clone(),
                    source: checklist.source.text.clone(),
                },
                environment: setup.environment.clone(),
                production: setup
                    .environment
                    .as_deref()
                    .and_then(|e| checklist.environment(e))
                    .is_some_and(|e| e.production),
            };
            setup
                .store
                .create_session(&id, operator, &body)
                .await
                .map_err(|e| e.to_string())?;
            return setup
                .store
                .open_session(&id, None)
                .await
                .map_err(|e| e.to_string());
        }
        SessionChoice::Id(id) => id.clone(),
        SessionChoice::Resume => setup
            .store
            .latest_open(&checklist.id, setup.environment.as_deref())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "no open session of checklist {} in environment {} to resume",
                    checklist.id,
                    setup.environment.as_deref().unwrap_or("(none)")
                )
            })?,
    };
    let session = setup
        .store
        .open_session(&id, None)
        .await
        .map_err(|e| e.to_string())?;
    if session.checklist.id != checklist.id {
        return Err(format!(
            "session {id} runs checklist {}, not {}",
            session.checklist.id, checklist.id
        ));
    }
    if session.checklist.sha256 != sha256 {
        return Err(format!("the checklist changed since session {id} started (session: {}, file: {sha256}); run it in a new session", session.checklist.sha256));
    }
    if session.environment != setup.environment {
        return Err(format!(
            "session {id} runs in environment {}, not {}",
            session.environment.as_deref().unwrap_or("(none)"),
            setup.environment.as_deref().unwrap_or("(none)")
        ));
    }
    if let Some(reason) = &session.closed {
        return Err(format!(
            "session {id} is closed ({reason}): it accepts no new results"
        ));
    }
    setup
        .store
        .append(&id, operator, &Body::SessionJoined {})
        .await
        .map_err(|e| e.to_string())?;
    setup
        .store
        .open_session(&id, None)
        .await
        .map_err(|e| e.to_string())
}

/// Shows the console over a run until the operator quits (which cancels what still runs) or
/// a signal ends it; the terminal is restored however it ends.
async fn show_console(
    plan: &Plan<'_>,
    session: &Session,
    store: &Store,
    redactor: &Arc<Redactor>,
    operator: &str,
    consented: bool,
    inputs: crate::tui::console::Inputs<crossterm::event::EventStream>,
) -> Result<(), String> {
    let run = inputs.run.clone();
    let (mut terminal, guard) = crate::tui::terminal::enter().map_err(|e| {
        // Without a console, there is nothing to show the run on: it stops.
        run.cancel();
        format!("cannot take the terminal: {e}")
    })?;
    let mut app = crate::tui::app::App::new(plan, &session.id, redactor);
    app.operator = operator.to_string();
    app.redactor = Some(redactor.clone());
    app.consented = consented;
    let shown = crate::tui::console::run(
        &mut terminal,
        plan,
        session.clone(),
        store,
        &mut app,
        inputs,
        crate::tui::theme::Theme::from_env(),
    )
    .await;
    drop(guard);
    // The guard gave the terminal back. Dropped, the ratatui terminal would show the cursor
    // again and, on a terminal that has gone (a dropped SSH connection), print its failure
    // with `eprintln!`, which panics there, before the run has cleaned up.
    std::mem::forget(terminal);
    if shown.is_err() {
        run.cancel();
    }
    if app.animating() && run.is_cancelled() {
        say("cancelling running checks (finished results are kept)…");
    }
    shown
}

/// What the console's operator asks of the run besides the first one: runs of chosen
/// items, cancelling one.
struct Asking<'a> {
    checklist: &'a Checklist,
    environment: &'a Option<String>,
    values: &'a Values,
    redactor: &'a Arc<Redactor>,
    options: &'a RunOptions,
    /// The same options with writes to production allowed, once the operator consented.
    consented: &'a RunOptions,
    consent: std::sync::atomic::AtomicBool,
    emitter: Emitter,
    cancel: &'a CancellationToken,
    cancels: &'a crate::engine::run::Cancels,
    store: &'a Store,
    session: &'a str,
    operator: &'a str,
    problems: tokio::sync::mpsc::UnboundedSender<String>,
}

impl<'a> Asking<'a> {
    /// Starts what `request` asks for; a run to drive to its end, if it is one.
    fn start(
        &self,
        request: crate::tui::console::Request,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>> {
        match request {
            crate::tui::console::Request::Cancel(item) => {
                if let Some(token) = self.cancels.lock().ok().and_then(|c| c.get(&item).cloned()) {
                    token.cancel();
                }
                None
            }
            crate::tui::console::Request::Consent => {
                self.consent
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                None
            }
            crate::tui::console::Request::Run(items) => {
                let options = if self.consent.load(std::sync::atomic::Ordering::SeqCst) {
                    self.consented
                } else {
                    self.options
                };
                let (checklist, environment, values, redactor) = (
                    self.checklist,
                    self.environment.clone(),
                    self.values,
                    self.redactor.clone(),
                );
                let (emitter, cancel, cancels, store, session, operator, problems) = (
                    self.emitter.clone(),
                    self.cancel.child_token(),
                    self.cancels.clone(),
                    self.store.clone(),
                    self.session.to_string(),
                    self.operator.to_string(),
                    self.problems.clone(),
                );
                Some(Box::pin(async move {
                    // The session as it is now decides what runs: these items, again.
                    let now = match store.open_session(&session, None).await {
                        Ok(now) => now,
                        Err(err) => {
                            let _ = problems.send(format!("cannot run: {err}"));
                            return;
                        }
                    };
                    let scope = Scope {
                        only: items,
                        ..Scope::default()
                    };
                    let plan = match Plan::new(checklist, environment, &scope) {
                        Ok(plan) => plan,
                        Err(err) => {
                            let _ = problems.send(format!("cannot run: {err}"));
                            return;
                        }
                    };
                    let runner = Runner {
                        plan: &plan,
                        values,
                        redactor,
                        options,
                        emitter,
                        cancel,
                        prior: prior_results(&plan, &now, true),
                        claims: Some(Arc::new(StoreClaims::new(
                            &store,
                            &session,
                            &operator,
                            now.head.count,
                            false,
                        ))),
                        cancels: Some(cancels),
                    };
                    runner.run().await;
                }))
            }
        }
    }
}

/// What a session already knows that a run keeps instead of running again (see
/// [`rules::kept_on_resume`]).
fn prior_results(plan: &Plan<'_>, session: &Session, rerun: bool) -> Vec<Option<ItemResult>> {
    plan.entries
        .iter()
        .map(|entry| {
            rules::kept_on_resume(entry, session, rerun).then(|| item_result(entry, session))
        })
        .collect()
}

/// The plan's `entry` as the session has it, in the engine's terms.
fn item_result(entry: &crate::checklist::plan::Entry<'_>, session: &Session) -> ItemResult {
    let item = session.item_for(entry);
    let outcome = item.outcome();
    ItemResult {
        status: item.status,
        summary: item.summary_in(entry.in_scope).to_string(),
        evidence: outcome.map_or_else(|| serde_json::json!({}), |o| o.evidence.clone()),
        started_at: outcome
            .and_then(|o| o.started_at)
            .map(crate::session::Timestamp::system),
        duration: outcome.map_or(Duration::ZERO, |o| o.duration),
        attempts: outcome.map_or(0, |o| o.attempts),
        run_by: item.run_by().map(String::from),
        observed: false,
        claim: None,
    }
}

/// Runs a prepared run: progress on stderr, the document and JUnit as asked; returns the
/// exit code.
pub async fn execute(setup: Setup) -> u8 {
    let operator = setup.options.operator.clone();
    let fresh = setup.session == SessionChoice::New;
    // The scope is checked before a session is made or joined: bad input writes nothing.
    if let Err(err) = Plan::new(&setup.checklist, setup.environment.clone(), &setup.scope) {
        return bad_input(err);
    }
    let session = match open_session(&setup, &operator).await {
        Ok(session) => session,
        Err(err) => return bad_input(err),
    };
    let Setup {
        checklist,
        environment,
        scope,
        values,
        options,
        json,
        junit,
        console,
        store,
        rerun,
        resume,
        ..
    } = setup;
    let plan = match Plan::new(&checklist, environment, &scope) {
        Ok(plan) => plan,
        Err(err) => return bad_input(err),
    };
    let redactor = Arc::new(Redactor::with_key(store.fingerprint_key()));
    values
        .secrets(&checklist)
        .for_each(|secret| redactor.add_secret(secret));
    // What the session already knows is not run again: finished results (unless --rerun)
    // and manual items' sign-offs. Pending, blocked and interrupted items run. Items left
    // out of this run keep what the session knows of them, so their dependents can use it.
    let prior = prior_results(&plan, &session, rerun);
    let cancel = CancellationToken::new();
    // The console ends on a signal too, but not when the run stops for another reason (the
    // store refused a result): then it says why and stays.
    let stop = CancellationToken::new();
    let (on_interrupt, console_stop) = (cancel.clone(), stop.clone());
    // Ctrl-C, a dropped SSH connection (SIGHUP) and SIGTERM all stop the run the same way.
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut hangup), Ok(mut terminate)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = hangup.recv() => {}
            _ = terminate.recv() => {}
        }
        if !console {
            say("interrupted: cancelling running checks (finished results are kept)");
        }
        on_interrupt.cancel();
        console_stop.cancel();
    });
    say(&format!(
        "session {} ({})",
        session.id,
        if fresh { "new" } else { "resumed" }
    ));
    // While this process works in the session it holds a presence lease: it is one of the
    // "operators attached" that other terminals see.
    let presence = uuid::Uuid::now_v7().to_string();
    let lease = crate::engine::claims::lease();
    if let Err(err) = store.attend(&session.id, &operator, &presence, lease).await {
        return bad_input(err);
    }
    let attending = CancellationToken::new();
    {
        let (store, id, operator, presence, attending) = (
            store.clone(),
            session.id.clone(),
            operator.clone(),
            presence.clone(),
            attending.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(lease / 3) => { let _ = store.attend(&id, &operator, &presence, lease).await; }
                    () = attending.cancelled() => break,
                }
            }
        });
    }
    let (engine_sender, engine_receiver) = tokio::sync::mpsc::unbounded_channel();
    let (printer_sender, mut printer_receiver) = tokio::sync::mpsc::unbounded_channel();
    let budget = Arc::new(tokio::sync::Semaphore::new(
        crate::store::recorder::OUTPUT_BUDGET,
    ));
    let recording = tokio::spawn(crate::store::recorder::record(
        store.clone(),
        session.id.clone(),
        operator.clone(),
        engine_receiver,
        printer_sender,
        budget.clone(),
        cancel.clone(),
    ));
    let mut printer = Printer::new(
        std::io::stderr(),
        plan.entries
            .iter()
            .filter(|e| e.in_scope)
            .map(|e| e.item.id.as_str()),
    );
    // What a resumed session already knows is shown first, so the picture is whole.
    for (entry, known) in plan.entries.iter().zip(&prior) {
        if let (true, Some(result)) = (entry.in_scope && !fresh && !console, known) {
            let mut earlier = result.clone();
            earlier.summary = format!("{} (earlier in the session)", earlier.summary);
            printer.event(&crate::engine::event::Event::Finished {
                id: entry.item.id.clone(),
                result: earlier,
            });
        }
    }
    // Headless, progress lines go to stderr; the console takes the events itself.
    let (printing, for_console) = if console {
        (None, Some(printer_receiver))
    } else {
        let printing = tokio::spawn(async move {
            while let Some(event) = printer_receiver.recv().await {
                printer.event(&event);
            }
            printer
        });
        (Some(printing), None)
    };
    let cancels: crate::engine::run::Cancels = Arc::default();
    let emitter = Emitter::new(engine_sender, redactor.clone()).with_output_budget(budget);
    let runner = Runner {
        plan: &plan,
        values: &values,
        redactor: redactor.clone(),
        options: &options,
        emitter: emitter.clone(),
        cancel: cancel.clone(),
        prior,
        claims: Some(Arc::new(StoreClaims::new(
            &store,
            &session.id,
            &operator,
            session.head.count,
            !console,
        ))),
        cancels: Some(cancels.clone()),
    };
    let recorded = if let Some(engine) = for_console {
        let (problems, problems_seen) = tokio::sync::mpsc::unbounded_channel();
        // A store that refuses a result stops the run: the console, still open, says why.
        let recording = {
            let problems = problems.clone();
            tokio::spawn(async move {
                let recorded = recording.await;
                if let Ok(Err(err)) = &recorded {
                    let _ = problems.send(format!(
                        "the store refused a result ({err}); the run stopped"
                    ));
                }
                recorded.unwrap_or_else(|err| {
                    Err(crate::store::StoreError::Unreachable {
                        url: String::new(),
                        why: format!("the recorder failed: {err}"),
                    })
                })
            })
        };
        let (requests, mut asked) = tokio::sync::mpsc::unbounded_channel();
        let consented_options = RunOptions {
            yes_apply: true,
            ..options.clone()
        };
        let asking = Asking {
            checklist: &checklist,
            environment: &plan.environment,
            values: &values,
            redactor: &redactor,
            options: &options,
            consented: &consented_options,
            consent: std::sync::atomic::AtomicBool::new(options.yes_apply),
            emitter,
            cancel: &cancel,
            cancels: &cancels,
            store: &store,
            session: &session.id,
            operator: &operator,
            problems: problems.clone(),
        };
        let running = async move {
            // The first run, then whatever the operator asks for from the console, each in
            // a run of its own, until the console closes.
            let mut runs: futures::stream::FuturesUnordered<
                std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>,
            > = futures::stream::FuturesUnordered::new();
            runs.push(Box::pin(async move {
                runner.run().await;
            }));
            let mut open = true;
            loop {
                tokio::select! {
                    Some(()) = futures::StreamExt::next(&mut runs), if !runs.is_empty() => {}
                    request = asked.recv(), if open => match request {
                        Some(request) => {
                            if let Some(run) = asking.start(request) {
                                runs.push(run);
                            }
                        }
                        None => open = false,
                    },
                    else => break,
                }
            }
            drop(runs);
            drop(asking);
            recording.await
        };
        let shown = show_console(
            &plan,
            &session,
            &store,
            &redactor,
            &operator,
            options.yes_apply,
            crate::tui::console::Inputs {
                terminal: crossterm::event::EventStream::new(),
                engine: Some(engine),
                problems: Some(problems_seen),
                requests: Some(requests),
                stop,
                run: cancel.clone(),
            },
        );
        let (recorded, shown) = tokio::join!(running, shown);
        if let Err(err) = shown {
            say(&format!(
                "error: the console failed ({err}); the run was cancelled"
            ));
        }
        recorded
    } else {
        runner.run().await;
        drop(runner);
        drop(emitter);
        recording.await
    };
    let mut printer = match printing {
        None => Printer::new(std::io::stderr(), std::iter::empty()),
        Some(printing) => match printing.await {
            Ok(printer) => printer,
            Err(err) => return bad_input(format!("the progress printer failed: {err}")),
        },
    };
    match recorded {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return bad_input(format!("the store refused a result: {err}")),
        Err(err) => return bad_input(format!("the store recorder failed: {err}")),
    }
    // Leaving is recorded, and the presence lease given up.
    attending.cancel();
    let _ = store.leave(&session.id, &presence).await;
    // Best effort: another process may have closed the session meanwhile.
    let _ = store
        .append(&session.id, &operator, &Body::SessionLeft {})
        .await;
    let mut session = match store.open_session(&session.id, None).await {
        Ok(session) => session,
        Err(err) => return bad_input(err),
    };
    // The session closes once every required item, whatever this run's scope, says go.
    let closes = Plan::new(&checklist, plan.environment.clone(), &Scope::default())
        .is_ok_and(|full| rules::closes(&full, &session));
    if closes {
        let closed = store
            .append(
                &session.id,
                &operator,
                &Body::SessionClosed {
                    reason: CLOSED_ON_GO.into(),
                },
            )
            .await;
        // Another process may close it first (both saw go): closed is closed.
        let closed_here = match closed {
            Ok(_) => true,
            Err(crate::store::StoreError::Closed(_)) => false,
            Err(err) => return bad_input(err),
        };
        match store.open_session(&session.id, None).await {
            Ok(reopened) => session = reopened,
            Err(err) => return bad_input(err),
        }
        if closed_here {
            say(&format!(
                "session {} closed: every required item passed",
                session.id
            ));
        }
    }
    let report = Report::of_session(&plan, &session);
    if console {
        // The console is gone: what needs attention is said once more, in lines that stay.
        let mut lines = Printer::new(
            std::io::stderr(),
            plan.entries
                .iter()
                .filter(|e| e.in_scope)
                .map(|e| e.item.id.as_str()),
        );
        for entry in plan.entries.iter().filter(|e| e.in_scope) {
            let result = item_result(entry, &session);
            if !matches!(result.status, Status::Pass | Status::Skip) {
                lines.event(&crate::engine::event::Event::Finished {
                    id: entry.item.id.clone(),
                    result,
                });
            }
        }
        if let (None, Some(resume)) = (&session.closed, &resume) {
            say(&format!(
                "the session stays open: resume it with {resume} --session {}",
                session.id
            ));
        }
    }
    if !console && cancel.is_cancelled() {
        if let (None, Some(resume)) = (&session.closed, &resume) {
            say(&format!(
                "the session stays open: resume it with {resume} --session {}",
                session.id
            ));
        }
    }
    printer.verdict(&report);
    let mut code = report.verdict.exit_code();
    if json {
        let mut document = serde_json::to_value(&report).unwrap_or_default();
        redactor.scrub_json(&mut document);
        match serde_json::to_string_pretty(&document) {
            Ok(text) => {
                crate::commands::print_line(text);
            }
            Err(err) => code = bad_input(format!("cannot write the result document: {err}")),
        }
    }
    if let Some(junit) = &junit {
        let written = crate::report::junit::render(&report)
            .map_err(|e| e.to_string())
            .map(|xml| redactor.scrub(&xml).into_owned())
            .and_then(|xml| std::fs::write(junit, xml).map_err(|e| e.to_string()));
        if let Err(err) = written {
            code = bad_input(format!(
                "cannot write JUnit XML to {}: {err}",
                junit.display()
            ));
        }
    }
    store.close().await;
    code
}
