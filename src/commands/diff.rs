//! `relcon diff`: a session compared with the last release (the last closed session of the
//! same checklist and environment in the store), another session, or an exported report.

use std::path::Path;

use crate::exit;
use crate::out::{bad_input, print_line};
use crate::report::model::Report;
use crate::service::since::{compare, last_release, report_of};
use crate::store::Store;

/// What `relcon diff` was given.
pub struct DiffArgs {
    /// The session looked at (default: the store's latest).
    pub session: Option<String>,
    /// A session id or a report file to compare with (default: the last release).
    pub against: Option<String>,
    /// The store.
    pub store: Option<String>,
    /// Print JSON.
    pub json: bool,
    /// now ÷ before above this is slower.
    pub slower: f64,
}

/// The report in `path`, read with a cap.
fn report_file(path: &Path) -> Result<Report, String> {
    let bytes = crate::files::read_capped(path, crate::files::CAP)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a relcon JSON report: {e}", path.display()))
}

/// Runs `relcon diff`.
pub async fn run(args: DiffArgs) -> u8 {
    let url = args.store.clone().unwrap_or_else(crate::store::default_url);
    let store = match Store::open_existing(&url).await {
        Ok(store) => store,
        Err(err) => return bad_input(err),
    };
    let outcome = diff(&store, &args).await;
    store.close().await;
    match outcome {
        Ok(code) => code,
        Err(err) => bad_input(err),
    }
}

async fn diff(store: &Store, args: &DiffArgs) -> Result<u8, String> {
    let id = match &args.session {
        Some(id) => id.clone(),
        None => store
            .sessions()
            .await
            .map_err(|e| e.to_string())?
            .first()
            .map(|s| s.id.clone())
            .ok_or_else(|| format!("no sessions in {}", store.url()))?,
    };
    let session = store
        .open_session(&id, None)
        .await
        .map_err(|e| e.to_string())?;
    let now = report_of(&session)?;
    let (before, from) = match &args.against {
        Some(against) if Path::new(against).is_file() => {
            (report_file(Path::new(against))?, against.clone())
        }
        Some(against) => {
            let other = store
                .open_session(against, None)
                .await
                .map_err(|e| format!("{e} (and no report file of that name)"))?;
            (report_of(&other)?, "store".to_string())
        }
        None => {
            let (before, from) = last_release(store, &session).await?;
            (report_of(&before)?, from.to_string())
        }
    };
    let diff = compare(&session, &now, &before, &from, args.slower);
    if args.json {
        let text = serde_json::to_string_pretty(&diff).map_err(|e| e.to_string())?;
        print_line(text);
    } else {
        for line in diff.text() {
            if !print_line(crate::text::printable(&line)) {
                break;
            }
        }
    }
    Ok(if diff.attention() {
        exit::NO_GO
    } else {
        exit::GO
    })
}
