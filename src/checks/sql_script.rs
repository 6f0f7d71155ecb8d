//! A SQL file read into statements the way psql splits it: at semicolons outside comments,
//! quoted strings and identifiers, dollar-quoted bodies, and the `BEGIN … END` of a
//! SQL-standard function body; each statement keeps the line it starts on. Statements that
//! cannot run inside the transaction a migration runs in are named.

/// One statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Its text, without the closing semicolon.
    pub text: String,
    /// The line of the file it starts on (1-based).
    pub line: usize,
    /// Its words outside strings, comments and quoted identifiers, upper-cased.
    words: Vec<String>,
}

impl Statement {
    /// The statement as shown: its passwords masked.
    pub fn shown(&self) -> String {
        mask_passwords(&self.text)
    }

    /// The statement's first line, shortened and its passwords masked, for messages.
    pub fn head(&self) -> String {
        let shown = self.shown();
        let first = shown.lines().next().unwrap_or_default().trim();
        let more = shown.trim().lines().count() > 1;
        let mut head: String = first.chars().take(80).collect();
        if more || first.chars().count() > 80 {
            head.push('…');
        }
        head
    }

    /// The table a data statement writes (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`,
    /// `MERGE INTO t`, `TRUNCATE t`, `COPY t FROM`), as written in the file.
    pub fn data_target(&self) -> Option<String> {
        let word = |i: usize| self.words.get(i).map(String::as_str).unwrap_or_default();
        let skip: &[&str] = match (word(0), word(1)) {
            ("INSERT" | "MERGE", "INTO") => &["INSERT", "MERGE", "INTO"],
            ("UPDATE", _) => &["UPDATE", "ONLY"],
            ("DELETE", "FROM") => &["DELETE", "FROM", "ONLY"],
            ("TRUNCATE", _) => &["TRUNCATE", "TABLE", "ONLY"],
            ("COPY", _) if self.words.iter().any(|w| w == "FROM") => &["COPY"],
            _ => return None,
        };
        let mut rest = self.text.trim_start();
        loop {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end > 0 && skip.contains(&rest[..end].to_uppercase().as_str()) {
                rest = rest[end..].trim_start();
            } else {
                break;
            }
        }
        // The name, quoted parts and all, up to what follows it.
        let mut name = String::new();
        let mut quoted = false;
        for c in rest.chars() {
            match c {
                '"' => quoted = !quoted,
                c if !quoted && (c.is_whitespace() || matches!(c, '(' | ';' | ',')) => break,
                _ => {}
            }
            name.push(c);
        }
        (!name.is_empty()).then_some(name)
    }

    /// Why the statement cannot run in a migration's transaction, if it cannot.
    pub fn refusal(&self) -> Option<String> {
        let word = |i: usize| self.words.get(i).map(String::as_str).unwrap_or_default();
        let control = matches!(
            (word(0), word(1)),
            (
                "BEGIN" | "COMMIT" | "ROLLBACK" | "END" | "ABORT" | "SAVEPOINT" | "RELEASE",
                _
            ) | ("START", "TRANSACTION")
                | ("PREPARE", "TRANSACTION")
        );
        if control {
            return Some(format!(
                "transaction control ({}) is not allowed: relcon runs the file in a transaction of its own; remove it",
                word(0)
            ));
        }
        if self.words.iter().any(|w| w == "CONCURRENTLY") {
            return Some("CONCURRENTLY cannot run inside a transaction: run it outside the migration, in a step of its own".into());
        }
        let outside = match (word(0), word(1)) {
            ("VACUUM", _) => Some("VACUUM"),
            ("CREATE" | "DROP", "DATABASE") => Some("CREATE/DROP DATABASE"),
            ("CREATE" | "DROP", "TABLESPACE") => Some("CREATE/DROP TABLESPACE"),
            ("ALTER", "SYSTEM") => Some("ALTER SYSTEM"),
            _ => None,
        };
        outside.map(|what| {
            format!("{what} cannot run inside a transaction: run it outside the migration")
        })
    }
}

