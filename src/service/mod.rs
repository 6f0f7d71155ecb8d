//! The attended run: this process working one session, used by `relcon run` (headless or
//! in the console) and `relcon demo`. It opens or resumes the session, holds this process's
//! presence, records what the engine reports before anything shows it, takes the console's
//! requests (typed [`Request`]s in) and tells it what happens (typed [`Update`]s out),
//! closes the session on go, and writes the output documents. The console is a view it is
//! given ([`Console`]); the headless lines are the other view.

pub mod bake;
pub mod closing;
pub mod export;
mod finish;
mod follow;
mod limits;
pub(crate) mod open;
mod prepare;
mod presence;
mod requests;
pub mod signing;
pub mod signoffs;
pub mod since;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

pub use prepare::{
    checklist_path, clean_identity, operator, parse_checklist, prepare, wants_console, RunArgs,
    SessionChoice, DEFAULT_CHECKLIST,
};

use crate::checklist::plan::{Entry, Plan, Scope};
use crate::checklist::values::Values;
use crate::checklist::Checklist;
use crate::engine::event::{Emitter, Event, ItemResult};
use crate::engine::run::{Cancels, RunOptions, Runner};
use crate::out::{bad_input, say};
use crate::redact::Redactor;
use crate::session::rules::{self, Request as Signing};
use crate::session::{ItemState, SessionState, StoredEvent, Timestamp};
use crate::store::claims::StoreClaims;
use crate::store::{Store, StoreError};

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
    /// The operator's signing key: the console's sign-offs are signed with it.
    pub signer: Option<Arc<crate::sshsig::Signer>>,
    /// The post-deploy bake to start right at go, when asked for.
    pub bake: Option<bake::Asked>,
}

/// What the console asks of the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Run these items (again).
    Run(Vec<String>),
    /// Cancel this item's running check.
    Cancel(String),
    /// Allow writes to the production environment in the runs asked for from now on.
    Consent,
    /// Skip an item, for a reason.
    Skip {
        /// The item.
        item: String,
        /// Why.
        reason: String,
    },
    /// Sign a manual item off.
    SignOff(Signing),
    /// Save an item's result and evidence, as the console shows it, to a file.
    Save {
        /// The item.
        item: String,
        /// What the console shows of it (none: nothing has happened to it).
        shown: Option<Box<ItemState>>,
    },
    /// Read the stored output of an item's run.
    ReadOutput {
        /// The item.
        item: String,
        /// The run.
        run: String,
    },
    /// Export the session's report.
    Export {
        /// The format.
        format: crate::report::Format,
        /// The file.
        path: PathBuf,
        /// How it is signed (none: not signed).
        sign: Option<ExportSigning>,
    },
    /// What changed since the last release (answered with [`Update::Diff`]).
    Diff,
    /// Start the post-deploy bake (or take up one whose process died).
    Bake(bake::Asked),
    /// Stop the bake this console runs (recorded as stopped).
    StopBake,
}

/// How the console asks a report to be signed.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportSigning {
    /// With the key the console signs sign-offs with.
    Operator,
    /// With the ssh-agent's first key.
    Agent,
    /// With a key file, and the passphrase typed for it.
    File {
        /// The key file.
        key: PathBuf,
        /// Its passphrase, when it has one.
        passphrase: Option<Passphrase>,
    },
}

/// A passphrase on its way from the console to the key: never shown, never equal to
/// anything (a request holding one is compared by everything else only in tests that have
/// none).
#[derive(Debug, Clone)]
pub struct Passphrase(pub secrecy::SecretString);

