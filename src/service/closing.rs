//! The one closing rule: a session closes when every required item of its whole checklist
//! (whatever a run's scope) says go, whichever way the last result or sign-off came: a run's
//! end, the console's sign-off dialog, or `relcon signoff`.

use crate::checklist::plan::{Plan, Scope};
use crate::checklist::Checklist;
use crate::session::rules::{self, CLOSED_ON_GO};
use crate::session::{Body, SessionState};
use crate::store::{Store, StoreError};

/// The session as it is now, closed first (by `by`) when the rule says so; true when this
/// call closed it.
pub async fn close_on_go(
    store: &Store,
    session: &str,
    checklist: &Checklist,
    by: &str,
) -> Result<(SessionState, bool), StoreError> {
    let now = store.open_session(session, None).await?;
    let closes = now.closed.is_none()
        && Plan::new(checklist, now.environment.clone(), &Scope::default())
            .is_ok_and(|full| rules::closes(&full, &now));
    if !closes {
        return Ok((now, false));
    }
    let closed = store
        .append(
            session,
            by,
            &Body::SessionClosed {
                reason: CLOSED_ON_GO.into(),
            },
        )
        .await;
    // Another process may close it first (both saw go): closed is closed.
    match closed {
        // The close follows what was read unless another process wrote in between.
        Ok(event) => {
            let mut after = now;
            match after.follow(&event) {
                Ok(()) => Ok((after, true)),
                Err(_) => Ok((store.open_session(session, None).await?, true)),
            }
        }
        Err(StoreError::Closed(_)) => Ok((store.open_session(session, None).await?, false)),
        Err(err) => Err(err),
    }
}
