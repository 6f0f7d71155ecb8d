//! The terminal while the console owns it: raw mode, the alternate screen and mouse
//! reporting, and their undoing however the console ends (return, error, panic, and the
//! signals the event loop turns into a return). A guard restores on drop; a panic hook
//! restores before the panic is reported, so the report is readable.

use std::io::{stdout, Stdout};
use std::sync::{Once, OnceLock};

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio_util::sync::CancellationToken;

/// Restores the terminal when dropped.
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal in the console's modes; the guard undoes them.
pub fn enter() -> std::io::Result<(Terminal<CrosstermBackend<Stdout>>, Guard)> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let reported = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A panic anywhere ends the console: the terminal is given back first, so the
            // report is readable, and the console does not draw on after it.
            panicked().cancel();
            restore();
            reported(info);
        }));
    });
    enable_raw_mode()?;
    let guard = Guard(());
    execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    Ok((terminal, guard))
}

/// Cancelled when anything in the process panics while a console may be up.
pub fn panicked() -> CancellationToken {
    static PANICKED: OnceLock<CancellationToken> = OnceLock::new();
    PANICKED.get_or_init(CancellationToken::new).clone()
}

/// Leaves the console's modes (harmless when not in them).
pub fn restore() {
    let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
}
