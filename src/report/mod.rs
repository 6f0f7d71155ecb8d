//! Reports: the `relcon.report/v1` model, its JSON, Markdown, HTML and JUnit renderers, signing and verification.
pub mod junit;
pub mod model;
