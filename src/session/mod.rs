//! The session model, pure: the stored event types, the hash chain over them, the fold of a
//! session's events into one state per item, and the rules every way in asks. No database,
//! terminal, network or file here: the store persists and feeds events, the views render
//! the fold, and a session can be recomputed from its events alone (from a report, say).

pub mod bake;
pub mod chain;
pub mod event;
pub mod fold;
pub mod identity;
pub mod rules;
pub mod time;

pub use chain::{Broken, Head};
pub use event::{
    BakeRules, Body, ChecklistCopy, EventEntry, EventKind, OutputDigest, SignoffStatus,
    StoredEvent, OUTPUT_CAP,
};
pub use fold::{Basis, ItemState, Outcome, SessionState, Signoff};
pub use time::Timestamp;

/// Event logs made in memory, for the fold's and the rules' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::chain::{canonical, hash, GENESIS};
    use super::{Body, ChecklistCopy, StoredEvent};

    /// A checklist for tests: two automated items (the second needs the first), a manual
    /// one signed by two people in production, and one only in staging.
    pub const CHECKLIST: &str = r#"sections = ["Checks", "Release"]

[checklist]
id = "t"
title = "Test"
version = 1
default_environment = "staging"

[environments.staging]

[environments.production]
production = true

[environments.production.overrides."backup"]
signoffs = 2

[[item]]
id = "live"
section = "Checks"
title = "Live"
kind = "command"
help = "Runs."
run = ["true"]

[[item]]
id = "ready"
section = "Checks"
title = "Ready"
kind = "command"
help = "Runs."
run = ["true"]
needs = ["live"]

[[item]]
id = "backup"
section = "Release"
title = "Backup"
kind = "manual"
help = "Sign it."
evidence = [{ key = "snapshot_id", label = "Snapshot", required = true, pattern = "^br-" }]

[[item]]
id = "staging-only"
section = "Checks"
title = "Staging only"
kind = "command"
help = "Runs."
run = ["true"]
only_in = ["staging"]
required = false
"#;

    /// A session started in `environment`, then `bodies` by their actors, hash-chained.
    pub fn log(environment: &str, bodies: &[(&str, Body)]) -> Vec<StoredEvent> {
        let started = Body::SessionStarted {
            checklist: ChecklistCopy {
                id: "t".into(),
                title: "Test".into(),
                version: 1,
                sha256: "0".repeat(64),
                name: "t.toml".into(),
                source: CHECKLIST.into(),
            },
            environment: Some(environment.into()),
            production: environment == "production",
            allowed_signers: None,
        };
        let mut events: Vec<StoredEvent> = Vec::new();
        for (n, (actor, body)) in std::iter::once(&("alice", started))
            .chain(bodies.iter())
            .enumerate()
        {
            let (kind, payload) = body.split().expect("splits");
            let payload = canonical(&payload).expect("canonical");
            let seq = n as i64 + 1;
            let at = format!("2026-11-26T07:00:{:02}.000Z", n % 60);
            let prev = events
                .last()
                .map_or(GENESIS.to_string(), |e| e.hash.clone());
            events.push(StoredEvent {
                session: "s".into(),
                seq,
                hash: hash("s", seq, &at, actor, &kind, &payload, &prev),
                at,
                actor: actor.to_string(),
                kind,
                payload_json: payload,
                prev_hash: prev,
            });
        }
        events
    }

    /// The session `log` makes, folded.
    pub fn fold(environment: &str, bodies: &[(&str, Body)]) -> super::SessionState {
        let events = log(environment, bodies);
        let head = super::chain::verify_chain("s", &events, None).expect("a good chain");
        super::SessionState::fold(&events, head).expect("folds")
    }

    /// The body that closes a session for `reason`.
    pub fn closed(reason: &str) -> Body {
        Body::SessionClosed {
            reason: reason.into(),
        }
    }

    /// A result of `item` with `status`, run (`run`) or settled without running.
    pub fn result(item: &str, status: crate::status::Status, run: bool) -> Body {
        Body::Result {
            item: item.into(),
            run_id: run.then(|| format!("run-{item}")),
            status,
            summary: format!("{item} {}", status.name()),
            evidence: serde_json::json!({"seen": item}),
            started_at: run.then(|| "2026-11-26T07:00:00Z".into()),
            duration_ms: if run { 38 } else { 0 },
            attempts: u32::from(run),
            output: None,
        }
    }
}
