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

/// A command names a program.
fn check(config: &toml::Table) -> Vec<super::Problem> {
    if config
        .get("run")
        .and_then(toml::Value::as_array)
        .is_some_and(|run| run.is_empty())
    {
        return vec![super::Problem::new(
            "run",
            "`run` is empty",
            "name the program and its arguments, e.g. `run = [\"npm\", \"test\"]`",
        )];
    }
    Vec::new()
}
