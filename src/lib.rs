//! relcon: a terminal release console. It loads a deploy checklist from TOML, runs its
//! automated verifications, records sign-offs for the manual ones, and exports a signed
//! report.
//!
//! Data flows one way: [`checklist`] → [`engine`] → events → [`store`] → the [`session`]
//! fold → views ([`tui`], the headless printer, [`report`]).

pub mod authjs;
pub mod checklist;
pub mod checks;
pub mod commands;
pub mod dburl;
pub mod demo;
pub mod engine;
pub mod exit;
pub mod files;
pub mod headless;
pub mod jsonpath;
pub mod out;
pub mod redact;
pub mod report;
pub mod service;
pub mod session;
pub mod sshsig;
pub mod status;
pub mod store;
pub mod text;
pub mod tui;
