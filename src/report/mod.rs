//! Reports: the `relcon.report/v1` model, and its JSON, Markdown, HTML and JUnit renderers.

pub mod diff;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod scrub;
pub mod verify;
pub mod view;

use model::Report;

/// A format a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `relcon.report/v1` JSON, with the session's events.
    Json,
    /// Markdown, for a pull request or a release ticket.
    Markdown,
    /// One self-contained HTML page.
    Html,
    /// JUnit XML, for CI systems.
    Junit,
}

impl Format {
    /// Every format, as the command line lists them.
    pub const ALL: [Format; 4] = [Format::Json, Format::Markdown, Format::Html, Format::Junit];

    /// Its name on the command line (`--format`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Junit => "junit",
        }
    }

    /// The format named `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The usual file name ending.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Junit => "xml",
        }
    }

    /// The report in this format.
    pub fn render(self, report: &Report) -> Result<String, String> {
        self.render_since(report, None)
    }

    /// The report in this format; Markdown and HTML also say what changed `since` the last
    /// release (JSON and JUnit are the session's own record, verified as such).
    pub fn render_since(
        self,
        report: &Report,
        since: Option<&diff::Diff>,
    ) -> Result<String, String> {
        match self {
            Format::Json => json::render(report).map_err(|e| e.to_string()),
            Format::Markdown => Ok(markdown::render(report, since)),
            Format::Html => Ok(html::render(report, since)),
            Format::Junit => junit::render(report).map_err(|e| e.to_string()),
        }
    }
}
