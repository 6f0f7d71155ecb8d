//! Opening the session a run works in: a new one with the checklist's copy, or one
//! resumed after checking its chain, its checklist, its environment, and that it is open.

use sha2::{Digest, Sha256};

use super::{SessionChoice, Setup};
use crate::session::{Body, ChecklistCopy, SessionState};

/// The allowed_signers file the run's environment names, read (relative to the checklist
/// file): a session keeps it from its start, so who may sign does not change under it.
fn allowed_signers(setup: &Setup) -> Result<Option<String>, String> {
    let Some(name) = setup
        .environment
        .as_deref()
        .and_then(|e| setup.checklist.environment(e))
        .and_then(|e| e.allowed_signers.as_deref())
    else {
        return Ok(None);
    };
    let path = std::path::Path::new(&setup.checklist.source.name)
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(name);
    crate::files::read_text_capped(&path, crate::files::CAP)
        .map(Some)
        .map_err(|err| {
            format!(
                "cannot read {} (the allowed_signers of environment {}): {err}",
                path.display(),
                setup.environment.as_deref().unwrap_or_default()
            )
        })
}

/// The session a run works in: a new one, or one resumed after checking its chain, its
/// environment and that the checklist file is the one it started with.
pub async fn open(setup: &Setup, operator: &str) -> Result<SessionState, String> {
    let checklist = &setup.checklist;
    // The session's copy of the checklist is this file: folding it need not read it again.
    crate::session::fold::keep_copy(checklist);
    let sha256 = hex::encode(Sha256::digest(&setup.bytes));
    let id = match &setup.session {
        SessionChoice::New => {
            let id = uuid::Uuid::now_v7().to_string();
            let body = Body::SessionStarted {
                checklist: ChecklistCopy {
                    id: checklist.id.clone(),
                    title: checklist.title.clone(),
                    version: checklist.version,
                    sha256,
                    name: checklist.source.name.clone(),
                    source: checklist.source.text.clone(),
                },
                environment: setup.environment.clone(),
                production: setup
                    .environment
                    .as_deref()
                    .and_then(|e| checklist.environment(e))
                    .is_some_and(|e| e.production),
                allowed_signers: allowed_signers(setup)?,
            };
            let started = setup
                .store
                .create_session(&id, operator, &body)
                .await
                .map_err(|e| e.to_string())?;
            // Its whole log is the event just written: folded here, not read back.
            return crate::store::verified_state(
                &id,
                std::slice::from_ref(&started),
                setup.store.expected_head(),
            )
            .map_err(|e| e.to_string());
        }
        SessionChoice::Id(id) => id.clone(),
        SessionChoice::Resume => setup
            .store
            .latest_open(&checklist.id, setup.environment.as_deref())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "no open session of checklist {} in environment {} to resume",
                    checklist.id,
                    setup.environment.as_deref().unwrap_or("(none)")
                )
            })?,
    };
    let session = setup
        .store
        .open_session(&id, None)
        .await
        .map_err(|e| e.to_string())?;
    same_checklist(setup, &session)?;
    if let Some(reason) = &session.closed {
        return Err(format!(
            "session {id} is closed ({reason}): it accepts no new results"
        ));
    }
    setup
        .store
        .append(&id, operator, &Body::SessionJoined {})
        .await
        .map_err(|e| e.to_string())?;
    setup
        .store
        .open_session(&id, None)
        .await
        .map_err(|e| e.to_string())
}

/// Whether `session` runs `setup`'s checklist file, unchanged, in its environment.
pub fn same_checklist(setup: &Setup, session: &SessionState) -> Result<(), String> {
    let checklist = &setup.checklist;
    let sha256 = hex::encode(Sha256::digest(&setup.bytes));
    let id = &session.id;
    if session.checklist.id != checklist.id {
        return Err(format!(
            "session {id} runs checklist {}, not {}",
            session.checklist.id, checklist.id
        ));
    }
    if session.checklist.sha256 != sha256 {
        return Err(format!("the checklist changed since session {id} started (session: {}, file: {sha256}); run it in a new session", session.checklist.sha256));
    }
    if session.environment != setup.environment {
        return Err(format!(
            "session {id} runs in environment {}, not {}",
            session.environment.as_deref().unwrap_or("(none)"),
            setup.environment.as_deref().unwrap_or("(none)")
        ));
    }
    Ok(())
}
