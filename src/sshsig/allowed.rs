//! Allowed signers: who may sign what, in the file format of ssh-keygen(1) "ALLOWED
//! SIGNERS", and the two questions relcon asks of it: which principals a key stands for
//! (`ssh-keygen -Y find-principals`), and whether a principal may have signed with a key in
//! a namespace at a time (the trust part of `ssh-keygen -Y verify -I principal`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ssh_key::{HashAlg, PublicKey};

use super::line::{self, Line};
use super::pattern::matches_list;

/// A parsed allowed_signers file: key lines in file order (blank and comment lines dropped).
#[derive(Debug, Clone)]
pub struct AllowedSigners {
    lines: Vec<(usize, Line)>,
}

/// Why an allowed_signers file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowedSignersError {
    /// The file could not be read.
    #[error("cannot read allowed signers file {path}: {why}")]
    Read {
        /// The file.
        path: String,
        /// The system's reason.
        why: String,
    },
    /// A line does not follow the format.
    #[error("{source_name} line {line}: {why}")]
    Line {
        /// The file, or "allowed signers" for text that came from elsewhere.
        source_name: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong and what was expected.
        why: String,
    },
}

/// Why a principal's signature is not trusted, from the most basic reason to the most
/// specific.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No line lists the key.
    #[error("the key {fingerprint} is not in the allowed signers: add a line \"PRINCIPAL KEYTYPE BASE64\" for it")]
    KeyNotListed {
        /// The key's fingerprint.
        fingerprint: String,
    },
    /// The key is listed, but not for this principal.
    #[error("the key {fingerprint} is not allowed for {principal}: the lines that list it name other principals")]
    PrincipalNotAllowed {
        /// The principal asked about.
        principal: String,
        /// The key's fingerprint.
        fingerprint: String,
    },
    /// The line for this principal and key restricts namespaces, excluding this one.
    #[error("line {line}: the key of {principal} may sign only in namespaces \"{allowed}\", not \"{namespace}\"")]
    NamespaceNotAllowed {
        /// The line number.
        line: usize,
        /// The principal asked about.
        principal: String,
        /// The signature's namespace.
        namespace: String,
        /// The namespace patterns of the line.
        allowed: String,
    },
    /// The line for this principal and key is not valid yet at that time.
    #[error("line {line}: the key of {principal} is valid only from {} (valid-after), checked at {}", rfc3339(*.valid_after), rfc3339(*.at))]
    NotYetValid {
        /// The line number.
        line: usize,
        /// The principal asked about.
        principal: String,
        /// When the key becomes valid.
        valid_after: SystemTime,
        /// The time checked.
        at: SystemTime,
    },
    /// The line for this principal and key has expired at that time.
    #[error("line {line}: the key of {principal} expired at {} (valid-before), checked at {}", rfc3339(*.valid_before), rfc3339(*.at))]
    Expired {
        /// The line number.
        line: usize,
        /// The principal asked about.
        principal: String,
        /// When the key stopped being valid.
        valid_before: SystemTime,
        /// The time checked.
        at: SystemTime,
    },
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

fn system_time(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds.max(0).unsigned_abs())
}

/// Seconds since the Unix epoch, rounded down, as `ssh-keygen` compares times.
fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX) - 1,
    }
}

/// Why one line, listing the key and the principal, does not allow a signature.
enum LineRefusal {
    Namespace,
    NotYet,
    Expired,
}

impl AllowedSigners {
    /// Reads allowed_signers text; `source_name` names it in errors (a path, usually).
    pub fn parse(text: &str, source_name: &str) -> Result<Self, AllowedSignersError> {
        let mut lines = Vec::new();
        for (index, text) in text.lines().enumerate() {
            let number = index + 1;
            match line::parse(text) {
                Ok(Some(line)) => lines.push((number, line)),
                Ok(None) => {}
                Err(why) => {
                    return Err(AllowedSignersError::Line {
                        source_name: source_name.to_string(),
                        line: number,
                        why,
                    })
                }
            }
        }
        Ok(Self { lines })
    }

