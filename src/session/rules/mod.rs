//! The rules of a session, in one place, whichever way an action comes in (the console,
//! the command line, a headless run): how an item's status is settled, the verdict and the
//! counts, who may sign what, what may be skipped, what a resume keeps and runs again, when
//! a session closes, and what a closed session still takes.

mod signoff;
mod status;

pub use signoff::{check as signoff, checklist_of, fields, Field, Flags, Request};
pub(crate) use status::settle;
pub use status::{same_person, signers_needed, tally, Counts};

use super::event::{Body, EventKind};
use super::fold::SessionState;
use crate::checklist::plan::{Entry, Plan};
use crate::status::{Status, Verdict};

/// Why the rules refuse an action, in words for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Why a session closes on its own.
pub const CLOSED_ON_GO: &str = "every required item passed";

/// Whether a session in its state takes an event of `kind`: a closed one takes only records
/// about it (an export, a post-deploy bake), never a new run, result, skip or sign-off.
pub fn accepts(session: &SessionState, kind: EventKind) -> bool {
    session.closed.is_none() || accepts_when_closed(kind)
}

/// Whether a closed session takes an event of `kind`: records about it only.
pub fn accepts_when_closed(kind: EventKind) -> bool {
    kind.is_audit()
}

/// The skip of `item` by an operator, for `reason`, or why not: a closed session, a manual
/// item (it is signed not applicable instead) and a running item take none.
pub fn skip(session: &SessionState, item: &str, reason: &str) -> Result<Body, Refused> {
    if let Some(why) = &session.closed {
        return Err(Refused(format!("the session is closed ({why})")));
    }
    let state = session.item(item);
    if state.is_some_and(|i| i.manual) {
        return Err(Refused(format!(
            "{item} is a manual item: it is signed, not skipped"
        )));
    }
    if let Some(run) = state.and_then(|i| i.running.as_ref()) {
        return Err(Refused(format!(
            "{item} is running ({}): cancel it first",
            run.by
        )));
    }
    Ok(Body::Skipped {
        item: item.to_string(),
        reason: reason.to_string(),
    })
}

/// Whether a run in `session` keeps what the session knows of `entry` instead of running it
/// (again): an item the run leaves out keeps whatever is known, so its dependents can use
/// it; a manual item keeps its sign-offs; an automated one its final result and an
/// operator's skip, unless `rerun`. Pending, blocked, interrupted and condition- or
/// environment-skipped items run (this run's values may differ).
pub fn kept_on_resume(entry: &Entry<'_>, session: &SessionState, rerun: bool) -> bool {
    let Some(item) = session.item(&entry.item.id).filter(|i| i.known()) else {
        return false;
    };
    let finished = matches!(
        item.status,
        Status::Pass | Status::Warn | Status::Fail | Status::Error
    ) || (item.status == Status::Skip
        && item.outcome().is_some_and(|o| o.skipped.is_some()));
    if !entry.in_scope {
        true
    } else if entry.item.kind.automated {
        !rerun && finished
    } else {
        !item.signoffs.is_empty()
    }
}

/// Whether `session` closes now: it is open and every required item of the whole checklist
/// (`full`, whatever a run's scope) says go.
pub fn closes(full: &Plan<'_>, session: &SessionState) -> bool {
    session.closed.is_none() && tally(full, session).0 == Verdict::Go
}
