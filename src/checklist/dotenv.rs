//! Env files (`NAME=value` lines, as dotenv writes them), read literally: no `$VAR` is ever
//! expanded, from the file or from the process environment, so a value cannot pull a CI
//! token or another input's secret into itself. A value that looks like it expects
//! expansion is noted, so the operator learns it was taken as written.

/// One assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The variable's name.
    pub name: String,
    /// Its value, as written (quotes removed, escapes of double quotes applied).
    pub value: String,
    /// The 1-based line it starts on.
    pub line: usize,
    /// Whether the value holds `$NAME` or `${…}`, which dotenv tools would expand.
    pub unexpanded: bool,
}

/// Why a file could not be read: the 1-based line (its content is never shown: it may hold
/// a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine(pub usize);

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Whether `value` holds what a dotenv tool would expand: `$NAME` or `${…}`.
fn expands(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1] == b'{' || w[1] == b'_' || w[1].is_ascii_alphabetic()))
}

/// The assignments of `text`, later ones after earlier ones.
pub fn parse(text: &str) -> Result<Vec<Assignment>, BadLine> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let line = lines[i].trim_end_matches('\r').trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let (name, rest) = line.split_once('=').ok_or(BadLine(number))?;
        let name = name.trim_end();
        if !is_name(name) {
            return Err(BadLine(number));
        }
        let rest = rest.trim_start();
        let (value, quoted_single) = match rest.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                // A quoted value may span lines, up to its closing quote.
                let mut body = rest[1..].to_string();
                let close = loop {
                    if let Some(at) = closing(&body, quote) {
                        break at;
                    }
                    let Some(next) = lines.get(i) else {
                        return Err(BadLine(number));
                    };
                    body.push('\n');
                    body.push_str(next.trim_end_matches('\r'));
                    i += 1;
                };
                let after = body[close + 1..].trim();
                if !(after.is_empty() || after.starts_with('#')) {
                    return Err(BadLine(number));
                }
                let inner = &body[..close];
                if quote == '"' {
                    (unescape(inner), false)
                } else {
                    (inner.to_string(), true)
                }
            }
            _ => {
                // An inline comment starts at a `#` after whitespace.
                let end = rest
                    .char_indices()
                    .find(|&(at, c)| c == '#' && rest[..at].ends_with(|p: char| p.is_whitespace()))
                    .map_or(rest.len(), |(at, _)| at);
                (rest[..end].trim().to_string(), false)
            }
        };
        out.push(Assignment {
            name: name.to_string(),
            unexpanded: !quoted_single && expands(&value),
            value,
            line: number,
        });
    }
    Ok(out)
}

/// Where the closing `quote` is in `body` (a `\` escapes in double quotes).
fn closing(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (at, c) in body.char_indices() {
        match c {
            '\\' if quote == '"' && !escaped => escaped = true,
            c if c == quote && !escaped => return Some(at),
            _ => escaped = false,
        }
    }
    None
}

/// The escapes of a double-quoted value: `\n`, `\r`, `\t`, `\"`, `\\`, `\$`.
fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(other @ ('"' | '\\' | '$' | '\'')) => out.push(other),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String, usize, bool)> {
        parse(text)
            .expect("parses")
            .into_iter()
            .map(|a| (a.name, a.value, a.line, a.unexpanded))
            .collect()
    }

    #[test]
    fn values_are_literal_and_expansion_is_noted() {
        let text = "# comment\n\nexport A=plain value # note\nB='single $HOME'\nC=\"dq \\\"x\\\" \\n\"\nTRACKING_ID=${CI_DEPLOY_TOKEN}\nPW=pa$HOME\nPRICE=5$\nKEY=\"-----BEGIN\nline\n-----END\"\nHASH=a#b\n";
        assert_eq!(
            pairs(text),
            vec![
                ("A".into(), "plain value".into(), 3, false),
                ("B".into(), "single $HOME".into(), 4, false),
                ("C".into(), "dq \"x\" \n".into(), 5, false),
                ("TRACKING_ID".into(), "${CI_DEPLOY_TOKEN}".into(), 6, true),
                ("PW".into(), "pa$HOME".into(), 7, true),
                ("PRICE".into(), "5$".into(), 8, false),
                ("KEY".into(), "-----BEGIN\nline\n-----END".into(), 9, false),
                ("HASH".into(), "a#b".into(), 12, false),
            ]
        );
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        assert_eq!(parse("A=1\nnot an assignment\n"), Err(BadLine(2)));
        assert_eq!(parse("A=1\nB=\"never closed\n"), Err(BadLine(2)));
        assert_eq!(parse("1A=x\n"), Err(BadLine(1)));
    }
}