impl PartialEq for Passphrase {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

/// What the run tells the console, besides its own engine's events.
#[derive(Debug)]
pub enum Update {
    /// Events committed to the session (by any process).
    Events(Vec<StoredEvent>),
    /// Who is attached now.
    Attached(Vec<String>),
    /// The items whose claims are live now, with who holds them.
    Claims(Vec<(String, String)>),
    /// A run's stored output: (stream, line) pairs.
    Output {
        /// The item.
        item: String,
        /// The run.
        run: String,
        /// Its kept lines.
        lines: Vec<(String, String)>,
    },
    /// Something for the operator to read (an answer, a problem); the console goes on.
    Said(String),
    /// The answer to a sign-off: what was recorded, or why not.
    Signed(Result<String, String>),
    /// The answer to an export: what was written, or why not.
    Exported(Result<String, String>),
    /// What changed since the last release, as lines, or why it cannot be said.
    Diff(Result<Vec<String>, String>),
}

/// What the console is given to show a run.
pub struct ConsoleInputs<'a> {
    /// The checklist's inputs as they may be shown, (names, line): the console lists those
    /// each item names by one of the names.
    pub inputs: Vec<(Vec<String>, String)>,
    /// The store's URL as it may be shown (no password), for the commands the console
    /// hints at.
    pub store: String,
    /// The command line that takes this session up again, when there is one (the demo's
    /// sandbox lives only as long as the demo).
    pub resume: Option<String>,
    /// The plan.
    pub plan: &'a Plan<'a>,
    /// The session as opened.
    pub session: SessionState,
    /// The redactor (what the console shows of configuration is scrubbed with it).
    pub redactor: &'a Arc<Redactor>,
    /// Who works the console.
    pub operator: &'a str,
    /// Whether writes to a production environment are allowed already (`--yes-apply`).
    pub consented: bool,
    /// The fingerprint of the key the console signs with, when it has one.
    pub signer: Option<String>,
    /// This process's engine events, once committed.
    pub engine: UnboundedReceiver<Event>,
    /// Everything else that happens.
    pub updates: UnboundedReceiver<Update>,
    /// Where the operator's requests go.
    pub requests: UnboundedSender<Request>,
    /// Ends the console (SIGTERM, SIGHUP, Ctrl-C).
    pub stop: CancellationToken,
    /// This process's run: cancelled when the operator quits.
    pub run: CancellationToken,
    /// The post-deploy bake to start once the automated items are done (`--bake`).
    pub bake_at_go: Option<bake::Asked>,
}

/// The console, as the run shows it: until the operator quits or `stop` ends it, with the
/// terminal given back however it ends.
pub trait Console {
    /// Shows the run.
    fn show<'a>(
        &'a mut self,
        inputs: ConsoleInputs<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;
}

/// What a session already knows that a run keeps instead of running again (see
/// [`rules::kept_on_resume`]), in the engine's terms.
fn prior_results(plan: &Plan<'_>, session: &SessionState, rerun: bool) -> Vec<Option<ItemResult>> {
    plan.entries
        .iter()
        .map(|entry| {
            rules::kept_on_resume(entry, session, rerun).then(|| item_result(entry, session))
        })
        .collect()
}

/// The plan's `entry` as the session has it, in the engine's terms.
fn item_result(entry: &Entry<'_>, session: &SessionState) -> ItemResult {
    let item = session.item_for(entry);
    let outcome = item.outcome();
    ItemResult {
        status: item.status,
        summary: item.summary_in(entry.in_scope).to_string(),
        evidence: outcome.map_or_else(|| serde_json::json!({}), |o| o.evidence.clone()),
        started_at: outcome.and_then(|o| o.started_at).map(Timestamp::system),
        duration: outcome.map_or(Duration::ZERO, |o| o.duration),
        attempts: outcome.map_or(0, |o| o.attempts),
        run_by: item.run_by().map(String::from),
        observed: false,
        claim: None,
    }
}

/// The redactor of a run: the store's fingerprint key, the values' secrets registered.
fn redactor_for(store: &Store, checklist: &Checklist, values: &Values) -> Arc<Redactor> {
    let redactor = Arc::new(Redactor::with_key(store.fingerprint_key()));
    values
        .secrets(checklist)
        .for_each(|secret| redactor.add_secret(secret));
    redactor
}

/// Stops the run on Ctrl-C, a dropped SSH connection (SIGHUP) and SIGTERM alike: running
/// checks are cancelled (`cancel`) and the console ends (`stop`).
fn on_signals(cancel: &CancellationToken, stop: &CancellationToken, console: bool) {
    let (cancel, stop) = (cancel.clone(), stop.clone());
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
        cancel.cancel();
        stop.cancel();
    });
}

