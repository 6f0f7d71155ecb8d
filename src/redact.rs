//! Redaction, in one place: secret values are replaced by a keyed fingerprint before they
//! reach any event, evidence, log line or output. A fingerprint is HMAC-SHA256 under a key
//! that never leaves the process (8 hex characters), so a report can tell two values apart
//! without letting anyone confirm a guessed weak secret.
//!
//! A secret is searched for in every form a server or a program may echo it in: as is, in
//! any ASCII case, JSON-escaped, percent-encoded, in base64 and base64url (at each of the
//! three alignments it can have inside a longer encoded value, such as a Basic credential),
//! in hex, and line by line when it spans lines (a PEM key). A part of a secret is masked
//! too, wherever it stands: an echo may cut a secret short (a server that shows its first
//! half), and a cut made before the text reached the redactor leaves the first part of one
//! at the text's end or its last part at the start. A part is 8 characters or more in a
//! row of any of its forms.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::RwLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

/// Values shorter than this are not searched for in text: they would match everywhere. The
/// checks that judge secrets fail such values for being too short.
pub const MIN_SCRUBBED_LEN: usize = 4;

/// The shortest part of a secret searched for on its own: a form derived from the secret
/// (a line, a base64 run at an offset) or a cut edge.
pub const MIN_PART_LEN: usize = 8;

/// Shortest a line of a multi-line secret must be to be searched for alone.
const MIN_LINE_LEN: usize = 16;

/// What encodeURIComponent leaves: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// What the `url` crate's query encoding leaves besides.
const QUERY: &AsciiSet = &URI_COMPONENT.remove(b'/').remove(b':').remove(b'@');

/// What a form-urlencoder (`application/x-www-form-urlencoded`) leaves: letters, digits and
/// `*-._`, a space being `+`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// The secrets and the forms they are searched in.
#[derive(Default, Clone)]
struct Known {
    /// The secrets, as added.
    secrets: Vec<String>,
    /// Each form searched for, and the index of its secret.
    forms: Vec<(String, usize)>,
    /// One automaton over every form, leftmost-longest, ASCII case-insensitive.
    automaton: Option<AhoCorasick>,
    /// Each form in ASCII lower case, by the index of `forms`.
    lower_forms: Vec<String>,
    /// By the index of `forms`: whether a part of the form counts only at the text's edges
    /// or beside a `…`, where a cut leaves it (a URL's: its host is no secret elsewhere).
    at_edges: Vec<bool>,
    /// Every 8-byte window of the forms a part may be shown of (in lower case), with the
    /// form and the window's offset in it.
    grams: HashMap<Vec<u8>, Vec<(usize, usize)>>,
    /// One automaton over the windows, ASCII case-insensitive, and the window each of its
    /// patterns is: where a part of a secret may stand in a text. Built by the first scrub
    /// after secrets were added (a check may add a long token and its pieces one by one).
    parts: Option<(AhoCorasick, Vec<Vec<u8>>)>,
    /// Whether `parts` lags behind `grams`.
    parts_stale: bool,
}

/// Replaces known secret values by fingerprints.
pub struct Redactor {
    key: [u8; 32],
    known: RwLock<Known>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
    }
}

