//! The `when` condition of an item: a small boolean language over variables.
//!
//! ```text
//! expr  := or
//! or    := and ("or" and)*
//! and   := unary ("and" unary)*
//! unary := "not" unary | atom
//! atom  := "(" expr ")" | "set(" NAME ")" | "unset(" NAME ")" | NAME ("==" | "!=") STRING
//! ```
//! A variable is *set* when it has a non-empty value. Strings are quoted with `'` or `"`.
//! An unset variable compares equal to `''`.

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// `set(NAME)`: the variable has a non-empty value.
    Set(Name),
    /// `unset(NAME)`: the variable is unset or empty.
    Unset(Name),
    /// `NAME == 'value'`.
    Equals(Name, String),
    /// `NAME != 'value'`.
    NotEquals(Name, String),
    /// `a and b and …` (flat, so a long chain is not a deep tree).
    And(Vec<When>),
    /// `a or b or …`.
    Or(Vec<When>),
    /// `not a`.
    Not(Box<When>),
}

/// A variable named in a condition, located in the condition's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The variable's name.
    pub name: String,
    /// Byte offset in the condition text.
    pub offset: usize,
}

/// A malformed condition, located in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhenError {
    /// Byte offset in the condition text.
    pub offset: usize,
    /// Byte length of the culprit.
    pub len: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

const GRAMMAR_HINT: &str = "conditions are `set(NAME)`, `unset(NAME)`, `NAME == 'value'` or `NAME != 'value'`, joined with `and`, `or`, `not` and parentheses";

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Str(String),
    Eq,
    Ne,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::Word(word) => format!("`{word}`"),
            Token::Str(text) => format!("'{text}'"),
            Token::Eq => "`==`".into(),
            Token::Ne => "`!=`".into(),
        }
    }
}

struct Lexed {
    token: Token,
    offset: usize,
    len: usize,
}

fn error(
    offset: usize,
    len: usize,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> WhenError {
    WhenError {
        offset,
        len: len.max(1),
        message: message.into(),
        hint: hint.into(),
    }
}

fn lex(text: &str) -> Result<Vec<Lexed>, WhenError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        let single = |token| Lexed {
            token,
            offset: i,
            len: 1,
        };
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                out.push(single(Token::Open));
                chars.next();
            }
            ')' => {
                out.push(single(Token::Close));
                chars.next();
            }
            '=' | '!' => {
                chars.next();
                if chars.peek().map(|&(_, n)| n) == Some('=') {
                    chars.next();
                    let token = if c == '=' { Token::Eq } else { Token::Ne };
                    out.push(Lexed {
                        token,
                        offset: i,
                        len: 2,
                    });
                } else if c == '=' {
                    return Err(error(
                        i,
                        1,
                        "`=` is not an operator",
                        "compare with `==` or `!=`",
                    ));
                } else {
                    return Err(error(
                        i,
                        1,
                        "`!` is not an operator",
                        "write `not` to negate, `!=` to compare",
                    ));
                }
            }
            '&' | '|' => {
                let word = if c == '&' { "and" } else { "or" };
                return Err(error(
                    i,
                    1,
                    format!("`{c}` is not an operator"),
                    format!("write `{word}`"),
                ));
            }
            '\'' | '"' => {
                chars.next();
                let mut value = String::new();
                let mut closed = None;
                for (j, n) in chars.by_ref() {
                    if n == c {
                        closed = Some(j);
                        break;
                    }
                    value.push(n);
                }
                let Some(end) = closed else {
                    return Err(error(i, 1, "unclosed string", format!("close it with {c}")));
                };
                out.push(Lexed {
                    token: Token::Str(value),
                    offset: i,
                    len: end + 1 - i,
                });
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::new();
                while let Some(&(_, n)) = chars.peek() {
                    if !(n.is_ascii_alphanumeric() || n == '_') {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                let len = word.len();
                out.push(Lexed {
                    token: Token::Word(word),
                    offset: i,
                    len,
                });
            }
            c => {
                return Err(error(
                    i,
                    c.len_utf8(),
                    format!("unexpected `{c}` in condition"),
                    GRAMMAR_HINT,
                ))
            }
        }
    }
    Ok(out)
}

