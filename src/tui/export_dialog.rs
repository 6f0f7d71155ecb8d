//! The export dialog: the report's format, the file it is written to, and whether it is
//! signed (with the operator's key, the ssh-agent's, or a key file whose passphrase is typed
//! masked). Keys go to the field with the focus; the run's answer (the path written, or why
//! not) is shown in the dialog.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use secrecy::{ExposeSecret, SecretString};

use crate::report::Format;
use crate::service::{ExportSigning, Passphrase, Request};

/// How the report is signed, as the dialog offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignChoice {
    /// Not signed.
    No,
    /// With the key the console signs sign-offs with.
    Operator,
    /// With the ssh-agent's first key.
    Agent,
    /// With a key file.
    File,
}

impl SignChoice {
    /// How the dialog says it.
    pub fn label(self) -> &'static str {
        match self {
            SignChoice::No => "no",
            SignChoice::Operator => "my signing key",
            SignChoice::Agent => "ssh-agent",
            SignChoice::File => "key file",
        }
    }
}

/// What a key did to the dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It stays open.
    Stay,
    /// The operator closed it.
    Cancel,
    /// Export: this is the request.
    Submit(Request),
}

/// An open export dialog.
#[derive(Debug, Clone)]
pub struct ExportDialog {
    /// The session (the default file is named after it).
    pub session: String,
    /// The format.
    pub format: Format,
    /// The file.
    pub path: String,
    /// Whether the path was typed (else it follows the format's ending).
    pub path_typed: bool,
    /// The choices of signing this console has, in order.
    pub choices: Vec<SignChoice>,
    /// The choice made.
    pub sign: SignChoice,
    /// The key file, for [`SignChoice::File`].
    pub key: String,
    /// The key file's passphrase as typed: a secret from the first key (shown as dots, never
    /// printed, not even in a debug dump).
    pub passphrase: SecretString,
    /// Which field has the focus: 0 format, 1 path, 2 signing, 3 key file, 4 passphrase.
    pub focus: usize,
    /// The run's answer to the last attempt.
    pub error: Option<String>,
    /// Whether an attempt is on its way.
    pub sending: bool,
}

impl ExportDialog {
    /// A dialog exporting `session`; `operator_key` names the console's own signing key.
    pub fn new(session: &str, operator_key: Option<&str>) -> Self {
        let mut choices = vec![SignChoice::No];
        if operator_key.is_some() {
            choices.push(SignChoice::Operator);
        }
        choices.extend([SignChoice::Agent, SignChoice::File]);
        let mut dialog = ExportDialog {
            session: session.to_string(),
            format: Format::Html,
            path: String::new(),
            path_typed: false,
            sign: if operator_key.is_some() {
                SignChoice::Operator
            } else {
                SignChoice::No
            },
            choices,
            key: std::env::var(crate::service::signing::KEY_VARIABLE).unwrap_or_default(),
            passphrase: SecretString::default(),
            focus: 0,
            error: None,
            sending: false,
        };
        dialog.follow_format();
        dialog
    }

    /// The default file: `relcon-<session>.<ending>` in the working directory.
    fn follow_format(&mut self) {
        if !self.path_typed {
            let short = self.session.get(..13).unwrap_or(&self.session);
            self.path = format!("relcon-{short}.{}", self.format.extension());
        }
    }

    /// The fields the focus moves through: the key file's only when signing with one.
    fn last(&self) -> usize {
        if self.sign == SignChoice::File {
            4
        } else {
            2
        }
    }

    fn cycle<T: Copy + PartialEq>(all: &[T], now: T, forward: bool) -> T {
        let at = all.iter().position(|x| *x == now).unwrap_or(0);
        let next = if forward {
            (at + 1) % all.len()
        } else {
            (at + all.len() - 1) % all.len()
        };
        all[next]
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Char('s') if control => return self.submit(),
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % (self.last() + 1),
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = (self.focus + self.last()) % (self.last() + 1)
            }
            KeyCode::Enter if self.focus == self.last() => return self.submit(),
            KeyCode::Enter => self.focus += 1,
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if self.focus == 0 => {
                self.format = Self::cycle(&Format::ALL, self.format, key.code != KeyCode::Left);
                self.follow_format();
            }
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if self.focus == 2 => {
                self.sign = Self::cycle(&self.choices, self.sign, key.code != KeyCode::Left);
            }
            KeyCode::Char(c) if !control => match self.focus {
                1 => {
                    self.path.push(c);
                    self.path_typed = true;
                }
                3 => self.key.push(c),
                4 => self.type_passphrase(|typed| typed.push(c)),
                _ => {}
            },
            KeyCode::Backspace => match self.focus {
                1 => {
                    self.path.pop();
                    self.path_typed = true;
                }
                3 => {
                    self.key.pop();
                }
                4 => self.type_passphrase(|typed| {
                    typed.pop();
                }),
                _ => {}
            },
            _ => {}
        }
        Outcome::Stay
    }

    /// Changes the passphrase typed so far.
    fn type_passphrase(&mut self, change: impl FnOnce(&mut String)) {
        let mut typed = self.passphrase.expose_secret().to_string();
        change(&mut typed);
        self.passphrase = SecretString::from(typed);
    }

    /// How many characters of passphrase were typed (the dialog shows that many dots).
    pub fn passphrase_len(&self) -> usize {
        self.passphrase.expose_secret().chars().count()
    }

    fn submit(&mut self) -> Outcome {
        if self.sending {
            return Outcome::Stay;
        }
        if self.path.trim().is_empty() {
            self.error = Some("name the file to write".into());
            return Outcome::Stay;
        }
        let sign = match self.sign {
            SignChoice::No => None,
            SignChoice::Operator => Some(ExportSigning::Operator),
            SignChoice::Agent => Some(ExportSigning::Agent),
            SignChoice::File if self.key.trim().is_empty() => {
                self.error = Some("name the key file, or choose another way to sign".into());
                self.focus = 3;
                return Outcome::Stay;
            }
            SignChoice::File => Some(ExportSigning::File {
                key: PathBuf::from(self.key.trim()),
                passphrase: (self.passphrase_len() > 0)
                    .then(|| Passphrase(std::mem::take(&mut self.passphrase))),
            }),
        };
        self.sending = true;
        self.error = None;
        Outcome::Submit(Request::Export {
            format: self.format,
            path: PathBuf::from(self.path.trim()),
            sign,
        })
    }
}
