//! The post-deploy bake: after go, once traffic has moved, the items marked `bake = true`
//! re-run every interval, one attempt each, until its time is up or a regression ends it.
//! Every round is committed to the session before anything shows it (one event per round),
//! so a second terminal, a resumed bake, the report and `relcon verify` see the same
//! rounds; the regression rule is [`crate::session::bake`]'s.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::checklist::plan::Plan;
use crate::checklist::values::Values;
use crate::checklist::BakeSettings;
use crate::engine::event::Emitter;
use crate::engine::run::{RunOptions, Runner};
use crate::redact::Redactor;
use crate::session::bake::{self, Bake, Outcome};
use crate::session::{BakeRules, Body, SessionState};
use crate::status::{Status, Verdict};
use crate::store::Store;

/// What a bake was asked for: its time and the time between rounds (none: the checklist's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// `--for`.
    pub duration: Option<Duration>,
    /// `--every`.
    pub every: Option<Duration>,
}

/// The shortest time between rounds.
pub const MIN_EVERY: Duration = Duration::from_secs(1);

/// How long a note of a failed round may be.
const NOTE_MAX: usize = 160;

/// A bake of one session, and what it needs to run its items.
pub struct Baker<'a> {
    /// The plan, in the session's environment.
    pub plan: &'a Plan<'a>,
    /// The values.
    pub values: &'a Values,
    /// How checks run (the default timeout, trusted roots).
    pub options: &'a RunOptions,
    /// The redactor.
    pub redactor: &'a Arc<Redactor>,
    /// The store.
    pub store: &'a Store,
    /// The session, as it stands.
    pub session: &'a SessionState,
    /// Who bakes.
    pub operator: &'a str,
}

