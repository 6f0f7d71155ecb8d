//! The built-in rules: known secret formats, credentialed connection strings, and secret-
//! looking assignments of enough entropy, with the look-alikes that are not findings
//! (references such as `${{ secrets.X }}` or `${VAR}`, placeholders, loopback and service
//! container URLs, documentation examples). A file is searched in one pass of a `RegexSet`;
//! only the rules that matched search it again, line by line, for positions.

use regex::bytes::{Regex, RegexSet};

use crate::checks::entropy;

/// A rule: what it finds, in which set, and how a match is judged.
pub struct Rule {
    /// Its id, as findings and allow entries name it.
    pub id: &'static str,
    /// The set a checklist chooses it by.
    set: &'static str,
    /// The pattern; the group `secret` is the secret (none: the whole match is shown
    /// masked, as a private key's armour line is).
    pattern: &'static str,
    /// How a match is judged beyond the pattern.
    judge: Judge,
}

#[derive(Clone, Copy, PartialEq)]
enum Judge {
    /// The format is the proof; only placeholders and references are let through.
    Format,
    /// An assignment: also needs this many bits of entropy and letters and digits.
    Entropy(f64),
    /// A URL's password: its host must not be loopback or a service container.
    Credentialed,
}

/// The rules, most specific first: on one line the first rule that finds a secret keeps it.
pub const RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        set: "secrets",
        // The armour with a key after it: at the end of its line (a key file), or followed by
        // an escaped newline and the key (a JSON credentials file); not the armour alone in a
        // string, as code that recognises keys has it.
        pattern: r"(?m)-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[ \t\r]*$|\\n[A-Za-z0-9+/=]{20,})",
        judge: Judge::Format,
    },
    Rule {
        id: "github-token",
        set: "secrets",
        pattern: r"\b(?P<secret>(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,255})\b",
        judge: Judge::Format,
    },
    Rule {
        id: "google-oauth-secret",
        set: "secrets",
        pattern: r"(?P<secret>GOCSPX-[A-Za-z0-9_-]{28})",
        judge: Judge::Format,
    },
    Rule {
        id: "aws-access-key",
        set: "secrets",
        pattern: r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b",
        judge: Judge::Format,
    },
    Rule {
        id: "slack-token",
        set: "secrets",
        pattern: r"\b(?P<secret>xox[abposr]-[A-Za-z0-9-]{10,})",
        judge: Judge::Format,
    },
    Rule {
        id: "resend-api-key",
        set: "secrets",
        pattern: r"\b(?P<secret>re_[A-Za-z0-9]{6,}_[A-Za-z0-9]{16,})\b",
        judge: Judge::Format,
    },
    Rule {
        id: "sentry-dsn-secret",
        set: "secrets",
        pattern: r"https?://[0-9a-f]{32}:(?P<secret>[0-9a-f]{32})@",
        judge: Judge::Format,
    },
    Rule {
        id: "jwt",
        set: "secrets",
        pattern: r"\b(?P<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
        judge: Judge::Format,
    },
    Rule {
        id: "authjs-secret",
        set: "secrets",
        pattern: r#"\bsecret\s*:\s*["'`](?P<secret>[^"'`\s]{12,})["'`]"#,
        judge: Judge::Entropy(48.0),
    },
    Rule {
        id: "connection-string",
        set: "connection-strings",
        pattern: r#"\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|rediss?|amqps?)://[^:/?#\s@'"]+:(?P<secret>[^@/?#\s'"]+)@(?P<host>\[[^\]\s]+\]|[^/?#\s:'"]+)"#,
        judge: Judge::Credentialed,
    },
    Rule {
        id: "generic-secret",
        set: "secrets",
        pattern: r#"(?i)\b(?P<name>[A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|_KEY|APIKEY))\b["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9+/=_.~!@%^&*-]{12,})(?:$|[\s"'`,;#)\]}])"#,
        judge: Judge::Entropy(64.0),
    },
];

