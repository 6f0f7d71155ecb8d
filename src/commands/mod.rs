//! The subcommands' handlers: each takes parsed arguments, does its work through the library
//! and returns the process exit code.

use crate::exit;

pub mod demo;
pub mod lint;
pub mod run;
pub mod session;
pub mod watch;

/// Writes a line on stdout; false once the reader has gone (a closed pipe, as `| head` leaves
/// behind), so that the caller stops instead of panicking like `println!`.
pub(crate) fn print_line(line: impl std::fmt::Display) -> bool {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}").is_ok()
}

/// A line on stderr. Unlike `eprintln!`, a terminal that has gone (a dropped SSH
/// connection) is no reason to panic before the run has cleaned up.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Bad input, said in one line on stderr; exit 2.
pub(crate) fn bad_input(message: impl std::fmt::Display) -> u8 {
    say(&format!("error: {message}"));
    exit::BAD_INPUT
}
