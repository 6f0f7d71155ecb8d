//! The redactor, by property: a random secret (quotes, backslashes and multi-byte
//! characters included), echoed in any registered encoding, cut at any point before or
//! after the scrub, or split across lines, never shows 8 characters of itself; and a part
//! of it, 8 characters or more of any form, is masked wherever in a text it stands.
//! `PROPTEST_CASES=100000 cargo test --test redaction_property` runs it longer.

use base64::Engine;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use proptest::sample::Index;
use relcon::redact::Redactor;

/// The encodings a server or a program may echo a secret in.
fn encode(secret: &str, how: usize) -> String {
    let b64 = &base64::engine::general_purpose::STANDARD;
    let b64url = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    match how {
        0 => secret.to_string(),
        1 => serde_json::to_string(secret).expect("JSON"),
        2 => serde_json::to_string(&serde_json::json!({ "token": secret })).expect("JSON"),
        3 => utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
        4 => utf8_percent_encode(secret, NON_ALPHANUMERIC)
            .to_string()
            .to_lowercase(),
        5 => url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        6 => secret.to_lowercase(),
        7 => secret.to_uppercase(),
        8 => b64.encode(secret),
        9 => b64url.encode(secret),
        10 => format!("Basic {}", b64.encode(format!("alice:{secret}"))),
        11 => hex::encode(secret),
        _ => hex::encode_upper(secret),
    }
}

const ENCODINGS: usize = 13;

/// Whether `shown` holds 8 characters in a row of `secret`, in any ASCII case.
fn leaks(secret: &str, shown: &str) -> Option<String> {
    let chars: Vec<char> = secret.chars().collect();
    let shown = shown.to_lowercase();
    chars
        .windows(8)
        .map(|w| w.iter().collect::<String>())
        .find(|w| shown.contains(&w.to_lowercase()))
}

/// `text` cut after `at` characters, as a summary cuts a quote.
fn cut_after(text: &str, at: usize) -> String {
    format!("{}…", text.chars().take(at).collect::<String>())
}

/// `text` from character `at` on, as a view of a line's end shows it.
fn cut_before(text: &str, at: usize) -> String {
    format!("…{}", text.chars().skip(at).collect::<String>())
}

proptest! {
    #[test]
    fn no_eight_characters_of_a_secret_reach_any_output(
        secret in "[!-~üé€]{8,40}",
        how in 0..ENCODINGS,
        around in ("[§¶ ]{0,12}", "[§¶ ]{0,12}"),
        at in any::<Index>(),
        mode in 0..5usize,
    ) {
        let redactor = Redactor::new();
        redactor.add_secret(&secret);
        let text = format!("{}{}{}", around.0, encode(&secret, how), around.1);
        let length = text.chars().count();
        let at = at.index(length + 1);
        let shown = match mode {
            0 => redactor.scrub(&text).into_owned(),
            1 => redactor.scrub(&cut_after(&text, at)).into_owned(),
            2 => redactor.scrub(&cut_before(&text, at)).into_owned(),
            3 => redactor.excerpt(&text, at),
            _ => {
                let head: String = text.chars().take(at).collect();
                let tail: String = text.chars().skip(at).collect();
                format!("{}\n{}", redactor.scrub(&head), redactor.scrub(&tail))
            }
        };
        prop_assert!(
            leaks(&secret, &shown).is_none(),
            "{:?} in encoding {how}, mode {mode}, at {at}: {shown:?}",
            leaks(&secret, &shown)
        );
    }
}

/// The encodings whose whole text is a form the redactor searches for, as that form.
fn form(secret: &str, how: usize) -> String {
    encode(secret, how)
        .trim_matches('"')
        .trim_end_matches('=')
        .to_string()
}

/// Whether `shown` holds 8 characters in a row of `form`, in any ASCII case.
fn shows_part_of(form: &str, shown: &str) -> Option<String> {
    let chars: Vec<char> = form.to_lowercase().chars().collect();
    let shown = shown.to_lowercase();
    chars
        .windows(8)
        .map(|w| w.iter().collect::<String>())
        .find(|w| shown.contains(w.as_str()))
}

proptest! {
    /// A server may echo part of a secret (its first half, say) inside a longer text.
    #[test]
    fn a_part_of_a_secret_is_masked_wherever_it_stands(
        secret in "[!-~üé€]{8,40}",
        how in prop::sample::select(vec![0usize, 1, 3, 4, 5, 6, 7, 8, 9, 11, 12]),
        around in ("[a-z§¶ {}:\"]{0,12}", "[a-z§¶ {}:\"]{0,12}"),
        from in any::<Index>(),
        length in any::<Index>(),
    ) {
        // A URL's parts count only where a cut leaves them (its host is no secret elsewhere).
        prop_assume!(url::Url::parse(&secret).is_err());
        let redactor = Redactor::new();
        redactor.add_secret(&secret);
        let form = form(&secret, how);
        let chars: Vec<char> = form.chars().collect();
        prop_assume!(chars.len() >= 8);
        let from = from.index(chars.len() - 7);
        let length = 8 + length.index(chars.len() - from - 7);
        let part: String = chars[from..from + length].iter().collect();
        let text = format!("{}{part}{}", around.0, around.1);
        let shown = redactor.scrub(&text).into_owned();
        prop_assert!(
            shows_part_of(&form, &shown).is_none(),
            "{:?} of encoding {how} ({part:?}) in {shown:?}",
            shows_part_of(&form, &shown)
        );
    }
}

#[test]
fn a_connection_url_keeps_its_host_and_loses_its_password() {
    let redactor = Redactor::new();
    redactor.add_secret("Np9xQ2vL7kR4-owner");
    let shown = redactor.scrub(
        "cannot connect to postgresql://owner:Np9xQ2vL7kR4-owner@ep-cool-1.eu-central-1.aws.neon.tech/db",
    );
    assert!(
        shown.contains("@ep-cool-1.eu-central-1.aws.neon.tech/db"),
        "{shown}"
    );
    assert!(!shown.contains("Np9xQ2vL"), "{shown}");
}

#[test]
fn a_connection_url_registered_whole_masks_its_password_but_not_its_names() {
    let redactor = Redactor::new();
    let url = "postgresql://app_role:Np9xQ2vL7kR4-app@ep-cool-1.eu-central-1.aws.neon.tech/neondb";
    redactor.add_secret(url);
    assert_eq!(
        redactor.scrub("role app_role on neondb"),
        "role app_role on neondb"
    );
    assert_eq!(redactor.scrub("neondb_app"), "neondb_app");
    let text = format!("cannot connect: {url}");
    let shown = redactor.scrub(&text);
    assert!(!shown.contains("Np9xQ2vL7kR4"), "{shown}");
    let shown = redactor.scrub("password Np9xQ2vL7kR4-app was refused");
    assert!(!shown.contains("Np9xQ2vL"), "{shown}");
}
