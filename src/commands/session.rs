//! `relcon sessions`, `relcon signoff` and `relcon close`: the store's sessions listed, a
//! manual item signed, a session closed. Each opens the session (verifying its chain) and
//! works from the checklist copy the session started with.

use std::collections::BTreeMap;

use crate::checklist::plan::{Plan, Scope};
use crate::checklist::Checklist;
use crate::exit;
use crate::out::{bad_input, print_line};
use crate::report::model::Report;
use crate::service::signoffs::sign_off;
use crate::session::rules::{checklist_of, Flags, Request, CLOSED_ON_GO};
use crate::session::{Body, Head, SessionState, SignoffStatus};
use crate::store::Store;

async fn open(url: Option<&str>) -> Result<Store, String> {
    Store::open_existing(
        &url.map(String::from)
            .unwrap_or_else(crate::store::default_url),
    )
    .await
    .map_err(|e| e.to_string())
}

/// The report of the whole session (every item in scope).
fn full_report(session: &SessionState, checklist: &Checklist) -> Result<Report, String> {
    let plan = Plan::new(checklist, session.environment.clone(), &Scope::default())
        .map_err(|e| e.to_string())?;
    Ok(Report::of_session(&plan, session))
}

/// One line of `relcon sessions`, before its columns are sized.
struct Listed {
    /// Session, checklist, environment, started.
    left: [String; 4],
    /// The verdict, or what is wrong with the session (then nothing follows).
    verdict: String,
    /// pass, warn, fail, error, skip, blocked, pending (none for a session not judged).
    counts: Vec<String>,
    /// Who worked in it, and who is attached now.
    operators: String,
}

