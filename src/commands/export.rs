//! `relcon export`: a session's report written as JSON, Markdown, HTML or JUnit XML,
//! scrubbed of the secrets this process knows (the checklist's secret inputs, from
//! `--env-file`s and the environment), and recorded in the session.

use std::path::PathBuf;

use crate::checklist::values::Values;
use crate::exit;
use crate::out::{bad_input, say};
use crate::redact::Redactor;
use crate::report::Format;
use crate::service::export::{export_snapshot, snapshot, Export};
use crate::service::signing::KeyChoice;
use crate::session::rules::checklist_of;
use crate::store::Store;

/// What `relcon export` was asked.
#[derive(Debug, Clone)]
pub struct ExportArgs {
    /// The session.
    pub session: String,
    /// The store.
    pub store: Option<String>,
    /// The format.
    pub format: Format,
    /// Where to write it.
    pub out: PathBuf,
    /// Who exports it.
    pub by: Option<String>,
    /// Env files holding the deployment's configuration (their secrets are scrubbed).
    pub env_files: Vec<PathBuf>,
    /// `--expect-head`: the session must begin with these events.
    pub expect_head: Option<crate::session::Head>,
    /// The key that signs the report, when it is signed.
    pub sign: Option<KeyChoice>,
}

/// Runs the command; returns the exit code.
pub async fn run(args: ExportArgs) -> u8 {
    let store =
        match Store::open_existing(&args.store.clone().unwrap_or_else(crate::store::default_url))
            .await
        {
            Ok(store) => store.expecting(args.expect_head.clone()),
            Err(err) => return bad_input(err),
        };
    let snapshot = match snapshot(&store, &args.session).await {
        Ok(snapshot) => snapshot,
        Err(err) => return bad_input(err),
    };
    let session = &snapshot.state;
    // Secrets this process knows are scrubbed from the report, whatever was recorded.
    let redactor = Redactor::with_key(store.fingerprint_key());
    if let Ok(checklist) = checklist_of(session) {
        let values = Values::load(
            checklist,
            session.environment.as_deref(),
            &args.env_files,
            &|name| std::env::var(name).ok(),
        );
        match values {
            Ok(values) => values
                .secrets(checklist)
                .for_each(|secret| redactor.add_secret(secret)),
            Err(err) => return bad_input(err),
        }
    }
    let by = crate::service::operator(args.by.as_deref()).await;
    let signer = match &args.sign {
        Some(choice) => match super::key::open(choice).await {
            Ok(signer) => Some(signer),
            Err(err) => return bad_input(err),
        },
        None => None,
    };
    let exported = export_snapshot(
        &store,
        &snapshot,
        &Export {
            session: &args.session,
            format: args.format,
            out: &args.out,
            by: &by,
            redactor: &redactor,
            signer: signer.as_ref(),
        },
    )
    .await;
    store.close().await;
    match exported {
        Ok(exported) => {
            if !exported.redacted.is_empty() {
                say(&format!(
                    "warning: events {:?} held a secret this process knows and were scrubbed in the report: their hashes no longer match",
                    exported.redacted
                ));
            }
            say(&format!(
                "exported session {} ({}, {} events) as {} to {} (sha256 {})",
                args.session,
                exported.state.name(),
                exported.events,
                args.format.name(),
                exported.path.display(),
                exported.sha256
            ));
            if let Some((path, signer)) = &exported.signature {
                say(&format!(
                    "signed with {signer}: {} (check it: ssh-keygen -Y verify -f allowed_signers -I <signer> -n relcon-report -s {} < {})",
                    path.display(),
                    path.display(),
                    exported.path.display()
                ));
            }
            exit::GO
        }
        Err(err) => bad_input(err),
    }
}
