//! The report as Markdown, for a pull request or a release ticket.

use super::model::Report;

/// The report as Markdown.
pub fn render(report: &Report) -> String {
    format!(
        "# {} — {}\n",
        report.checklist.title,
        report.verdict.name().to_uppercase()
    )
}
