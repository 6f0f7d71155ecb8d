//! Random byte edits of the shipped checklist never panic the reader, and every problem it
//! reports renders with a location inside the file.

use proptest::prelude::*;
use relcon::checklist::Checklist;

const SHIPPED: &[u8] = include_bytes!("../checklists/authjs-neon.toml");

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

/// Bytes that matter to TOML, templates and conditions, plus arbitrary ones.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"[]{}=\"'\\$#,.\n\r\t -:(){}&|!0123456789aZ_".to_vec()),
        any::<u8>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = 0..SHIPPED.len();
    prop_oneof![
        (at.clone(), interesting_byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (at.clone(), prop::collection::vec(interesting_byte(), 1..6))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (at, 1..40usize).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

fn apply(edits: &[Edit]) -> Vec<u8> {
    let mut bytes = SHIPPED.to_vec();
    for edit in edits {
        match edit {
            Edit::Replace(i, b) => {
                let i = *i % bytes.len().max(1);
                if let Some(slot) = bytes.get_mut(i) {
                    *slot = *b;
                }
            }
            Edit::Insert(i, new) => {
                let i = (*i).min(bytes.len());
                bytes.splice(i..i, new.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = (*i).min(bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
        }
    }
    bytes
}

fn check(bytes: &[u8]) {
    if let Err(invalid) = Checklist::from_bytes("fuzz.toml", bytes) {
        assert!(!invalid.problems.is_empty());
        for problem in &invalid.problems {
            assert!(
                problem.span.start <= bytes.len(),
                "span {:?} past the end",
                problem.span
            );
            let text = invalid.source.render(problem);
            assert!(text.starts_with("fuzz.toml:"), "{text}");
            assert!(text.contains("= hint: "), "{text}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_never_panic(edits in prop::collection::vec(edit(), 1..8)) {
        check(&apply(&edits));
    }

    #[test]
    fn every_truncation_is_handled(cut in 0..SHIPPED.len()) {
        check(&SHIPPED[..cut]);
    }
}
