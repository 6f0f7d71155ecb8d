//! `relcon bake`: the post-deploy bake of a session that reached go, headless: one line per
//! round on stderr and how it ended; the bake's verdict is the exit code.

use crate::headless::BakeLines;
use crate::out::{bad_input, say};
use crate::service::bake::{bake_session, Asked};
use crate::service::{self, RunArgs};

/// What `relcon bake` was given.
pub struct BakeArgs {
    /// The checklist, environment, env files, store and operator, as `relcon run` takes them.
    pub run: RunArgs,
    /// The session (default: the store's latest of the checklist and environment).
    pub session: Option<String>,
    /// `--for` and `--every`.
    pub asked: Asked,
}

/// Runs `relcon bake`; the exit code (0 go, 1 no-go, 3 stopped, 2 bad input).
pub async fn run(mut args: BakeArgs) -> u8 {
    let mut setup = match service::prepare(&args.run).await {
        Ok(setup) => setup,
        Err(err) => return bad_input(err),
    };
    // Without --env, the session's own environment.
    if let (Some(id), None) = (&args.session, &args.run.environment) {
        if let Ok(session) = setup.store.open_session(id, None).await {
            if session.environment != setup.environment {
                args.run.environment = session.environment.clone();
                setup = match service::prepare(&args.run).await {
                    Ok(setup) => setup,
                    Err(err) => return bad_input(err),
                };
            }
        }
    }
    let mut lines = BakeLines::default();
    bake_session(setup, args.session, args.asked, &mut |bake| {
        for line in lines.lines(bake) {
            say(&line);
        }
    })
    .await
}
