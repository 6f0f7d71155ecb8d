//! Every broken checklist under `tests/lint/` gives exit 2 and exactly its `.expected` text
//! (file:line:column, source line, caret, hint) on stderr, nothing on stdout.
//! `RELCON_BLESS=1 cargo test --test lint_corpus` rewrites the expectations; review the diff.

use std::path::Path;
use std::process::Command;

#[test]
fn every_broken_checklist_reports_its_exact_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/lint exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "the corpus holds at least 20 broken checklists, found {}",
        cases.len()
    );
    let bless = std::env::var_os("RELCON_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .to_string();
        let output = Command::new(env!("CARGO_BIN_EXE_relcon"))
            .arg("lint")
            .arg(&name)
            .current_dir(&dir)
            .output()
            .expect("relcon runs");
        let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
        let expected_path = case.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &stderr).expect("writes expectation");
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .expected file", name));
        if output.status.code() != Some(2) {
            failures.push(format!(
                "{name}: exit {:?}, expected 2",
                output.status.code()
            ));
        }
        if !output.stdout.is_empty() {
            failures.push(format!("{name}: printed on stdout"));
        }
        if stderr != expected {
            failures.push(format!(
                "{name}: stderr differs\n--- expected\n{expected}--- actual\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Valid checklists with unusual but legitimate shapes lint clean (no false positives).
#[test]
fn valid_edge_cases_lint_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint_ok");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/lint_ok exists") {
        let path = entry.expect("readable entry").path();
        let output = Command::new(env!("CARGO_BIN_EXE_relcon"))
            .arg("lint")
            .arg(&path)
            .output()
            .expect("relcon runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}:\n{}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        count += 1;
    }
    assert!(count >= 5);
}
