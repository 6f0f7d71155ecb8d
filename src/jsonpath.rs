//! A small JSON path subset for `http` assertions: `$`, `.name`, `["name"]`, `[0]` and the
//! wildcard `.*` / `[*]`, which selects every member of an object or element of an array.

use serde_json::Value;

/// A parsed JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    /// The steps after `$`.
    pub steps: Vec<Step>,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
    /// Every member or element.
    Wildcard,
}

/// A malformed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// Byte offset of the problem in the path.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

impl JsonPath {
    /// Parses a path.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let fail = |offset: usize, message: &str| PathError {
            offset,
            message: message.into(),
        };
        let Some(rest) = text.strip_prefix('$') else {
            return Err(fail(0, "a path starts with `$`"));
        };
        let mut steps = Vec::new();
        let mut i = 1;
        let mut rest = rest;
        while let Some(c) = rest.chars().next() {
            match c {
                '.' => {
                    let name_len = rest[1..]
                        .find(|c| !is_name_char(c))
                        .unwrap_or(rest.len() - 1);
                    if rest[1..].starts_with('*') {
                        steps.push(Step::Wildcard);
                        rest = &rest[2..];
                        i += 2;
                    } else if name_len == 0 {
                        return Err(fail(i + 1, "expected a member name or `*` after `.`"));
                    } else {
                        steps.push(Step::Key(rest[1..1 + name_len].into()));
                        rest = &rest[1 + name_len..];
                        i += 1 + name_len;
                    }
                }
                '[' => {
                    let Some(close) = rest.find(']') else {
                        return Err(fail(i, "unclosed `[`"));
                    };
                    let inner = &rest[1..close];
                    let quoted = inner.len() >= 2
                        && ((inner.starts_with('"') && inner.ends_with('"'))
                            || (inner.starts_with('\'') && inner.ends_with('\'')));
                    if inner == "*" {
                        steps.push(Step::Wildcard);
                    } else if quoted {
                        steps.push(Step::Key(inner[1..inner.len() - 1].into()));
                    } else if let Ok(index) = inner.parse::<usize>() {
                        steps.push(Step::Index(index));
                    } else {
                        return Err(fail(
                            i + 1,
                            "expected an index, a quoted name or `*` inside `[]`",
                        ));
                    }
                    i += close + 1;
                    rest = &rest[close + 1..];
                }
                _ => return Err(fail(i, "expected `.` or `[`")),
            }
        }
        Ok(Self { steps })
    }

    /// Every value the path selects in `root`.
    pub fn select<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![root];
        for step in &self.steps {
            current = current
                .into_iter()
                .flat_map(|value| -> Vec<&'v Value> {
                    match (step, value) {
                        (Step::Key(key), Value::Object(map)) => map.get(key).into_iter().collect(),
                        (Step::Index(index), Value::Array(items)) => {
                            items.get(*index).into_iter().collect()
                        }
                        (Step::Wildcard, Value::Object(map)) => map.values().collect(),
                        (Step::Wildcard, Value::Array(items)) => items.iter().collect(),
                        _ => Vec::new(),
                    }
                })
                .collect();
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_selects() {
        let doc = serde_json::json!({"google": {"callbackUrl": "a"}, "github": {"callbackUrl": "b"}, "list": [1, 2]});
        let path = JsonPath::parse("$.*.callbackUrl").expect("parses");
        assert_eq!(path.select(&doc).len(), 2);
        assert_eq!(
            JsonPath::parse("$['list'][1]")
                .expect("parses")
                .select(&doc),
            vec![&serde_json::json!(2)]
        );
        assert_eq!(JsonPath::parse("$").expect("parses").select(&doc).len(), 1);
    }

    #[test]
    fn reports_bad_paths() {
        assert_eq!(JsonPath::parse("status").unwrap_err().offset, 0);
        assert_eq!(JsonPath::parse("$.").unwrap_err().offset, 2);
        assert_eq!(JsonPath::parse("$[x]").unwrap_err().offset, 2);
        assert_eq!(JsonPath::parse("$[0").unwrap_err().message, "unclosed `[`");
    }
}
