//! OpenSSH patterns, as allowed_signers files use them for principals and namespaces: `*`
//! matches any run of characters, `?` any one character, everything else itself (case
//! matters). A list is comma-separated; an entry starting with `!` is negated. This follows
//! `match_pattern` and `match_pattern_list` of OpenSSH's match.c so that a file means the
//! same to relcon as to `ssh-keygen`.

/// Whether `text` matches one pattern.
pub fn matches(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // Iterative wildcard matching with one backtrack point: the last `*` seen and where the
    // text stood then. Linear memory, no recursion depth to worry about on hostile input.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    // Let the last `*` swallow one more character and try again.
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Whether `text` matches a comma-separated pattern list: true when some entry matches and
/// no negated (`!`) entry does. Entries are taken as written: OpenSSH trims no spaces, so
/// `"a, b"` holds the entry `" b"`, which `b` does not match.
pub fn matches_list(text: &str, list: &str) -> bool {
    let mut positive = false;
    for entry in list.split(',') {
        match entry.strip_prefix('!') {
            Some(negated) if matches(text, negated) => return false,
            Some(_) => {}
            None if matches(text, entry) => positive = true,
            None => {}
        }
    }
    positive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_openssh() {
        assert!(matches("alice@example.com", "*@example.com"));
        assert!(matches("alice@example.com", "alice@*"));
        assert!(matches("alice", "al?ce"));
        assert!(matches("", "*"));
        assert!(matches("abc", "a*b*c"));
        assert!(matches("aXbYc", "a*b*c"));
        assert!(matches("abcbc", "*bc"));
        assert!(!matches("alice", "al?"));
        assert!(!matches("alice", "Alice"), "case matters");
        assert!(!matches("alice@example.org", "*@example.com"));
        assert!(!matches("ab", "a?b"));
    }

    #[test]
    fn a_negated_entry_wins_over_any_positive_one() {
        assert!(matches_list("alice", "bob,alice"));
        assert!(matches_list("alice", "*,!bob"));
        assert!(!matches_list("bob", "*,!bob"));
        assert!(!matches_list("bob", "!bob,*"));
        assert!(
            !matches_list("carol", "!bob"),
            "a negation alone allows nobody"
        );
        assert!(!matches_list("bob", "alice, bob"), "no trimming of spaces");
        assert!(matches_list(" bob", "alice, bob"));
    }

    #[test]
    fn hostile_patterns_do_not_explode() {
        let text = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(200));
        assert!(!matches(&text, &pattern));
    }
}