/// `statements` without one outer `BEGIN; … COMMIT;` pair, as many migration runners write
/// files: relcon runs the file in a transaction of its own, which the pair would only
/// duplicate. Whether there was one. Any other transaction control stays (and is refused).
pub fn without_outer_transaction(mut statements: Vec<Statement>) -> (Vec<Statement>, bool) {
    let words = |s: &Statement| s.words.clone();
    let opens = statements.first().map(words).is_some_and(|w| {
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        matches!(
            w.as_slice(),
            ["BEGIN"] | ["BEGIN", "TRANSACTION" | "WORK"] | ["START", "TRANSACTION"]
        )
    });
    let closes = statements.len() >= 2
        && statements.last().map(words).is_some_and(|w| {
            let w: Vec<&str> = w.iter().map(String::as_str).collect();
            matches!(
                w.as_slice(),
                ["COMMIT" | "END"] | ["COMMIT" | "END", "TRANSACTION" | "WORK"]
            )
        });
    if opens && closes {
        statements.pop();
        statements.remove(0);
        (statements, true)
    } else {
        (statements, false)
    }
}

/// The statements of `source`, empty ones (only comments or blanks) left out.
pub fn split(source: &str) -> Vec<Statement> {
    let chars: Vec<char> = source.chars().collect();
    let mut statements = Vec::new();
    let mut text = String::new();
    let mut words: Vec<String> = Vec::new();
    let mut start_line: Option<usize> = None;
    let mut line = 1;
    // As psql: semicolons inside parentheses, or inside the BEGIN … END of a SQL-standard
    // function body (CASE … END nested in it), do not end a statement.
    let mut parens = 0usize;
    let mut depth = 0usize;
    let mut i = 0;
    let mut finish = |text: &mut String, words: &mut Vec<String>, start: &mut Option<usize>| {
        if let Some(line) = start.take() {
            statements.push(Statement {
                text: text.trim().to_string(),
                line,
                words: std::mem::take(words),
            });
        }
        text.clear();
        words.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // Comments belong to no statement until one starts; then they are kept verbatim.
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                if start_line.is_some() {
                    text.push(chars[i]);
                }
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nesting += 1;
                    push_chars(&mut text, &chars[i..i + 2], start_line.is_some(), &mut line);
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nesting -= 1;
                    push_chars(&mut text, &chars[i..i + 2], start_line.is_some(), &mut line);
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    push_chars(&mut text, &chars[i..i + 1], start_line.is_some(), &mut line);
                    i += 1;
                }
            }
            continue;
        }
        if c.is_whitespace() {
            push_chars(&mut text, &chars[i..i + 1], start_line.is_some(), &mut line);
            i += 1;
            continue;
        }
        if c == ';' && depth == 0 && parens == 0 {
            finish(&mut text, &mut words, &mut start_line);
            i += 1;
            continue;
        }
        start_line.get_or_insert(line);
        let end = match c {
            '\'' => {
                // E'…' strings take backslash escapes.
                let escapes = i > 0
                    && matches!(chars[i - 1], 'e' | 'E')
                    && words.last().is_some_and(|w| w == "E");
                quoted_end(&chars, i, '\'', escapes)
            }
            '"' => quoted_end(&chars, i, '"', false),
            '$' => dollar_end(&chars, i).unwrap_or(i + 1),
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i;
                while j < chars.len()
                    && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '$')
                {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect::<String>().to_uppercase();
                if parens == 0 && is_routine(&words) {
                    match word.as_str() {
                        "BEGIN" => depth += 1,
                        "CASE" if depth > 0 => depth += 1,
                        "END" => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
                words.push(word);
                j
            }
            '(' => {
                parens += 1;
                i + 1
            }
            ')' => {
                parens = parens.saturating_sub(1);
                i + 1
            }
            _ => i + 1,
        };
        push_chars(&mut text, &chars[i..end], true, &mut line);
        i = end;
    }
    finish(&mut text, &mut words, &mut start_line);
    statements
}

/// Whether the words so far begin `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
fn is_routine(words: &[String]) -> bool {
    let words: Vec<&str> = words.iter().take(4).map(String::as_str).collect();
    matches!(
        words.as_slice(),
        ["CREATE", "FUNCTION" | "PROCEDURE", ..]
            | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE"]
    )
}

