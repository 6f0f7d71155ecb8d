//! Lines for the person running relcon: on stderr without ever panicking (a terminal that
//! has gone is no reason to), on stdout stopping at a closed pipe, and bad input said in one
//! line with its exit code.

use std::io::Write;

use crate::exit;

/// Writes a line on stdout; false once the reader has gone (a closed pipe, as `| head` leaves
/// behind), so that the caller stops instead of panicking like `println!`.
pub fn print_line(line: impl std::fmt::Display) -> bool {
    writeln!(std::io::stdout().lock(), "{line}").is_ok()
}

/// A line on stderr. Unlike `eprintln!`, a terminal that has gone (a dropped SSH
/// connection) is no reason to panic before the run has cleaned up.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Bad input, said in one line on stderr; exit 2.
pub fn bad_input(message: impl std::fmt::Display) -> u8 {
    say(&format!("error: {message}"));
    exit::BAD_INPUT
}
