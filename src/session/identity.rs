//! People's names as sign-offs record them: cleaned of what could drive a terminal or hide
//! in a name, and compared so that names that look the same are the same person.

use unicode_normalization::UnicodeNormalization;

/// A name as it may be recorded and shown: control characters (which could drive a
/// terminal) and default-ignorable ones (zero-width spaces and joiners, soft hyphens, BOMs,
/// which make one name look like another) removed, spaces trimmed.
pub fn clean(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control() && !default_ignorable(*c))
        .collect::<String>()
        .trim()
        .to_string()
}

/// Unicode's default-ignorable code points that turn up in names.
fn default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// What a name is compared by: its UTS #39 confusable skeleton, taken of the name
/// NFKC-normalised and case-folded with default-ignorable characters removed. `alice`,
/// `ALICE`, `alice` with a zero-width space and `аlice` with a Cyrillic `а` all have one.
/// Mixed scripts are not refused: real names mix them.
pub fn person_key(name: &str) -> String {
    let folded = caseless::default_case_fold_str(&clean(name).nfkc().collect::<String>());
    let folded: String = folded.nfkc().filter(|c| !default_ignorable(*c)).collect();
    unicode_security::skeleton(&folded).collect()
}

/// One person is one signer, however the name is written or disguised.
pub fn same_person(a: &str, b: &str) -> bool {
    person_key(a) == person_key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_alike_are_one_person() {
        for disguise in [
            "alice",
            "ALICE",
            " Alice ",
            "ali\u{200B}ce",
            "\u{0430}lice",
            "\u{FF41}lice",
            "alic\u{0435}",
        ] {
            assert!(same_person("alice", disguise), "{disguise:?}");
        }
        for other in ["bob", "alicia", "alice2", "al ice"] {
            assert!(!same_person("alice", other), "{other:?}");
        }
        // Real names in other scripts stay themselves, and distinct.
        assert!(same_person("Jürgen", "JÜRGEN"));
        assert!(!same_person("Jürgen", "Jurgen"));
        assert!(same_person("Łukasz", "łukasz"));
        assert!(!same_person("张伟", "王伟"));
    }

    #[test]
    fn cleaning_removes_what_could_drive_a_terminal() {
        assert_eq!(clean("al\u{1b}[2Jice\u{200D}"), "al[2Jice");
    }
}
