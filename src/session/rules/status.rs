//! How an item's status is settled from what its session knows, and the verdict and counts
//! over the items of a plan.

use serde::{Deserialize, Serialize};

use crate::checklist::plan::Plan;
use crate::session::event::SignoffStatus;
use crate::session::fold::{Basis, ItemState, SessionState};
use crate::status::{Status, Verdict};

/// How many distinct people must sign a manual item, by its configuration in its environment.
pub fn signers_needed(config: &toml::Table) -> usize {
    config
        .get("signoffs")
        .and_then(toml::Value::as_integer)
        .unwrap_or(1)
        .max(1) as usize
}

/// Settles `item`'s status and summary from its facts: a manual item's sign-offs decide it
/// once there are any; else a run that never finished leaves it pending ("interrupted");
/// else its latest result; else it waits (to run, or for its sign-offs).
pub(crate) fn settle(item: &mut ItemState) {
    let (basis, status, summary) = if item.manual && !item.signoffs.is_empty() {
        let (status, summary) = signed(item);
        (Basis::Signed, status, summary)
    } else if let Some(run) = &item.running {
        (
            Basis::Interrupted,
            Status::Pending,
            format!("interrupted (its run by {} never finished)", run.by),
        )
    } else if let Some(result) = &item.result {
        (Basis::Result, result.status, result.summary.clone())
    } else {
        let waiting = if item.manual {
            "awaiting sign-off"
        } else {
            "not run yet"
        };
        (Basis::Nothing, Status::Pending, waiting.to_string())
    };
    item.basis = basis;
    item.status = status;
    item.summary = summary;
}

/// A manual item's status from its sign-offs, with `signers_needed` distinct people: fail on
/// any failed, pass on enough done, skip on enough not applicable, else pending ("1 of 2").
fn signed(item: &ItemState) -> (Status, String) {
    let signoffs = &item.signoffs;
    let needed = item.signers_needed;
    if let Some(failed) = signoffs.iter().find(|s| s.status == SignoffStatus::Failed) {
        return (
            Status::Fail,
            format!("signed failed by {}: {}", failed.by, failed.note),
        );
    }
    let signers = |status: SignoffStatus| -> Vec<&str> {
        let mut people: Vec<&str> = Vec::new();
        for signoff in signoffs.iter().filter(|s| s.status == status) {
            if !people.iter().any(|p| same_person(p, &signoff.by)) {
                people.push(&signoff.by);
            }
        }
        people
    };
    let (done, na) = (signers(SignoffStatus::Done), signers(SignoffStatus::Na));
    if done.len() >= needed {
        (Status::Pass, format!("signed done by {}", done.join(", ")))
    } else if na.len() >= needed {
        (
            Status::Skip,
            format!("signed not applicable by {}", na.join(", ")),
        )
    } else if signoffs.is_empty() {
        (Status::Pending, "awaiting sign-off".into())
    } else {
        let people: Vec<&str> = signoffs.iter().map(|s| s.by.as_str()).collect();
        (
            Status::Pending,
            format!(
                "{} of {needed}: {}",
                done.len().max(na.len()),
                people.join(", ")
            ),
        )
    }
}

pub use crate::session::identity::same_person;

/// How many items in scope have each status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed.
    pub pass: u32,
    /// Passed with advice.
    pub warn: u32,
    /// Failed.
    pub fail: u32,
    /// Could not be evaluated.
    pub error: u32,
    /// Not applicable.
    pub skip: u32,
    /// Waiting on an item that did not pass.
    pub blocked: u32,
    /// Not run or not signed yet.
    pub pending: u32,
}

impl Counts {
    /// Counts one more item of `status` (a running one is still pending).
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Warn => self.warn += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::Skip => self.skip += 1,
            Status::Blocked => self.blocked += 1,
            Status::Pending | Status::Running => self.pending += 1,
        }
    }

    /// The counts as a person reads them: `29 pass, 0 warn, …, 3 pending`.
    pub fn text(&self) -> String {
        format!(
            "{} pass, {} warn, {} fail, {} error, {} skip, {} blocked, {} pending",
            self.pass, self.warn, self.fail, self.error, self.skip, self.blocked, self.pending
        )
    }

    /// How many items in all.
    pub fn total(&self) -> u32 {
        self.pass + self.warn + self.fail + self.error + self.skip + self.blocked + self.pending
    }
}

/// The verdict over the plan's required items in scope, and the counts of its items in
/// scope, as `session` has them.
pub fn tally(plan: &Plan<'_>, session: &SessionState) -> (Verdict, Counts) {
    let mut counts = Counts::default();
    let mut statuses = Vec::new();
    for entry in &plan.entries {
        let status = session.item_for(entry).status;
        if entry.in_scope {
            counts.add(status);
        }
        if entry.in_verdict() {
            statuses.push(status);
        }
    }
    (Verdict::of(statuses), counts)
}