/// Runs a prepared run in its session, shown on `console` when given (else as progress
/// lines on stderr); the document and JUnit as asked. Returns the exit code.
pub async fn attend(setup: Setup, console: Option<&mut dyn Console>) -> u8 {
    attend_session(setup, console).await.0
}

/// [`attend`], also saying which session the run worked in (none when it never got one).
pub async fn attend_session(
    setup: Setup,
    console: Option<&mut dyn Console>,
) -> (u8, Option<String>) {
    let mut opened = None;
    let code = run_session(setup, console, &mut opened).await;
    (code, opened)
}

async fn run_session(
    setup: Setup,
    console: Option<&mut dyn Console>,
    opened: &mut Option<String>,
) -> u8 {
    let operator = setup.options.operator.clone();
    let fresh = setup.session == SessionChoice::New;
    // The scope is checked before a session is made or joined: bad input writes nothing.
    if let Err(err) = Plan::new(&setup.checklist, setup.environment.clone(), &setup.scope) {
        return bad_input(err);
    }
    let session = match open::open(&setup, &operator).await {
        Ok(session) => session,
        Err(err) => return bad_input(err),
    };
    *opened = Some(session.id.clone());
    let Setup {
        checklist,
        environment,
        scope,
        values,
        options,
        json,
        junit,
        store,
        rerun,
        resume,
        signer,
        bake,
        ..
    } = setup;
    let plan = match Plan::new(&checklist, environment, &scope) {
        Ok(plan) => plan.with_values(&values),
        Err(err) => return bad_input(err),
    };
    let redactor = redactor_for(&store, &checklist, &values);
    let prior = prior_results(&plan, &session, rerun);
    let cancel = CancellationToken::new();
    // The console ends on a signal too, but not when the run stops for another reason (the
    // store refused a result): then it says why and stays.
    let stop = CancellationToken::new();
    on_signals(&cancel, &stop, console.is_some());
    say(&format!(
        "session {} ({})",
        session.id,
        if fresh { "new" } else { "resumed" }
    ));
    let mut presence = match presence::Presence::attend(&store, &session.id, &operator).await {
        Ok(presence) => presence,
        Err(err) => return bad_input(err),
    };
    let (engine_sender, engine_receiver) = unbounded_channel();
    let (committed_sender, committed) = unbounded_channel();
    let budget = Arc::new(tokio::sync::Semaphore::new(
        crate::store::recorder::OUTPUT_BUDGET,
    ));
    let recording = crate::store::recorder::Recording::new(
        &store,
        &session,
        &operator,
        committed_sender,
        budget.clone(),
        &cancel,
    );
    let cancels: Cancels = Arc::default();
    let emitter = Emitter::new(engine_sender, redactor.clone()).with_output_budget(budget.clone());
    let runner = Runner {
        plan: &plan,
        values: &values,
        redactor: redactor.clone(),
        options: &options,
        emitter: emitter.clone(),
        cancel: cancel.clone(),
        prior: prior.clone(),
        claims: Some(Arc::new(StoreClaims::new(
            &store,
            &session.id,
            &operator,
            session.head.count,
            console.is_none(),
        ))),
        cancels: Some(cancels.clone()),
    };
    let shown_console = console.is_some();
    let recorded = match console {
        Some(console) => {
            let attended = Attended {
                plan: &plan,
                checklist: &checklist,
                scope: &scope,
                values: &values,
                options: &options,
                redactor: &redactor,
                store: &store,
                session: &session,
                operator: &operator,
                cancel: &cancel,
                cancels: &cancels,
                signer: signer.clone(),
                resume: resume.as_deref(),
                bake,
            };
            let recording = tokio::spawn(async move {
                recording
                    .record(engine_receiver, None)
                    .await
                    .map(|(session, _)| session)
            });
            attended
                .in_console(console, runner, emitter, committed, recording, stop)
                .await
                .map(|recorded| recorded.map(|session| (session, None)))
        }
        None => {
            // The run's end (leaving, with the presence lease, and closing on go) is
            // committed by the recorder, with the last results.
            let checklist = checklist.clone();
            let ending = crate::store::recorder::Ending {
                decide: Box::new(move |now| closing::ending(&checklist, now, true)),
                presence: presence.token().to_string(),
            };
            let recording = tokio::spawn(recording.record(engine_receiver, Some(ending)));
            let printing = finish::print_progress(&plan, &prior, fresh, committed);
            runner.run().await;
            presence.stop_renewing().await;
            options.net.close_idle();
            drop(runner);
            drop(emitter);
            let recorded = recording.await;
            if let Err(err) = printing.await {
                return bad_input(format!("the progress printer failed: {err}"));
            }
            recorded.map(|recorded| recorded.map(|(session, closed)| (session, Some(closed))))
        }
    };
    // The session as the run's own commits left it; the end reads only what came after.
    let (session, ended) = match recorded {
        Ok(Ok(recorded)) => recorded,
        Ok(Err(err)) => return bad_input(format!("the store refused a result: {err}")),
        Err(err) => return bad_input(format!("the store recorder failed: {err}")),
    };
    let baking = store.clone();
    let id = session.id.clone();
    // A run whose end is committed and that no bake follows is done with the store: it
    // closes (its log checkpointed into the file) while the verdict and the documents are
    // written.
    let done_with_store = ended.is_some() && bake.is_none();
    let leaving = {
        let store = store.clone();
        async move {
            // A run whose end is committed gave its presence up in that commit.
            if ended.is_none() {
                presence.leave().await;
            }
            if done_with_store {
                store.close().await;
            }
        }
    };
    let finishing = finish::Finish {
        checklist: &checklist,
        plan: &plan,
        store,
        session,
        ended,
        operator: &operator,
        console: shown_console,
        cancelled: cancel.is_cancelled(),
        resume: resume.as_deref(),
        redactor: &redactor,
        json,
        junit: junit.as_deref(),
    }
    .finish();
    let ((), code) = tokio::join!(leaving, finishing);
    // Headless, a bake asked for starts at go (the console starts its own).
    let code = match bake {
        Some(asked) if code == crate::exit::GO && !shown_console && !cancel.is_cancelled() => {
            let session = match baking.open_session(&id, None).await {
                Ok(session) => session,
                Err(err) => return bad_input(err),
            };
            let baker = bake::Baker {
                plan: &plan,
                values: &values,
                options: &options,
                redactor: &redactor,
                store: &baking,
                session: &session,
                operator: &operator,
            };
            let mut lines = crate::headless::BakeLines::default();
            let mut shown = |bake: &crate::session::bake::Bake| {
                for line in lines.lines(bake) {
                    say(&line);
                }
            };
            let cancel = CancellationToken::new();
            on_signals(&cancel, &CancellationToken::new(), true);
            match baker.begin(asked).await {
                Ok(started) => match baker.run(started, &cancel, &mut shown).await {
                    Ok(baked) => bake::exit_code(&baked),
                    Err(err) => bad_input(format!("the bake stopped: {err}")),
                },
                Err(err) => bad_input(format!("cannot bake: {err}")),
            }
        }
        Some(_) if !shown_console => {
            say("no bake: the run did not reach go");
            code
        }
        _ => code,
    };
    if !done_with_store {
        baking.close().await;
    }
    code
}

