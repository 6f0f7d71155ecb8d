//! The console's side of the post-deploy bake: the bake as the session has it (whichever
//! process runs it), starting one at go when the run was asked to, the alert when one ends
//! no-go, and the keys of its pane.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Mode, Request};
use crate::session::bake::{self, Bake, Outcome};
use crate::status::{Status, Verdict};
use crate::tui::keymap::{self, Action};

impl App {
    /// The session's last bake, when it has one.
    pub fn bake(&self) -> Option<Bake> {
        bake::bakes(&self.session.as_ref()?.audit).pop()
    }

    /// After the session moved on: a bake asked for at go starts once every automated item
    /// is done and none failed; a bake that ended no-go rings the bell and says so, once.
    pub(super) fn watch_bake(&mut self) {
        let last = self.bake();
        if let Some(Bake {
            started_at,
            ended: Some((Outcome::NoGo, reason, _)),
            ..
        }) = &last
        {
            if self.bake_alerted != Some(*started_at) {
                self.bake_alerted = Some(*started_at);
                self.bell = true;
                self.message = Some(format!(
                    "BAKE NO-GO: {reason}. Next: roll back to the previous release, then start a new session with relcon run"
                ));
            }
        }
        if self.bake_at_go.is_some() && last.is_none() && self.automated_done() {
            if let Some(asked) = self.bake_at_go.take() {
                self.requests.push(Request::Bake(asked));
                self.mode = Mode::Bake;
            }
        }
    }

    /// Whether every automated item of the run has settled and none failed.
    fn automated_done(&self) -> bool {
        let Some((verdict, _)) = &self.tally else {
            return false;
        };
        *verdict != Verdict::NoGo
            && self
                .items
                .iter()
                .enumerate()
                .filter(|(_, info)| info.automated && info.in_scope)
                .all(|(i, _)| {
                    self.item_state(i)
                        .is_some_and(|s| !matches!(s.status, Status::Pending | Status::Running))
                })
    }

    /// A key in the bake's pane: Enter starts a bake, c stops the one that runs, q quits,
    /// any other key closes the pane.
    pub(super) fn on_bake_key(&mut self, key: &KeyEvent) {
        let running = self.bake().is_some_and(|b| b.ended.is_none());
        self.mode = Mode::Bake;
        match (key.code, keymap::action(key)) {
            (KeyCode::Enter, _) if running => {
                self.message = Some("the bake runs already (c stops it)".into());
            }
            (KeyCode::Enter, _) => {
                self.requests
                    .push(Request::Bake(crate::service::bake::Asked::default()));
                self.message = Some("bake starting…".into());
            }
            (_, Some(Action::Cancel)) if running => {
                self.requests.push(Request::StopBake);
                self.message = Some("stopping the bake…".into());
            }
            (_, Some(Action::Quit)) => {
                self.mode = Mode::Browse;
                self.act(Action::Quit);
            }
            _ => self.mode = Mode::Browse,
        }
    }
}
