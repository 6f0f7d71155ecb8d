//! The sign-off dialog: how the item is signed (done, failed, not applicable), a note
//! (several lines), the evidence fields the item asks for, and who signs. Keys go to the
//! field with the focus; the store's answer (a refusal, say) is shown in the dialog.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::session::rules::{Field, Request};
use crate::session::SignoffStatus;

/// What a key did to the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It stays open.
    Stay,
    /// The operator closed it without signing.
    Cancel,
    /// The operator signs: this is the request.
    Submit(Request),
}

/// An open sign-off dialog.
#[derive(Debug, Clone)]
pub struct SignoffDialog {
    /// The item.
    pub item: String,
    /// Its title.
    pub title: String,
    /// What its sign-offs say so far ("1 of 2: alice").
    pub progress: String,
    /// The steps to perform, as the checklist writes them (`instructions`).
    pub instructions: String,
    /// Who signs.
    pub signer: String,
    /// How.
    pub status: SignoffStatus,
    /// The note.
    pub note: String,
    /// The evidence fields, with what was typed.
    pub fields: Vec<(Field, String)>,
    /// Which field has the focus: 0 the status, 1 the note, then the evidence fields.
    pub focus: usize,
    /// The store's or the rules' answer to the last attempt.
    pub error: Option<String>,
    /// Whether an attempt is on its way to the store.
    pub sending: bool,
}

impl SignoffDialog {
    /// A dialog for `item` signed by `signer`.
    pub fn new(
        item: &str,
        title: &str,
        progress: &str,
        instructions: &str,
        signer: &str,
        fields: Vec<Field>,
    ) -> Self {
        SignoffDialog {
            item: item.to_string(),
            title: title.to_string(),
            progress: progress.to_string(),
            instructions: instructions.to_string(),
            signer: signer.to_string(),
            status: SignoffStatus::Done,
            note: String::new(),
            fields: fields.into_iter().map(|f| (f, String::new())).collect(),
            focus: 0,
            error: None,
            sending: false,
        }
    }

    fn request(&self) -> Request {
        Request {
            item: self.item.clone(),
            by: self.signer.clone(),
            status: self.status,
            note: self.note.clone(),
            evidence: self
                .fields
                .iter()
                .map(|(f, v)| (f.key.clone(), v.trim().to_string()))
                .collect::<BTreeMap<_, _>>(),
            at: None,
            signature: None,
        }
    }

    fn last(&self) -> usize {
        1 + self.fields.len()
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Char('s') if control => return self.submit(),
            KeyCode::Tab => self.focus = (self.focus + 1) % (self.last() + 1),
            KeyCode::BackTab => self.focus = (self.focus + self.last()) % (self.last() + 1),
            // Enter is a new line in the note; elsewhere it moves on, and signs on the last.
            KeyCode::Enter if self.focus == 1 => self.note.push('\n'),
            KeyCode::Enter if self.focus == self.last() => return self.submit(),
            KeyCode::Enter => self.focus += 1,
            _ => self.edit(key),
        }
        Outcome::Stay
    }

    fn submit(&mut self) -> Outcome {
        if self.sending {
            return Outcome::Stay;
        }
        self.sending = true;
        self.error = None;
        Outcome::Submit(self.request())
    }

    fn edit(&mut self, key: &KeyEvent) {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return;
        }
        // What the last refusal said no longer holds once a field changes.
        self.error = None;
        match self.focus {
            0 => {
                self.status = match key.code {
                    KeyCode::Char('d') => SignoffStatus::Done,
                    KeyCode::Char('f') => SignoffStatus::Failed,
                    KeyCode::Char('n') => SignoffStatus::Na,
                    KeyCode::Left | KeyCode::Up => match self.status {
                        SignoffStatus::Done => SignoffStatus::Na,
                        SignoffStatus::Failed => SignoffStatus::Done,
                        SignoffStatus::Na => SignoffStatus::Failed,
                    },
                    KeyCode::Right | KeyCode::Down | KeyCode::Char(' ') => match self.status {
                        SignoffStatus::Done => SignoffStatus::Failed,
                        SignoffStatus::Failed => SignoffStatus::Na,
                        SignoffStatus::Na => SignoffStatus::Done,
                    },
                    _ => self.status,
                }
            }
            1 => type_into(&mut self.note, key),
            n => {
                if let Some((_, value)) = self.fields.get_mut(n - 2) {
                    type_into(value, key);
                }
            }
        }
    }
}

fn type_into(text: &mut String, key: &KeyEvent) {
    match key.code {
        KeyCode::Char(c) => text.push(c),
        KeyCode::Backspace => {
            text.pop();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(dialog: &mut SignoffDialog, code: KeyCode) -> Outcome {
        dialog.on_key(&KeyEvent::from(code))
    }

    #[test]
    fn fields_take_what_is_typed_and_enter_signs_on_the_last() {
        let field = Field {
            key: "snapshot_id".into(),
            label: "Snapshot".into(),
            required: true,
            spec: toml::Table::new(),
        };
        let mut dialog = SignoffDialog::new(
            "backup",
            "Backup",
            "awaiting sign-off",
            "Take the snapshot.",
            "alice",
            vec![field],
        );
        dialog.error = Some("a refusal".into());
        press(&mut dialog, KeyCode::Char('f'));
        assert_eq!(dialog.status, SignoffStatus::Failed);
        assert_eq!(dialog.error, None, "a change clears a stale refusal");
        press(&mut dialog, KeyCode::Tab);
        for c in "line one".chars() {
            press(&mut dialog, KeyCode::Char(c));
        }
        press(&mut dialog, KeyCode::Enter);
        press(&mut dialog, KeyCode::Char('2'));
        assert_eq!(dialog.note, "line one\n2");
        press(&mut dialog, KeyCode::Tab);
        for c in "br-1".chars() {
            press(&mut dialog, KeyCode::Char(c));
        }
        let Outcome::Submit(request) = press(&mut dialog, KeyCode::Enter) else {
            panic!("Enter on the last field signs");
        };
        assert_eq!(request.evidence["snapshot_id"], "br-1");
        assert_eq!(request.by, "alice");
        assert_eq!(press(&mut dialog, KeyCode::Enter), Outcome::Stay, "once");
        assert_eq!(press(&mut dialog, KeyCode::Esc), Outcome::Cancel);
    }
}
