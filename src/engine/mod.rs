//! The scheduler: runs items along their `needs`, with bounded concurrency, timeouts,
//! retries and cancellation, and turns what checks report into typed events.
pub mod claims;
pub mod event;
pub mod run;
