//! The console's event loop: one `select!` over terminal input, this process's engine
//! events, messages from background tasks (the store's change feed, who is attached, stored
//! output) and a spinner tick that exists only while a check runs. It draws only after a
//! change, once whatever was waiting has been taken in; idle, it sleeps.

use std::time::{Duration, SystemTime};

use crossterm::event::{Event as TermEvent, KeyEventKind};
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use std::sync::Arc;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::app::App;
pub use super::app::Request;
use super::theme::Theme;
use super::view;
use crate::checklist::plan::Plan;
use crate::engine::event::Event;
use crate::session::rules;
use crate::session::{EventKind, SessionState as Session, StoredEvent};
use crate::store::feed::Feed;
use crate::store::{Store, StoreError};

/// How often the spinner turns while something runs.
const TICK: Duration = Duration::from_millis(100);

/// How often who is attached, and which claims live, is asked again (leases lapse without
/// an event); joining and leaving ask at once.
const PRESENCE: Duration = Duration::from_secs(3);

/// What background tasks tell the loop.
#[derive(Debug)]
pub enum Message {
    /// Events committed to the session (by any process).
    Events(Vec<StoredEvent>),
    /// Who is attached now.
    Attached(Vec<String>),
    /// The items whose claims are live now.
    Claims(Vec<(String, String)>),
    /// A run's stored output: item, run id, lines, dropped.
    Output(String, String, Vec<(String, String)>, u64),
    /// Something went wrong; the operator sees it, the console goes on.
    Problem(String),
    /// The store's answer to a sign-off.
    Signed(Result<String, String>),
}

/// Where the console's inputs come from.
pub struct Inputs<S> {
    /// Terminal events.
    pub terminal: S,
    /// This process's engine events, after the store committed them (none when it runs
    /// nothing).
    pub engine: Option<UnboundedReceiver<Event>>,
    /// What went wrong elsewhere in this process (the store refused a result, say).
    pub problems: Option<UnboundedReceiver<String>>,
    /// Where the operator's requests to the engine go (none: this console runs nothing).
    pub requests: Option<UnboundedSender<Request>>,
    /// Ends the console (SIGTERM, SIGHUP).
    pub stop: CancellationToken,
    /// This process's run: cancelled when the operator quits.
    pub run: CancellationToken,
}

