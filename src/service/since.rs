//! The release a session is compared with: the last closed session of the same checklist and
//! environment that started before it, and a session's report as the comparison reads it.

use crate::checklist::plan::{Plan, Scope};
use crate::report::diff::{Compared, Diff, Rules, Thresholds};
use crate::report::model::Report;
use crate::session::rules::checklist_of;
use crate::session::SessionState;
use crate::store::Store;

/// `session`'s report over its whole checklist.
pub fn report_of(session: &SessionState) -> Result<Report, String> {
    let checklist = checklist_of(session).map_err(|e| e.to_string())?;
    let plan = Plan::new(checklist, session.environment.clone(), &Scope::default())
        .map_err(|e| e.to_string())?;
    Ok(Report::of_session(&plan, session))
}

/// Where a comparison's other side came from when it is the session before, not a closed
/// release (no earlier session of the checklist and environment was closed).
pub const PREVIOUS_SESSION: &str = "store: the previous session, none earlier was closed";

/// The last closed session of the same checklist and environment that started before
/// `session` (sessions whose log does not verify are passed over); when none was closed,
/// the latest earlier one. With where it came from, as a comparison names it.
pub async fn last_release(
    store: &Store,
    session: &SessionState,
) -> Result<(SessionState, &'static str), String> {
    // The store lists the newest first (by start, then by id, which grows with time): the
    // candidates are those listed after this one.
    let listed = store.sessions().await.map_err(|e| e.to_string())?;
    let earlier = listed
        .iter()
        .skip_while(|summary| summary.id != session.id)
        .skip(1);
    let mut previous = None;
    for summary in earlier {
        if summary.checklist_id != session.checklist.id
            || summary.environment != session.environment
        {
            continue;
        }
        let Ok(other) = store.open_session(&summary.id, None).await else {
            continue;
        };
        if other.closed.is_some() {
            return Ok((other, "store"));
        }
        previous.get_or_insert(other);
    }
    previous.map(|p| (p, PREVIOUS_SESSION)).ok_or_else(|| {
        format!(
            "no earlier session of checklist {} in environment {} to compare {} with: name one with --against SESSION|REPORT.json",
            session.checklist.id,
            session.environment.as_deref().unwrap_or("(none)"),
            session.id
        )
    })
}

/// The inputs `session`'s deployment signs sessions with, as its checklist names them: the
/// `secret_from` of its signed-in smoke items (rotation inputs included).
pub fn session_secrets(session: &SessionState) -> Vec<String> {
    let Ok(checklist) = checklist_of(session) else {
        return Vec::new();
    };
    let mut names: Vec<String> = checklist
        .items
        .iter()
        .filter(|item| item.kind.name == "authjs.session")
        .filter_map(|item| item.keys.get("secret_from")?.as_array())
        .flatten()
        .filter_map(|name| name.as_str().map(String::from))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `now` (the report of session `session`, from this store) compared with `before` (from
/// `before_from`: "store", or a report file's name).
pub fn compare(
    session: &SessionState,
    now: &Report,
    before: &Report,
    before_from: &str,
    ratio: f64,
) -> Diff {
    let session_secrets = session_secrets(session);
    crate::report::diff::compare(
        Compared {
            report: now,
            from: "store",
        },
        Compared {
            report: before,
            from: before_from,
        },
        &Rules {
            same_store: before_from == "store" || before_from == PREVIOUS_SESSION,
            session_secrets: &session_secrets,
            thresholds: Thresholds {
                ratio,
                ..Thresholds::default()
            },
        },
    )
}
