//! Writes a sample report as HTML and Markdown, to look at in a browser (`bench/html.sh`
//! screenshots and prints it): a failure with long evidence, warnings, manual sign-offs,
//! hostile text in every field. `cargo run --example report_sample -- DIR [ITEMS]` writes
//! `DIR/sample.html` and `DIR/sample.md` (ITEMS > 0: a generated report of that many items
//! instead, `DIR/large.html` and `DIR/large.md`).

#[path = "../tests/common/sample_report.rs"]
mod sample;

use std::path::PathBuf;
use std::process::ExitCode;

use relcon::report::{html, markdown};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: report_sample DIR [ITEMS]");
        return ExitCode::from(2);
    };
    let items: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let (name, report) = if items > 0 {
        ("large", sample::large(items, items * 10))
    } else {
        ("sample", sample::canary())
    };
    for (ext, text) in [
        ("html", html::render(&report, None)),
        ("md", markdown::render(&report, None)),
    ] {
        let path = dir.join(format!("{name}.{ext}"));
        if let Err(err) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {err}", path.display());
            return ExitCode::from(2);
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
