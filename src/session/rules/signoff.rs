//! The rules of a sign-off, whichever way it is made (the command line, the console): the
//! item must be a manual one that applies in the session's environment, the signer a named
//! person who has not signed it yet, a failed or not-applicable sign-off needs a note, and
//! a done one the evidence its item asks for, in the form asked. A signed sign-off's
//! signature must cover what it says and where it goes in the log, by a key the session's
//! allowed signers list for the signer, and one key stands for one person; an environment
//! may require every sign-off to be signed.

use std::collections::BTreeMap;

use super::{same_person, Refused};
use crate::checklist::Checklist;
use crate::session::event::{Body, SignoffStatus};
use crate::session::fold::SessionState;
use crate::session::Timestamp;
use crate::sshsig::{self, AllowedSigners};

/// A sign-off as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The item.
    pub item: String,
    /// Who signs.
    pub by: String,
    /// How.
    pub status: SignoffStatus,
    /// The note.
    pub note: String,
    /// Evidence fields.
    pub evidence: BTreeMap<String, String>,
    /// When it was signed (RFC 3339 UTC, milliseconds): the time its signature covers.
    pub at: Option<String>,
    /// Its SSH signature (namespace `relcon-signoff`) over [`Signed`], when signed.
    pub signature: Option<String>,
}

impl Request {
    /// The evidence the sign-off records: empty fields are fields not given.
    pub fn given_evidence(&self) -> BTreeMap<String, String> {
        self.evidence
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The namespace of a sign-off's signature.
pub const NAMESPACE: &str = "relcon-signoff";

/// What a sign-off's SSH signature (namespace `relcon-signoff`) covers: who signed what, how,
/// when, in which session of which checklist, and the event it follows, so a signature
/// cannot be moved to another item, session or place in the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signed<'a> {
    /// The session.
    pub session: &'a str,
    /// The digest of the checklist the session runs.
    pub checklist_sha256: &'a str,
    /// The item.
    pub item: &'a str,
    /// Who signs.
    pub by: &'a str,
    /// How.
    pub status: SignoffStatus,
    /// The note.
    pub note: &'a str,
    /// The evidence fields.
    pub evidence: &'a BTreeMap<String, String>,
    /// When, as the event is stamped (RFC 3339 UTC, milliseconds).
    pub at: &'a str,
    /// The hash of the event the sign-off follows.
    pub prev_hash: &'a str,
}

impl Signed<'_> {
    /// The bytes signed: the RFC 8785 JSON of the fields.
    pub fn message(&self) -> Vec<u8> {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| crate::session::chain::canonical(&v).ok())
            .unwrap_or_default()
            .into_bytes()
    }
}

/// How a refusal names what is missing: as the command line's flags or the console's fields.
#[derive(Debug, Clone, Copy)]
pub struct Flags {
    note: &'static str,
    evidence: &'static str,
    name: &'static str,
    key: &'static str,
}

impl Flags {
    /// `relcon signoff`.
    pub const CLI: Flags = Flags {
        note: "a --note",
        evidence: "--evidence ",
        name: "give it with --as NAME",
        key: "sign with --sign-key FILE, RELCON_SIGNING_KEY or the ssh-agent",
    };
    /// The console's sign-off dialog.
    pub const CONSOLE: Flags = Flags {
        note: "a note",
        evidence: "the field ",
        name: "start relcon with --as NAME",
        key: "start relcon run with --sign-key FILE, RELCON_SIGNING_KEY or the ssh-agent",
    };
}

/// One evidence field an item asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its key.
    pub key: String,
    /// Its label.
    pub label: String,
    /// Whether a done sign-off needs it.
    pub required: bool,
    /// Its definition (format, pattern).
    pub spec: toml::Table,
}

/// The evidence fields of an item's configuration.
pub fn fields(config: &toml::Table) -> Vec<Field> {
    config
        .get("evidence")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_table)
        .map(|f| {
            let key = f
                .get("key")
                .and_then(toml::Value::as_str)
                .unwrap_or_default()
                .to_string();
            Field {
                label: f
                    .get("label")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(&key)
                    .to_string(),
                key,
                required: f
                    .get("required")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(true),
                spec: f.clone(),
            }
        })
        .collect()
}