/// The lines, their columns as wide as their widest cell (a session too broken to judge
/// says so across the columns it has no values for).
fn print_listed(rows: &[Listed]) {
    let header = Listed {
        left: ["session", "checklist", "environment", "started"].map(String::from),
        verdict: "verdict".into(),
        counts: [
            "pass", "warn", "fail", "error", "skip", "blocked", "pending",
        ]
        .map(String::from)
        .to_vec(),
        operators: "operators".into(),
    };
    let judged = || std::iter::once(&header).chain(rows.iter().filter(|r| !r.counts.is_empty()));
    let left: Vec<usize> = (0..4)
        .map(|c| {
            std::iter::once(&header)
                .chain(rows)
                .map(|r| r.left[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let verdict = judged()
        .map(|r| r.verdict.chars().count())
        .max()
        .unwrap_or(0);
    let counts: Vec<usize> = (0..header.counts.len())
        .map(|c| {
            judged()
                .map(|r| r.counts[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line: String = row
            .left
            .iter()
            .zip(&left)
            .map(|(cell, width)| format!("{cell:<width$}  "))
            .collect();
        if row.counts.is_empty() {
            line.push_str(&row.verdict);
        } else {
            line.push_str(&format!("{:<verdict$}", row.verdict));
            for (count, width) in row.counts.iter().zip(&counts) {
                line.push_str(&format!("  {count:>width$}"));
            }
            line.push_str(&format!("  {}", row.operators));
        }
        if !print_line(line.trim_end().to_string()) {
            break;
        }
    }
}

/// `relcon sessions`: one line per session, newest first.
pub async fn list(store: Option<&str>) -> u8 {
    let store = match open(store).await {
        Ok(store) => store,
        Err(err) => return bad_input(err),
    };
    let sessions = match store.sessions().await {
        Ok(sessions) => sessions,
        Err(err) => return bad_input(err),
    };
    if sessions.is_empty() {
        print_line(format!("no sessions in {}", store.url()));
        store.close().await;
        return exit::GO;
    }
    let mut broken = 0;
    let mut rows = Vec::new();
    for summary in sessions {
        let opened = store.open_session(&summary.id, None).await;
        // The listing's row is an index; the chain's first event is what the session is.
        let (checklist_id, environment) = match &opened {
            Ok(session) => (session.checklist.id.clone(), session.environment.clone()),
            Err(_) => (summary.checklist_id.clone(), summary.environment.clone()),
        };
        let (verdict, counts, operators) = match opened {
            Ok(session) if !summary.agrees_with(&session) => {
                broken += 1;
                (
                    format!(
                        "BROKEN: its row in the sessions table says checklist {} ({}) in environment {}, its first event does not",
                        summary.checklist_id,
                        summary.checklist_sha256,
                        summary.environment.as_deref().unwrap_or("(none)")
                    ),
                    Vec::new(),
                    String::new(),
                )
            }
            Ok(session) => match checklist_of(&session)
                .map_err(|e| e.to_string())
                .and_then(|c| full_report(&session, c))
            {
                Ok(report) => {
                    let c = &report.counts;
                    let verdict = if session.closed.is_some() {
                        format!("{} (closed)", report.verdict.name())
                    } else {
                        report.verdict.name().to_string()
                    };
                    let attached = store.attached(&session.id).await.unwrap_or_default();
                    let attached = if attached.is_empty() {
                        String::new()
                    } else {
                        format!("  (attached now: {})", attached.join(", "))
                    };
                    let operators = session
                        .operators
                        .iter()
                        .map(|o| crate::service::clean_identity(o))
                        .collect::<Vec<_>>()
                        .join(", ");
                    (
                        verdict,
                        [
                            c.pass, c.warn, c.fail, c.error, c.skip, c.blocked, c.pending,
                        ]
                        .map(|n| n.to_string())
                        .to_vec(),
                        format!("{operators}{attached}"),
                    )
                }
                Err(err) => (format!("unreadable: {err}"), Vec::new(), String::new()),
            },
            Err(err) => {
                broken += 1;
                (format!("BROKEN: {err}"), Vec::new(), String::new())
            }
        };
        rows.push(Listed {
            left: [
                summary.id,
                checklist_id,
                environment.unwrap_or_else(|| "-".into()),
                summary.started_at,
            ],
            verdict,
            counts,
            operators,
        });
    }
    print_listed(&rows);
    store.close().await;
    // A broken chain is bad input wherever it is met.
    if broken > 0 {
        crate::out::say(&format!(
            "error: {broken} session(s) whose event log does not verify (listed as BROKEN)"
        ));
        return exit::BAD_INPUT;
    }
    exit::GO
}

/// What `relcon signoff` was asked.
#[derive(Debug, Clone)]
pub struct SignoffArgs {
    /// The item.
    pub item: String,
    /// The session.
    pub session: String,
    /// Who signs.
    pub by: Option<String>,
    /// done, failed or na.
    pub status: SignoffStatus,
    /// The note.
    pub note: Option<String>,
    /// KEY=VALUE evidence fields.
    pub evidence: Vec<String>,
    /// The store.
    pub store: Option<String>,
    /// The key that signs the sign-off (default: RELCON_SIGNING_KEY, else the agent's).
    pub sign_key: Option<std::path::PathBuf>,
    /// `--expect-head`: the session must begin with these events.
    pub expect_head: Option<Head>,
}

/// `relcon signoff`: checks the sign-off against the item, records it, and closes the
/// session when that completes it.
pub async fn signoff(args: SignoffArgs) -> u8 {
    let store = match open(args.store.as_deref()).await {
        Ok(store) => store.expecting(args.expect_head.clone()),
        Err(err) => return bad_input(err),
    };
    let session = match store.open_session(&args.session, None).await {
        Ok(session) => session,
        Err(err) => return bad_input(err),
    };
    let checklist = match checklist_of(&session) {
        Ok(checklist) => checklist.clone(),
        Err(err) => return bad_input(err),
    };
    let mut evidence = BTreeMap::new();
    for pair in &args.evidence {
        match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => {
                evidence.insert(key.to_string(), value.to_string());
            }
            _ => return bad_input(format!("--evidence `{pair}` is not KEY=VALUE")),
        }
    }
    let by = crate::service::operator(args.by.as_deref())
        .await
        .trim()
        .to_string();
    let request = Request {
        item: args.item.clone(),
        by: by.clone(),
        status: args.status,
        note: args.note.clone().unwrap_or_default(),
        evidence,
        at: None,
        signature: None,
    };
    // The operator's key signs the sign-off, when there is one.
    let signer = match super::key::for_signoffs(args.sign_key.clone()).await {
        Ok(signer) => signer,
        Err(err) => return bad_input(err),
    };
    // Checked against the session as it is when the sign-off is written, with other
    // writers kept out: two signing at once cannot both be "the first".
    if let Err(err) = sign_off(
        &store,
        &session.id,
        &checklist,
        &request,
        Flags::CLI,
        signer.as_ref(),
    )
    .await
    {
        return bad_input(err);
    }
    let Some(item) = checklist.item(&args.item) else {
        return bad_input(format!("no item `{}`", args.item));
    };
    // Acknowledged only now that it is committed.
    let session = match store.open_session(&session.id, None).await {
        Ok(session) => session,
        Err(err) => return bad_input(err),
    };
    let (status, summary) = session
        .item(&item.id)
        .map_or((crate::status::Status::Pending, String::new()), |i| {
            (i.status, i.summary.clone())
        });
    eprintln!(
        "signed `{}` {} as {by}: {} ({summary})",
        item.id,
        serde_json::to_value(args.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        status.name()
    );
    let id = session.id.clone();
    match crate::service::closing::close_on_go(&store, session, &checklist, &by, false).await {
        Ok((_, true)) => eprintln!("session {id} closed: {CLOSED_ON_GO}"),
        Ok(_) => {}
        Err(err) => return bad_input(err),
    }
    store.close().await;
    exit::GO
}

/// `relcon close`: closes a session; it accepts no new results after.
pub async fn close(
    session_id: &str,
    by: Option<&str>,
    store: Option<&str>,
    expect_head: Option<Head>,
) -> u8 {
    let store = match open(store).await {
        Ok(store) => store.expecting(expect_head),
        Err(err) => return bad_input(err),
    };
    let session = match store.open_session(session_id, None).await {
        Ok(session) => session,
        Err(err) => return bad_input(err),
    };
    if let Some(reason) = &session.closed {
        return bad_input(format!("session {session_id} is already closed ({reason})"));
    }
    let by = crate::service::operator(by).await;
    if let Err(err) = store
        .append(
            session_id,
            &by,
            &Body::SessionClosed {
                reason: format!("closed by {by}"),
            },
        )
        .await
    {
        return bad_input(err);
    }
    eprintln!("session {session_id} closed by {by}");
    store.close().await;
    exit::GO
}