    /// Reads an allowed_signers file. It is small and read once: plain blocking I/O (call
    /// it from `spawn_blocking` in async code).
    pub fn from_file(path: &Path) -> Result<Self, AllowedSignersError> {
        let shown = path.display().to_string();
        let text = crate::files::read_text_capped(path, crate::files::CAP).map_err(|e| {
            AllowedSignersError::Read {
                path: shown.clone(),
                why: e.to_string(),
            }
        })?;
        Self::parse(&text, &shown)
    }

    /// The principals of the first line that lists `key`, allows `namespace` and is valid
    /// `at` that time, as written there (patterns included, one entry per comma), the way
    /// `ssh-keygen -Y find-principals` prints them; empty when no line does.
    ///
    /// One difference from OpenSSH 9.2: its find-principals ignores `namespaces=`, so it
    /// may name a line whose key may not sign in that namespace at all. relcon skips such
    /// a line, so that a name it shows is one that `check` (and `ssh-keygen -Y verify`)
    /// would accept for that namespace.
    pub fn find_principals(&self, key: &PublicKey, namespace: &str, at: SystemTime) -> Vec<String> {
        let at = unix_seconds(at);
        self.lines
            .iter()
            .find(|(_, line)| line.key == *key.key_data() && refusal(line, namespace, at).is_none())
            .map(|(_, line)| {
                line.principals
                    .split(',')
                    .filter(|entry| !entry.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether `principal` may have signed with `key` in `namespace` at time `at`: true when
    /// some line lists the key with a principal pattern that `principal` matches, allows the
    /// namespace and is valid then (`valid-after` ≤ at ≤ `valid-before`, in whole seconds).
    /// Otherwise the refusal says why: the key is listed nowhere, or not for this
    /// principal, or else what the first line listing both has against it.
    pub fn check(
        &self,
        principal: &str,
        key: &PublicKey,
        namespace: &str,
        at: SystemTime,
    ) -> Result<(), Refusal> {
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let seconds = unix_seconds(at);
        let listing: Vec<&(usize, Line)> = self
            .lines
            .iter()
            .filter(|(_, line)| line.key == *key.key_data())
            .collect();
        if listing.is_empty() {
            return Err(Refusal::KeyNotListed { fingerprint });
        }
        let mut first_refused = None;
        for (number, line) in listing {
            if !matches_list(principal, &line.principals) {
                continue;
            }
            match refusal(line, namespace, seconds) {
                None => return Ok(()),
                Some(why) => {
                    first_refused.get_or_insert((*number, line, why));
                }
            }
        }
        let principal = principal.to_string();
        let Some((number, line, why)) = first_refused else {
            return Err(Refusal::PrincipalNotAllowed {
                principal,
                fingerprint,
            });
        };
        Err(match why {
            LineRefusal::Namespace => Refusal::NamespaceNotAllowed {
                line: number,
                principal,
                namespace: namespace.to_string(),
                allowed: line.namespaces.clone().unwrap_or_default(),
            },
            LineRefusal::NotYet => Refusal::NotYetValid {
                line: number,
                principal,
                valid_after: system_time(line.valid_after.unwrap_or_default()),
                at,
            },
            LineRefusal::Expired => Refusal::Expired {
                line: number,
                principal,
                valid_before: system_time(line.valid_before.unwrap_or_default()),
                at,
            },
        })
    }
}

/// Why a line that lists the key does not allow a signature in `namespace` at `at` (Unix
/// seconds), in the order `ssh-keygen` checks: namespace, then valid-after, valid-before.
fn refusal(line: &Line, namespace: &str, at: i64) -> Option<LineRefusal> {
    if let Some(allowed) = &line.namespaces {
        if !matches_list(namespace, allowed) {
            return Some(LineRefusal::Namespace);
        }
    }
    if line.valid_after.is_some_and(|after| at < after) {
        return Some(LineRefusal::NotYet);
    }
    if line.valid_before.is_some_and(|before| at > before) {
        return Some(LineRefusal::Expired);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti";

    fn alice() -> PublicKey {
        PublicKey::from_openssh(ALICE).expect("key")
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    /// 2025-01-01T00:00:00Z.
    const NOW: u64 = 1_735_689_600;

    #[test]
    fn errors_name_the_source_and_line() {
        let text = format!("# trusted\n\nalice {ALICE}\nbob cert-authority {ALICE}\n");
        let error = AllowedSigners::parse(&text, "team/allowed_signers").expect_err("refused");
        let shown = error.to_string();
        assert!(
            shown.starts_with("team/allowed_signers line 4: cert-authority"),
            "{shown}"
        );
    }

    #[test]
    fn a_key_stands_for_the_first_valid_line_that_lists_it() {
        let text = format!(
            "old@x valid-before=\"20200101Z\" {ALICE}\n\
             git@x namespaces=\"git\" {ALICE}\n\
             alice@x,*@ops,!mallory {ALICE}\n\
             later@x {ALICE}\n"
        );
        let signers = AllowedSigners::parse(&text, "t").expect("valid");
        assert_eq!(
            signers.find_principals(&alice(), "relcon-report", at(NOW)),
            ["alice@x", "*@ops", "!mallory"]
        );
        assert_eq!(signers.find_principals(&alice(), "git", at(NOW)), ["git@x"]);
        assert_eq!(
            signers.find_principals(&alice(), "git", at(1_500_000_000)),
            ["old@x"]
        );
    }

    #[test]
    fn check_says_why_from_the_most_basic_reason() {
        let text = format!(
            "alice@x namespaces=\"relcon-*\",valid-after=\"20240101Z\",valid-before=\"20260101Z\" {ALICE}\n"
        );
        let signers = AllowedSigners::parse(&text, "t").expect("valid");
        let key = alice();
        assert_eq!(
            signers.check("alice@x", &key, "relcon-report", at(NOW)),
            Ok(())
        );
        let other = PublicKey::from_openssh(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEUn0QkJkSLOf4Lzh5gvuBJgg6Ny4bPEXAN8KAjZcw8B",
        )
        .expect("key");
        assert!(matches!(
            signers.check("alice@x", &other, "relcon-report", at(NOW)),
            Err(Refusal::KeyNotListed { .. })
        ));
        assert!(matches!(
            signers.check("bob@x", &key, "relcon-report", at(NOW)),
            Err(Refusal::PrincipalNotAllowed { .. })
        ));
        assert!(matches!(
            signers.check("alice@x", &key, "git", at(NOW)),
            Err(Refusal::NamespaceNotAllowed { line: 1, .. })
        ));
        let early = signers.check("alice@x", &key, "relcon-report", at(1_700_000_000));
        assert!(
            matches!(early, Err(Refusal::NotYetValid { .. })),
            "{early:?}"
        );
        let late = signers.check("alice@x", &key, "relcon-report", at(1_800_000_000));
        let Err(refusal) = late else {
            panic!("expired")
        };
        assert_eq!(
            refusal.to_string(),
            "line 1: the key of alice@x expired at 2026-01-01T00:00:00Z (valid-before), checked at 2027-01-15T08:00:00Z"
        );
    }

    #[test]
    fn the_limits_themselves_are_inside() {
        let text = format!("a valid-after=\"20240101Z\",valid-before=\"20240102Z\" {ALICE}\n");
        let signers = AllowedSigners::parse(&text, "t").expect("valid");
        let (after, before) = (1_704_067_200, 1_704_153_600);
        for (seconds, ok) in [
            (after - 1, false),
            (after, true),
            (before, true),
            (before + 1, false),
        ] {
            assert_eq!(
                signers.check("a", &alice(), "n", at(seconds)).is_ok(),
                ok,
                "{seconds}"
            );
        }
    }
}