/// The checklist a session started with.
pub fn checklist_of(session: &SessionState) -> Result<&Checklist, Refused> {
    session.parsed_checklist().ok_or_else(|| {
        let problems =
            Checklist::from_bytes(&session.checklist.name, session.checklist.source.as_bytes())
                .err()
                .map_or(0, |invalid| invalid.problems.len());
        Refused(format!(
            "the checklist copy of session {} does not validate ({problems} errors)",
            session.id
        ))
    })
}

/// The sign-off event `request` makes in `session`, or why it is refused.
pub fn check(
    session: &SessionState,
    checklist: &Checklist,
    request: &Request,
    flags: Flags,
) -> Result<Body, Refused> {
    check_text(session, checklist, request, flags, true).map_err(Refused)
}

/// Whether `request` would be taken once signed: every rule but the signature's, asked
/// before the signer is bothered.
pub fn check_before_signing(
    session: &SessionState,
    checklist: &Checklist,
    request: &Request,
    flags: Flags,
) -> Result<(), Refused> {
    check_text(session, checklist, request, flags, false)
        .map(|_| ())
        .map_err(Refused)
}

fn check_text(
    session: &SessionState,
    checklist: &Checklist,
    request: &Request,
    flags: Flags,
    with_signature: bool,
) -> Result<Body, String> {
    if let Some(reason) = &session.closed {
        return Err(format!(
            "session {} is closed ({reason}): it accepts no new sign-offs",
            session.id
        ));
    }
    let Some(item) = checklist.item(&request.item) else {
        let hint = crate::checklist::spec::did_you_mean(
            &request.item,
            checklist.items.iter().map(|i| i.id.as_str()),
        )
        .map_or(String::new(), |c| format!(" (did you mean `{c}`?)"));
        return Err(format!(
            "no item `{}` in checklist {}{hint}",
            request.item, checklist.id
        ));
    };
    if item.kind.automated {
        return Err(format!("`{}` is a {} check, not a manual item: it is run (relcon run {} --session {} --only {}), not signed", item.id, item.kind.name, session.checklist.name, session.id, item.id));
    }
    if let Some(env) = session
        .environment
        .as_deref()
        .filter(|env| !item.runs_in(env))
    {
        return Err(format!(
            "`{}` does not apply in {env} (only in {}): there is nothing to sign",
            item.id,
            item.only_in.join(", ")
        ));
    }
    // A sign-off stands where a run would: an item whose needs have not passed is blocked,
    // and signing it done (or not applicable) would open the gate its needs keep. That
    // something failed can be said at any time.
    if request.status != SignoffStatus::Failed {
        for need in item.needs(session.environment.as_deref()) {
            let status = session.item(need).map(|i| i.status);
            if !status.is_some_and(crate::status::Status::satisfies_needs) {
                return Err(format!(
                    "`{}` needs {need}, which is {}: it can be signed once {need} passes",
                    item.id,
                    status.map_or("not run", |s| s.name())
                ));
            }
        }
    }
    let by = request.by.trim();
    if by.is_empty() {
        return Err(format!("the signer's name is empty: {}", flags.name));
    }
    if session
        .item(&item.id)
        .is_some_and(|i| i.signoffs.iter().any(|s| same_person(&s.by, by)))
    {
        return Err(format!(
            "{by} has already signed `{}` in session {}; a second signer must be someone else",
            item.id, session.id
        ));
    }
    let note = request.note.clone();
    if request.status == SignoffStatus::Na && note.trim().is_empty() {
        return Err(format!(
            "signing `{}` not applicable needs {} saying why",
            item.id, flags.note
        ));
    }
    if request.status == SignoffStatus::Failed && note.trim().is_empty() {
        return Err(format!(
            "signing `{}` failed needs {} saying what failed",
            item.id, flags.note
        ));
    }
    let config = item.resolve(session.environment.as_deref()).config;
    let fields = fields(&config);
    for key in request.evidence.keys() {
        if !fields.iter().any(|f| f.key == *key) {
            let known: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
            return Err(format!(
                "`{}` asks for no evidence `{key}` (it asks for: {})",
                item.id,
                if known.is_empty() {
                    "nothing".to_string()
                } else {
                    known.join(", ")
                }
            ));
        }
    }
    let evidence = request.given_evidence();
    if request.status == SignoffStatus::Done {
        for field in &fields {
            match evidence.get(&field.key) {
                None if field.required => {
                    return Err(format!(
                        "signing `{}` done needs {}{}=… ({})",
                        item.id, flags.evidence, field.key, field.label
                    ));
                }
                Some(value) => {
                    if let Some(problem) = evidence_problem(&field.key, value, &field.spec) {
                        return Err(problem);
                    }
                }
                None => {}
            }
        }
    }
    let signature = if with_signature {
        signature(session, &item.id, by, request, &note, &evidence, flags)?
    } else {
        None
    };
    Ok(Body::Signoff {
        item: item.id.clone(),
        status: request.status,
        note,
        evidence,
        signature,
    })
}

