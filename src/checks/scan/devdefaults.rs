//! The `dev-defaults` rules: development values (`devsecret`, `changeme`…) as the values of
//! secret-looking names in the env files a deployment loads. Files are parsed (dotenv with
//! quotes, `export` and comments; `wrangler.toml`'s `[vars]` tables) so that values are
//! compared, not keys or comments, and a word counts only as the whole value or a whole
//! token of it (`noreply@example.com` holds no `example` token worth a finding… unless
//! `example` is one of the words and stands alone).

/// Whether `path` is an env file a deployment loads: `.env`, `.env.*` other than the
/// templates, `.dev.vars`, `wrangler.toml`.
pub fn is_env_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name == "wrangler.toml" || name == ".dev.vars" || name == ".env" {
        return true;
    }
    name.strip_prefix(".env.").is_some_and(|rest| {
        !matches!(
            rest,
            "example" | "sample" | "template" | "dist" | "defaults" | "schema"
        )
    })
}

/// A name that holds a secret or a credential.
pub fn secret_looking(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "KEY",
        "AUTH",
        "CREDENTIAL",
        "DSN",
        "URL",
        "CONN",
    ]
    .iter()
    .any(|w| upper.contains(w))
}

/// The assignments of an env file: (line, name, value).
pub fn assignments(path: &str, text: &str) -> Vec<(usize, String, String)> {
    let wrangler = path.rsplit('/').next() == Some("wrangler.toml");
    let mut section_is_vars = false;
    let mut found = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if wrangler {
            if line.starts_with('[') {
                let name = line.trim_matches(|c| c == '[' || c == ']').trim();
                section_is_vars = name == "vars" || name.ends_with(".vars");
                continue;
            }
            if !section_is_vars {
                continue;
            }
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, rest)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim().trim_matches('"');
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            continue;
        }
        found.push((i + 1, name.to_string(), value(rest.trim())));
    }
    found
}

/// A dotenv value: quoted (to its closing quote) or bare (to a ` #` comment).
fn value(rest: &str) -> String {
    for quote in ['"', '\'', '`'] {
        if let Some(inner) = rest.strip_prefix(quote) {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if quote == '"' => {
                        if let Some(next) = chars.next() {
                            out.push(next);
                        }
                    }
                    c if c == quote => break,
                    c => out.push(c),
                }
            }
            return out;
        }
    }
    match rest.find(" #") {
        Some(at) => rest[..at].trim().to_string(),
        None => rest.to_string(),
    }
}

/// The first of `words` that is all of `value` or a whole token of it (bounded by
/// characters other than letters and digits), case-insensitively.
pub fn dev_word<'w>(value: &str, words: &'w [String]) -> Option<&'w str> {
    let lower = value.to_ascii_lowercase();
    words.iter().map(String::as_str).find(|word| {
        let word = word.to_ascii_lowercase();
        if word.is_empty() {
            return false;
        }
        lower.match_indices(&word).any(|(at, _)| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + word.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_parsed_and_words_match_whole_tokens() {
        let text = "# APP_SECRET=devsecret in a comment\nexport APP_SECRET=\"dev-secret\" # local\nEMAIL_FROM=noreply@example.com\nDB_URL='postgres://u:changeme@h/db'\nPLAIN=abc # note\n";
        let found = assignments(".env", text);
        assert_eq!(
            found,
            vec![
                (2, "APP_SECRET".into(), "dev-secret".into()),
                (3, "EMAIL_FROM".into(), "noreply@example.com".into()),
                (4, "DB_URL".into(), "postgres://u:changeme@h/db".into()),
                (5, "PLAIN".into(), "abc".into()),
            ]
        );
        let words: Vec<String> = ["devsecret", "dev-secret", "changeme", "secret"]
            .map(String::from)
            .to_vec();
        assert_eq!(dev_word("dev-secret", &words), Some("dev-secret"));
        assert_eq!(
            dev_word("postgres://u:changeme@h/db", &words),
            Some("changeme")
        );
        assert_eq!(dev_word("supersecretvalue", &words), None);
        let wrangler = "[vars]\nAPP_SECRET = \"changeme\"\n[env.production.vars]\nAPI_KEY = \"devsecret\"\n[other]\nKEY = \"changeme\"\n";
        let found = assignments("wrangler.toml", wrangler);
        assert_eq!(found.len(), 2);
        assert!(is_env_file("apps/web/.env.production"));
        assert!(!is_env_file(".env.example"));
    }
}