const KEYWORDS: [&str; 5] = ["and", "or", "not", "set", "unset"];

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<Lexed>,
    at: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Lexed> {
        self.tokens.get(self.at)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Lexed { token: Token::Word(w), .. }) if w == word)
    }

    fn unexpected(&self, expected: &str) -> WhenError {
        match self.peek() {
            Some(found) => error(
                found.offset,
                found.len,
                format!("expected {expected}, found {}", found.token.describe()),
                GRAMMAR_HINT,
            ),
            None => error(
                self.end,
                1,
                format!("expected {expected}, found the end of the condition"),
                GRAMMAR_HINT,
            ),
        }
    }

    fn expect(&mut self, token: Token, expected: &str) -> Result<(), WhenError> {
        match self.peek() {
            Some(lexed) if lexed.token == token => {
                self.at += 1;
                Ok(())
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    fn or(&mut self) -> Result<When, WhenError> {
        let mut terms = vec![self.and()?];
        while self.is_word("or") {
            self.at += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            When::Or(terms)
        })
    }

    fn and(&mut self) -> Result<When, WhenError> {
        let mut terms = vec![self.unary()?];
        while self.is_word("and") {
            self.at += 1;
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            When::And(terms)
        })
    }

    fn unary(&mut self) -> Result<When, WhenError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let offset = self.peek().map_or(self.end, |l| l.offset);
            return Err(error(
                offset,
                1,
                "the condition is nested too deeply",
                "simplify it: at most 64 levels of `not` and parentheses",
            ));
        }
        let result = if self.is_word("not") {
            self.at += 1;
            self.unary().map(|inner| When::Not(Box::new(inner)))
        } else {
            self.atom()
        };
        self.depth -= 1;
        result
    }

    fn name(&mut self) -> Result<Name, WhenError> {
        match self.peek() {
            Some(Lexed {
                token: Token::Word(word),
                offset,
                ..
            }) if !KEYWORDS.contains(&word.as_str()) => {
                let name = Name {
                    name: word.clone(),
                    offset: *offset,
                };
                self.at += 1;
                Ok(name)
            }
            _ => Err(self.unexpected("a variable name")),
        }
    }

    fn atom(&mut self) -> Result<When, WhenError> {
        if matches!(
            self.peek(),
            Some(Lexed {
                token: Token::Open,
                ..
            })
        ) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::Close, "`)`")?;
            return Ok(inner);
        }
        for (word, make) in [
            ("set", When::Set as fn(Name) -> When),
            ("unset", When::Unset),
        ] {
            if self.is_word(word) {
                self.at += 1;
                self.expect(Token::Open, &format!("`(` after `{word}`"))?;
                let name = self.name()?;
                self.expect(Token::Close, "`)`")?;
                return Ok(make(name));
            }
        }
        let name = self.name()?;
        let equal = match self.peek().map(|l| &l.token) {
            Some(Token::Eq) => true,
            Some(Token::Ne) => false,
            _ => return Err(self.unexpected("`==` or `!=`")),
        };
        self.at += 1;
        let value = match self.peek() {
            Some(Lexed {
                token: Token::Str(value),
                ..
            }) => value.clone(),
            _ => return Err(self.unexpected("a quoted string")),
        };
        self.at += 1;
        Ok(if equal {
            When::Equals(name, value)
        } else {
            When::NotEquals(name, value)
        })
    }
}

impl When {
    /// Parses a condition.
    pub fn parse(text: &str) -> Result<Self, WhenError> {
        let mut parser = Parser {
            tokens: lex(text)?,
            at: 0,
            end: text.len(),
            depth: 0,
        };
        let when = parser.or()?;
        if parser.peek().is_some() {
            return Err(parser.unexpected("`and`, `or` or the end of the condition"));
        }
        Ok(when)
    }

    /// Every variable named, with the value it is compared to (none when only its presence
    /// is tested).
    pub fn names(&self) -> Vec<(&Name, Option<&str>)> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<(&'a Name, Option<&'a str>)>) {
        match self {
            When::Set(name) | When::Unset(name) => out.push((name, None)),
            When::Equals(name, value) | When::NotEquals(name, value) => {
                out.push((name, Some(value)))
            }
            When::And(terms) | When::Or(terms) => terms.iter().for_each(|t| t.collect(out)),
            When::Not(a) => a.collect(out),
        }
    }

    /// Evaluates the condition; `lookup` gives a variable's value, `None` when unset.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        let value = |name: &Name| lookup(&name.name).unwrap_or_default();
        match self {
            When::Set(name) => !value(name).is_empty(),
            When::Unset(name) => value(name).is_empty(),
            When::Equals(name, expected) => value(name) == *expected,
            When::NotEquals(name, expected) => value(name) != *expected,
            When::And(terms) => terms.iter().all(|t| t.eval(lookup)),
            When::Or(terms) => terms.iter().any(|t| t.eval(lookup)),
            When::Not(a) => !a.eval(lookup),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, vars: &[(&str, &str)]) -> bool {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        When::parse(text).expect("parses").eval(&lookup)
    }

    #[test]
    fn evaluates_with_precedence() {
        assert!(eval("set(A) or set(B) and set(C)", &[("A", "1")]));
        assert!(!eval("(set(A) or set(B)) and set(C)", &[("A", "1")]));
        assert!(eval("not set(A) and P != 'workers'", &[("P", "node")]));
        assert!(!eval("P == \"workers\"", &[]));
        assert!(eval("unset(A)", &[("A", "")]));
    }

    #[test]
    fn reports_errors_at_their_offset() {
        let err = When::parse("set(A) && set(B)").unwrap_err();
        assert_eq!((err.offset, err.hint.as_str()), (7, "write `and`"));
        let err = When::parse("set(A) or").unwrap_err();
        assert_eq!(
            err.message,
            "expected a variable name, found the end of the condition"
        );
        assert_eq!(
            When::parse("A = 'x'").unwrap_err().hint,
            "compare with `==` or `!=`"
        );
        assert_eq!(When::parse("set(A) set(B)").unwrap_err().offset, 7);
        let deep = "(".repeat(100_000) + "set(A)" + &")".repeat(100_000);
        assert_eq!(
            When::parse(&deep).unwrap_err().message,
            "the condition is nested too deeply"
        );
        assert!(When::parse(&"not ".repeat(100_000)).is_err());
        let long = vec!["set(A)"; 200_000].join(" and ");
        assert!(When::parse(&long)
            .expect("a long flat chain parses")
            .eval(&|_| Some("x".into())));
    }
}