/// Follows the session in the background: its events, who is attached, stored output.
fn follow(
    store: &Store,
    session: &Session,
    sender: UnboundedSender<Message>,
    presence_now: Arc<Notify>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let feed = {
        let (store, id, sender) = (store.clone(), session.id.clone(), sender.clone());
        let mut seen = session.head.count;
        tokio::spawn(async move {
            // A feed that fails is made again, after a pause that grows to 30 s; the
            // operator sees why meanwhile.
            let mut pause = Duration::from_secs(1);
            loop {
                match Feed::new(&store, &id, seen).await {
                    Ok(mut feed) => {
                        if let Some(warning) = feed.warning() {
                            let _ = sender.send(Message::Problem(warning.to_string()));
                        }
                        loop {
                            match feed.next().await {
                                Ok(events) => {
                                    pause = Duration::from_secs(1);
                                    seen = events.last().map_or(seen, |e| e.seq);
                                    if sender.send(Message::Events(events)).is_err() {
                                        return;
                                    }
                                }
                                Err(err) => {
                                    let _ = sender.send(Message::Problem(format!(
                                        "live updates interrupted ({err}); trying again"
                                    )));
                                    break;
                                }
                            }
                        }
                    }
                    Err(err) => {
                        let _ = sender.send(Message::Problem(format!(
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
        let (store, id) = (store.clone(), session.id.clone());
        tokio::spawn(async move {
            let mut last = None;
            loop {
                if let Ok(attached) = store.attached(&id).await {
                    if last.as_ref() != Some(&attached) {
                        last = Some(attached.clone());
                        if sender.send(Message::Attached(attached)).is_err() {
                            return;
                        }
                    }
                }
                if let Ok(claims) = store.live_claims(&id).await {
                    if sender.send(Message::Claims(claims)).is_err() {
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

/// Runs the console on `terminal` until the operator quits or `inputs.stop` is cancelled.
pub async fn run<B: Backend, S>(
    terminal: &mut Terminal<B>,
    plan: &Plan<'_>,
    mut session: Session,
    store: &Store,
    app: &mut App,
    inputs: Inputs<S>,
    theme: Theme,
) -> Result<(), String>
where
    S: Stream<Item = std::io::Result<TermEvent>> + Unpin,
{
    let Inputs {
        terminal: mut input,
        mut engine,
        mut problems,
        requests,
        stop,
        run,
    } = inputs;
    app.can_run = requests.is_some();
    let (sender, mut messages) = unbounded_channel();
    let presence_now = Arc::new(Notify::new());
    let tasks = follow(store, &session, sender.clone(), presence_now.clone());
    let panicked = super::terminal::panicked();
    app.refresh(plan, &session);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut loading: Option<(String, String)> = None;
    let mut dirty = true;
    let outcome = loop {
        if dirty {
            if let Err(err) =
                terminal.draw(|frame| view::draw(frame, app, &theme, SystemTime::now()))
            {
                break Err(format!("cannot draw: {err}"));
            }
            dirty = false;
        }
        if app.quit {
            break Ok(());
        }
        // What the operator asked of the engine.
        for request in std::mem::take(&mut app.requests) {
            if let Some(requests) = &requests {
                let _ = requests.send(request);
            }
        }
        // A skip, recorded as the operator's.
        if let Some((item, reason)) = app.skip.take() {
            let (store, id, sender, by) = (
                store.clone(),
                session.id.clone(),
                sender.clone(),
                app.operator.clone(),
            );
            tokio::spawn(async move {
                // Checked against the session as it is when the skip is written.
                let appended = store
                    .append_decided(&id, &by, |now| rules::skip(now, &item, &reason))
                    .await;
                let said = match appended {
                    Ok(_) => format!("skipped {item}"),
                    Err(StoreError::Refused(refused)) => format!("cannot skip: {refused}"),
                    Err(err) => format!("cannot skip {item}: {err}"),
                };
                let _ = sender.send(Message::Problem(said));
            });
        }
        // A sign-off, checked against the session as it is when it is written.
        if let Some(request) = app.submit.take() {
            let (store, id, sender) = (store.clone(), session.id.clone(), sender.clone());
            let checklist = plan.checklist.clone();
            tokio::spawn(async move {
                let appended = store
                    .append_decided(&id, &request.by, |now| {
                        rules::signoff(now, &checklist, &request, rules::Flags::CONSOLE)
                    })
                    .await;
                let outcome = match appended {
                    Ok(_) => Ok(format!(
                        "signed {} {} as {}",
                        request.item,
                        request.status.name(),
                        request.by
                    )),
                    Err(err) => Err(err.to_string()),
                };
                let _ = sender.send(Message::Signed(outcome));
            });
        }
        // An item's result and evidence saved to a file, as the operator asked.
        if let Some(i) = app.save.take() {
            if let Some(entry) = app.report_item(i) {
                let path = std::env::current_dir()
                    .unwrap_or_default()
                    .join(format!("relcon-{}-{}.json", entry.id, session.id));
                let mut value = serde_json::to_value(entry).unwrap_or_default();
                // Scrubbed like every other output of relcon.
                if let Some(redactor) = &app.redactor {
                    redactor.scrub_json(&mut value);
                }
                let text = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
                let (sender, id) = (sender.clone(), entry.id.clone());
                tokio::spawn(async move {
                    let said = match tokio::fs::write(&path, text).await {
                        Ok(()) => format!("saved {id}'s result and evidence to {}", path.display()),
                        Err(err) => format!("cannot save to {}: {err}", path.display()),
                    };
                    let _ = sender.send(Message::Problem(said));
                });
            }
        }
        // The selected item's stored output is read in the background, once.
        if let Some(wanted) = app.wanted_output().filter(|w| loading.as_ref() != Some(w)) {
            loading = Some(wanted.clone());
            let (store, session_id, sender) = (store.clone(), session.id.clone(), sender.clone());
            let dropped = session
                .item(&wanted.0)
                .and_then(|i| i.result.as_ref()?.output.as_ref())
                .map_or(0, |output| output.digest.dropped);
            tokio::spawn(async move {
                let message = match store.output(&session_id, &wanted.1).await {
                    Ok(lines) => Message::Output(wanted.0, wanted.1, lines, dropped),
                    Err(err) => {
                        Message::Problem(format!("cannot read the output of {}: {err}", wanted.0))
                    }
                };
                let _ = sender.send(message);
            });
        }
        tokio::select! {
            biased;
            () = stop.cancelled() => break Ok(()),
            () = panicked.cancelled() => break Err("relcon failed (see the report above)".into()),
            Some(problem) = async { problems.as_mut()?.recv().await }, if problems.is_some() => {
                app.message = Some(problem);
                dirty = true;
            },
            input = input.next() => match input {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => dirty |= app.on_key(&key),
                Some(Ok(TermEvent::Mouse(mouse))) => dirty |= app.on_mouse(&mouse),
                Some(Ok(TermEvent::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(err)) => break Err(format!("cannot read the terminal: {err}")),
                None => break Ok(()),
            },
            Some(event) = async { engine.as_mut()?.recv().await }, if engine.is_some() => {
                app.on_engine(&event);
                // Whatever else is waiting is taken in before the next frame.
                while let Some(event) = engine.as_mut().and_then(|e| e.try_recv().ok()) {
                    app.on_engine(&event);
                }
                dirty = true;
            },
            message = messages.recv() => {
                let mut next = message;
                while let Some(message) = next {
                    dirty |= take(app, plan, &mut session, message, &presence_now, &mut loading);
                    next = messages.try_recv().ok();
                }
            },
            _ = tick.tick(), if app.animating() => {
                app.spinner = app.spinner.wrapping_add(1);
                dirty = true;
            },
        }
        // An engine whose run ended has nothing more to say.
        if engine
            .as_ref()
            .is_some_and(|e| e.is_closed() && e.is_empty())
        {
            engine = None;
        }
    };
    for task in tasks {
        task.abort();
    }
    if app.quit {
        run.cancel();
    }
    outcome
}

/// Takes a background message in; true when the screen changes.
fn take(
    app: &mut App,
    plan: &Plan<'_>,
    session: &mut Session,
    message: Message,
    presence_now: &Notify,
    loading: &mut Option<(String, String)>,
) -> bool {
    match message {
        Message::Events(events) => {
            for event in &events {
                if let Err(err) = session.follow(event) {
                    app.message = Some(err.to_string());
                    break;
                }
            }
            // Someone came or went: who is attached is asked now, not at the next poll.
            if events
                .iter()
                .any(|e| e.event_kind().is_some_and(EventKind::is_presence))
            {
                presence_now.notify_one();
            }
            app.refresh(plan, session);
            true
        }
        Message::Claims(live) => app.claims_live(&live),
        Message::Attached(attached) => {
            app.attached = attached;
            true
        }
        Message::Output(item, run, lines, dropped) => {
            *loading = None;
            app.set_output(&item, &run, lines, dropped);
            true
        }
        Message::Signed(outcome) => {
            app.signed(outcome);
            true
        }
        Message::Problem(problem) => {
            app.message = Some(problem);
            true
        }
    }
}
