//! The architecture, enforced: every `crate::` path from one top-level module of `src/` to
//! another must be an edge of the table below (the README's "Architecture" section says the
//! same in words), the table has no cycle, and no source file grows past what one idea needs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level modules each one may use. Data flows one way: checklist → engine →
/// events → store → session fold → views (console, headless lines, report).
const ALLOWED: &[(&str, &[&str])] = &[
    // Foundations: below everything, using (almost) nothing.
    ("exit", &[]),
    ("files", &[]),
    ("out", &["exit"]),
    ("text", &[]),
    ("status", &["exit"]),
    ("redact", &[]),
    ("jsonpath", &[]),
    ("dburl", &[]),
    ("sshsig", &["files"]),
    ("authjs", &[]),
    // What a checklist says: its format, the kinds' keys, the plan of a run.
    ("checklist", &["files", "jsonpath"]),
    // How each kind runs.
    (
        "checks",
        &[
            "authjs",
            "checklist",
            "dburl",
            "files",
            "jsonpath",
            "redact",
            "status",
        ],
    ),
    // The scheduler: runs checks, emits events.
    (
        "engine",
        &["checklist", "checks", "redact", "status", "text"],
    ),
    // The pure session model: events, chain, fold, rules.
    ("session", &["checklist", "sshsig", "status"]),
    // Persistence of events, the change feed, claims and presence.
    ("store", &["dburl", "engine", "session"]),
    // Views of a session.
    (
        "report",
        &["checklist", "redact", "session", "sshsig", "status"],
    ),
    (
        "headless",
        &["engine", "report", "session", "status", "text"],
    ),
    // One attended run, for the console, headless runs and the demo.
    (
        "service",
        &[
            "checklist",
            "checks",
            "dburl",
            "engine",
            "exit",
            "files",
            "headless",
            "out",
            "redact",
            "report",
            "session",
            "sshsig",
            "status",
            "store",
            "text",
        ],
    ),
    // The console: a view fed by the service.
    (
        "tui",
        &[
            "checklist",
            "engine",
            "out",
            "redact",
            "report",
            "service",
            "session",
            "status",
            "text",
        ],
    ),
    // The sandbox target of `relcon demo`.
    ("demo", &["authjs", "checks", "dburl"]),
    // The subcommands: they parse and call.
    (
        "commands",
        &[
            "authjs",
            "checklist",
            "checks",
            "dburl",
            "demo",
            "engine",
            "exit",
            "files",
            "headless",
            "out",
            "redact",
            "report",
            "service",
            "session",
            "sshsig",
            "status",
            "store",
            "text",
            "tui",
        ],
    ),
];

/// No file in `src/` holds more than one idea's worth of lines.
const MAX_LINES: usize = 700;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (none for the crate roots).
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(src()).expect("under src");
    let first = relative.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The top-level modules a line's code (its comment cut off) names with `crate::`.
fn used_in(line: &str) -> Vec<String> {
    let code = match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    };
    let mut used = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inside = group.split('}').next().unwrap_or_default();
            for part in inside.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "self" {
                    used.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.push(name);
            }
        }
    }
    used
}

#[test]
fn modules_use_only_the_modules_below_them() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(from, to)| (*from, to.iter().copied().collect()))
        .collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut unexpected = Vec::new();
    let mut seen_modules = BTreeSet::new();
    for file in &files {
        let Some(from) = module_of(file) else {
            continue;
        };
        seen_modules.insert(from.clone());
        let text = std::fs::read_to_string(file).expect("readable");
        for (n, line) in text.lines().enumerate() {
            for to in used_in(line) {
                if to == from {
                    continue;
                }
                let ok = allowed
                    .get(from.as_str())
                    .is_some_and(|a| a.contains(to.as_str()));
                if !ok {
                    unexpected.push(format!(
                        "{}:{}: {from} uses crate::{to}",
                        file.strip_prefix(src()).expect("under src").display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "edges outside the allowed table (move the helper below both users, or add the edge to the table and to the README's architecture section):\n{}",
        unexpected.join("\n")
    );
    let listed: BTreeSet<String> = allowed.keys().map(|k| k.to_string()).collect();
    assert_eq!(
        seen_modules, listed,
        "every top-level module has a row in the table, and every row a module"
    );
}

#[test]
fn the_table_has_no_cycle() {
    // Peel off modules whose uses are all peeled already; a cycle leaves some behind.
    let mut left: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(from, to)| (*from, to.iter().copied().collect()))
        .collect();
    loop {
        let ready: Vec<&str> = left
            .iter()
            .filter(|(_, to)| to.iter().all(|t| !left.contains_key(t)))
            .map(|(from, _)| *from)
            .collect();
        if ready.is_empty() {
            break;
        }
        for module in ready {
            left.remove(module);
        }
    }
    assert!(left.is_empty(), "these modules use each other: {left:?}");
}

#[test]
fn no_source_file_holds_more_than_one_idea() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file)
                .expect("readable")
                .lines()
                .count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", file.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines: split by idea:\n{}",
        long.join("\n")
    );
    let run = std::fs::read_to_string(src().join("commands/run.rs")).expect("readable");
    assert!(
        run.lines().count() < 300,
        "`relcon run` only parses and calls the service"
    );
}

#[test]
fn paths_are_read_from_code_not_comments() {
    assert_eq!(
        used_in("use crate::{session, store::Store};"),
        ["session", "store"]
    );
    assert_eq!(
        used_in("let x = crate::out::say(\"a\"); // crate::tui"),
        ["out"]
    );
    assert!(used_in("//! how crate::checks run").is_empty());
}
