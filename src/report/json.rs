//! The report as JSON (`relcon.report/v1`, `assets/report.v1.schema.json`): pretty to the
//! level of an item and of an event entry, each entry on one line (as `relcon watch` prints
//! it) and each item's evidence too, with a final newline, and the same bytes for the same
//! report. One line per entry keeps a 10,000-event export small and greppable.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use super::model::Report;

/// Nesting depth from which values are written on one line: the root object is 1, an
/// item or an event entry 4.
const ONE_LINE_FROM: usize = 4;

/// The report as JSON text.
pub fn render(report: &Report) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, Layered::default());
    report.serialize(&mut serializer)?;
    out.push(b'\n');
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// Pretty-printing down to [`ONE_LINE_FROM`], compact below.
#[derive(Default)]
struct Layered {
    pretty: PrettyFormatter<'static>,
    depth: usize,
}

impl Layered {
    fn inner(&mut self) -> bool {
        self.depth >= ONE_LINE_FROM
    }
}

impl Formatter for Layered {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        if self.inner() {
            CompactFormatter.begin_array(w)
        } else {
            self.pretty.begin_array(w)
        }
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        let inner = self.inner();
        self.depth -= 1;
        if inner {
            CompactFormatter.end_array(w)
        } else {
            self.pretty.end_array(w)
        }
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if self.inner() {
            CompactFormatter.begin_array_value(w, first)
        } else {
            self.pretty.begin_array_value(w, first)
        }
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.inner() {
            CompactFormatter.end_array_value(w)
        } else {
            self.pretty.end_array_value(w)
        }
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        if self.inner() {
            CompactFormatter.begin_object(w)
        } else {
            self.pretty.begin_object(w)
        }
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        let inner = self.inner();
        self.depth -= 1;
        if inner {
            CompactFormatter.end_object(w)
        } else {
            self.pretty.end_object(w)
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if self.inner() {
            CompactFormatter.begin_object_key(w, first)
        } else {
            self.pretty.begin_object_key(w, first)
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.inner() {
            CompactFormatter.begin_object_value(w)
        } else {
            self.pretty.begin_object_value(w)
        }
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.inner() {
            CompactFormatter.end_object_value(w)
        } else {
            self.pretty.end_object_value(w)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_values_are_written_on_one_line_and_read_back_the_same() {
        let value = serde_json::json!({
            "schema": "x",
            "items": [{"id": "a", "evidence": {"k": [1, {"z": null}], "e": {}}, "none": []}],
            "events": {"entries": [{"seq": 1, "payload": {"a": [1, 2]}}, {"seq": 2, "payload": {}}]},
        });
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, Layered::default());
        value.serialize(&mut serializer).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.contains("\n      {\"payload\":{\"a\":[1,2]},\"seq\":1},\n"),
            "{text}"
        );
        assert!(
            text.contains("\"evidence\": {\"e\":{},\"k\":[1,{\"z\":null}]}"),
            "{text}"
        );
        assert!(text.contains("\n  \"schema\": \"x\""), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, value);
    }
}
