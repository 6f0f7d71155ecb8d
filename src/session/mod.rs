//! The session model, pure: the stored event types, the hash chain over them, the fold of a
//! session's events into one state per item, and the rules every way in asks. No database,
//! terminal, network or file here: the store persists and feeds events, the views render
//! the fold, and `relcon verify` can recompute a session from a report's events alone.

pub mod chain;
pub mod event;
pub mod fold;
pub mod rules;
pub mod time;

pub use chain::{Broken, Head};
pub use event::{
    Body, ChecklistCopy, EventKind, OutputDigest, SignoffStatus, StoredEvent, OUTPUT_CAP,
};
pub use fold::{Basis, ItemState, Outcome, SessionState, Signoff};
pub use time::Timestamp;
