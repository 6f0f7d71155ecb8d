//! The console's colours. Only the 16 ANSI colours, which every terminal maps to something
//! readable on its own background, dark or light; never black or white text, which vanishes
//! on one of them. A status is always a symbol and a word first and a colour second. With
//! `NO_COLOR` set (any value) there is no colour at all, only bold and reverse.

use ratatui::style::{Color, Modifier, Style};

use crate::status::Status;

/// Styles of the console.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    colour: bool,
}

impl Theme {
    /// The theme the environment asks for (`NO_COLOR`).
    pub fn from_env() -> Self {
        Theme {
            colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    /// A theme with or without colour.
    pub fn new(colour: bool) -> Self {
        Theme { colour }
    }

    fn fg(&self, colour: Color) -> Style {
        if self.colour {
            Style::new().fg(colour)
        } else {
            Style::new()
        }
    }

    /// A status.
    pub fn status(&self, status: Status) -> Style {
        match status {
            Status::Pass => self.fg(Color::Green),
            Status::Warn => self.fg(Color::Yellow),
            Status::Fail | Status::Error => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Status::Running => self.fg(Color::Cyan),
            Status::Blocked => self.fg(Color::Magenta),
            Status::Skip | Status::Pending => Style::new(),
        }
    }

    /// Headings and the title.
    pub fn heading(&self) -> Style {
        self.fg(Color::Blue).add_modifier(Modifier::BOLD)
    }

    /// A production environment: it must stand out.
    pub fn production(&self) -> Style {
        self.fg(Color::Red)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    /// The selected line.
    pub fn selected(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }

    /// The border of the pane with the focus.
    pub fn focused_border(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Keys in the footer and the help.
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// A message that needs attention.
    pub fn alert(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
}
