//! The scheduler: runs a plan's items along their `needs`, at most `concurrency` at a time,
//! each within its timeout and retried as configured, and settles every item in scope with
//! a result. Cancellation stops running checks (they end `pending`, "cancelled") and keeps
//! what finished.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;

use super::event::{CheckResult, Emitter, Event, ItemResult};
use crate::checklist::plan::{Entry, Plan};
use crate::checklist::values::Values;
use crate::checks::{CheckContext, OutputSink};
use crate::redact::Redactor;
use crate::status::Status;

/// How long cancelled checks have to stop cleanly before they are dropped.
const CANCEL_GRACE: Duration = Duration::from_secs(3);

/// How much longer than its timeout a check's future may take to wind down (a program gets
/// SIGTERM, then SIGKILL) before it is dropped.
const WIND_DOWN: Duration = Duration::from_secs(5);

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How many checks may run at once.
    pub concurrency: usize,
    /// The timeout of items that set none.
    pub default_timeout: Duration,
    /// The deployed project's root.
    pub root: PathBuf,
    /// Who runs it.
    pub operator: String,
    /// Trusted roots for network checks.
    pub net: Arc<crate::checks::net::Net>,
    /// Consent to writes in a production environment (`--yes-apply`).
    pub yes_apply: bool,
}

/// Everything the items' checks share.
pub struct Runner<'r> {
    /// The plan.
    pub plan: &'r Plan<'r>,
    /// The values.
    pub values: &'r Values,
    /// The redactor.
    pub redactor: Arc<Redactor>,
    /// The options.
    pub options: &'r RunOptions,
    /// Where events go.
    pub emitter: Emitter,
    /// Cancels the run.
    pub cancel: CancellationToken,
    /// Results known before the run (a resumed session's, sign-offs), by entry; those items
    /// are not run again. Empty: none.
    pub prior: Vec<Option<ItemResult>>,
    /// Claims shared with other processes, when the run works in a shared session.
    pub claims: Option<Arc<dyn super::claims::Claims>>,
    /// Where each running item's own cancel token is kept, so that one check can be
    /// cancelled alone (from the console).
    pub cancels: Option<Cancels>,
}

/// The cancel tokens of running items, by item id.
pub type Cancels = Arc<std::sync::Mutex<HashMap<String, CancellationToken>>>;

/// What an item that writes to a production environment without consent settles as.
fn needs_consent() -> ItemResult {
    ItemResult::not_run(
        Status::Pending,
        "needs --yes-apply: it writes to a production environment (in the console: r, then type the environment's name)",
    )
}