impl Baker<'_> {
    /// The bake to run: the session's unfinished one taken up (its process died), or a new
    /// one recorded. Refused unless the session is at go, and while another process bakes it.
    pub async fn begin(&self, asked: Asked) -> Result<Bake, String> {
        let (verdict, _) = crate::session::rules::tally(self.plan, self.session);
        if verdict == Verdict::NoGo {
            return Err(format!(
                "session {} is {}: a bake follows a release that reached go",
                self.session.id,
                crate::report::view::verdict_word(verdict)
            ));
        }
        if let Some(unfinished) = bake::bakes(&self.session.audit)
            .pop()
            .filter(|b| b.ended.is_none())
        {
            let last = unfinished
                .rounds
                .last()
                .map_or(unfinished.started_at, |r| r.at);
            let quiet = SystemTime::now()
                .duration_since(last.system())
                .unwrap_or_default();
            if quiet < unfinished.every * 2 + Duration::from_secs(5) {
                return Err(format!(
                    "session {} is being baked already (by {}, its last round {} ago): follow it with `relcon watch --session {}`",
                    self.session.id,
                    unfinished.by,
                    crate::text::format_duration(quiet),
                    self.session.id
                ));
            }
            return Ok(unfinished);
        }
        let settings = &self.plan.checklist.bake;
        let duration = asked.duration.unwrap_or(settings.duration);
        let every = asked.every.unwrap_or(settings.every).max(MIN_EVERY);
        if duration < every {
            return Err(format!(
                "a bake of {} every {} has no round: make --for longer than --every",
                crate::text::format_duration(duration),
                crate::text::format_duration(every)
            ));
        }
        let (items, left_out) = self.items();
        if items.is_empty() {
            return Err(format!(
                "no item of session {} is baked: mark the items to re-run after go with `bake = true`{}",
                self.session.id,
                if left_out.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (left out: {})",
                        left_out
                            .iter()
                            .map(|(id, why)| format!("{id}: {why}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                }
            ));
        }
        let body = Body::BakeStarted {
            items,
            every_ms: millis(every),
            for_ms: millis(duration),
            rules: self.rules(settings),
            left_out,
        };
        self.store
            .append(&self.session.id, self.operator, &body)
            .await
            .map_err(|e| e.to_string())?;
        let session = self
            .store
            .open_session(&self.session.id, None)
            .await
            .map_err(|e| e.to_string())?;
        bake::bakes(&session.audit)
            .pop()
            .ok_or_else(|| "the bake's start was not recorded".to_string())
    }

    /// The items marked for the bake that apply here and passed at go, and those it leaves
    /// out with why: a signed-in smoke repeats the strategy that passed, and is left out when
    /// that one wrote (a database session).
    fn items(&self) -> (Vec<String>, BTreeMap<String, String>) {
        let mut items = Vec::new();
        let mut left_out = BTreeMap::new();
        for entry in &self.plan.entries {
            if !entry.resolved.bake || !entry.item.kind.automated {
                continue;
            }
            let id = entry.item.id.clone();
            let Some(state) = self.session.item(&id) else {
                continue;
            };
            match state.status {
                Status::Pass | Status::Warn => {}
                Status::Skip => continue,
                other => {
                    left_out.insert(id, format!("{} at go", other.name()));
                    continue;
                }
            }
            if entry.resolved.writes {
                match go_strategy(self.session, &id) {
                    Some("database") | None => {
                        left_out.insert(
                            id,
                            "it wrote at go (a database session): writes are never repeated".into(),
                        );
                        continue;
                    }
                    Some(_) => {}
                }
            }
            items.push(id);
        }
        (items, left_out)
    }

    fn rules(&self, settings: &BakeSettings) -> BakeRules {
        BakeRules {
            fail_after: settings.fail_after,
            fail_after_by_item: self
                .plan
                .entries
                .iter()
                .filter_map(|e| Some((e.item.id.clone(), e.resolved.bake_fail_after?)))
                .collect(),
            latency_factor_percent: (settings.latency_factor * 100.0).round().clamp(100.0, 1e6)
                as u32,
            latency_margin_ms: millis(settings.latency_margin),
            latency_margin_ms_by_item: self
                .plan
                .entries
                .iter()
                .filter_map(|e| Some((e.item.id.clone(), millis(e.resolved.bake_latency_margin?))))
                .collect(),
            latency_samples: settings.latency_samples,
            baseline_rounds: settings.baseline_rounds,
        }
    }

    /// Runs `bake`'s remaining rounds, each recorded before `shown` sees it, until its time
    /// is up, a regression ends it, or `cancel` stops it (recorded as stopped). The bake as
    /// it ended.
    pub async fn run(
        &self,
        mut bake: Bake,
        cancel: &CancellationToken,
        shown: &mut (dyn FnMut(&Bake) + Send),
    ) -> Result<Bake, String> {
        let mut plan = self.plan.clone();
        let mut entries = Vec::new();
        for id in &bake.items {
            let Some(i) = plan.entries.iter().position(|e| &e.item.id == id) else {
                return Err(format!("item {id} of the bake is not in the checklist"));
            };
            if let Some(strategy) = go_strategy(self.session, id) {
                plan.entries[i]
                    .resolved
                    .config
                    .insert("strategy".into(), toml::Value::String(strategy.into()));
            }
            entries.push(i);
        }
        // Rounds are recorded, not the attempts in them: the engine's events go nowhere.
        let (sender, _dropped) = tokio::sync::mpsc::unbounded_channel();
        shown(&bake);
        let start = tokio::time::Instant::now()
            - SystemTime::now()
                .duration_since(bake.started_at.system())
                .unwrap_or_default();
        let planned = bake.planned_rounds().max(1);
        let ends = start + bake.duration;
        // Rounds keep their pace from the bake's start; a bake taken up late starts at once
        // and goes on at its pace, without making up the rounds it missed.
        let mut due = start + bake.every * bake.rounds.len() as u32;
        loop {
            if let Some(reason) = bake.regression() {
                return self.end(bake, Outcome::NoGo, reason, shown).await;
            }
            let number = bake.rounds.last().map_or(0, |r| r.number) + 1;
            if number > planned || tokio::time::Instant::now() >= ends {
                let reason = format!(
                    "{} rounds over {} without a regression",
                    bake.rounds.len(),
                    crate::text::format_duration(bake.duration)
                );
                return self.end(bake, Outcome::Go, reason, shown).await;
            }
            due = due.max(tokio::time::Instant::now());
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = cancel.cancelled() => {
                    return self.end(bake, Outcome::Stopped, format!("stopped by {} after {} rounds", self.operator, number - 1), shown).await;
                }
            }
            due += bake.every;
            // Each round has its own copy of the redactor: what it learns (a token minted
            // for the round) goes with it.
            let redactor = Arc::new(self.redactor.fork());
            let emitter = Emitter::new(sender.clone(), redactor.clone());
            let runner = Runner {
                plan: &plan,
                values: self.values,
                redactor,
                options: self.options,
                emitter: emitter.clone(),
                cancel: cancel.clone(),
                prior: Vec::new(),
                claims: None,
                cancels: None,
            };
            let round = self
                .round(&runner, &emitter, &entries, number, cancel)
                .await;
            if cancel.is_cancelled() {
                return self
                    .end(
                        bake,
                        Outcome::Stopped,
                        format!("stopped by {} after {} rounds", self.operator, number - 1),
                        shown,
                    )
                    .await;
            }
            let body = Body::BakeRound {
                round: number,
                status: round.status.clone(),
                latency_ms: round.latency_ms.clone(),
                notes: round.notes.clone(),
            };
            let event = self
                .store
                .append(&self.session.id, self.operator, &body)
                .await
                .map_err(|e| e.to_string())?;
            bake.rounds.push(bake::Round {
                at: crate::session::Timestamp::parse(&event.at)
                    .unwrap_or_else(crate::session::Timestamp::now),
                ..round
            });
            shown(&bake);
        }
    }

    /// One round: every item once, together, without retries.
    async fn round(
        &self,
        runner: &Runner<'_>,
        emitter: &Emitter,
        entries: &[usize],
        number: u32,
        cancel: &CancellationToken,
    ) -> bake::Round {
        let attempts = entries.iter().map(|&i| {
            let entry = &runner.plan.entries[i];
            let timeout = entry
                .resolved
                .timeout
                .unwrap_or(self.options.default_timeout);
            let output = crate::checks::OutputSink::new(&entry.item.id, Arc::new(emitter.clone()));
            async move {
                let clock = tokio::time::Instant::now();
                let result = runner.attempt(i, timeout, cancel, output).await;
                (i, result, clock.elapsed())
            }
        });
        let done = futures::future::join_all(attempts).await;
        let mut status = Vec::new();
        let mut latency_ms = Vec::new();
        let mut notes = BTreeMap::new();
        for (i, result, took) in done {
            if !matches!(result.status, Status::Pass | Status::Warn) {
                notes.insert(
                    runner.plan.entries[i].item.id.clone(),
                    runner.redactor.excerpt(&result.summary, NOTE_MAX),
                );
            }
            status.push(result.status);
            latency_ms.push(millis(took));
        }
        bake::Round {
            at: crate::session::Timestamp::now(),
            number,
            status,
            latency_ms,
            notes,
        }
    }

    async fn end(
        &self,
        mut bake: Bake,
        outcome: Outcome,
        reason: String,
        shown: &mut (dyn FnMut(&Bake) + Send),
    ) -> Result<Bake, String> {
        let event = self
            .store
            .append(
                &self.session.id,
                self.operator,
                &Body::BakeEnded {
                    outcome: outcome.name().into(),
                    reason: reason.clone(),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let at = crate::session::Timestamp::parse(&event.at)
            .unwrap_or_else(crate::session::Timestamp::now);
        bake.ended = Some((outcome, reason, at));
        shown(&bake);
        Ok(bake)
    }
}

/// The strategy a signed-in smoke passed with at go, as its evidence says.
fn go_strategy<'s>(session: &'s SessionState, id: &str) -> Option<&'s str> {
    session
        .item(id)?
        .outcome()?
        .evidence
        .get("strategy")?
        .as_str()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A bake's exit code: 0 go, 1 no-go, 3 stopped (or unfinished).
pub fn exit_code(bake: &Bake) -> u8 {
    match bake.outcome() {
        Some(Outcome::Go) => crate::exit::GO,
        Some(Outcome::NoGo) => crate::exit::NO_GO,
        _ => crate::exit::INCOMPLETE,
    }
}

/// Bakes session `id` (none: the store's latest of the checklist and environment) in a
/// prepared setup, shown through `shown`; Ctrl-C, SIGHUP and SIGTERM stop it (recorded as
/// stopped). The exit code.
pub async fn bake_session(
    setup: super::Setup,
    id: Option<String>,
    asked: Asked,
    shown: &mut (dyn FnMut(&Bake) + Send),
) -> u8 {
    match bake_in(&setup, id, asked, shown).await {
        Ok(code) => code,
        Err(err) => crate::out::bad_input(err),
    }
}

async fn bake_in(
    setup: &super::Setup,
    id: Option<String>,
    asked: Asked,
    shown: &mut (dyn FnMut(&Bake) + Send),
) -> Result<u8, String> {
    let store = &setup.store;
    let id = match id {
        Some(id) => id,
        None => store
            .sessions()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|s| s.checklist_id == setup.checklist.id && s.environment == setup.environment)
            .map(|s| s.id)
            .ok_or_else(|| {
                format!(
                    "no session of checklist {} in environment {} in {} to bake",
                    setup.checklist.id,
                    setup.environment.as_deref().unwrap_or("(none)"),
                    store.url()
                )
            })?,
    };
    let session = store
        .open_session(&id, None)
        .await
        .map_err(|e| e.to_string())?;
    super::open::same_checklist(setup, &session)?;
    let plan = Plan::new(
        &setup.checklist,
        setup.environment.clone(),
        &crate::checklist::plan::Scope::default(),
    )
    .map_err(|e| e.to_string())?
    .with_values(&setup.values);
    let redactor = super::redactor_for(store, &setup.checklist, &setup.values);
    let baker = Baker {
        plan: &plan,
        values: &setup.values,
        options: &setup.options,
        redactor: &redactor,
        store,
        session: &session,
        operator: &setup.options.operator,
    };
    let bake = baker.begin(asked).await?;
    let cancel = CancellationToken::new();
    super::on_signals(&cancel, &CancellationToken::new(), true);
    let bake = baker.run(bake, &cancel, shown).await?;
    Ok(exit_code(&bake))
}
