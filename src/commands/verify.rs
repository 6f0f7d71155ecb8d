//! `relcon verify`: an exported report checked offline with tools anyone trusts: its SSH
//! signature against an allowed_signers file, every sign-off's signature, the event chain
//! recomputed to the head it names, the verdict, counts and items recomputed from its
//! events by the same fold every view uses, and with `--checklist`, the checklist's digest.
//! Exit 0 when everything holds, 1 with the first reason when not, 2 on bad input.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::exit;
use crate::out::{bad_input, print_line, say};
use crate::report::verify::{recompute, report_signature, signoff_signatures, Check};
use crate::session::Timestamp;
use crate::sshsig::AllowedSigners;

/// What `relcon verify` was asked.
#[derive(Debug, Clone)]
pub struct VerifyArgs {
    /// The report (a JSON export).
    pub report: PathBuf,
    /// The allowed_signers file.
    pub allowed_signers: PathBuf,
    /// The signature file (default: the report's path with `.sig`).
    pub sig: Option<PathBuf>,
    /// The checklist file whose digest must be the session's.
    pub checklist: Option<PathBuf>,
    /// When the keys' validity is judged (default: now; sign-offs at their own time).
    pub at: Option<String>,
    /// Print the checks as JSON on stdout.
    pub json: bool,
}

/// Runs the command; returns the exit code.
pub fn run(args: &VerifyArgs) -> u8 {
    let bytes = match crate::files::read_capped(&args.report, crate::files::CAP) {
        Ok(bytes) => bytes,
        Err(err) => return bad_input(format!("cannot read {}: {err}", args.report.display())),
    };
    let allowed = match AllowedSigners::from_file(&args.allowed_signers) {
        Ok(allowed) => allowed,
        Err(err) => return bad_input(err),
    };
    let sig_path = args
        .sig
        .clone()
        .unwrap_or_else(|| crate::service::export::signature_path(&args.report));
    let signature = match crate::files::read_text_capped(&sig_path, crate::files::CAP) {
        Ok(text) => Some(text),
        Err(_) if args.sig.is_none() => None,
        Err(err) => return bad_input(format!("cannot read {}: {err}", sig_path.display())),
    };
    let checklist = match &args.checklist {
        Some(path) => match crate::files::read_capped(path, crate::files::CAP) {
            Ok(bytes) => Some(bytes),
            Err(err) => return bad_input(format!("cannot read {}: {err}", path.display())),
        },
        None => None,
    };
    let at = match &args.at {
        Some(text) => match Timestamp::parse(text) {
            Some(at) => Some(at),
            None => {
                return bad_input(format!(
                    "--at {text} is not an RFC 3339 UTC time such as 2026-11-26T07:00:00Z"
                ))
            }
        },
        None => None,
    };
    let (judged, when) = match at {
        Some(at) => (at.system(), format!("at {}", at.seconds())),
        None => {
            let now = Timestamp::from(SystemTime::now());
            (now.system(), format!("now ({})", now.seconds()))
        }
    };
    let (recomputed, own) = match recompute(&bytes, checklist.as_deref()) {
        Ok(done) => done,
        Err(err) => return bad_input(err),
    };
    let mut checks = vec![report_signature(
        &bytes,
        signature.as_deref(),
        &recomputed.document,
        &allowed,
        judged,
        &when,
    )];
    checks.extend(own);
    if let Some(session) = &recomputed.session {
        checks.extend(signoff_signatures(
            session,
            &recomputed.events,
            &allowed,
            at.map(Timestamp::system),
        ));
    }
    report(&checks, args.json)
}

/// Prints the checks; the exit code.
fn report(checks: &[Check], json: bool) -> u8 {
    let first_failure = checks.iter().find(|c| !c.ok);
    if json {
        let document = serde_json::json!({
            "valid": first_failure.is_none(),
            "checks": checks,
        });
        print_line(serde_json::to_string_pretty(&document).unwrap_or_default());
    } else {
        for check in checks {
            print_line(format!(
                "{} {}",
                if check.ok { "✓" } else { "✗" },
                check.what
            ));
        }
    }
    match first_failure {
        None => {
            say("valid");
            exit::GO
        }
        Some(check) => {
            say(&format!("INVALID: {}", check.what));
            exit::NO_GO
        }
    }
}
