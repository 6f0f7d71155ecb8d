//! `relcon lint`: validate a checklist and print a one-line summary, or every problem.

use std::io::Write;
use std::path::Path;

use crate::checklist::{Checklist, LoadError};
use crate::exit;

/// Lints the checklist at `path`: the summary on `out` and exit 0, or every problem on
/// `err` and exit 2.
pub fn run(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let result = match Checklist::load(path) {
        Ok(checklist) => writeln!(out, "{}", checklist.summary()).map(|_| exit::GO),
        Err(LoadError::Invalid(invalid)) => {
            write!(err, "{}", invalid.render()).map(|_| exit::BAD_INPUT)
        }
        Err(problem) => writeln!(err, "error: {problem}").map(|_| exit::BAD_INPUT),
    };
    result.unwrap_or_else(|problem| {
        let _ = writeln!(err, "error: cannot write the result: {problem}");
        exit::BAD_INPUT
    })
}
