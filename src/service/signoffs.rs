//! Recording a sign-off, signed when the operator has a key: the signature covers what the
//! sign-off says, its time and the hash of the event it follows, so it is made against the
//! session as it is, and the store appends it only if the session is still there; when
//! another terminal moved the session on in between, the rules are asked again and it is
//! signed again (a few times, then a clear refusal).

use std::sync::Arc;

use super::signing;
use crate::checklist::Checklist;
use crate::session::rules::{self, Flags, Refused, Request, Signed};
use crate::session::{StoredEvent, Timestamp};
use crate::sshsig::Signer;
use crate::store::{Stamp, Store, StoreError};

/// How many times a signed sign-off is signed again when the session moves under it.
const ATTEMPTS: usize = 4;

/// Records `request` in `session` as the rules allow, signed with `signer` when given.
pub async fn sign_off(
    store: &Store,
    session: &str,
    checklist: &Checklist,
    request: &Request,
    flags: Flags,
    signer: Option<&Arc<Signer>>,
) -> Result<StoredEvent, StoreError> {
    let Some(signer) = signer else {
        return store
            .append_decided(session, &request.by, |now| {
                rules::signoff(now, checklist, request, flags)
            })
            .await;
    };
    for _ in 0..ATTEMPTS {
        let now = store.open_session(session, None).await?;
        // Refused before anything is signed: the rules say why in the signer's terms.
        rules::check_before_signing(&now, checklist, request, flags)?;
        let at = Timestamp::now().millis();
        let evidence = request.given_evidence();
        let by = request.by.trim();
        let message = Signed {
            session,
            checklist_sha256: &now.checklist.sha256,
            item: &request.item,
            by,
            status: request.status,
            note: &request.note,
            evidence: &evidence,
            at: &at,
            prev_hash: &now.head.hash,
        }
        .message();
        let signature = signing::sign(signer, signing::SIGNOFF_NAMESPACE, message)
            .await
            .map_err(|err| Refused(format!("cannot sign: {err}")))?;
        let signed = Request {
            at: Some(at.clone()),
            signature: Some(signature),
            ..request.clone()
        };
        let stamp = Stamp {
            at,
            after: now.head.hash.clone(),
        };
        match store
            .append_decided_at(session, by, &stamp, |now| {
                rules::signoff(now, checklist, &signed, flags)
            })
            .await
        {
            Err(StoreError::Moved { .. }) => continue,
            done => return done,
        }
    }
    Err(Refused(format!(
        "session {session} kept moving while the sign-off was signed ({ATTEMPTS} times): try again"
    ))
    .into())
}