/// `text` as it may be shown: everything after the first `PASSWORD` keyword (a role's
/// password, a server's option, a password built in a DO block, however it is quoted)
/// replaced by `***`, and the passwords of URLs (`scheme://user:password@`) too.
pub fn mask_passwords(text: &str) -> String {
    let text = mask_url_passwords(text);
    match password_keywords(&text).first() {
        Some(&end) => format!("{} ***", &text[..end]),
        None => text,
    }
}

/// The string literals that follow a `PASSWORD` keyword (`'…'`, `E'…'`, `$tag$…$tag$`), so
/// that they can be scrubbed wherever they show (a server error quoting them, say).
pub fn password_literals(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for end in password_keywords(text) {
        let rest = text[end..].trim_start();
        let rest = rest
            .strip_prefix(['e', 'E'])
            .filter(|r| r.starts_with('\''))
            .unwrap_or(rest);
        let chars: Vec<char> = rest.chars().collect();
        let close = match chars.first() {
            Some('\'') => quoted_end(&chars, 0, '\'', true),
            Some('$') => match dollar_end(&chars, 0) {
                Some(close) => close,
                None => continue,
            },
            _ => continue,
        };
        let literal: String = chars[..close].iter().collect();
        let inner = match chars[0] {
            '$' => {
                let tag_len = literal[1..].find('$').map_or(1, |t| t + 2);
                literal
                    .get(tag_len..literal.len().saturating_sub(tag_len))
                    .unwrap_or_default()
                    .to_string()
            }
            _ => literal
                .get(1..literal.len().saturating_sub(1))
                .unwrap_or_default()
                .replace("\'\'", "\'"),
        };
        if !inner.is_empty() {
            found.push(inner);
        }
    }
    found
}

/// The byte offsets just after each `password` keyword of `text` (a whole word, any case).
fn password_keywords(text: &str) -> Vec<usize> {
    let lower = text.to_ascii_lowercase();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    lower
        .match_indices("password")
        .filter(|(at, _)| {
            !word(lower[..*at].chars().next_back()) && !word(lower[at + 8..].chars().next())
        })
        .map(|(at, _)| at + 8)
        .collect()
}