/// A run shown in the console: what its requests need.
struct Attended<'a> {
    plan: &'a Plan<'a>,
    checklist: &'a Checklist,
    scope: &'a Scope,
    values: &'a Values,
    options: &'a RunOptions,
    redactor: &'a Arc<Redactor>,
    store: &'a Store,
    session: &'a SessionState,
    operator: &'a str,
    cancel: &'a CancellationToken,
    cancels: &'a Cancels,
    signer: Option<Arc<crate::sshsig::Signer>>,
    resume: Option<&'a str>,
    bake: Option<bake::Asked>,
}

impl Attended<'_> {
    /// The first run, then whatever the operator asks for, each in a run of its own, until
    /// the console closes; the console shown meanwhile. The recorder's outcome.
    async fn in_console(
        self,
        console: &mut dyn Console,
        runner: Runner<'_>,
        emitter: Emitter,
        committed: UnboundedReceiver<Event>,
        recording: tokio::task::JoinHandle<Result<SessionState, StoreError>>,
        stop: CancellationToken,
    ) -> Result<Result<SessionState, StoreError>, tokio::task::JoinError> {
        let (updates, updates_seen) = unbounded_channel();
        let following = follow::follow(
            self.store,
            &self.session.id,
            self.session.head.count,
            updates.clone(),
        );
        // A store that refuses a result stops the run: the console, still open, says why.
        let recording = {
            let updates = updates.clone();
            tokio::spawn(async move {
                let recorded = recording.await;
                if let Ok(Err(err)) = &recorded {
                    let _ = updates.send(Update::Said(format!(
                        "the store refused a result ({err}); the run stopped"
                    )));
                }
                recorded
            })
        };
        let (requests, mut asked) = unbounded_channel();
        let consented = RunOptions {
            yes_apply: true,
            ..self.options.clone()
        };
        let handler = requests::Requests {
            checklist: self.checklist,
            environment: &self.plan.environment,
            scope: self.scope,
            values: self.values,
            redactor: self.redactor,
            options: self.options,
            consented: &consented,
            consent: AtomicBool::new(self.options.yes_apply),
            emitter,
            cancel: self.cancel,
            cancels: self.cancels,
            store: self.store,
            session: &self.session.id,
            operator: self.operator,
            updates,
            signer: self.signer.clone(),
            baking: std::sync::Mutex::default(),
        };
        let running = async move {
            let mut runs: futures::stream::FuturesUnordered<requests::Asked<'_>> =
                futures::stream::FuturesUnordered::new();
            runs.push(Box::pin(async move {
                runner.run().await;
            }));
            let mut open = true;
            loop {
                tokio::select! {
                    Some(()) = futures::StreamExt::next(&mut runs), if !runs.is_empty() => {}
                    request = asked.recv(), if open => match request {
                        Some(request) => {
                            if let Some(run) = handler.start(request) {
                                runs.push(run);
                            }
                        }
                        None => open = false,
                    },
                    else => break,
                }
            }
            drop(runs);
            drop(handler);
            recording.await.and_then(|recorded| recorded)
        };
        let shown = console.show(ConsoleInputs {
            inputs: shown_inputs(self.checklist, self.values, self.redactor),
            store: self.store.url().to_string(),
            resume: self
                .resume
                .map(|r| format!("{r} --session {}", self.session.id)),
            plan: self.plan,
            session: self.session.clone(),
            redactor: self.redactor,
            operator: self.operator,
            consented: self.options.yes_apply,
            signer: self.signer.as_ref().map(|s| s.fingerprint()),
            engine: committed,
            updates: updates_seen,
            requests,
            stop,
            run: self.cancel.clone(),
            bake_at_go: self.bake,
        });
        let (recorded, shown) = tokio::join!(running, shown);
        for task in following {
            task.abort();
        }
        if let Err(err) = shown {
            say(&format!(
                "error: the console failed ({err}); the run was cancelled"
            ));
        }
        recorded
    }
}

/// Each declared input as it may be shown: `NAME = value  (source)`, a value only for an
/// input not declared secret (scrubbed, a URL's password masked), else whether it is set.
fn shown_inputs(
    checklist: &Checklist,
    values: &Values,
    redactor: &Redactor,
) -> Vec<(Vec<String>, String)> {
    checklist
        .inputs
        .iter()
        .map(|input| {
            let value = match values.input(&input.name).filter(|v| !v.is_empty()) {
                None => "not set".to_string(),
                Some(_) if input.secret => "set (a secret: not shown)".to_string(),
                Some(v) => crate::checks::env::shown_value(redactor, v),
            };
            let line = match values.source(&input.name) {
                Some(source) => format!("{} = {value}  ({source})", input.name),
                None => format!("{} = {value}", input.name),
            };
            // A base URL input is named by `${origin}`, `${base_url}` and `${host}` too.
            let mut names = vec![input.name.clone()];
            if checklist.base_url.contains(&input.name) {
                names.extend(["origin", "base_url", "host"].map(String::from));
            }
            (names, line)
        })
        .collect()
}
