//! The ends of a run: progress lines while it runs headless, and, once its runs are over,
//! leaving the session, closing it on go, the lines that stay after the console, the
//! verdict, the result document and JUnit XML, and the exit code.

use std::path::Path;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::checklist::plan::{Plan, Scope};
use crate::checklist::Checklist;
use crate::engine::event::{Event, ItemResult};
use crate::headless::Printer;
use crate::out::{bad_input, print_line, say};
use crate::redact::Redactor;
use crate::report::model::Report;
use crate::session::rules::CLOSED_ON_GO;
use crate::session::SessionState;
use crate::status::Status;
use crate::store::Store;

/// A progress printer for the plan's items in scope: a line goes out in one write (stderr is
/// unbuffered, and a line is written in pieces).
fn printer(plan: &Plan<'_>) -> Printer<std::io::LineWriter<std::io::Stderr>> {
    Printer::new(
        std::io::LineWriter::new(std::io::stderr()),
        plan.entries
            .iter()
            .filter(|e| e.in_scope)
            .map(|e| e.item.id.as_str()),
    )
}

/// Prints a headless run's progress: first what a resumed session already knew (so the
/// picture is whole), then each committed event as it comes, until the run ends.
pub fn print_progress(
    plan: &Plan<'_>,
    prior: &[Option<ItemResult>],
    fresh: bool,
    mut committed: UnboundedReceiver<Event>,
) -> tokio::task::JoinHandle<()> {
    let mut printer = printer(plan);
    for (entry, known) in plan.entries.iter().zip(prior) {
        if let (true, Some(result)) = (entry.in_scope && !fresh, known) {
            let mut earlier = result.clone();
            earlier.summary = format!("{} (earlier in the session)", earlier.summary);
            printer.event(&Event::Finished {
                id: entry.item.id.clone(),
                result: earlier,
            });
        }
    }
    tokio::spawn(async move {
        while let Some(event) = committed.recv().await {
            printer.event(&event);
        }
    })
}

/// What the end of a run needs.
pub struct Finish<'a> {
    /// The checklist (the whole of it decides whether the session closes).
    pub checklist: &'a Checklist,
    /// The run's plan.
    pub plan: &'a Plan<'a>,
    /// The store.
    pub store: Store,
    /// The session as the run's own commits left it (only what came after is read).
    pub session: SessionState,
    /// Whether the run's end is committed already (the recorder's last commit), and
    /// whether it closed the session; none: it is committed here.
    pub ended: Option<bool>,
    /// Who ran it.
    pub operator: &'a str,
    /// Whether the run was shown in the console.
    pub console: bool,
    /// Whether the run was cancelled.
    pub cancelled: bool,
    /// The command line that takes the session up again.
    pub resume: Option<&'a str>,
    /// What the documents are scrubbed with.
    pub redactor: &'a Redactor,
    /// `--json`.
    pub json: bool,
    /// `--junit`.
    pub junit: Option<&'a Path>,
}

impl Finish<'_> {
    /// Leaves the session, closes it on go, says what stays to do, writes the documents;
    /// the exit code.
    pub async fn finish(self) -> u8 {
        // Leaving and closing are one commit; a session another process closed meanwhile
        // takes neither.
        let closing = match self.ended {
            Some(closed) => Ok((self.session, closed)),
            None => {
                super::closing::close_on_go(
                    &self.store,
                    self.session,
                    self.checklist,
                    self.operator,
                    true,
                )
                .await
            }
        };
        let session = match closing {
            Ok((session, true)) => {
                say(&format!("session {} closed: {CLOSED_ON_GO}", session.id));
                session
            }
            Ok((session, false)) => session,
            Err(err) => return bad_input(err),
        };
        let report = Report::of_session(self.plan, &session);
        if self.console {
            // The console is gone: what needs attention is said once more, in lines that
            // stay.
            let mut lines = printer(self.plan);
            for entry in self.plan.entries.iter().filter(|e| e.in_scope) {
                let result = super::item_result(entry, &session);
                if !matches!(result.status, Status::Pass | Status::Skip) {
                    lines.event(&Event::Finished {
                        id: entry.item.id.clone(),
                        result,
                    });
                }
            }
        }
        if self.console || self.cancelled {
            if let (None, Some(resume)) = (&session.closed, self.resume) {
                say(&format!(
                    "the session stays open: resume it with {resume} --session {}",
                    session.id
                ));
            }
        }
        let mut closing = Printer::new(std::io::stderr(), std::iter::empty());
        closing.verdict(&report);
        // A run over part of the checklist judges that part; `relcon sessions` and the
        // reports judge the whole session, and the two are said side by side.
        if self.plan.entries.iter().any(|e| !e.in_scope) {
            if let Ok(whole) = Plan::new(
                self.checklist,
                session.environment.clone(),
                &Scope::default(),
            ) {
                let whole = Report::of_session(&whole, &session);
                if whole.counts != report.counts || whole.verdict != report.verdict {
                    closing.verdict_of("the session as a whole (relcon sessions)", &whole);
                }
            }
        }
        let mut code = report.verdict.exit_code();
        if self.json {
            let mut document = serde_json::to_value(&report).unwrap_or_default();
            self.redactor.scrub_json(&mut document);
            match serde_json::to_string_pretty(&document) {
                Ok(text) => {
                    print_line(text);
                }
                Err(err) => code = bad_input(format!("cannot write the result document: {err}")),
            }
        }
        if let Some(junit) = self.junit {
            let written = crate::report::junit::render(&report)
                .map_err(|e| e.to_string())
                .map(|xml| self.redactor.scrub(&xml).into_owned())
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
}