/// The forms a secret is searched in (itself first).
fn forms_of(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    let mut add = |form: String, min: usize| {
        if form.len() >= min && !forms.contains(&form) {
            forms.push(form);
        }
    };
    add(secret.to_lowercase(), MIN_SCRUBBED_LEN);
    add(secret.to_uppercase(), MIN_SCRUBBED_LEN);
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    add(json.replace('/', "\\/"), MIN_SCRUBBED_LEN);
    add(ascii_json(&json), MIN_SCRUBBED_LEN);
    add(json, MIN_SCRUBBED_LEN);
    for set in [NON_ALPHANUMERIC, URI_COMPONENT, QUERY, FORM] {
        let encoded = utf8_percent_encode(secret, set).to_string();
        add(encoded.replace("%20", "+"), MIN_SCRUBBED_LEN);
        add(encoded, MIN_SCRUBBED_LEN);
    }
    add(hex::encode(secret), MIN_SCRUBBED_LEN);
    let bytes = secret.as_bytes();
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        add(
            engine.encode(bytes).trim_end_matches('=').to_string(),
            MIN_SCRUBBED_LEN,
        );
        // Inside a longer value the secret starts at byte offset 0, 1 or 2 of a group of
        // three: the characters that depend on its bytes alone.
        for offset in 0..3 {
            let mut padded = vec![0u8; offset];
            padded.extend_from_slice(bytes);
            let encoded = engine.encode(&padded);
            let skip = [0, 2, 3][offset];
            let whole = padded.len() / 3 * 4;
            if whole > skip {
                add(encoded[skip..whole].to_string(), MIN_PART_LEN);
            }
        }
    }
    if secret.contains('\n') {
        for line in secret.lines().map(|l| l.trim_end_matches('\r').trim()) {
            if line.len() >= MIN_LINE_LEN && !line.starts_with("-----") {
                add(line.to_string(), MIN_LINE_LEN);
            }
        }
    }
    forms
}