impl Runner<'_> {
    /// Runs the plan; returns each entry's result (`None` for items left out of the run).
    pub async fn run(&self) -> Vec<Option<ItemResult>> {
        let entries = &self.plan.entries;
        let index: HashMap<&str, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.item.id.as_str(), i))
            .collect();
        let mut results: Vec<Option<ItemResult>> = vec![None; entries.len()];
        for (slot, prior) in results.iter_mut().zip(&self.prior) {
            slot.clone_from(prior);
        }
        let mut started = vec![false; entries.len()];
        for (i, entry) in entries.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            if let Some(result) = self.settled_before_running(entry) {
                self.settle(&mut results, i, result);
            }
        }
        // Items that need others, and manual ones, are looked at again after each result;
        // the rest are always ready and only wait for room, in plan order: looking at every
        // item after every result would make a long checklist quadratic.
        let (mut conditional, free): (Vec<usize>, Vec<usize>) = (0..entries.len())
            .filter(|&i| entries[i].in_scope)
            .partition(|&i| {
                !entries[i].resolved.needs.is_empty() || !entries[i].item.kind.automated
            });
        let mut free = free.into_iter().peekable();
        let mut running = FuturesUnordered::new();
        loop {
            // Block what can no longer run; start what is ready, up to the bound.
            let mut changed = true;
            while changed {
                changed = false;
                conditional.retain(|&i| results[i].is_none() && !started[i]);
                for &i in &conditional {
                    if results[i].is_some() || started[i] {
                        continue;
                    }
                    match self.readiness(i, &index, &results) {
                        Readiness::Blocked(reason) => {
                            self.settle(
                                &mut results,
                                i,
                                ItemResult::not_run(Status::Blocked, reason),
                            );
                            changed = true;
                        }
                        Readiness::Ready if self.needs_consent(&entries[i]) => {
                            self.settle(&mut results, i, needs_consent());
                            changed = true;
                        }
                        // A manual item whose needs are met waits for its sign-offs.
                        Readiness::Ready if !entries[i].item.kind.automated => {
                            self.settle(
                                &mut results,
                                i,
                                ItemResult::not_run(Status::Pending, "awaiting sign-off"),
                            );
                            changed = true;
                        }
                        Readiness::Ready
                            if running.len() < self.options.concurrency.max(1)
                                && !self.cancel.is_cancelled() =>
                        {
                            started[i] = true;
                            running.push(self.run_item(i));
                        }
                        _ => {}
                    }
                }
            }
            while running.len() < self.options.concurrency.max(1) && !self.cancel.is_cancelled() {
                let Some(i) = free.next() else { break };
                if results[i].is_none() && !started[i] {
                    started[i] = true;
                    running.push(self.run_item(i));
                }
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                // A result that is ready is kept, even when the run is being cancelled.
                biased;
                Some((i, result)) = running.next() => self.settle(&mut results, i, result),
                () = self.cancel.cancelled() => break,
            }
        }
        // Cancelled: running checks get a moment to stop cleanly (a program gets SIGTERM,
        // then SIGKILL) and report; whatever is left is dropped, which kills its programs.
        let deadline = tokio::time::Instant::now() + CANCEL_GRACE;
        while let Ok(Some((i, result))) = tokio::time::timeout_at(deadline, running.next()).await {
            self.settle(&mut results, i, result);
        }
        drop(running);
        for (i, entry) in entries.iter().enumerate() {
            if results[i].is_none() && entry.in_scope {
                // An item this run never started keeps what the session knows of it (another
                // process may have finished it meanwhile): its "not run" is not recorded.
                let mut result = ItemResult::not_run(
                    Status::Pending,
                    if started[i] {
                        "cancelled"
                    } else {
                        "not run: the run was cancelled"
                    },
                );
                result.observed = !started[i];
                self.settle(&mut results, i, result);
            }
        }
        results
    }

    fn settle(&self, results: &mut [Option<ItemResult>], i: usize, result: ItemResult) {
        self.emitter.send(Event::Finished {
            id: self.plan.entries[i].item.id.clone(),
            result: result.clone(),
        });
        results[i] = Some(result);
    }

    /// The result of an item that is settled without running: not in this environment, its
    /// condition false, or a manual item waiting for its sign-offs.
    fn settled_before_running(&self, entry: &Entry<'_>) -> Option<ItemResult> {
        let item = entry.item;
        if !entry.settles_skip {
            return None;
        }
        if let Some(env) = &self.plan.environment {
            if !item.runs_in(env) {
                return Some(ItemResult::not_run(
                    Status::Skip,
                    format!("only in {}", item.only_in.join(", ")),
                ));
            }
        }
        if let Some(when) = &entry.resolved.when {
            if !self.values.when(when) {
                let text = entry
                    .resolved
                    .when_text
                    .as_deref()
                    .unwrap_or("its condition");
                return Some(ItemResult::not_run(
                    Status::Skip,
                    format!(
                        "condition is false: {}",
                        text.split_whitespace().collect::<Vec<_>>().join(" ")
                    ),
                ));
            }
        }
        if !entry.in_scope {
            return None;
        }
        // An item with needs is judged on them first: blocked says more than "needs consent"
        // while they have not passed (see `run`).
        if entry.resolved.needs.is_empty() && self.needs_consent(entry) {
            return Some(needs_consent());
        }
        None
    }

    /// Whether running the entry writes to a production environment without consent.
    fn needs_consent(&self, entry: &Entry<'_>) -> bool {
        entry.resolved.writes && self.plan.production() && !self.options.yes_apply
    }

    fn readiness(
        &self,
        i: usize,
        index: &HashMap<&str, usize>,
        results: &[Option<ItemResult>],
    ) -> Readiness {
        let entries = &self.plan.entries;
        let mut ready = true;
        for need in &entries[i].resolved.needs {
            let Some(&j) = index.get(need.as_str()) else {
                return Readiness::Blocked(format!("needs {need}, which is not in the checklist"));
            };
            match &results[j] {
                Some(result) if result.status.satisfies_needs() => {}
                Some(result) => {
                    return Readiness::Blocked(format!("needs {need} ({})", result.status.name()))
                }
                None if !entries[j].in_scope => {
                    return Readiness::Blocked(format!(
                        "needs {need}, which is left out of this run"
                    ))
                }
                None => ready = false,
            }
        }
        if ready {
            Readiness::Ready
        } else {
            Readiness::Waiting
        }
    }

    async fn run_item(&self, i: usize) -> (usize, ItemResult) {
        let entry = &self.plan.entries[i];
        let id = entry.item.id.as_str();
        let timeout = entry
            .resolved
            .timeout
            .unwrap_or(self.options.default_timeout);
        let attempts = if entry.resolved.writes {
            1
        } else {
            1 + entry.resolved.retries
        };
        // Another process running the item keeps it: this run waits for that result and
        // reports it, or runs the item itself once the other run ends without a final one.
        let token = uuid::Uuid::now_v7().to_string();
        let item_cancel = self.cancel.child_token();
        let claim = match &self.claims {
            Some(claims) => match super::claims::acquire(
                claims,
                id,
                &token,
                &self.emitter,
                &self.cancel,
                item_cancel.clone(),
                // The longest another run of it can take, and its lease to lapse after.
                timeout
                    .saturating_add(entry.resolved.retry_interval)
                    .saturating_mul(attempts)
                    .saturating_add(claims.lease()),
            )
            .await
            {
                Ok(claim) => Some(claim),
                Err(result) => return (i, result),
            },
            None => None,
        };
        // Registered once the item is this run's to run (a run waiting on another's claim
        // must not take the token that cancels the running check).
        if let Some(cancels) = &self.cancels {
            if let Ok(mut cancels) = cancels.lock() {
                cancels.insert(id.to_string(), item_cancel.clone());
            }
        }
        let started_at = SystemTime::now();
        let clock = tokio::time::Instant::now();
        let mut attempt = 0;
        let mut result;
        // Cancelled while waiting to try again: the failure it waited on is not final.
        let mut cancelled_waiting = false;
        loop {
            attempt += 1;
            self.emitter.send(Event::Started {
                id: id.to_string(),
                attempt,
                at: SystemTime::now(),
            });
            let output = OutputSink::new(id, Arc::new(self.emitter.clone()));
            result = self.attempt(i, timeout, &item_cancel, output.clone()).await;
            if result.status.satisfies_needs()
                || result.status == Status::Pending
                || !result.retryable
                || attempt >= attempts
            {
                break;
            }
            let pause = entry.resolved.retry_interval;
            output
                .line(
                    super::event::Stream::Stderr,
                    &format!(
                        "attempt {attempt} of {attempts}: {}; retrying in {}",
                        result.summary,
                        humantime::format_duration(pause)
                    ),
                )
                .await;
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = item_cancel.cancelled() => {
                    cancelled_waiting = true;
                    break;
                }
            }
        }
        let lost = claim.as_ref().is_some_and(super::claims::Claim::lost);
        if lost {
            result = CheckResult::new(
                Status::Pending,
                "stopped: its claim lapsed (was this process paused?) and another process took the item over",
            );
        } else if self.cancel.is_cancelled() && (cancelled_waiting || !result.status.is_final()) {
            result = CheckResult::new(Status::Pending, "cancelled");
        } else if item_cancel.is_cancelled() && (cancelled_waiting || !result.status.is_final()) {
            // Cancelled alone, from the console of this run's operator.
            result = CheckResult::new(
                Status::Pending,
                format!("cancelled by {}", self.options.operator),
            );
        }
        let claim = match claim {
            Some(claim) => claim.finish().await,
            None => None,
        };
        if let Some(cancels) = &self.cancels {
            if let Ok(mut cancels) = cancels.lock() {
                cancels.remove(id);
            }
        }
        let result = ItemResult {
            status: result.status,
            summary: result.summary,
            evidence: result.evidence,
            started_at: Some(started_at),
            duration: clock.elapsed(),
            attempts: attempt,
            run_by: Some(self.options.operator.clone()),
            // The run that took the item over records its result, not this one.
            observed: lost,
            claim,
        };
        (i, result)
    }
}