/// The sign-off's signature, when it holds: over what it says and the head it follows, by a
/// key the session's allowed signers list for `by`, and not a key that already signed the
/// item for someone else. Unsigned is refused where the environment requires signatures.
fn signature(
    session: &SessionState,
    item: &str,
    by: &str,
    request: &Request,
    note: &str,
    evidence: &BTreeMap<String, String>,
    flags: Flags,
) -> Result<Option<String>, String> {
    let environment = session.environment.as_deref().unwrap_or("this environment");
    let Some(armored) = &request.signature else {
        if session.require_signed_signoffs {
            return Err(format!(
                "sign-offs in {environment} must be signed: {}",
                flags.key
            ));
        }
        return Ok(None);
    };
    let at = request
        .at
        .as_deref()
        .ok_or("a signed sign-off carries the time it was signed at")?;
    let message = Signed {
        session: &session.id,
        checklist_sha256: &session.checklist.sha256,
        item,
        by,
        status: request.status,
        note,
        evidence,
        at,
        prev_hash: &session.head.hash,
    }
    .message();
    let verified = sshsig::verify(armored, NAMESPACE, &message)
        .map_err(|err| format!("the sign-off's signature does not hold: {err}"))?;
    if let Some(text) = &session.allowed_signers {
        let allowed = AllowedSigners::parse(text, "the session's allowed_signers")
            .map_err(|err| err.to_string())?;
        let when = Timestamp::parse(at).map_or_else(std::time::SystemTime::now, Timestamp::system);
        allowed
            .check(by, &verified.public_key, NAMESPACE, when)
            .map_err(|refusal| {
                format!("{by} cannot sign with {}: {refusal}", verified.fingerprint)
            })?;
    } else if session.require_signed_signoffs {
        return Err(format!(
            "sign-offs in {environment} must be signed by a key its allowed_signers lists, and the session has none"
        ));
    }
    let signed_before = session
        .item(item)
        .into_iter()
        .flat_map(|i| &i.signoffs)
        .find(|s| {
            s.signature
                .as_deref()
                .and_then(|other| sshsig::fingerprint_of(other).ok())
                .is_some_and(|f| f == verified.fingerprint)
        });
    if let Some(other) = signed_before {
        return Err(format!(
            "{} already signed `{item}` with {} as {}: one key stands for one person",
            other.by, verified.fingerprint, other.by
        ));
    }
    Ok(Some(armored.clone()))
}

