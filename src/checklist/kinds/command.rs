//! `command`: a program run with an allowlisted environment; passes on the expected exit code.

use super::KindSpec;
use crate::checklist::spec::{Key, Secrets, Ty};

/// The `command` kind.
pub const SPEC: KindSpec = KindSpec {
    name: "command",
    about: "a program exits as expected; its output streams live",
    keys: &[
        Key::required(
            "run",
            Ty::List(&Ty::Template),
            "the program and its arguments (no shell)",
        ),
        Key::optional(
            "cwd",
            Ty::Path,
            "the working directory, relative to --root (default: --root)",
        ),
        Key::optional(
            "pass_env",
            Ty::Inputs(Secrets::Refused),
            "inputs passed to the program besides PATH, HOME, LANG, TERM and TZ",
        ),
        Key::optional(
            "pass_secrets",
            Ty::Inputs(Secrets::Allowed),
            "secret inputs deliberately passed to the program",
        ),
        Key::optional(
            "expect_exit",
            Ty::Int(0, 255),
            "the exit code that passes (default 0)",
        ),
        Key::optional(
            "writes",
            Ty::Bool,
            "whether the program changes the target (never retried; consent in production)",
        ),
    ],
    automated: true,
    writes: |config| config.get("writes").and_then(toml::Value::as_bool) == Some(true),
    check,
};

/// Variables that give whoever holds them the operator's signing key: a checklist's
/// program never gets them.
pub const SIGNING_VARIABLES: &[&str] = &["SSH_AUTH_SOCK", "RELCON_SIGNING_KEY"];

/// A command names a program, and gets no signing key.
fn check(config: &toml::Table) -> Vec<super::Problem> {
    let mut problems = Vec::new();
    if config
        .get("run")
        .and_then(toml::Value::as_array)
        .is_some_and(|run| run.is_empty())
    {
        problems.push(super::Problem::new(
            "run",
            "`run` is empty",
            "name the program and its arguments, e.g. `run = [\"npm\", \"test\"]`",
        ));
    }
    for key in ["pass_env", "pass_secrets"] {
        let names = config.get(key).and_then(toml::Value::as_array);
        for (index, name) in names.into_iter().flatten().enumerate() {
            if let Some(name) = name.as_str().filter(|n| SIGNING_VARIABLES.contains(n)) {
                problems.push(
                    super::Problem::new(
                        key,
                        format!("`{key}` passes {name}, which signs as the operator"),
                        "a checklist's program never gets the operator's signing key or agent: remove it",
                    )
                    .at(index),
                );
            }
        }
    }
    problems
}