impl Runner<'_> {
    /// One attempt at entry `i`'s check, within `timeout`: a kind with something to undo (a
    /// statement to cancel on the server, probe rows to remove, a child to kill) sees
    /// `item_cancel` and ends once that is done, within its timeout; the others stop
    /// waiting at once. The post-deploy bake's rounds are single attempts too.
    pub async fn attempt(
        &self,
        i: usize,
        timeout: Duration,
        item_cancel: &CancellationToken,
        output: OutputSink,
    ) -> CheckResult {
        let entry = &self.plan.entries[i];
        let ctx = CheckContext {
            id: &entry.item.id,
            config: &entry.resolved.config,
            checklist: self.plan.checklist,
            values: self.values,
            redactor: &self.redactor,
            root: &self.options.root,
            net: &self.options.net,
            deadline: deadline_after(timeout),
            timeout,
            cancel: item_cancel.child_token(),
            output,
        };
        let timed_out = || {
            CheckResult::new(
                Status::Error,
                format!("timed out after {}", humantime::format_duration(timeout)),
            )
        };
        let check = tokio::time::timeout(
            timeout + WIND_DOWN,
            crate::checks::runner(entry.item.kind)(&ctx),
        );
        tokio::pin!(check);
        tokio::select! {
            done = &mut check => done.unwrap_or_else(|_| timed_out()),
            () = item_cancel.cancelled() => {
                if crate::checks::cleans_up_when_cancelled(entry.item.kind) {
                    check.await.unwrap_or_else(|_| timed_out())
                } else {
                    CheckResult::new(Status::Pending, "cancelled")
                }
            }
        }
    }
}

enum Readiness {
    Ready,
    Waiting,
    Blocked(String),
}

pub use super::claims::{Claims, LEASE};

/// The instant `timeout` from now, or a year from now if that cannot be told (durations are
/// capped at 7 days where they are read; this keeps a bad one from panicking).
fn deadline_after(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 60 * 60)))
        .unwrap_or(now)
}