fn digest(value: &str) -> bool {
    value
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A Neon branch id as the console shows it: `br-` and lowercase words and digits joined by
/// `-` (`br-wispy-meadow-a5x3k2lq`).
fn neon_branch(value: &str) -> bool {
    value.strip_prefix("br-").is_some_and(|rest| {
        !rest.is_empty()
            && rest.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    })
}

/// A Vercel deployment id: `dpl_` and an alphanumeric id.
fn vercel_deployment(value: &str) -> bool {
    value
        .strip_prefix("dpl_")
        .is_some_and(|id| id.len() >= 8 && id.bytes().all(|c| c.is_ascii_alphanumeric()))
}

/// Checks an evidence value against its field's format and pattern.
fn evidence_problem(key: &str, value: &str, field: &toml::Table) -> Option<String> {
    match field
        .get("format")
        .and_then(toml::Value::as_str)
        .unwrap_or("text")
    {
        "url"
            if url::Url::parse(value)
                .map(|u| !u.has_host())
                .unwrap_or(true) =>
        {
            return Some(format!("evidence `{key}` must be a URL"))
        }
        "digest" if !digest(value) => {
            return Some(format!(
                "evidence `{key}` must be a digest such as sha256:<64 hex>"
            ))
        }
        "restore-point" if !neon_branch(value) && Timestamp::parse(value).is_none() => {
            return Some(format!("evidence `{key}` must be a Neon branch id (br-…) or a restore time in RFC 3339 (2026-12-03T05:30:00Z)"))
        }
        "release" if !digest(value) && !vercel_deployment(value) && uuid::Uuid::try_parse(value).is_err() => {
            return Some(format!("evidence `{key}` must be an image digest (sha256:<64 hex>), a Vercel deployment id (dpl_…) or a Workers version id (a UUID)"))
        }
        _ => {}
    }
    let pattern = field.get("pattern").and_then(toml::Value::as_str)?;
    match regex::Regex::new(pattern) {
        Ok(re) if !re.is_match(value) => Some(format!("evidence `{key}` must match {pattern}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::testing::{closed, fold};

    fn session(bodies: &[(&str, Body)]) -> SessionState {
        fold("production", bodies)
    }

    fn request(item: &str, by: &str, status: SignoffStatus, note: &str, id: &str) -> Request {
        Request {
            item: item.into(),
            by: by.into(),
            status,
            note: note.into(),
            evidence: if id.is_empty() {
                BTreeMap::new()
            } else {
                [("snapshot_id".to_string(), id.to_string())].into()
            },
            at: None,
            signature: None,
        }
    }

    fn refused(session: &SessionState, request: &Request) -> String {
        let checklist = checklist_of(session).expect("the copy validates");
        check(session, checklist, request, Flags::CLI)
            .expect_err("refused")
            .0
    }

    #[test]
    fn a_done_sign_off_with_its_evidence_is_taken_once_per_person() {
        let empty = session(&[]);
        let checklist = checklist_of(&empty).expect("validates");
        let done = request("backup", "alice", SignoffStatus::Done, "", "br-7");
        let body = check(&empty, checklist, &done, Flags::CLI).expect("taken");
        assert!(matches!(body, Body::Signoff { ref item, .. } if item == "backup"));
        let signed = session(&[("alice", body)]);
        assert_eq!(
            refused(
                &signed,
                &request("backup", " ALICE", SignoffStatus::Done, "", "br-8")
            ),
            "ALICE has already signed `backup` in session s; a second signer must be someone else"
        );
        // A zero-width space or a Cyrillic letter does not make a second person.
        for disguised in ["ali\u{200B}ce", "\u{0430}lice"] {
            assert!(
                refused(
                    &signed,
                    &request("backup", disguised, SignoffStatus::Done, "", "br-8")
                )
                .contains("has already signed `backup`"),
                "{disguised:?}"
            );
        }
        assert!(check(
            &signed,
            checklist_of(&signed).expect("validates"),
            &request("backup", "bob", SignoffStatus::Done, "", "br-8"),
            Flags::CLI
        )
        .is_ok());
    }

    #[test]
    fn what_a_sign_off_lacks_is_said_in_the_askers_terms() {
        let empty = session(&[]);
        assert_eq!(
            refused(
                &empty,
                &request("backup", "alice", SignoffStatus::Done, "", "")
            ),
            "signing `backup` done needs --evidence snapshot_id=… (Snapshot)"
        );
        assert_eq!(
            refused(
                &empty,
                &request("backup", "alice", SignoffStatus::Done, "", "x-1")
            ),
            "evidence `snapshot_id` must match ^br-"
        );
        assert_eq!(
            refused(
                &empty,
                &request("backup", "alice", SignoffStatus::Na, " ", "")
            ),
            "signing `backup` not applicable needs a --note saying why"
        );
        assert_eq!(
            refused(
                &empty,
                &request("backup", " ", SignoffStatus::Done, "", "br-1")
            ),
            "the signer's name is empty: give it with --as NAME"
        );
        assert_eq!(
            refused(
                &empty,
                &request("bakup", "alice", SignoffStatus::Done, "", "")
            ),
            "no item `bakup` in checklist t (did you mean `backup`?)"
        );
        assert!(refused(
            &empty,
            &request("live", "alice", SignoffStatus::Done, "", "")
        )
        .starts_with("`live` is a command check, not a manual item"));
        assert_eq!(
            refused(&empty, &request("staging-only", "a", SignoffStatus::Done, "", "")),
            "`staging-only` is a command check, not a manual item: it is run (relcon run t.toml --session s --only staging-only), not signed"
        );
        let shut = session(&[("alice", closed("done"))]);
        assert_eq!(
            refused(
                &shut,
                &request("backup", "bob", SignoffStatus::Done, "", "br-1")
            ),
            "session s is closed (done): it accepts no new sign-offs"
        );
    }
}
