//! The subcommands' handlers: each takes parsed arguments, does its work through the library
//! and returns the process exit code.

pub mod bake;
pub mod demo;
pub mod diff;
pub mod export;
pub mod key;
pub mod lint;
pub mod run;
pub mod session;
pub mod verify;
pub mod watch;