/// `text` with the passwords of URLs (`scheme://user:password@host`) replaced by `***`.
fn mask_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with("://") {
            let start = i + 3;
            let end = text[start..]
                .find(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == '/')
                .map_or(text.len(), |e| start + e);
            if let Some(at) = text[start..end].rfind('@') {
                if let Some(colon) = text[start..start + at].find(':') {
                    out.push_str(&text[i..start + colon + 1]);
                    out.push_str("***");
                    i = start + at;
                    continue;
                }
            }
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Appends `chars` to `text` when a statement has started, counting lines either way.
fn push_chars(text: &mut String, chars: &[char], keep: bool, line: &mut usize) {
    *line += chars.iter().filter(|&&c| c == '\n').count();
    if keep {
        text.extend(chars);
    }
}

/// The index after the quoted string or identifier that opens at `start` (doubled quotes
/// are one; with `escapes`, a backslash escapes the next character).
fn quoted_end(chars: &[char], start: usize, quote: char, escapes: bool) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        if escapes && chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// The index after the dollar-quoted body that opens at `start` (`$$` or `$tag$`), or
/// `None` when the `$` opens no body (a parameter like `$1`).
fn dollar_end(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start + 1;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        j += 1;
    }
    if chars.get(j) != Some(&'$') || chars.get(start + 1).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let tag = &chars[start..=j];
    let mut i = j + 1;
    while i + tag.len() <= chars.len() {
        if &chars[i..i + tag.len()] == tag {
            return Some(i + tag.len());
        }
        i += 1;
    }
    Some(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_comments_and_bodies() {
        let source = "-- header; not a statement\n\
CREATE TABLE IF NOT EXISTS \"a;b\" (x text DEFAULT 'it''s; here');\n\
/* block; /* nested; */ still */\n\
DO $$ BEGIN RAISE NOTICE 'x;'; END $$;\n\
CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n\
SELECT E'\\';' , $tag$ ; $$ ; $tag$, $1;\n\
  \n";
        let statements = split(source);
        let lines: Vec<usize> = statements.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![2, 4, 5, 6], "{statements:#?}");
        assert!(statements[0].text.ends_with("'it''s; here')"));
        assert!(statements[1].text.starts_with("DO $$"));
        assert!(statements[2].text.ends_with("SELECT 2; END"));
        assert!(statements.iter().all(|s| s.refusal().is_none()));
    }

    #[test]
    fn transaction_control_and_concurrently_are_named() {
        let statements = split(
            "begin;\nCREATE INDEX CONCURRENTLY i ON t (x);\nSELECT 'COMMIT';\nCOMMIT;\nVACUUM t;",
        );
        let refused: Vec<(usize, bool)> = statements
            .iter()
            .map(|s| (s.line, s.refusal().is_some()))
            .collect();
        assert_eq!(
            refused,
            vec![(1, true), (2, true), (3, false), (4, true), (5, true)]
        );
        assert!(statements[0].refusal().is_some_and(|r| r.contains("BEGIN")));
        assert!(statements[1]
            .refusal()
            .is_some_and(|r| r.contains("CONCURRENTLY")));
    }

    #[test]
    fn semicolons_in_parentheses_and_routine_bodies_stay_in_their_statement() {
        let statements = split(
            "CREATE TABLE t (id int, begin timestamptz);\nCOMMIT;\n\
CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\n\
CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;\n\
CREATE VIEW v AS SELECT CASE WHEN x THEN 1 END FROM t;\nSELECT 3;",
        );
        let lines: Vec<usize> = statements.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 6], "{statements:#?}");
        assert!(
            statements[1].refusal().is_some(),
            "COMMIT is its own statement"
        );
    }

    #[test]
    fn passwords_are_masked_where_statements_are_shown() {
        let statement =
            &split("CREATE ROLE app LOGIN PASSWORD 's3cret' VALID UNTIL 'infinity';")[0];
        assert_eq!(statement.head(), "CREATE ROLE app LOGIN PASSWORD ***");
        for text in [
            "ALTER USER a PASSWORD E'Leak\\'C'",
            "ALTER ROLE a WITH ENCRYPTED PASSWORD $pw$LeakD$pw$",
            "DO $$ BEGIN EXECUTE format('ALTER ROLE a PASSWORD %L', 'LeakE'); END $$",
            "CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'u', password 'Leak')",
        ] {
            assert!(!mask_passwords(text).contains("Leak"), "{text}");
        }
        assert_eq!(
            mask_passwords("SELECT dblink_connect('postgres://u:pw@h/db')"),
            "SELECT dblink_connect('postgres://u:***@h/db')"
        );
        assert_eq!(
            mask_passwords("CREATE TABLE t (password_hash text)"),
            "CREATE TABLE t (password_hash text)"
        );
        assert_eq!(
            password_literals("ALTER ROLE a PASSWORD 'it''s'; ALTER ROLE b PASSWORD E'x\\'y'; ALTER ROLE c PASSWORD $p$z$p$"),
            vec!["it's", "x\\'y", "z"]
        );
    }

    #[test]
    fn data_statements_name_the_table_they_write() {
        let targets: Vec<Option<String>> = split(
            "INSERT INTO users (name) VALUES ('a');\nupdate only \"My Table\" set x = 1;\n\
DELETE FROM auth.sessions WHERE true;\nTRUNCATE TABLE t;\nCOPY t2 FROM stdin;\nCOPY t3 TO stdout;\n\
CREATE TABLE x (y int);",
        )
        .iter()
        .map(Statement::data_target)
        .collect();
        assert_eq!(
            targets,
            vec![
                Some("users".into()),
                Some("\"My Table\"".into()),
                Some("auth.sessions".into()),
                Some("t".into()),
                Some("t2".into()),
                None,
                None
            ]
        );
    }

    #[test]
    fn heads_are_one_short_line() {
        let statement = &split("CREATE TABLE t (\n  x int\n);")[0];
        assert_eq!(statement.head(), "CREATE TABLE t (…");
    }
}
