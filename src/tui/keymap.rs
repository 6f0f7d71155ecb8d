//! The console's keys: every key maps to a named action through this one table, and the
//! footer and the `?` help overlay are generated from it, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the operator can ask of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Select the previous line.
    Up,
    /// Select the next line.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// The first line.
    First,
    /// The last line.
    Last,
    /// Move between the list and the detail pane.
    SwitchPane,
    /// Fold the selected section.
    Collapse,
    /// Unfold the selected section.
    Expand,
    /// Fold or unfold the selected section.
    Toggle,
    /// Show or hide the help.
    Help,
    /// Leave the console.
    Quit,
}

/// One binding: the keys, how the footer and help name them, and the action.
pub struct Binding {
    /// The keys.
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// The keys as shown.
    pub label: &'static str,
    /// What it does, as shown.
    pub about: &'static str,
    /// Whether the footer shows it (the help shows every binding).
    pub in_footer: bool,
    /// The action.
    pub action: Action,
}

const NONE: KeyModifiers = KeyModifiers::NONE;

/// Every binding, in the order the help lists them.
pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        label: "↑/k",
        about: "previous line (scrolls the detail pane when it has the focus)",
        in_footer: false,
        action: Action::Up,
    },
    Binding {
        keys: &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        label: "↓/j",
        about: "next line (scrolls the detail pane when it has the focus)",
        in_footer: false,
        action: Action::Down,
    },
    Binding {
        keys: &[
            (KeyCode::PageUp, NONE),
            (KeyCode::Char('b'), KeyModifiers::CONTROL),
        ],
        label: "PgUp",
        about: "a page up",
        in_footer: false,
        action: Action::PageUp,
    },
    Binding {
        keys: &[
            (KeyCode::PageDown, NONE),
            (KeyCode::Char('f'), KeyModifiers::CONTROL),
        ],
        label: "PgDn",
        about: "a page down",
        in_footer: false,
        action: Action::PageDown,
    },
    Binding {
        keys: &[(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)],
        label: "Home/g",
        about: "first line",
        in_footer: false,
        action: Action::First,
    },
    Binding {
        keys: &[
            (KeyCode::End, NONE),
            (KeyCode::Char('G'), NONE),
            (KeyCode::Char('G'), KeyModifiers::SHIFT),
        ],
        label: "End/G",
        about: "last line (in the detail pane: follow the output)",
        in_footer: false,
        action: Action::Last,
    },
    Binding {
        keys: &[
            (KeyCode::Tab, NONE),
            (KeyCode::BackTab, KeyModifiers::SHIFT),
        ],
        label: "Tab",
        about: "move between the list and the detail pane",
        in_footer: true,
        action: Action::SwitchPane,
    },
    Binding {
        keys: &[(KeyCode::Left, NONE), (KeyCode::Char('h'), NONE)],
        label: "←/h",
        about: "fold the section",
        in_footer: false,
        action: Action::Collapse,
    },
    Binding {
        keys: &[(KeyCode::Right, NONE), (KeyCode::Char('l'), NONE)],
        label: "→/l",
        about: "unfold the section",
        in_footer: false,
        action: Action::Expand,
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE), (KeyCode::Char(' '), NONE)],
        label: "Enter",
        about: "fold or unfold the section",
        in_footer: true,
        action: Action::Toggle,
    },
    Binding {
        keys: &[
            (KeyCode::Char('?'), NONE),
            (KeyCode::Char('?'), KeyModifiers::SHIFT),
        ],
        label: "?",
        about: "this help",
        in_footer: true,
        action: Action::Help,
    },
    Binding {
        keys: &[
            (KeyCode::Char('q'), NONE),
            (KeyCode::Char('c'), KeyModifiers::CONTROL),
        ],
        label: "q",
        about: "quit (running checks are cancelled; the session can be resumed)",
        in_footer: true,
        action: Action::Quit,
    },
];

/// The action bound to `key`, if any.
pub fn action(key: &KeyEvent) -> Option<Action> {
    KEYMAP
        .iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|(code, modifiers)| *code == key.code && *modifiers == key.modifiers)
        })
        .map(|b| b.action)
}

/// The footer: the movement keys in one hint, then each footer binding.
pub fn footer() -> Vec<(&'static str, &'static str)> {
    let mut hints = vec![("↑↓/jk", "move")];
    hints.extend(KEYMAP.iter().filter(|b| b.in_footer).map(|b| {
        (
            b.label,
            match b.action {
                Action::SwitchPane => "pane",
                Action::Toggle => "fold",
                Action::Help => "help",
                Action::Quit => "quit",
                _ => b.about,
            },
        )
    }));
    hints
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_one_action() {
        let mut seen = Vec::new();
        for binding in KEYMAP {
            for key in binding.keys {
                assert!(!seen.contains(key), "{key:?} is bound twice");
                seen.push(*key);
            }
        }
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(action(&q), Some(Action::Quit));
    }
}
