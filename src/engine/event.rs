//! What the engine reports while it runs: typed events that the headless printer, the store
//! and the console consume. Every string in an event has been through the redactor.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

pub use crate::checks::{CheckResult, Stream};
use crate::redact::Redactor;
use crate::status::Status;

/// Sends events to the run's consumers, scrubbed of secrets: the one place every event
/// passes through on its way out.
#[derive(Clone)]
pub struct Emitter {
    sender: UnboundedSender<Event>,
    redactor: Arc<Redactor>,
    budget: Option<Arc<tokio::sync::Semaphore>>,
}

impl Emitter {
    /// An emitter sending to `sender`.
    pub fn new(sender: UnboundedSender<Event>, redactor: Arc<Redactor>) -> Self {
        Self {
            sender,
            redactor,
            budget: None,
        }
    }

    /// Bounds the output lines sent and not yet taken in: a line waits for one of the
    /// `budget`'s permits, which the consumer gives back as it takes lines in. A check that
    /// prints faster than the store writes is slowed down instead of filling memory.
    pub fn with_output_budget(mut self, budget: Arc<tokio::sync::Semaphore>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Waits until one more output line may be sent.
    pub async fn output_room(&self) {
        if let Some(budget) = &self.budget {
            if let Ok(permit) = budget.acquire().await {
                permit.forget();
            }
        }
    }

    /// Scrubs and sends an event; a consumer that has gone away is not an error.
    pub fn send(&self, mut event: Event) {
        match &mut event {
            Event::Started { .. } | Event::Waiting { .. } => {}
            // Escape sequences go first: a secret split by colour codes is whole again
            // before it is looked for.
            Event::Output { line, .. } => {
                *line = self
                    .redactor
                    .scrub(&crate::text::plain_line(line))
                    .into_owned()
            }
            Event::Finished { result, .. } => {
                result.summary = self.redactor.scrub(&result.summary).into_owned();
                self.redactor.scrub_json(&mut result.evidence);
            }
        }
        let _ = self.sender.send(event);
    }
}

impl crate::checks::Lines for Emitter {
    fn line<'a>(
        &'a self,
        id: &'a str,
        stream: Stream,
        line: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.output_room().await;
            self.send(Event::Output {
                id: id.to_string(),
                stream,
                line,
            });
        })
    }
}

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An attempt of an item started.
    Started {
        /// The item.
        id: String,
        /// 1 for the first attempt.
        attempt: u32,
        /// When.
        at: SystemTime,
    },
    /// A line of a check's output.
    Output {
        /// The item.
        id: String,
        /// The stream.
        stream: Stream,
        /// The line, without its newline.
        line: String,
    },
    /// An item another process is running: this run waits for that process's result.
    Waiting {
        /// The item.
        id: String,
        /// Who runs it.
        holder: String,
    },
    /// An item settled for this run: it finished, or it was skipped, blocked, left pending.
    Finished {
        /// The item.
        id: String,
        /// Its result.
        result: ItemResult,
    },
}

/// An item's result in a run: the check's conclusion plus when, how long and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    /// The status.
    pub status: Status,
    /// One line.
    pub summary: String,
    /// Structured evidence.
    pub evidence: serde_json::Value,
    /// When the first attempt started (none for items that did not run).
    pub started_at: Option<SystemTime>,
    /// Wall time of all attempts.
    pub duration: Duration,
    /// How many attempts ran.
    pub attempts: u32,
    /// Who ran it.
    pub run_by: Option<String>,
    /// Not to be recorded: another process ran the item and recorded this result (this run
    /// saw it through the store), or this run has nothing new to say of it (it never
    /// started it before being cancelled).
    pub observed: bool,
    /// The claim this run held on the item: it ends in the commit of this result.
    pub claim: Option<String>,
}

impl ItemResult {
    /// The result of an item that did not run.
    pub fn not_run(status: Status, summary: impl Into<String>) -> Self {
        Self {
            status,
            summary: summary.into(),
            evidence: serde_json::Value::Object(Default::default()),
            started_at: None,
            duration: Duration::ZERO,
            attempts: 0,
            run_by: None,
            observed: false,
            claim: None,
        }
    }
}