/// A rule ready to match.
struct Compiled {
    id: &'static str,
    judge: Judge,
    regex: Regex,
}

/// The rules of the chosen sets, compiled.
pub struct Rules {
    chosen: Vec<Compiled>,
    set: RegexSet,
}

/// An assignment to one of the checklist's secret names (`secret_names`): a finding
/// whatever the value's entropy, placeholders and references aside.
fn named(names: &[String]) -> Option<String> {
    if names.is_empty() {
        return None;
    }
    let names: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
    Some(format!(
        r#"\b(?:{})\b["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9+/=_.~!@%^&*-]{{8,}})(?:$|[\s"'`,;#)\]}}])"#,
        names.join("|")
    ))
}

/// A secret a rule found on a line.
pub struct Hit {
    /// The rule.
    pub rule: &'static str,
    /// The secret's span in the line (the whole match when the rule has no secret group).
    pub span: std::ops::Range<usize>,
    /// Whether the span is a secret to register (a private key's armour line is not).
    pub secret: bool,
}

impl Rules {
    /// The rules of `sets`, and with the `secrets` set, assignments to `names`.
    pub fn new(sets: &[String], names: &[String]) -> Self {
        let wanted = |set: &str| sets.iter().any(|s| s == set);
        let mut patterns: Vec<(&'static str, Judge, String)> = Vec::new();
        if wanted("secrets") {
            if let Some(pattern) = named(names) {
                patterns.push(("named-secret", Judge::Format, pattern));
            }
        }
        patterns.extend(
            RULES
                .iter()
                .filter(|r| wanted(r.set))
                .map(|r| (r.id, r.judge, r.pattern.to_string())),
        );
        let set =
            RegexSet::new(patterns.iter().map(|(_, _, p)| ascii(p))).expect("the rules compile");
        let chosen = patterns
            .into_iter()
            .map(|(id, judge, pattern)| Compiled {
                id,
                judge,
                regex: Regex::new(&ascii(&pattern)).expect("the rules compile"),
            })
            .collect();
        Self { chosen, set }
    }

    /// Whether there are any.
    pub fn is_empty(&self) -> bool {
        self.chosen.is_empty()
    }

    /// The hits in `text`, by line (1-based): one pass over the whole text, then a line
    /// search by the rules that matched only.
    pub fn search(&self, text: &[u8]) -> Vec<(usize, std::ops::Range<usize>, Vec<Hit>)> {
        let matched: Vec<usize> = self.set.matches(text).into_iter().collect();
        if matched.is_empty() {
            return Vec::new();
        }
        let mut found = Vec::new();
        let mut offset = 0;
        for (number, line) in text.split(|&b| b == b'\n').enumerate() {
            let range = offset..offset + line.strip_suffix(b"\r").unwrap_or(line).len();
            offset += line.len() + 1;
            let hits = self.line(&text[range.clone()], &matched);
            if !hits.is_empty() {
                found.push((number + 1, range, hits));
            }
        }
        found
    }

    fn line(&self, line: &[u8], matched: &[usize]) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        for &i in matched {
            let rule = &self.chosen[i];
            for caps in rule.regex.captures_iter(line) {
                let whole = caps.get(0).expect("a match");
                let (span, secret) = match caps.name("secret") {
                    Some(m) => (m.range(), true),
                    None => (whole.range(), false),
                };
                if hits.iter().any(|h| overlaps(&h.span, &span)) {
                    continue;
                }
                let value = String::from_utf8_lossy(&line[span.clone()]);
                if secret && lookalike(&value) {
                    continue;
                }
                let keep = match rule.judge {
                    // A token assigned to a public name (a Supabase anon key, a
                    // `NEXT_PUBLIC_…` value) is shipped to browsers by design.
                    Judge::Format => !(rule.id == "jwt" && public(&line[..span.start])),
                    Judge::Entropy(min) => {
                        let name = caps.name("name").map(|n| n.as_bytes());
                        !name.is_some_and(public)
                            && mixed(&value)
                            && !identifier(&value)
                            && entropy::bits(&value) >= min
                    }
                    Judge::Credentialed => caps
                        .name("host")
                        .is_some_and(|h| !local_host(&String::from_utf8_lossy(h.as_bytes()))),
                };
                if keep {
                    hits.push(Hit {
                        rule: rule.id,
                        span,
                        secret,
                    });
                }
            }
        }
        hits.sort_by_key(|h| h.span.start);
        hits
    }
}

