//! The console: app state (`app`), the keymap, drawing (`view`, `theme`), the terminal's
//! modes (`terminal`) and the event loop that ties them to the engine and the store's
//! change feed (`console`). The console never runs checks itself: it shows what the engine
//! and the store report.

pub mod app;
pub mod console;
pub mod dialog;
pub mod export_dialog;
pub mod keymap;
pub mod terminal;
pub mod theme;
pub mod view;

pub use console::TerminalConsole;
