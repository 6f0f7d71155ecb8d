//! The report as JSON (`relcon.report/v1`, `assets/report.v1.schema.json`): pretty, with a
//! final newline, and the same bytes for the same report.

use super::model::Report;

/// The report as JSON text.
pub fn render(report: &Report) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}
