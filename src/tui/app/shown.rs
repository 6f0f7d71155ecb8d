//! What the console shows beyond the session's state: results scrubbed with this run's
//! redactor, the inputs each item's configuration names, and the command that signs an
//! item off from a shell.

use super::App;

impl App {
    /// `text` as it may be shown: scrubbed of every secret this run knows.
    pub fn scrubbed<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        match &self.redactor {
            Some(redactor) => redactor.scrub(text),
            None => std::borrow::Cow::Borrowed(text),
        }
    }

    /// `value` as it may be shown: its strings scrubbed of every secret this run knows.
    pub fn scrubbed_json(&self, value: &serde_json::Value) -> serde_json::Value {
        let mut value = value.clone();
        if let Some(redactor) = &self.redactor {
            redactor.scrub_json(&mut value);
        }
        value
    }

    /// Takes in the inputs as they may be shown, (names, line): each item's configuration
    /// section lists those its configuration names by one of the names.
    pub fn show_inputs(&mut self, inputs: &[(Vec<String>, String)]) {
        for item in &mut self.items {
            item.inputs = inputs
                .iter()
                .filter(|(by, _)| by.iter().any(|name| names(&item.config, name)))
                .map(|(_, line)| line.clone())
                .collect();
        }
    }

    /// How to sign item `i` off here and from a shell: a command that works when pasted
    /// (the store, the session, every required evidence field).
    pub fn signoff_hint(&self, i: usize) -> String {
        let item = &self.items[i];
        let mut command = format!("relcon signoff {}", item.id);
        if !self.store.is_empty() {
            command.push_str(&format!(
                " --store {}",
                crate::text::shell_word(&self.store)
            ));
        }
        command.push_str(&format!(" --session {} --status done", self.session_id));
        for field in item.evidence.iter().filter(|f| f.required) {
            command.push_str(&format!(" --evidence {}=…", field.key));
        }
        command.push_str(" [--note TEXT]");
        format!("s signs it off here; from a shell: {command}")
    }
}

/// Whether `text` names `name` as a whole word (`${NAME}`, `"NAME"`), not inside another.
fn names(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(word)
            && !text[at + name.len()..].chars().next().is_some_and(word)
    })
}
