//! Following a session for the console: its events as any process commits them, who is
//! attached, and which claims live (leases lapse without an event, so those are asked
//! again every few seconds, and at once when someone comes or goes).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;

use super::Update;
use crate::session::EventKind;
use crate::store::feed::Feed;
use crate::store::Store;

/// How often who is attached, and which claims live, is asked again.
const PRESENCE: Duration = Duration::from_secs(3);

/// Tasks following `session` (whose events up to `seen` the console has) into `updates`,
/// until they are aborted or nobody listens.
pub fn follow(
    store: &Store,
    session: &str,
    seen: i64,
    updates: UnboundedSender<Update>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let presence_now = Arc::new(Notify::new());
    let feed = {
        let (store, id, sender, presence_now) = (
            store.clone(),
            session.to_string(),
            updates.clone(),
            presence_now.clone(),
        );
        let mut seen = seen;
        tokio::spawn(async move {
            // A feed that fails is made again, after a pause that grows to 30 s; the
            // operator sees why meanwhile.
            let mut pause = Duration::from_secs(1);
            loop {
                match Feed::new(&store, &id, seen).await {
                    Ok(mut feed) => {
                        if let Some(warning) = feed.warning() {
                            let _ = sender.send(Update::Said(warning.to_string()));
                        }
                        loop {
                            match feed.next().await {
                                Ok(events) => {
                                    pause = Duration::from_secs(1);
                                    seen = events.last().map_or(seen, |e| e.seq);
                                    // Someone came or went: who is attached is asked now.
                                    if events
                                        .iter()
                                        .any(|e| e.event_kind().is_some_and(EventKind::is_presence))
                                    {
                                        presence_now.notify_one();
                                    }
                                    if sender.send(Update::Events(events)).is_err() {
                                        return;
                                    }
                                }
                                Err(err) => {
                                    let _ = sender.send(Update::Said(format!(
                                        "live updates interrupted ({err}); trying again"
                                    )));
                                    break;
                                }
                            }
                        }
                    }
                    Err(err) => {
                        let _ = sender.send(Update::Said(format!(
                            "live updates interrupted ({err}); trying again"
                        )));
                    }
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        })
    };
    let presence = {
        let (store, id) = (store.clone(), session.to_string());
        tokio::spawn(async move {
            let mut last = None;
            loop {
                if let Ok(attached) = store.attached(&id).await {
                    if last.as_ref() != Some(&attached) {
                        last = Some(attached.clone());
                        if updates.send(Update::Attached(attached)).is_err() {
                            return;
                        }
                    }
                }
                if let Ok(claims) = store.live_claims(&id).await {
                    if updates.send(Update::Claims(claims)).is_err() {
                        return;
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(PRESENCE) => {}
                    () = presence_now.notified() => {}
                }
            }
        })
    };
    vec![feed, presence]
}
