//! Process exit codes, as PRODUCT.md fixes them: 2 wins over 1 over 3 over 0.

/// The verdict is go.
pub const GO: u8 = 0;
/// The verdict is no-go.
pub const NO_GO: u8 = 1;
/// Bad input or usage: an invalid checklist, an unreadable file, an unknown environment.
pub const BAD_INPUT: u8 = 2;
/// The verdict is incomplete.
pub const INCOMPLETE: u8 = 3;
