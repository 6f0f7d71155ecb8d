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
    /// Show the detail pane's next section.
    NextSection,
    /// Show the detail pane's previous section.
    PrevSection,
    /// Show or hide the help.
    Help,
    /// Show all items, then only failed, pending or manual ones.
    Filter,
    /// Type text that ids and titles must contain.
    Search,
    /// Select the next failed item.
    NextFailure,
    /// Save the selected item's result and evidence to a file.
    SaveEvidence,
    /// Export the session's report (format, path, signed or not).
    Export,
    /// Sign the selected manual item off.
    SignOff,
    /// Run (or run again) the selected item.
    Run,
    /// Run every automated item that has not passed.
    RunAll,
    /// Run the failed items again.
    RerunFailed,
    /// Cancel the selected item's running check.
    Cancel,
    /// Skip the selected item, with a reason.
    Skip,
    /// Show who works the session: attached, running what, signed what.
    Pair,
    /// Show what changed since the last release.
    Diff,
    /// Show the post-deploy bake (start it, stop it).
    Bake,
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
    /// Its name in the footer, when the footer shows it (the help shows every binding).
    pub footer: Option<&'static str>,
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
        footer: None,
        action: Action::Up,
    },
    Binding {
        keys: &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        label: "↓/j",
        about: "next line (scrolls the detail pane when it has the focus)",
        footer: Some("move"),
        action: Action::Down,
    },
    Binding {
        keys: &[
            (KeyCode::PageUp, NONE),
            (KeyCode::Char('b'), KeyModifiers::CONTROL),
        ],
        label: "PgUp",
        about: "a page up",
        footer: None,
        action: Action::PageUp,
    },
    Binding {
        keys: &[
            (KeyCode::PageDown, NONE),
            (KeyCode::Char('f'), KeyModifiers::CONTROL),
        ],
        label: "PgDn",
        about: "a page down",
        footer: None,
        action: Action::PageDown,
    },
    Binding {
        keys: &[(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)],
        label: "Home/g",
        about: "first line",
        footer: None,
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
        footer: None,
        action: Action::Last,
    },
    Binding {
        keys: &[
            (KeyCode::Tab, NONE),
            (KeyCode::BackTab, KeyModifiers::SHIFT),
        ],
        label: "Tab",
        about: "move between the list and the detail pane",
        footer: Some("pane"),
        action: Action::SwitchPane,
    },
    Binding {
        keys: &[(KeyCode::Left, NONE), (KeyCode::Char('h'), NONE)],
        label: "←/h",
        about: "fold the section (in the detail pane: output to the left)",
        footer: None,
        action: Action::Collapse,
    },
    Binding {
        keys: &[(KeyCode::Right, NONE), (KeyCode::Char('l'), NONE)],
        label: "→/l",
        about: "unfold the section (in the detail pane: output to the right)",
        footer: None,
        action: Action::Expand,
    },
    Binding {
        keys: &[(KeyCode::Char(']'), NONE)],
        label: "]",
        about: "the detail pane's next section (evidence, output, sign-offs…)",
        footer: None,
        action: Action::NextSection,
    },
    Binding {
        keys: &[(KeyCode::Char('['), NONE)],
        label: "[",
        about: "the detail pane's previous section",
        footer: None,
        action: Action::PrevSection,
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE), (KeyCode::Char(' '), NONE)],
        label: "Enter",
        about: "fold or unfold the section",
        footer: None,
        action: Action::Toggle,
    },
    Binding {
        keys: &[(KeyCode::Char('f'), NONE)],
        label: "f",
        about: "show all items, then only failed, pending, manual ones",
        footer: Some("filter"),
        action: Action::Filter,
    },
    Binding {
        keys: &[(KeyCode::Char('/'), NONE)],
        label: "/",
        about: "search ids and titles (Enter keeps the search, Esc clears it)",
        footer: None,
        action: Action::Search,
    },
    Binding {
        keys: &[(KeyCode::Char('n'), NONE)],
        label: "n",
        about: "next failed item",
        footer: None,
        action: Action::NextFailure,
    },
    Binding {
        keys: &[(KeyCode::Char('r'), NONE)],
        label: "r",
        about: "run the selected item (again)",
        footer: Some("run"),
        action: Action::Run,
    },
    Binding {
        keys: &[
            (KeyCode::Char('R'), NONE),
            (KeyCode::Char('R'), KeyModifiers::SHIFT),
        ],
        label: "R",
        about: "run every automated item that has not passed",
        footer: None,
        action: Action::RunAll,
    },
    Binding {
        keys: &[
            (KeyCode::Char('F'), NONE),
            (KeyCode::Char('F'), KeyModifiers::SHIFT),
        ],
        label: "F",
        about: "run the failed items again",
        footer: None,
        action: Action::RerunFailed,
    },
    Binding {
        keys: &[(KeyCode::Char('c'), NONE)],
        label: "c",
        about: "cancel the selected item's running check",
        footer: None,
        action: Action::Cancel,
    },
    Binding {
        keys: &[(KeyCode::Char('x'), NONE)],
        label: "x",
        about: "skip the selected item, with a reason (recorded)",
        footer: None,
        action: Action::Skip,
    },
    Binding {
        keys: &[(KeyCode::Char('p'), NONE)],
        label: "p",
        about: "who works this session: attached, running what, signed what",
        footer: Some("people"),
        action: Action::Pair,
    },
    Binding {
        keys: &[(KeyCode::Char('d'), NONE)],
        label: "d",
        about: "what changed since the last release (relcon diff)",
        footer: None,
        action: Action::Diff,
    },
    Binding {
        keys: &[(KeyCode::Char('b'), NONE)],
        label: "b",
        about: "the post-deploy bake: each baked item's latency, p50/p95, failures, time left (Enter starts it, c stops it)",
        footer: None,
        action: Action::Bake,
    },
    Binding {
        keys: &[(KeyCode::Char('s'), NONE)],
        label: "s",
        about: "sign the selected manual item off, in a dialog",
        footer: Some("sign"),
        action: Action::SignOff,
    },
    Binding {
        keys: &[(KeyCode::Char('e'), NONE)],
        label: "e",
        about: "save the item's result and evidence as JSON under the data directory (evidence/SESSION/)",
        footer: None,
        action: Action::SaveEvidence,
    },
    Binding {
        keys: &[
            (KeyCode::Char('E'), NONE),
            (KeyCode::Char('E'), KeyModifiers::SHIFT),
        ],
        label: "E",
        about: "export the session's report: JSON, Markdown, HTML or JUnit, signed or not",
        footer: None,
        action: Action::Export,
    },
    Binding {
        keys: &[
            (KeyCode::Char('?'), NONE),
            (KeyCode::Char('?'), KeyModifiers::SHIFT),
        ],
        label: "?",
        about: "this help",
        footer: Some("help"),
        action: Action::Help,
    },
    Binding {
        keys: &[
            (KeyCode::Char('q'), NONE),
            (KeyCode::Char('c'), KeyModifiers::CONTROL),
        ],
        label: "q",
        about: "quit (asks first while checks run here; the session can be resumed)",
        footer: Some("quit"),
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

/// The footer: (keys, name) of each binding that has a footer name.
pub fn footer() -> Vec<(&'static str, &'static str)> {
    KEYMAP
        .iter()
        .filter_map(|b| b.footer.map(|name| (b.label, name)))
        .collect()
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
