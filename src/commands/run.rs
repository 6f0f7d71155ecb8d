//! `relcon run`: run a checklist headless, print progress on stderr, the result document
//! on stdout with `--json`, JUnit XML with `--junit`, and exit with the verdict's code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::checklist::values::Values;
use crate::checklist::Checklist;
use crate::engine::event::Emitter;
use crate::engine::plan::{self, Plan, Scope};
use crate::engine::run::{RunOptions, Runner};
use crate::exit;
use crate::headless::Printer;
use crate::redact::Redactor;
use crate::report::model::{Report, RunInfo};

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
}

/// Bad input, said in one line; exit 2.
fn bad_input(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::BAD_INPUT
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
        },
        json: args.json,
        junit: args.junit.clone(),
    })
}

/// Runs a prepared run: progress on stderr, the document and JUnit as asked; returns the
/// exit code.
pub async fn execute(setup: Setup) -> u8 {
    let Setup {
        checklist,
        bytes,
        environment,
        scope,
        values,
        options,
        json,
        junit,
    } = setup;
    let plan = match Plan::new(&checklist, environment, &scope) {
        Ok(plan) => plan,
        Err(err) => return bad_input(err),
    };
    let redactor = Arc::new(Redactor::new());
    values
        .secrets(&checklist)
        .for_each(|secret| redactor.add_secret(secret));
    let info = RunInfo {
        session_id: uuid::Uuid::now_v7().to_string(),
        started_at: SystemTime::now(),
        operators: vec![options.operator.clone()],
        checklist_sha256: Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: cancelling running checks (finished results are kept)");
            on_interrupt.cancel();
        }
    });
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let mut printer = Printer::new(
        std::io::stderr(),
        plan.entries
            .iter()
            .filter(|e| e.in_scope)
            .map(|e| e.item.id.as_str()),
    );
    let printing = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            printer.event(&event);
        }
        printer
    });
    let runner = Runner {
        plan: &plan,
        values: &values,
        redactor: redactor.clone(),
        options: &options,
        emitter: Emitter::new(sender, redactor.clone()),
        cancel,
    };
    let results = runner.run().await;
    drop(runner);
    let mut printer = match printing.await {
        Ok(printer) => printer,
        Err(err) => return bad_input(format!("the progress printer failed: {err}")),
    };
    let report = Report::of_run(&plan, &results, &info);
    printer.verdict(&report);
    let mut code = report.verdict.exit_code();
    if json {
        let mut document = serde_json::to_value(&report).unwrap_or_default();
        redactor.scrub_json(&mut document);
        match serde_json::to_string_pretty(&document) {
            Ok(text) => println!("{text}"),
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
    code
}
