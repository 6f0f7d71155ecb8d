//! The subcommands' handlers: each takes parsed arguments, does its work through the library
//! and returns the process exit code.

use crate::exit;

pub mod demo;
pub mod lint;
pub mod run;
pub mod session;
pub mod watch;

/// Bad input, said in one line on stderr; exit 2.
pub(crate) fn bad_input(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::BAD_INPUT
}
