//! `relcon run`: a checklist run in its session, in the console on a terminal or headless
//! (progress on stderr, the result document on stdout with `--json`, JUnit XML with
//! `--junit`); the verdict is the exit code.

pub use crate::service::{RunArgs, SessionChoice, DEFAULT_CHECKLIST};

use crate::out::bad_input;
use crate::service::{self, Setup};

/// Runs the command; returns the exit code.
pub async fn run(args: RunArgs) -> u8 {
    let mut setup = match service::prepare(&args).await {
        Ok(setup) => setup,
        Err(message) => return bad_input(message),
    };
    // The operator's key, for the console's sign-offs (a headless run signs nothing).
    if setup.console {
        setup.signer = match super::key::for_signoffs(args.sign_key.clone()).await {
            Ok(signer) => signer,
            Err(err) => return bad_input(err),
        };
    }
    attend(setup).await.0
}

/// Runs a prepared run: in the console when it wants one, else headless. The exit code, and
/// the session the run worked in.
pub async fn attend(setup: Setup) -> (u8, Option<String>) {
    if setup.console {
        let mut console = crate::tui::TerminalConsole;
        service::attend_session(setup, Some(&mut console)).await
    } else {
        service::attend_session(setup, None).await
    }
}