/// JSON with every non-ASCII character as `\uXXXX` (Python's `ensure_ascii`).
fn ascii_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The smallest char boundary of `text` at or above `at`.
fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The largest char boundary of `text` at or below `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl Redactor {
    /// A redactor with a fresh random key.
    pub fn new() -> Self {
        Self::with_key(rand::random())
    }

    /// A redactor with the given key (the store's, so one store fingerprints consistently).
    pub fn with_key(key: [u8; 32]) -> Self {
        Self {
            key,
            known: RwLock::new(Known::default()),
        }
    }

    /// A copy that knows the same secrets and learns its own from now on: what one round
    /// of a bake registers (a session token minted for it) is forgotten with the round, so
    /// a long bake neither grows nor slows.
    pub fn fork(&self) -> Self {
        Self {
            key: self.key,
            known: RwLock::new(self.known.read().unwrap_or_else(|p| p.into_inner()).clone()),
        }
    }

    /// The fingerprint of a value: 8 hex characters of HMAC-SHA256 under the key.
    pub fn fingerprint(&self, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        hex::encode(&digest[..4])
    }

    /// What a secret is shown as.
    pub fn mask(&self, value: &str) -> String {
        format!("[secret {}]", self.fingerprint(value))
    }

    /// Adds a value to scrub from every later text, in each of its forms, and any part of
    /// 8 characters or more of it wherever it stands (a URL's only where a cut leaves one:
    /// its scheme and host are no secret elsewhere; a password in it is added on its own).
    pub fn add_secret(&self, value: &str) {
        self.add(value, true);
    }

    /// Adds a value to scrub only whole, in each of its forms: one made of secrets added
    /// on their own and of words that are none (a `Cookie` header's names, a Basic
    /// credential's user name).
    pub fn add_secret_whole(&self, value: &str) {
        self.add(value, false);
    }

    fn add(&self, value: &str, in_parts: bool) {
        if value.len() < MIN_SCRUBBED_LEN {
            return;
        }
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.secrets.iter().any(|s| s == value) {
            return;
        }
        let index = known.secrets.len();
        known.secrets.push(value.to_string());
        // A URL with a password keeps its other parts visible (the host of a connection
        // URL is needed to read an error): its password is the secret searched for in
        // parts, the whole URL only whole.
        let password = url::Url::parse(value)
            .ok()
            .and_then(|u| u.password().map(str::to_string));
        let has_host = |text: &str| url::Url::parse(text).is_ok_and(|u| u.has_host());
        let url_like = has_host(value)
            || has_host(&percent_encoding::percent_decode_str(value).decode_utf8_lossy());
        let in_parts = in_parts && password.is_none();
        let multi_line = value.contains('\n');
        for form in forms_of(value) {
            if known.forms.iter().any(|(f, _)| *f == form) {
                continue;
            }
            let lower = form.to_ascii_lowercase();
            // A multi-line secret's parts are its lines (its armour lines are no secret).
            let part = in_parts && (!multi_line || value.lines().any(|l| l.trim() == form));
            if part && lower.len() > MIN_PART_LEN {
                let at = known.forms.len();
                for offset in 0..=lower.len() - MIN_PART_LEN {
                    let gram = lower.as_bytes()[offset..offset + MIN_PART_LEN].to_vec();
                    known.grams.entry(gram).or_default().push((at, offset));
                }
            }
            known.forms.push((form, index));
            known.lower_forms.push(lower);
            known.at_edges.push(url_like);
        }
        drop(known);
        if let Some(password) = password {
            self.add_secret(&password);
            let decoded = percent_encoding::percent_decode_str(&password).decode_utf8_lossy();
            self.add_secret(&decoded);
        }
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        known.automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .build(known.forms.iter().map(|(f, _)| f.as_str()))
            .ok();
        known.parts_stale = true;
    }

    /// The secrets known, with the automaton of their parts built when it lags.
    fn known(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        if !known.parts_stale {
            return known;
        }
        drop(known);
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.parts_stale {
            let windows: Vec<Vec<u8>> = known.grams.keys().cloned().collect();
            known.parts = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(&windows)
                .ok()
                .map(|automaton| (automaton, windows));
            known.parts_stale = false;
        }
        drop(known);
        self.known.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the text holds a known secret, in any of its forms.
    pub fn contains_secret(&self, text: &str) -> bool {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        known
            .automaton
            .as_ref()
            .is_some_and(|automaton| automaton.is_match(text))
    }

    /// The text with every known secret, in any of its forms, replaced by its mask, and
    /// every part of one too.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let known = self.known();
        let Some(automaton) = &known.automaton else {
            return Cow::Borrowed(text);
        };
        let mut out = String::new();
        let mut last = 0;
        for found in automaton.find_iter(text) {
            let secret = &known.secrets[known.forms[found.pattern().as_usize()].1];
            out.push_str(&text[last..found.start()]);
            out.push_str(&self.mask(secret));
            last = found.end();
        }
        let scrubbed = if last == 0 {
            Cow::Borrowed(text)
        } else {
            out.push_str(&text[last..]);
            Cow::Owned(out)
        };
        match self.parts(&known, &scrubbed) {
            Some(clean) => Cow::Owned(clean),
            None => scrubbed,
        }
    }

    /// Masks each part of a form of 8 bytes or more, wherever it stands (a URL's only at
    /// the text's edges or beside a `…`): every 8-byte window of a form found in the text
    /// is grown both ways for as long as the text goes on as that form does, and
    /// overlapping parts are masked as one.
    fn parts(&self, known: &Known, text: &str) -> Option<String> {
        let (automaton, windows) = known.parts.as_ref()?;
        // Most texts hold no part: they are not copied.
        automaton.find(text)?;
        let lower = text.as_bytes().to_ascii_lowercase();
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        // Windows may overlap (two secrets' parts side by side); one inside a part already
        // grown adds nothing: a part that goes on past it has a window that ends later.
        let mut grown_to = 0;
        let ellipsis = "…".as_bytes();
        let at_edge = |start: usize, end: usize| {
            start == 0
                || end == lower.len()
                || lower[..start].ends_with(ellipsis)
                || lower[end..].starts_with(ellipsis)
        };
        for found in automaton.find_overlapping_iter(text) {
            if found.end() <= grown_to {
                continue;
            }
            let places = known.grams.get(&windows[found.pattern().as_usize()]);
            let grown = places.into_iter().flatten().filter_map(|&(form, at)| {
                let form_bytes = known.lower_forms[form].as_bytes();
                let (mut start, mut offset) = (found.start(), at);
                while start > 0 && offset > 0 && lower[start - 1] == form_bytes[offset - 1] {
                    start -= 1;
                    offset -= 1;
                }
                let (mut end, mut offset) = (found.end(), at + MIN_PART_LEN);
                while end < lower.len()
                    && offset < form_bytes.len()
                    && lower[end] == form_bytes[offset]
                {
                    end += 1;
                    offset += 1;
                }
                (!known.at_edges[form] || at_edge(start, end)).then_some((
                    end - start,
                    start,
                    end,
                    known.forms[form].1,
                ))
            });
            if let Some((_, start, end, secret)) = grown.max() {
                grown_to = grown_to.max(end);
                // A part that starts or ends inside a character takes the whole character.
                spans.push((
                    floor_boundary(text, start),
                    ceil_boundary(text, end),
                    secret,
                ));
            }
        }
        if spans.is_empty() {
            return None;
        }
        spans.sort_unstable();
        let mut out = String::new();
        let mut last = 0;
        for (start, end, secret) in spans {
            if start < last {
                // Overlapping parts are masked as one.
                last = last.max(end);
                continue;
            }
            out.push_str(&text[last..start]);
            out.push_str(&self.mask(&known.secrets[secret]));
            last = end;
        }
        out.push_str(&text[last..]);
        Some(out)
    }

    /// The text scrubbed, then cut to at most `max` characters with a `…`: scrubbing first
    /// so that no cut leaves part of a secret, and never cutting a mask in two.
    pub fn excerpt(&self, text: &str, max: usize) -> String {
        let scrubbed = self.scrub(text);
        if scrubbed.chars().count() <= max {
            return scrubbed.into_owned();
        }
        let byte = scrubbed
            .char_indices()
            .nth(max)
            .map_or(scrubbed.len(), |(i, _)| i);
        let mut cut = floor_boundary(&scrubbed, byte);
        // A mask cut in two would show neither the secret nor a whole fingerprint.
        if let Some(open) = scrubbed[..cut].rfind("[secret ") {
            if !scrubbed[open..cut].contains(']') {
                cut = open;
            }
        }
        format!("{}…", &scrubbed[..cut])
    }

    /// Scrubs every string inside a JSON value.
    pub fn scrub_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => {
                if let Cow::Owned(clean) = self.scrub(text) {
                    *text = clean;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.scrub_json(v)),
            _ => {}
        }
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_secrets_longest_first_and_fingerprints_per_key() {
        let redactor = Redactor::with_key([7; 32]);
        redactor.add_secret("hunter2-long-secret");
        redactor.add_secret("hunter2");
        redactor.add_secret("abc");
        let text = redactor.scrub("a hunter2-long-secret and hunter2 and abc");
        assert!(!text.contains("hunter2"));
        assert!(text.contains(&redactor.mask("hunter2-long-secret")));
        assert!(
            text.ends_with("and abc"),
            "values under 4 bytes are left: {text}"
        );
        assert_eq!(redactor.fingerprint("x").len(), 8);
        assert_ne!(
            redactor.fingerprint("x"),
            Redactor::with_key([8; 32]).fingerprint("x")
        );
        let mut json = serde_json::json!({"a": ["hunter2", {"b": "x hunter2"}]});
        redactor.scrub_json(&mut json);
        assert!(!json.to_string().contains("hunter2"));
    }

    #[test]
    fn encoded_echoes_and_cut_parts_are_masked() {
        let redactor = Redactor::with_key([1; 32]);
        let secret = "Sup3r\"Secret\\Tok/en+ü";
        redactor.add_secret(secret);
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("alice:{secret}"));
        for echo in [
            serde_json::to_string(secret).expect("JSON"),
            utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
            utf8_percent_encode(secret, NON_ALPHANUMERIC)
                .to_string()
                .to_lowercase(),
            format!("Basic {b64}"),
            hex::encode(secret).to_uppercase(),
            secret.to_uppercase(),
        ] {
            let text = format!("got {echo} back");
            let shown = redactor.scrub(&text);
            assert!(shown.contains("[secret "), "{echo} → {shown}");
            assert!(!shown.contains("Secret\\Tok"), "{echo} → {shown}");
        }
        // A secret cut before the scrub: its first part at the end, its last at the start.
        let shown = redactor.scrub("got \"Sup3r\"Secret\\T…");
        assert!(!shown.contains("Sup3r\"Secr"), "{shown}");
        let shown = redactor.scrub("Secret\\Tok/en+ü and more");
        assert!(
            shown.ends_with(" and more") && !shown.contains("Tok/en"),
            "{shown}"
        );
        // Scrubbed first, cut after: no part of it, and no mask cut in two.
        let long = format!("{}{secret}{}", "x".repeat(50), "y".repeat(50));
        let cut = redactor.excerpt(&long, 60);
        assert_eq!(cut, format!("{}…", "x".repeat(50)));
    }

    #[test]
    fn a_part_of_a_secret_inside_a_text_is_masked() {
        let redactor = Redactor::with_key([3; 32]);
        let secret = "canary-XYZ-ebcd0160b7d54e3a9c1f2e8d4b6a7c90";
        redactor.add_secret(secret);
        let body = format!(
            r#"{{"version":"1.4.2","half":"{}","ok":true}}"#,
            &secret[..20]
        );
        let shown = redactor.scrub(&body);
        assert_eq!(
            shown,
            format!(
                r#"{{"version":"1.4.2","half":"{}","ok":true}}"#,
                redactor.mask(secret)
            )
        );
        // Its middle, in upper case, and its hex beside another text.
        let middle = secret[10..30].to_uppercase();
        assert!(!redactor
            .scrub(&format!("id={middle};"))
            .contains(&middle[..8]));
        let hex = hex::encode(&secret[5..25]);
        assert!(!redactor.scrub(&format!("x{hex}y")).contains(&hex[2..10]));
        // Seven characters of it are ordinary text.
        assert_eq!(redactor.scrub("a canary- bird"), "a canary- bird");
    }

    #[test]
    fn what_is_no_secret_in_a_credential_stays_readable() {
        let redactor = Redactor::with_key([4; 32]);
        // A cookie whose value is a URL (Auth.js's callback-url): the URL only whole.
        redactor.add_secret("https%3A%2F%2Fapp.example.com%2Fdashboard");
        let text = "GET https://app.example.com/api/health → 200";
        assert_eq!(redactor.scrub(text), text);
        assert!(redactor
            .scrub("callback-url=https%3A%2F%2Fapp.example.com%2Fdashboard; Path=/")
            .contains("[secret "));
        // A Cookie header whole, its values in parts: the cookie's name stays readable.
        redactor.add_secret_whole("__Secure-authjs.session-token=eyJhbGciOiJkaXIifQ.tok; x=1");
        redactor.add_secret("eyJhbGciOiJkaXIifQ.tok");
        let text = "__Secure-authjs.session-token: Secure, HttpOnly, SameSite=Lax";
        assert_eq!(redactor.scrub(text), text);
        assert!(!redactor
            .scrub("set to eyJhbGciOiJkaXIifQ (cut)")
            .contains("eyJhbGci"));
    }

    #[test]
    fn a_form_encoded_echo_is_masked() {
        let redactor = Redactor::with_key([5; 32]);
        let secret = "ab-~cd!ef(gh)ij*kl mn";
        redactor.add_secret(secret);
        let echo: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let shown = redactor.scrub(&format!("token={echo}&next=1")).into_owned();
        assert_eq!(shown, format!("token={}&next=1", redactor.mask(secret)));
    }

    #[test]
    fn a_multi_line_secret_is_masked_line_by_line_but_not_its_armour() {
        let redactor = Redactor::with_key([2; 32]);
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
        redactor.add_secret(key);
        assert!(!redactor
            .scrub("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
            .contains("MIIE"));
        assert!(!redactor.scrub("BKcwggSjAgEAAoIBAQC7").contains("BKcw"));
        assert_eq!(
            redactor.scrub("-----BEGIN PRIVATE KEY-----"),
            "-----BEGIN PRIVATE KEY-----"
        );
    }
}
