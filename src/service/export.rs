//! Exporting a session: its report in one format, scrubbed of the secrets this process
//! knows, written whole or not at all, and recorded in the session as an `exported` event
//! (the format and the SHA-256 of the bytes), so that the session says what was handed out.
//! An open session's export says "interim", a closed one's "final".

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::checklist::plan::{Plan, Scope};
use crate::redact::Redactor;
use crate::report::model::{Report, State};
use crate::report::scrub::scrub;
use crate::report::Format;
use crate::session::rules::checklist_of;
use crate::session::{Body, SessionState, StoredEvent};
use crate::sshsig::Signer;
use crate::store::{verified_state, Store, StoreError};

/// What to export.
pub struct Export<'a> {
    /// The session.
    pub session: &'a str,
    /// The format.
    pub format: Format,
    /// Where to write it.
    pub out: &'a Path,
    /// Who exports it (the `exported` event's actor).
    pub by: &'a str,
    /// What the report is scrubbed with: the secrets this process knows.
    pub redactor: &'a Redactor,
    /// The key that signs it (an SSHSIG over its exact bytes, written to `PATH.sig`).
    pub signer: Option<&'a Arc<Signer>>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Interim or final.
    pub state: State,
    /// How many events the report covers.
    pub events: i64,
    /// Events scrubbed after they were recorded (their hashes no longer match).
    pub redacted: Vec<i64>,
    /// The signature file, and the fingerprint of the key that signed, when signed.
    pub signature: Option<(PathBuf, String)>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session cannot be reported on (its checklist copy does not validate, say).
    #[error("{0}")]
    Unreadable(String),
    /// The report could not be signed.
    #[error("cannot sign the report: {0}")]
    Sign(#[from] crate::sshsig::SignError),
    /// The file could not be written.
    #[error("cannot write {path}: {why}")]
    Write {
        /// The file.
        path: String,
        /// What happened.
        why: String,
    },
}

/// A session as one read of the store saw it: its events, verified, and the session they
/// fold into. The report and the secrets it is scrubbed of come from the same read.
pub struct Snapshot {
    /// The events, in order.
    pub events: Vec<StoredEvent>,
    /// The session they fold into.
    pub state: SessionState,
}

/// Reads `session` once, verifying its chain.
pub async fn snapshot(store: &Store, session: &str) -> Result<Snapshot, ExportError> {
    let events = store.events(session).await?;
    let state = verified_state(session, &events, store.expected_head())?;
    Ok(Snapshot { events, state })
}

/// The report of a snapshot as an export: every item of its checklist, its whole event log.
pub fn report(snapshot: &Snapshot) -> Result<Report, ExportError> {
    let checklist =
        checklist_of(&snapshot.state).map_err(|e| ExportError::Unreadable(e.to_string()))?;
    let plan = Plan::new(
        checklist,
        snapshot.state.environment.clone(),
        &Scope::default(),
    )
    .map_err(|e| ExportError::Unreadable(e.to_string()))?;
    Ok(Report::export(&plan, &snapshot.state, &snapshot.events))
}

/// Writes `text` to `path` whole or not at all: into a file beside it, then renamed.
pub fn write_whole(path: &Path, text: &[u8]) -> Result<(), ExportError> {
    let failed = |why: std::io::Error| ExportError::Write {
        path: path.display().to_string(),
        why: why.to_string(),
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    std::io::Write::write_all(&mut file, text).map_err(failed)?;
    file.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Exports a session as asked, from a fresh read of it.
pub async fn export(store: &Store, export: &Export<'_>) -> Result<Exported, ExportError> {
    let snapshot = snapshot(store, export.session).await?;
    export_snapshot(store, &snapshot, export).await
}

/// Exports a session as `snapshot` saw it; the `exported` event is recorded once the file is
/// written.
pub async fn export_snapshot(
    store: &Store,
    snapshot: &Snapshot,
    export: &Export<'_>,
) -> Result<Exported, ExportError> {
    let mut report = report(snapshot)?;
    scrub(&mut report, export.redactor).map_err(|e| ExportError::Unreadable(e.to_string()))?;
    // The document names the key that signs it; the signature covers that too.
    report.signed_by = export.signer.map(|s| s.fingerprint());
    let since = since_last_release(store, snapshot, &report, export).await;
    let text = export
        .format
        .render_since(&report, since.as_ref())
        .map_err(ExportError::Unreadable)?;
    // Signed before anything is written: a report is handed out signed, or not at all.
    let signature = match export.signer {
        Some(signer) => Some(
            super::signing::sign(
                signer,
                super::signing::REPORT_NAMESPACE,
                text.as_bytes().to_vec(),
            )
            .await?,
        ),
        None => None,
    };
    write_whole(export.out, text.as_bytes())?;
    let signature = match (signature, export.signer) {
        (Some(armored), Some(signer)) => {
            let path = signature_path(export.out);
            write_whole(&path, armored.as_bytes())?;
            Some((path, signer.fingerprint()))
        }
        _ => None,
    };
    let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
    store
        .append(
            export.session,
            export.by,
            &Body::Exported {
                format: export.format.name().to_string(),
                sha256: sha256.clone(),
                signer: signature.as_ref().map(|(_, signer)| signer.clone()),
            },
        )
        .await?;
    let events = report.events.as_ref();
    Ok(Exported {
        path: export.out.to_path_buf(),
        sha256,
        state: report.state.unwrap_or(State::Interim),
        events: events.map_or(0, |e| e.count),
        redacted: events.map(|e| e.redacted.clone()).unwrap_or_default(),
        signature,
    })
}

/// For a Markdown or HTML export, what changed since the last release in this store (none
/// when there is none); both sides scrubbed as the report is.
async fn since_last_release(
    store: &Store,
    snapshot: &Snapshot,
    report: &Report,
    export: &Export<'_>,
) -> Option<crate::report::diff::Diff> {
    if !matches!(
        export.format,
        crate::report::Format::Markdown | crate::report::Format::Html
    ) {
        return None;
    }
    let (before, from) = super::since::last_release(store, &snapshot.state)
        .await
        .ok()?;
    let mut before = super::since::report_of(&before).ok()?;
    scrub(&mut before, export.redactor).ok()?;
    Some(super::since::compare(
        &snapshot.state,
        report,
        &before,
        from,
        crate::report::diff::Thresholds::default().ratio,
    ))
}

/// Where a file's signature goes: beside it, as `ssh-keygen -Y sign` puts it (`FILE.sig`).
pub fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}
