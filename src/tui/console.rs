//! The console's event loop: one `select!` over terminal input, this process's engine
//! events, the run's updates (the session's events as any process commits them, who is
//! attached, stored output, answers) and a spinner tick that exists only while a check
//! runs. It draws only after a change, once whatever was waiting has been taken in; idle,
//! it sleeps. What the operator asks goes to the run as typed requests, in one place.

use std::time::{Duration, SystemTime};

use crossterm::event::{Event as TermEvent, KeyEventKind};
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::app::App;
pub use super::app::Request;
use super::theme::Theme;
use super::view;
use crate::checklist::plan::Plan;
use crate::engine::event::Event;
use crate::service::Update;
use crate::session::SessionState;

/// How often the spinner turns while something runs.
const TICK: Duration = Duration::from_millis(100);

/// Where the console's inputs come from.
pub struct Inputs<S> {
    /// Terminal events.
    pub terminal: S,
    /// This process's engine events, after the store committed them.
    pub engine: Option<UnboundedReceiver<Event>>,
    /// Everything else the run tells the console.
    pub updates: UnboundedReceiver<Update>,
    /// Where the operator's requests go.
    pub requests: UnboundedSender<Request>,
    /// Ends the console (SIGTERM, SIGHUP).
    pub stop: CancellationToken,
    /// This process's run: cancelled when the operator quits.
    pub run: CancellationToken,
}

/// Runs the console on `terminal` until the operator quits or `inputs.stop` is cancelled.
pub async fn run<B: Backend, S>(
    terminal: &mut Terminal<B>,
    plan: &Plan<'_>,
    session: SessionState,
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
        mut updates,
        requests,
        stop,
        run,
    } = inputs;
    app.can_run = true;
    let panicked = super::terminal::panicked();
    app.hold(plan, session);
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
            if std::mem::take(&mut app.bell) {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = out.write_all(b"\x07").and_then(|()| out.flush());
            }
        }
        if app.quit {
            break Ok(());
        }
        // What the operator asked of the run.
        for request in std::mem::take(&mut app.requests) {
            let _ = requests.send(request);
        }
        // The selected item's stored output is read in the background, once.
        if let Some((item, run)) = app.wanted_output().filter(|w| loading.as_ref() != Some(w)) {
            loading = Some((item.clone(), run.clone()));
            let _ = requests.send(Request::ReadOutput { item, run });
        }
        tokio::select! {
            biased;
            () = stop.cancelled() => break Ok(()),
            () = panicked.cancelled() => break Err("relcon failed (see the report above)".into()),
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
            Some(update) = updates.recv() => {
                let mut next = Some(update);
                while let Some(update) = next {
                    dirty |= take(app, plan, update, &mut loading);
                    next = updates.try_recv().ok();
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
    if app.quit {
        run.cancel();
    }
    outcome
}

/// Takes an update of the run in; true when the screen changes.
fn take(
    app: &mut App,
    plan: &Plan<'_>,
    update: Update,
    loading: &mut Option<(String, String)>,
) -> bool {
    match update {
        Update::Events(events) => {
            if let Err(err) = app.follow_events(plan, &events) {
                app.message = Some(err.to_string());
            }
            true
        }
        Update::Claims(live) => app.claims_live(&live),
        Update::Attached(attached) => {
            app.attached = attached;
            true
        }
        Update::Output { item, run, lines } => {
            *loading = None;
            let dropped = app
                .session
                .as_ref()
                .and_then(|s| s.item(&item))
                .and_then(|i| i.result.as_ref()?.output.as_ref())
                .filter(|output| output.run_id == run)
                .map_or(0, |output| output.digest.dropped);
            app.set_output(&item, &run, lines, dropped);
            true
        }
        Update::Signed(outcome) => {
            app.signed(outcome);
            true
        }
        Update::Exported(outcome) => {
            app.exported(outcome);
            true
        }
        Update::Diff(compared) => {
            // Shown if the operator still waits for it.
            if let crate::tui::app::Mode::Diff(shown @ None, _) = &mut app.mode {
                *shown = Some(compared);
            }
            true
        }
        Update::Said(said) => {
            app.message = Some(said);
            true
        }
    }
}

/// The console on this process's terminal.
pub struct TerminalConsole;

impl crate::service::Console for TerminalConsole {
    fn show<'a>(
        &'a mut self,
        inputs: crate::service::ConsoleInputs<'a>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + 'a>> {
        Box::pin(show(inputs))
    }
}

/// Shows the console over a run until the operator quits (which cancels what still runs) or
/// a signal ends it; the terminal is restored however it ends.
async fn show(inputs: crate::service::ConsoleInputs<'_>) -> Result<(), String> {
    let run = inputs.run.clone();
    let (mut terminal, guard) = super::terminal::enter().map_err(|e| {
        // Without a console, there is nothing to show the run on: it stops.
        run.cancel();
        format!("cannot take the terminal: {e}")
    })?;
    let mut app = App::new(inputs.plan, &inputs.session.id, inputs.redactor);
    app.operator = inputs.operator.to_string();
    app.signer = inputs.signer.clone();
    app.consented = inputs.consented;
    app.show_inputs(&inputs.inputs);
    app.store = inputs.store.clone();
    app.redactor = Some(inputs.redactor.clone());
    app.resume = inputs.resume.clone();
    app.bake_at_go = inputs.bake_at_go;
    let shown = self::run(
        &mut terminal,
        inputs.plan,
        inputs.session,
        &mut app,
        Inputs {
            terminal: crossterm::event::EventStream::new(),
            engine: Some(inputs.engine),
            updates: inputs.updates,
            requests: inputs.requests,
            stop: inputs.stop,
            run: inputs.run,
        },
        Theme::from_env(),
    )
    .await;
    drop(guard);
    // The guard gave the terminal back. Dropped, the ratatui terminal would show the cursor
    // again and, on a terminal that has gone (a dropped SSH connection), print its failure
    // with `eprintln!`, which panics there, before the run has cleaned up.
    std::mem::forget(terminal);
    if shown.is_err() {
        run.cancel();
    }
    if app.animating() && run.is_cancelled() {
        crate::out::say("cancelling running checks (finished results are kept)…");
    }
    shown
}