/// A pattern matched byte by byte with ASCII classes and word boundaries: the rules are
/// ASCII, and Unicode word boundaries would cost the fast matching engines.
fn ascii(pattern: &str) -> String {
    format!("(?-u){pattern}")
}

fn overlaps(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Letters and digits both: what a generated secret almost always has, and a word or an
/// identifier seldom does.
fn mixed(value: &str) -> bool {
    value.bytes().any(|c| c.is_ascii_alphabetic()) && value.bytes().any(|c| c.is_ascii_digit())
}

/// Text that names a public value: `PUBLIC` or `ANON_KEY` in it, in any case or spelling
/// (`anonKey`, `anon-key`).
fn public(text: &[u8]) -> bool {
    let upper: Vec<u8> = text
        .iter()
        .filter(|c| !matches!(c, b'_' | b'-'))
        .map(u8::to_ascii_uppercase)
        .collect();
    [&b"PUBLIC"[..], b"ANONKEY"]
        .iter()
        .any(|p| upper.windows(p.len()).any(|w| w == *p))
}

/// A lowercase identifier such as `app-theme-v2` or `session_cookie.v3`: parts joined by `-`,
/// `_` or `.`, each a lowercase word, a number or a short tag. A generated secret has
/// capitals, or long runs that mix letters and digits.
fn identifier(value: &str) -> bool {
    let parts: Vec<&str> = value.split(['-', '_', '.']).collect();
    parts.len() > 1
        && parts.iter().all(|p| {
            p.len() <= 3
                || p.bytes().all(|c| c.is_ascii_lowercase())
                || p.bytes().all(|c| c.is_ascii_digit())
        })
}

/// A value that is not a secret but stands for one: a reference to a variable or a CI
/// secret, a placeholder, or an example.
pub fn lookalike(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let trimmed = lower.trim_matches(|c: char| c == '"' || c == '\'' || c == '`');
    if trimmed.is_empty()
        || trimmed.starts_with('$')
        || trimmed.starts_with('%')
        || trimmed.starts_with("process.env")
        || trimmed.starts_with("env(")
        || trimmed.starts_with("env.")
        || trimmed.starts_with("secrets.")
        || trimmed.contains("${")
        || trimmed.contains("{{")
    {
        return true;
    }
    const PLACEHOLDERS: &[&str] = &[
        "changeme",
        "change-me",
        "change_me",
        "your-",
        "your_",
        "<",
        "xxx",
        "example",
        "placeholder",
        "dummy",
        "redacted",
        "replace",
        "todo",
        "***",
        "...",
        "…",
    ];
    if PLACEHOLDERS.iter().any(|p| trimmed.contains(p)) {
        return true;
    }
    // A whole value that is a word people write where a secret goes.
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "pass",
        "pw",
        "pwd",
        "secret",
        "postgres",
        "root",
        "admin",
        "user",
        "test",
        "none",
        "null",
        "undefined",
        "true",
        "false",
    ];
    let first = trimmed.chars().next().unwrap_or_default();
    WORDS.contains(&trimmed) || trimmed.chars().all(|c| c == first)
}

