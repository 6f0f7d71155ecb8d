//! Gates that open: an item blocked on its needs runs once they have all passed since (a
//! manual need signed here or in another process, a failed need run again), as `r` on it
//! would, without the operator having to find it.

use std::collections::BTreeSet;

use super::App;
use crate::service::Request;
use crate::status::Status;

impl App {
    /// Runs the blocked items of this run whose needs have all passed; an item that writes
    /// to a production environment waits for the environment's name (`r` asks it). Each is
    /// asked once while it stays blocked.
    pub(super) fn run_opened_gates(&mut self) {
        let Some(session) = &self.session else {
            return;
        };
        if !self.can_run || session.closed.is_some() {
            return;
        }
        let blocked: BTreeSet<String> = (0..self.items.len())
            .filter(|&i| self.status(i) == Status::Blocked)
            .map(|i| self.items[i].id.clone())
            .collect();
        // An item that left the blocked state may be asked again if it comes back to it.
        self.gates_opened.retain(|id| blocked.contains(id));
        let mut run = Vec::new();
        let mut waiting = Vec::new();
        for item in &self.items {
            let open = item.automated
                && item.in_scope
                && blocked.contains(&item.id)
                && !self.gates_opened.contains(&item.id)
                && item.needs.iter().all(|need| {
                    session
                        .item(need)
                        .is_some_and(|state| state.status.satisfies_needs())
                });
            if !open {
                continue;
            }
            if item.writes && self.production && !self.consented {
                waiting.push(item.id.clone());
            } else {
                run.push(item.id.clone());
            }
        }
        self.gates_opened
            .extend(run.iter().chain(&waiting).cloned());
        if !waiting.is_empty() {
            self.message = Some(format!(
                "{} can run now that its needs passed; it writes to {}: r runs it once you type the environment's name",
                waiting.join(", "),
                self.environment.as_deref().unwrap_or("production")
            ));
        }
        if !run.is_empty() {
            self.requests.push(Request::Run(run));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::checklist::plan::{Plan, Scope};
    use crate::checklist::Checklist;
    use crate::redact::Redactor;
    use crate::service::Request;
    use crate::session::testing::{log, result, CHECKLIST};
    use crate::session::{Body, SessionState};
    use crate::status::Status;
    use crate::tui::app::App;

    #[test]
    fn a_blocked_item_runs_once_its_needs_pass() {
        let checklist = Checklist::from_bytes("t.toml", CHECKLIST.as_bytes()).expect("valid");
        let plan = Plan::new(&checklist, Some("staging".into()), &Scope::default()).expect("plan");
        let mut bodies: Vec<(&str, Body)> = vec![
            ("alice", result("live", Status::Fail, true)),
            ("alice", result("ready", Status::Blocked, false)),
        ];
        let before = log("staging", &bodies);
        let head = crate::session::chain::verify_chain("s", &before, None).expect("chain");
        let mut app = App::new(&plan, "s", &Redactor::with_key([1; 32]));
        app.can_run = true;
        app.hold(&plan, SessionState::fold(&before, head).expect("folds"));
        assert!(app.requests.is_empty(), "nothing is asked on opening");
        // The failed need is run again and passes (here or in another process).
        bodies.push(("bob", result("live", Status::Pass, true)));
        let after = log("staging", &bodies);
        app.follow_events(&plan, &after[before.len()..])
            .expect("follows");
        assert_eq!(app.requests, vec![Request::Run(vec!["ready".into()])]);
        // Asked once while it stays blocked.
        app.requests.clear();
        bodies.push(("bob", result("staging-only", Status::Pass, true)));
        let more = log("staging", &bodies);
        app.follow_events(&plan, &more[after.len()..])
            .expect("follows");
        assert!(app.requests.is_empty(), "{:?}", app.requests);
    }
}
