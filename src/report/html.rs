//! The report as one self-contained HTML page.

use super::model::Report;

/// The report as HTML.
pub fn render(report: &Report) -> String {
    format!(
        "<!doctype html><title>{}</title><p>{}</p>\n",
        report.checklist.id,
        report.verdict.name()
    )
}
