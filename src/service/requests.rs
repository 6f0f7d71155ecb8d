//! What the console's operator asks of the run: runs of chosen items (after consent to
//! writes where the environment needs it), cancelling one, skipping one, signing one off,
//! saving one's result and evidence, reading a run's stored output. Each is checked against
//! the session as it is when it is written, and answered with an update.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::signing::KeyChoice;
use super::{ExportSigning, Request, Update};
use crate::checklist::plan::{Plan, Scope};
use crate::checklist::values::Values;
use crate::checklist::Checklist;
use crate::engine::event::Emitter;
use crate::engine::run::{Cancels, RunOptions, Runner};
use crate::redact::Redactor;
use crate::report::model::ReportItem;
use crate::session::rules::{self, Flags};
use crate::session::ItemState;
use crate::store::claims::StoreClaims;
use crate::store::{Store, StoreError};

/// A run the operator asked for, to be driven to its end.
pub type Asked<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Everything the operator's requests need.
pub struct Requests<'a> {
    /// The checklist.
    pub checklist: &'a Checklist,
    /// The environment.
    pub environment: &'a Option<String>,
    /// The run's scope (a saved result says whether the run covers its item).
    pub scope: &'a Scope,
    /// The values.
    pub values: &'a Values,
    /// The redactor.
    pub redactor: &'a Arc<Redactor>,
    /// How runs run.
    pub options: &'a RunOptions,
    /// The same options with writes to production allowed, once the operator consented.
    pub consented: &'a RunOptions,
    /// Whether the operator consented to writes.
    pub consent: AtomicBool,
    /// Where the runs' events go.
    pub emitter: Emitter,
    /// The whole run's cancellation.
    pub cancel: &'a CancellationToken,
    /// Each running item's own cancellation.
    pub cancels: &'a Cancels,
    /// The store.
    pub store: &'a Store,
    /// The session.
    pub session: &'a str,
    /// Who asks.
    pub operator: &'a str,
    /// Where answers go.
    pub updates: UnboundedSender<Update>,
    /// The operator's signing key, when there is one.
    pub signer: Option<Arc<crate::sshsig::Signer>>,
    /// Stops the bake this console runs, while it runs.
    pub baking: std::sync::Mutex<Option<CancellationToken>>,
}