/// A host that is this machine or a CI service container (a single-label name such as
/// `postgres` or `db`), or an example domain.
fn local_host(host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "::1"
        || host == "0.0.0.0"
        || host == "host.docker.internal"
        || !host.contains('.')
        || host.contains("example.")
        || host.ends_with(".invalid")
        || host.ends_with(".test")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_hit(line: &str) -> Vec<&'static str> {
        let rules = Rules::new(
            &["secrets".into(), "connection-strings".into()],
            &["APP_SECRET".into(), "APP_SECRET_1".into()],
        );
        rules
            .search(line.as_bytes())
            .into_iter()
            .flat_map(|(_, _, hits)| hits.into_iter().map(|h| h.rule))
            .collect()
    }

    #[test]
    fn each_known_format_is_found() {
        let cases = [
            ("-----BEGIN OPENSSH PRIVATE KEY-----", "private-key"),
            (r#""private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC""#, "private-key"),
            ("token: ghp_0123456789abcdefghijABCDEFGHIJ012345", "github-token"),
            ("OAUTH_CLIENT_SECRET=GOCSPX-AbCdEfGhIjKlMnOpQrStUvWxYz12", "google-oauth-secret"),
            ("key = AKIAZ3MLQ7VXWTR4PB2N", "aws-access-key"),
            ("MAIL_API_KEY=re_9KfP3x2a_Zq8LmN4vB7cX1sD5fG2hJ", "resend-api-key"),
            ("ERRORS_DSN=https://0123456789abcdef0123456789abcdef:fedcba9876543210fedcba9876543210@o1.ingest.sentry.io/1", "sentry-dsn-secret"),
            ("APP_SECRET=Yq3vQn8mZr1Lk5Tw9Xb2Hc7Pd4Sf6Gj0", "named-secret"),
            ("APP_SECRET_1: devsecretdevsecret", "named-secret"),
            ("NextAuth({ secret: \"Yq3vQn8mZr1Lk5Tw9Xb2\" })", "authjs-secret"),
            ("DATABASE_URL=postgresql://app:Np9xQ2vL7kR4@ep-cool-1.eu-central-1.aws.neon.tech/db", "connection-string"),
            ("STRIPE_TOKEN=sk9f8a7s6d5f4g3h2j1k0lqwe", "generic-secret"),
            ("STRIPE_TOKEN=sk-live-9f8a7s6d5f4g3h2j1k0lqwe", "generic-secret"),
            ("SERVICE_ROLE_KEY=eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZSJ9.c2lnbmF0dXJlLXZhbHVl", "jwt"),
        ];
        for (line, rule) in cases {
            assert_eq!(rules_hit(line), vec![rule], "{line}");
        }
    }

    #[test]
    fn look_alikes_are_not_found() {
        for line in [
            "APP_SECRET: ${{ secrets.APP_SECRET }}",
            "APP_SECRET=${APP_SECRET}",
            "APP_SECRET=",
            "APP_SECRET=changeme-please",
            "APP_SECRET_1=<your-secret>",
            "NextAuth({ secret: process.env.APP_SECRET })",
            "DATABASE_URL: postgres://postgres:postgres@localhost:5432/test",
            "DATABASE_URL: postgres://postgres:postgres@postgres:5432/test",
            "url = \"postgresql://user:password@example.com/db\"",
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "NEXT_PUBLIC_SUPABASE_ANON_KEY=abc123def456ghi789jkl",
            "SESSION_TOKEN_COOKIE=authjs.session-token",
            "PASSWORD_MIN_LENGTH=12",
            "let token = uuid::Uuid::now_v7().to_string();",
            "if text.contains(\"-----BEGIN RSA PRIVATE KEY-----\") {",
            "DATABASE_URL=postgres://app:secret@db.internal.example.net/app",
            "const THEME_STORAGE_KEY = \"app-theme-v2\";",
            "SESSION_COOKIE_KEY=relcon_session.v3",
            "NEXT_PUBLIC_SUPABASE_ANON_KEY=eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLXZhbHVl",
            "supabaseAnonKey: eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLXZhbHVl",
        ] {
            assert!(rules_hit(line).is_empty(), "{line}: {:?}", rules_hit(line));
        }
    }
}
