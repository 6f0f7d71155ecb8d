//! `${VAR}` interpolation in checklist strings.
//!
//! `${NAME}` is the variable's value, `${NAME:-default}` falls back to `default` when the
//! variable is unset or empty (the default may itself hold `${…}`), and `$${` writes a
//! literal `${`. Any other `$` is literal, so regular expressions keep their anchors.

/// A parsed template: literal text and variable references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The pieces in order.
    pub parts: Vec<Part>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text taken as it is.
    Literal(String),
    /// `${name}` or `${name:-default}`.
    Var(VarRef),
}

/// A `${name}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// The variable's name.
    pub name: String,
    /// The fallback for an unset or empty variable.
    pub default: Option<Template>,
    /// Byte offset of the `${` in the string that was parsed.
    pub offset: usize,
    /// Byte length of the whole `${…}`.
    pub len: usize,
}

/// A malformed template, located in the parsed string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset in the string.
    pub offset: usize,
    /// Byte length of the culprit.
    pub len: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// A variable a template needed that had no value and no default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not set and has no default")]
pub struct Unset(pub String);

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let (template, end) = parse_until(text, 0, 0)?;
        debug_assert_eq!(end, text.len());
        Ok(template)
    }

    /// Every reference, defaults' references included, in order.
    pub fn refs(&self) -> Vec<&VarRef> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a VarRef>) {
        for part in &self.parts {
            if let Part::Var(var) = part {
                out.push(var);
                if let Some(default) = &var.default {
                    default.collect_refs(out);
                }
            }
        }
    }

    /// The variable the template starts with, if it starts with one.
    pub fn leading_var(&self) -> Option<&VarRef> {
        match self.parts.first() {
            Some(Part::Var(var)) => Some(var),
            _ => None,
        }
    }

    /// Fills the template; `lookup` gives a variable's value, `None` when unset.
    pub fn render(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Unset> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var(var) => match (lookup(&var.name), &var.default) {
                    (Some(value), Some(_)) if !value.is_empty() => out.push_str(&value),
                    (Some(value), None) => out.push_str(&value),
                    (_, Some(default)) => out.push_str(&default.render(lookup)?),
                    (None, None) => return Err(Unset(var.name.clone())),
                },
            }
        }
        Ok(out)
    }
}

/// Deeper nesting of defaults than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 16;

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Parses from `start` until the end of `text`, or (inside a default) until the closing `}`;
/// returns the template and the offset just past what it consumed (the `}` not included).
fn parse_until(text: &str, start: usize, depth: usize) -> Result<(Template, usize), TemplateError> {
    let in_default = depth > 0;
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut i = start;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("$${") {
            literal.push_str("${");
            i += 3;
        } else if rest.starts_with("${") {
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            if depth >= MAX_DEPTH {
                return Err(TemplateError {
                    offset: i,
                    len: 2,
                    message: "defaults are nested too deeply".into(),
                    hint: "nest `${A:-${B}}` defaults at most 16 levels deep".into(),
                });
            }
            let (var, end) = parse_var(text, i, depth)?;
            parts.push(Part::Var(var));
            i = end;
        } else if in_default && rest.starts_with('}') {
            break;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            literal.push(c);
            i += c.len_utf8();
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok((Template { parts }, i))
}

/// Parses the `${…}` at `open`; returns it and the offset past its `}`.
fn parse_var(text: &str, open: usize, depth: usize) -> Result<(VarRef, usize), TemplateError> {
    let unclosed = || TemplateError {
        offset: open,
        len: 2,
        message: "unclosed `${`".into(),
        hint: "close it with `}`, or write `$${` for a literal `${`".into(),
    };
    let name_start = open + 2;
    let name_len = text[name_start..]
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map_or(text.len() - name_start, |(i, _)| i);
    let name = &text[name_start..name_start + name_len];
    let after = name_start + name_len;
    let Some(next) = text[after..].chars().next() else {
        return Err(unclosed());
    };
    let bad = |offset: usize, message: String, hint: &str| TemplateError {
        offset,
        len: 1,
        message,
        hint: hint.into(),
    };
    if name.is_empty() && next == '}' {
        return Err(TemplateError {
            offset: open,
            len: 3,
            message: "empty variable name in `${}`".into(),
            hint: "write `${NAME}`, or `$${` for a literal `${`".into(),
        });
    }
    if !name.chars().next().is_some_and(is_name_start) {
        return Err(bad(
            name_start,
            format!("bad variable name in `{}`", excerpt(&text[open..])),
            "variable names start with a letter or `_` and hold letters, digits and `_`",
        ));
    }
    match next {
        '}' => Ok((
            VarRef {
                name: name.into(),
                default: None,
                offset: open,
                len: after + 1 - open,
            },
            after + 1,
        )),
        ':' if text[after..].starts_with(":-") => {
            let (default, end) = parse_until(text, after + 2, depth + 1)?;
            if end >= text.len() {
                return Err(unclosed());
            }
            Ok((
                VarRef {
                    name: name.into(),
                    default: Some(default),
                    offset: open,
                    len: end + 1 - open,
                },
                end + 1,
            ))
        }
        ':' => Err(bad(
            after,
            format!("unsupported form `{}`", excerpt(&text[open..])),
            "write `${NAME:-default}` for a default",
        )),
        c => Err(bad(
            after,
            format!("bad character `{c}` in variable name"),
            "variable names hold letters, digits and `_`; close the reference with `}`",
        )),
    }
}

/// The `${…}` at the start of `text`, cut short for messages.
fn excerpt(text: &str) -> String {
    let end = text.find('}').map_or(text.len(), |i| i + 1);
    text[..end].chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, vars: &[(&str, &str)]) -> Result<String, Unset> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        Template::parse(text).expect("parses").render(&lookup)
    }

    #[test]
    fn renders_values_defaults_and_escapes() {
        assert_eq!(render("${A}/x", &[("A", "a")]), Ok("a/x".into()));
        assert_eq!(render("${A:-d}", &[]), Ok("d".into()));
        assert_eq!(render("${A:-d}", &[("A", "")]), Ok("d".into()));
        assert_eq!(render("${A:-${B:-z}}", &[("B", "b")]), Ok("b".into()));
        assert_eq!(render("$${A} $x ^a$", &[]), Ok("${A} $x ^a$".into()));
        assert_eq!(render("${A}", &[]), Err(Unset("A".into())));
    }

    #[test]
    fn lists_references_with_offsets() {
        let template = Template::parse("x${A:-${B}}").expect("parses");
        let refs: Vec<_> = template
            .refs()
            .iter()
            .map(|r| (r.name.as_str(), r.offset))
            .collect();
        assert_eq!(refs, vec![("A", 1), ("B", 6)]);
    }

    #[test]
    fn reports_malformed_references() {
        assert_eq!(Template::parse("a ${B").unwrap_err().offset, 2);
        assert_eq!(
            Template::parse("${A:-x").unwrap_err().message,
            "unclosed `${`"
        );
        assert!(Template::parse("${}").is_err());
        assert!(Template::parse("${1A}").is_err());
        assert!(Template::parse("${A B}").is_err());
        assert!(Template::parse(&"${A:-".repeat(100_000)).is_err());
        assert_eq!(
            Template::parse("${A:x}").unwrap_err().hint,
            "write `${NAME:-default}` for a default"
        );
    }
}
