//! The one closing rule: a session closes when every required item of its whole checklist
//! (whatever a run's scope) says go, whichever way the last result or sign-off came: a run's
//! end, the console's sign-off dialog, or `relcon signoff`.

use crate::checklist::plan::{Plan, Scope};
use crate::checklist::Checklist;
use crate::session::rules::{self, CLOSED_ON_GO};
use crate::session::{Body, EventKind, SessionState, StoredEvent};
use crate::store::{Store, StoreError};

/// The session as it is now (`known` caught up), closed first (by `by`) when the rule says
/// so; true when this call closed it. `leaving`: `by` leaves the session too, in the same
/// commit. The rule is judged with other writers kept out: two processes that both see go
/// close it once.
pub async fn close_on_go(
    store: &Store,
    known: SessionState,
    checklist: &Checklist,
    by: &str,
    leaving: bool,
) -> Result<(SessionState, bool), StoreError> {
    let (now, appended) = store
        .append_following(known, by, &[], &[], None, |now| {
            ending(checklist, now, leaving)
        })
        .await?;
    Ok((now, closes(&appended)))
}

/// What `now` takes at its end: `leaving` (the one who ends leaves), and a close when the
/// rule says go; a closed session takes neither.
pub fn ending(checklist: &Checklist, now: &SessionState, leaving: bool) -> Vec<Body> {
    if now.closed.is_some() {
        return Vec::new();
    }
    let closes = Plan::new(checklist, now.environment.clone(), &Scope::default())
        .is_ok_and(|full| rules::closes(&full, now));
    let closing = Body::SessionClosed {
        reason: CLOSED_ON_GO.into(),
    };
    let left = leaving.then_some(Body::SessionLeft {});
    left.into_iter().chain(closes.then_some(closing)).collect()
}

/// Whether `appended` closes its session.
pub fn closes(appended: &[StoredEvent]) -> bool {
    appended
        .iter()
        .any(|event| event.event_kind() == Some(EventKind::SessionClosed))
}
