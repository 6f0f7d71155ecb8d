//! The rules of a session, in one place, whichever way an action comes in (the console,
//! the command line, a headless run): how an item's status is settled, the verdict and the
//! counts, who may sign what, what may be skipped, what a resume keeps and runs again, when
//! a session closes, and what a closed session still takes.

mod signoff;
mod status;

pub use signoff::{
    check as signoff, check_before_signing, checklist_of, fields, Field, Flags, Request, Signed,
};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::plan::Scope;
    use crate::checklist::Checklist;
    use crate::session::testing::{closed, fold as session, result, CHECKLIST};
    use crate::session::SignoffStatus;

    fn checklist() -> Checklist {
        Checklist::from_bytes("t.toml", CHECKLIST.as_bytes()).expect("valid")
    }

    fn signed(item: &str, status: SignoffStatus, note: &str) -> Body {
        Body::Signoff {
            item: item.into(),
            status,
            note: note.into(),
            evidence: [("snapshot_id".to_string(), "br-1".to_string())].into(),
            signature: None,
        }
    }

    fn status(session: &SessionState, id: &str) -> (Status, String) {
        let item = session.item(id).expect("an item");
        (item.status, item.summary.clone())
    }

    #[test]
    fn sign_offs_settle_by_distinct_people_and_any_failure_fails() {
        let two = session(
            "production",
            &[
                ("alice", signed("backup", SignoffStatus::Done, "")),
                ("Alice ", signed("backup", SignoffStatus::Done, "")),
            ],
        );
        assert_eq!(
            status(&two, "backup"),
            (Status::Pending, "1 of 2: alice, Alice ".into()),
            "one person, however written, is one signer"
        );
        let done = session(
            "production",
            &[
                ("alice", signed("backup", SignoffStatus::Done, "")),
                ("bob", signed("backup", SignoffStatus::Done, "")),
            ],
        );
        assert_eq!(
            status(&done, "backup"),
            (Status::Pass, "signed done by alice, bob".into())
        );
        let na = session(
            "staging",
            &[("bob", signed("backup", SignoffStatus::Na, "no data"))],
        );
        assert_eq!(
            status(&na, "backup"),
            (Status::Skip, "signed not applicable by bob".into())
        );
        let failed = session(
            "production",
            &[
                ("alice", signed("backup", SignoffStatus::Done, "")),
                (
                    "bob",
                    signed("backup", SignoffStatus::Failed, "restore failed"),
                ),
            ],
        );
        assert_eq!(
            status(&failed, "backup"),
            (Status::Fail, "signed failed by bob: restore failed".into())
        );
    }

    #[test]
    fn the_verdict_is_over_required_items_in_scope_and_counts_over_items_in_scope() {
        let checklist = checklist();
        let full = Plan::new(&checklist, Some("staging".into()), &Scope::default()).expect("plan");
        let passed = session(
            "staging",
            &[
                ("alice", result("live", Status::Pass, true)),
                ("alice", result("ready", Status::Warn, true)),
                ("alice", result("staging-only", Status::Fail, true)),
                ("bob", signed("backup", SignoffStatus::Done, "")),
            ],
        );
        let (verdict, counts) = tally(&full, &passed);
        assert_eq!(verdict, Verdict::Go, "staging-only is not required");
        assert_eq!((counts.pass, counts.warn, counts.fail), (2, 1, 1));
        assert_eq!(counts.total(), 4);
        assert!(closes(&full, &passed));

        let automated = Scope {
            automated_only: true,
            ..Scope::default()
        };
        let plan = Plan::new(&checklist, Some("staging".into()), &automated).expect("plan");
        let running = session("staging", &[("alice", result("live", Status::Pass, true))]);
        let (verdict, counts) = tally(&plan, &running);
        assert_eq!(verdict, Verdict::Incomplete, "ready has not run");
        assert_eq!(counts.total(), 3, "the manual item is out of scope");
        assert!(!closes(&full, &running));

        let failed = session("staging", &[("alice", result("live", Status::Error, true))]);
        assert_eq!(tally(&full, &failed).0, Verdict::NoGo);
    }

    #[test]
    fn a_closed_session_takes_only_records_about_it() {
        let open = session("staging", &[]);
        let shut = session("staging", &[("alice", closed("done"))]);
        for kind in EventKind::ALL {
            assert!(accepts(&open, kind), "{kind:?}");
            assert_eq!(accepts(&shut, kind), kind.is_audit(), "{kind:?}");
        }
        assert!(accepts(&shut, EventKind::Exported));
        assert!(!accepts(&shut, EventKind::Result));
        assert!(!accepts(&shut, EventKind::Signoff));
    }

    #[test]
    fn only_an_open_sessions_automated_items_not_running_are_skipped() {
        let open = session(
            "staging",
            &[(
                "bob",
                Body::RunStarted {
                    item: "ready".into(),
                    run_id: "r".into(),
                },
            )],
        );
        assert!(matches!(
            skip(&open, "live", "covered"),
            Ok(Body::Skipped { ref item, .. }) if item == "live"
        ));
        assert_eq!(
            skip(&open, "ready", "x").expect_err("running").0,
            "ready is running (bob): cancel it first"
        );
        assert_eq!(
            skip(&open, "backup", "x").expect_err("manual").0,
            "backup is a manual item: it is signed, not skipped"
        );
        let shut = session("staging", &[("alice", closed("done"))]);
        assert_eq!(
            skip(&shut, "live", "x").expect_err("closed").0,
            "the session is closed (done)"
        );
    }

    #[test]
    fn a_resume_keeps_finished_results_skips_and_sign_offs_and_runs_the_rest() {
        let checklist = checklist();
        let scope = Scope {
            only: vec!["live".into(), "ready".into(), "backup".into()],
            ..Scope::default()
        };
        let plan = Plan::new(&checklist, Some("staging".into()), &scope).expect("plan");
        let now = session(
            "staging",
            &[
                ("alice", result("live", Status::Fail, true)),
                (
                    "carol",
                    Body::Skipped {
                        item: "ready".into(),
                        reason: "covered".into(),
                    },
                ),
                ("bob", signed("backup", SignoffStatus::Done, "")),
                ("alice", result("staging-only", Status::Pending, true)),
            ],
        );
        let kept = |rerun: bool| -> Vec<&str> {
            plan.entries
                .iter()
                .filter(|e| kept_on_resume(e, &now, rerun))
                .map(|e| e.item.id.as_str())
                .collect()
        };
        // staging-only is left out of this run: what is known of it is kept.
        assert_eq!(kept(false), ["live", "ready", "backup", "staging-only"]);
        assert_eq!(kept(true), ["backup", "staging-only"]);
        // Nothing known, nothing kept; a pending result in scope runs again.
        let fresh = session(
            "staging",
            &[("alice", result("live", Status::Pending, true))],
        );
        assert!(plan
            .entries
            .iter()
            .all(|e| !kept_on_resume(e, &fresh, false)));
    }
}