impl<'a> Requests<'a> {
    /// Starts what `request` asks for; a run to drive to its end, if it is one.
    pub fn start(&self, request: Request) -> Option<Asked<'a>> {
        match request {
            Request::Cancel(item) => {
                if let Some(token) = self.cancels.lock().ok().and_then(|c| c.get(&item).cloned()) {
                    token.cancel();
                }
                None
            }
            Request::Consent => {
                self.consent.store(true, Ordering::SeqCst);
                None
            }
            Request::Run(items) => Some(self.run(items)),
            Request::Skip { item, reason } => {
                self.skip(item, reason);
                None
            }
            Request::SignOff(request) => {
                self.sign(request);
                None
            }
            Request::Save { item, shown } => {
                self.save(item, shown.map(|shown| *shown));
                None
            }
            Request::ReadOutput { item, run } => {
                self.read_output(item, run);
                None
            }
            Request::Export { format, path, sign } => {
                self.export(format, path, sign);
                None
            }
            Request::Diff => {
                self.diff();
                None
            }
            Request::Bake(asked) => Some(self.bake(asked)),
            Request::StopBake => {
                match self.baking.lock().ok().and_then(|mut b| b.take()) {
                    Some(token) => token.cancel(),
                    None => {
                        let _ = self
                            .updates
                            .send(Update::Said("no bake runs in this console".into()));
                    }
                }
                None
            }
        }
    }

    /// A run of `items`, again, from the session as it is now.
    fn run(&self, items: Vec<String>) -> Asked<'a> {
        let options = if self.consent.load(Ordering::SeqCst) {
            self.consented
        } else {
            self.options
        };
        let (checklist, environment, values, redactor) = (
            self.checklist,
            self.environment.clone(),
            self.values,
            self.redactor.clone(),
        );
        let (emitter, cancel, cancels, store, session, operator, updates) = (
            self.emitter.clone(),
            self.cancel.child_token(),
            self.cancels.clone(),
            self.store.clone(),
            self.session.to_string(),
            self.operator.to_string(),
            self.updates.clone(),
        );
        Box::pin(async move {
            let now = match store.open_session(&session, None).await {
                Ok(now) => now,
                Err(err) => {
                    let _ = updates.send(Update::Said(format!("cannot run: {err}")));
                    return;
                }
            };
            let scope = Scope {
                only: items,
                ..Scope::default()
            };
            let plan = match Plan::new(checklist, environment, &scope) {
                Ok(plan) => plan.with_values(values),
                Err(err) => {
                    let _ = updates.send(Update::Said(format!("cannot run: {err}")));
                    return;
                }
            };
            let runner = Runner {
                plan: &plan,
                values,
                redactor,
                options,
                emitter,
                cancel,
                prior: super::prior_results(&plan, &now, true),
                claims: Some(Arc::new(StoreClaims::new(
                    &store,
                    &session,
                    &operator,
                    now.head.count,
                    false,
                ))),
                cancels: Some(cancels),
            };
            runner.run().await;
        })
    }

    /// The post-deploy bake, run until its end; its rounds reach the console as the
    /// session's events, like another process's would. Leaving the console stops it.
    fn bake(&self, asked: super::bake::Asked) -> Asked<'a> {
        let cancel = self.cancel.child_token();
        if let Ok(mut baking) = self.baking.lock() {
            if baking.as_ref().is_some_and(|b| !b.is_cancelled()) {
                let _ = self
                    .updates
                    .send(Update::Said("a bake runs in this console already".into()));
                return Box::pin(async {});
            }
            *baking = Some(cancel.clone());
        }
        let (checklist, environment, values, redactor, options) = (
            self.checklist,
            self.environment.clone(),
            self.values,
            self.redactor,
            self.options,
        );
        let (store, session, operator, updates) = self.owned();
        Box::pin(async move {
            let baked = async {
                let now = store
                    .open_session(&session, None)
                    .await
                    .map_err(|e| e.to_string())?;
                let plan = Plan::new(checklist, environment, &Scope::default())
                    .map_err(|e| e.to_string())?
                    .with_values(values);
                let baker = super::bake::Baker {
                    plan: &plan,
                    values,
                    options,
                    redactor,
                    store: &store,
                    session: &now,
                    operator: &operator,
                };
                let started = baker.begin(asked).await?;
                baker.run(started, &cancel, &mut |_| {}).await
            }
            .await;
            if let Err(err) = baked {
                let _ = updates.send(Update::Said(format!("cannot bake: {err}")));
            }
        })
    }

    /// An operator's skip, recorded as theirs.
    fn skip(&self, item: String, reason: String) {
        let (store, session, by, updates) = self.owned();
        tokio::spawn(async move {
            let appended = store
                .append_decided(&session, &by, |now| rules::skip(now, &item, &reason))
                .await;
            let said = match appended {
                Ok(_) => format!("skipped {item}"),
                Err(StoreError::Refused(refused)) => format!("cannot skip: {refused}"),
                Err(err) => format!("cannot skip {item}: {err}"),
            };
            let _ = updates.send(Update::Said(said));
        });
    }

    /// A sign-off from the console's dialog, signed with the operator's key when there is one.
    fn sign(&self, request: rules::Request) {
        let (store, session, _, updates) = self.owned();
        let (checklist, signer) = (self.checklist.clone(), self.signer.clone());
        tokio::spawn(async move {
            let appended = super::signoffs::sign_off(
                &store,
                &session,
                &checklist,
                &request,
                Flags::CONSOLE,
                signer.as_ref(),
            )
            .await;
            let outcome = match appended {
                Ok(_) => {
                    let signed = format!(
                        "signed {} {} as {}",
                        request.item,
                        request.status.name(),
                        request.by
                    );
                    // The same rule as `relcon signoff`: the last sign-off closes a session
                    // that is go, now, not at quit.
                    let closing = match store.open_session(&session, None).await {
                        Ok(known) => {
                            super::closing::close_on_go(
                                &store,
                                known,
                                &checklist,
                                &request.by,
                                false,
                            )
                            .await
                        }
                        Err(err) => Err(err),
                    };
                    match closing {
                        Ok((_, true)) => Ok(format!(
                            "{signed}; session closed: {}",
                            crate::session::rules::CLOSED_ON_GO
                        )),
                        Ok(_) => Ok(signed),
                        Err(err) => Err(format!(
                            "{signed}, but the session could not be closed: {err}"
                        )),
                    }
                }
                Err(err) => Err(err.to_string()),
            };
            let _ = updates.send(Update::Signed(outcome));
        });
    }

    /// An item's result and evidence as the console shows it (`shown`), scrubbed like every
    /// other output of relcon, saved to a file in the working directory.
    fn save(&self, item: String, shown: Option<ItemState>) {
        let plan = Plan::new(self.checklist, self.environment.clone(), self.scope);
        let entry = plan
            .as_ref()
            .ok()
            .and_then(|p| p.entries.iter().find(|e| e.item.id == item));
        let Some(entry) = entry else {
            let said = format!("cannot save {item}: it is not in this run's checklist");
            let _ = self.updates.send(Update::Said(said));
            return;
        };
        let state = shown.unwrap_or_else(|| ItemState::waiting(entry));
        let mut value = serde_json::to_value(ReportItem::of(entry, &state)).unwrap_or_default();
        self.redactor.scrub_json(&mut value);
        let text = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
        // Under the data directory, one folder per session, not wherever the console
        // happened to be started (README: "Saved evidence").
        let dir = crate::store::data_dir().join("evidence").join(self.session);
        let path = dir.join(format!("relcon-{item}.json"));
        let updates = self.updates.clone();
        tokio::spawn(async move {
            let written = match tokio::fs::create_dir_all(&dir).await {
                Ok(()) => tokio::fs::write(&path, text).await,
                Err(err) => Err(err),
            };
            let said = match written {
                Ok(()) => format!("saved {item}'s result and evidence to {}", path.display()),
                Err(err) => format!("cannot save to {}: {err}", path.display()),
            };
            let _ = updates.send(Update::Said(said));
        });
    }

    /// The session's report written to `path`, signed as asked; the answer says where.
    fn export(
        &self,
        format: crate::report::Format,
        path: std::path::PathBuf,
        sign: Option<ExportSigning>,
    ) {
        let (store, session, by, updates) = self.owned();
        let (redactor, operator_key) = (self.redactor.clone(), self.signer.clone());
        tokio::spawn(async move {
            let signer = match sign {
                None => Ok(None),
                Some(ExportSigning::Operator) => operator_key
                    .ok_or_else(|| "this console has no signing key".to_string())
                    .map(Some),
                Some(ExportSigning::Agent) => super::signing::open(&KeyChoice::Agent, None)
                    .await
                    .map(|s| Some(Arc::new(s)))
                    .map_err(|e| e.to_string()),
                Some(ExportSigning::File { key, passphrase }) => {
                    super::signing::open(&KeyChoice::File(key), passphrase.map(|p| p.0))
                        .await
                        .map(|s| Some(Arc::new(s)))
                        .map_err(|e| e.to_string())
                }
            };
            let outcome = match signer {
                Err(why) => Err(why),
                Ok(signer) => super::export::export(
                    &store,
                    &super::export::Export {
                        session: &session,
                        format,
                        out: &path,
                        by: &by,
                        redactor: &redactor,
                        signer: signer.as_ref(),
                    },
                )
                .await
                .map(|done| {
                    let signed = done.signature.map_or(String::new(), |(sig, key)| {
                        format!(", signed with {key} ({})", sig.display())
                    });
                    format!(
                        "exported the {} report ({}) to {}{signed}",
                        format.name(),
                        done.state.name(),
                        done.path.display()
                    )
                })
                .map_err(|e| e.to_string()),
            };
            let _ = updates.send(Update::Exported(outcome));
        });
    }

    /// A run's stored output lines.
    fn read_output(&self, item: String, run: String) {
        let (store, session, _, updates) = self.owned();
        tokio::spawn(async move {
            let update = match store.output_checked(&session, &item, &run).await {
                Ok(lines) => Update::Output { item, run, lines },
                Err(err) => Update::Said(format!("cannot read the output of {item}: {err}")),
            };
            let _ = updates.send(update);
        });
    }

    /// What a background answer needs: the store, the session, who asks, where answers go.
    /// The session as it is now against the last release, as `relcon diff` prints it.
    fn diff(&self) {
        let (store, session, _, updates) = self.owned();
        let redactor = self.redactor.clone();
        tokio::spawn(async move {
            let compared = async {
                let now = store
                    .open_session(&session, None)
                    .await
                    .map_err(|e| e.to_string())?;
                let (before, from) = super::since::last_release(&store, &now).await?;
                let (report, before) = (
                    super::since::report_of(&now)?,
                    super::since::report_of(&before)?,
                );
                let diff = super::since::compare(
                    &now,
                    &report,
                    &before,
                    from,
                    crate::report::diff::Thresholds::default().ratio,
                );
                Ok(diff
                    .text()
                    .into_iter()
                    .map(|line| redactor.scrub(&line).into_owned())
                    .collect())
            };
            let _ = updates.send(Update::Diff(compared.await));
        });
    }

    fn owned(&self) -> (Store, String, String, UnboundedSender<Update>) {
        (
            self.store.clone(),
            self.session.to_string(),
            self.operator.to_string(),
            self.updates.clone(),
        )
    }
}
