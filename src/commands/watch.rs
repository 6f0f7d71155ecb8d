//! `relcon watch`: a session's events as JSON lines, as they happen, until it closes.

use std::io::Write;

use crate::exit;
use crate::out::bad_input;
use crate::session::{EventKind, StoredEvent};
use crate::store::feed::Feed;
use crate::store::Store;

fn line(event: &StoredEvent) -> String {
    serde_json::to_string(&event.entry()).unwrap_or_default()
}

/// Prints every event of `session` (those so far, then each new one) until it closes.
pub async fn run(
    session: &str,
    store: Option<&str>,
    expect_head: Option<crate::session::Head>,
) -> u8 {
    let store = match Store::open_existing(
        &store
            .map(String::from)
            .unwrap_or_else(crate::store::default_url),
    )
    .await
    {
        Ok(store) => store.expecting(expect_head),
        Err(err) => return bad_input(err),
    };
    // The log so far is verified before anything is printed.
    if let Err(err) = store.open_session(session, None).await {
        return bad_input(err);
    }
    let mut feed = match Feed::new(&store, session, 0).await {
        Ok(feed) => feed,
        Err(err) => return bad_input(err),
    };
    if let Some(warning) = feed.warning() {
        eprintln!("warning: {warning}");
    }
    let mut out = std::io::stdout();
    // A closed session still takes a bake's rounds: the watch ends at the close, or at the
    // end of the bake that runs after it.
    let (mut closed, mut baking) = (false, false);
    loop {
        let events = match feed.next().await {
            Ok(events) => events,
            Err(err) => return bad_input(err),
        };
        for event in &events {
            // A closed stdout (the reader went away) ends the watch.
            if writeln!(out, "{}", line(event))
                .and_then(|_| out.flush())
                .is_err()
            {
                return exit::GO;
            }
            match event.event_kind() {
                Some(EventKind::SessionClosed) => closed = true,
                Some(EventKind::BakeStarted) => baking = true,
                Some(EventKind::BakeEnded) => baking = false,
                _ => {}
            }
        }
        if closed && !baking {
            return exit::GO;
        }
    }
}
