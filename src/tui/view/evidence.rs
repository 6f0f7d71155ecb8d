//! Evidence as a person reads it: labelled fields, nested objects indented under their
//! label, lists of like records (statements with their timing, locks, findings) as tables,
//! values wrapped at word boundaries under their column. Nothing is dropped: a table too
//! wide for the pane is shown record by record instead.

use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr;

use super::{clean, wrap};

/// The widest a label column grows; longer labels take a line of their own.
const LABEL_MAX: usize = 16;

/// `evidence` as lines of at most `width` columns.
pub fn lines(evidence: &Value, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    match evidence {
        Value::Object(map) => object(map, 0, width, &mut out),
        other => value_lines(other, 0, width, &mut out),
    }
    out
}

/// A scalar as text: strings without their quotes.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(clean(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("—".into()),
        Value::Array(a) if a.is_empty() => Some("none".into()),
        Value::Object(o) if o.is_empty() => Some("none".into()),
        _ => None,
    }
}

/// A list of single words (table names, rules) on one line; sentences get a line each.
fn inline_list(items: &[Value]) -> Option<String> {
    let parts: Option<Vec<String>> = items
        .iter()
        .map(|v| scalar(v).filter(|s| !s.contains([' ', ','])))
        .collect();
    parts.map(|p| p.join(", "))
}

fn object(map: &Map<String, Value>, indent: usize, width: usize, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    let label_width = map
        .iter()
        .filter(|(_, v)| scalar(v).is_some() || matches!(v, Value::Array(_)))
        .map(|(k, _)| k.width())
        .filter(|w| *w <= LABEL_MAX)
        .max()
        .unwrap_or(0);
    for (key, value) in map {
        let label = clean(key);
        let text = scalar(value).or_else(|| match value {
            Value::Array(items) => inline_list(items),
            _ => None,
        });
        match text {
            Some(text) => field(&pad, &label, label_width, &text, width, out),
            None => {
                out.push(format!("{pad}{label}"));
                value_lines(value, indent + 2, width, out);
            }
        }
    }
}

/// `label  value`, the value wrapped under itself; on a narrow pane (or after a long
/// label) the value goes under the label instead.
fn field(
    pad: &str,
    label: &str,
    label_width: usize,
    text: &str,
    width: usize,
    out: &mut Vec<String>,
) {
    let column = pad.width() + label_width + 2;
    let room = width.saturating_sub(column);
    if label.width() <= label_width && room >= 16 {
        let under = " ".repeat(column);
        for (n, line) in wrap(text, room).into_iter().enumerate() {
            if n == 0 {
                out.push(format!("{pad}{label:<label_width$}  {line}"));
            } else {
                out.push(format!("{under}{line}"));
            }
        }
    } else {
        out.push(format!("{pad}{label}"));
        let deeper = format!("{pad}  ");
        let room = width.saturating_sub(deeper.width());
        out.extend(wrap(text, room).into_iter().map(|l| format!("{deeper}{l}")));
    }
}

fn value_lines(value: &Value, indent: usize, width: usize, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => object(map, indent, width, out),
        Value::Array(items) => {
            if table(items, indent, width, out) {
                return;
            }
            for (n, item) in items.iter().enumerate() {
                match scalar(item) {
                    Some(text) => {
                        let room = width.saturating_sub(indent + 2);
                        for (k, line) in wrap(&text, room).into_iter().enumerate() {
                            let mark = if k == 0 { "• " } else { "  " };
                            out.push(format!("{pad}{mark}{line}"));
                        }
                    }
                    None => {
                        out.push(format!("{pad}#{}", n + 1));
                        value_lines(item, indent + 2, width, out);
                    }
                }
            }
        }
        other => {
            let text = scalar(other).unwrap_or_default();
            let room = width.saturating_sub(indent);
            out.extend(wrap(&text, room).into_iter().map(|l| format!("{pad}{l}")));
        }
    }
}

/// Records with scalar fields as a table, when there are two or more and it fits `width`;
/// false (nothing written) otherwise.
fn table(items: &[Value], indent: usize, width: usize, out: &mut Vec<String>) -> bool {
    if items.len() < 2 {
        return false;
    }
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        let Value::Object(map) = item else {
            return false;
        };
        for (key, value) in map {
            let Some(text) = scalar(value) else {
                return false;
            };
            if text.contains('\n') {
                return false;
            }
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let cells: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| item.get(c).and_then(scalar).unwrap_or_default())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(c, name)| {
            cells
                .iter()
                .map(|row| row[c].width())
                .chain([name.width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let total = indent + widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    if total > width {
        return false;
    }
    let pad = " ".repeat(indent);
    let row = |texts: &[String]| {
        let mut line = pad.clone();
        for (c, text) in texts.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let w = widths[c];
            line.push_str(&format!("{text:<w$}"));
        }
        line.trim_end().to_string()
    };
    let names: Vec<String> = columns.iter().map(|c| clean(c)).collect();
    out.push(row(&names));
    out.extend(cells.iter().map(|cells| row(cells)));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_labelled_and_nested_objects_indented() {
        let evidence = json!({
            "request": {"method": "GET", "url": "https://shop.example.com/ready"},
            "response": {"status": 503, "body": "{\"db\":\"timeout\"}"}
        });
        assert_eq!(
            lines(&evidence, 60),
            [
                "request",
                "  method  GET",
                "  url     https://shop.example.com/ready",
                "response",
                "  body    {\"db\":\"timeout\"}",
                "  status  503",
            ]
        );
    }

    #[test]
    fn like_records_are_a_table_and_too_wide_ones_records() {
        let evidence = json!({"statements": [
            {"sql": "CREATE TABLE users", "ms": 4},
            {"sql": "CREATE INDEX users_email", "ms": 12}
        ]});
        assert_eq!(
            lines(&evidence, 60),
            [
                "statements",
                "  ms  sql",
                "  4   CREATE TABLE users",
                "  12  CREATE INDEX users_email",
            ]
        );
        let narrow = lines(&evidence, 20);
        assert_eq!(narrow[1], "  #1");
        assert!(narrow.iter().all(|l| l.width() <= 20), "{narrow:?}");
        assert!(narrow.join(" ").contains("users_email"), "{narrow:?}");
    }

    #[test]
    fn values_wrap_at_words_under_their_column() {
        let evidence = json!({"reason": "ON DELETE CASCADE is missing on accounts.user_id"});
        let out = lines(&evidence, 30);
        assert_eq!(out[0], "reason  ON DELETE CASCADE is");
        assert!(
            out[1..].iter().all(|l| l.starts_with("        ")),
            "{out:?}"
        );
        assert!(out.iter().all(|l| l.width() <= 30), "{out:?}");
        assert!(!out.iter().any(|l| l.ends_with("CASC")), "{out:?}");
    }

    #[test]
    fn lists_of_values_are_inline_or_bulleted() {
        let evidence = json!({"tables": ["users", "accounts"], "notes": ["a b", "c"]});
        assert_eq!(
            lines(&evidence, 40),
            ["notes", "  • a b", "  • c", "tables  users, accounts"]
        );
    }
}
