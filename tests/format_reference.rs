//! `checklists/README.md` is the format reference: its key tables are generated from the
//! kinds' own declarations (so they cannot drift), every kind has a complete example, and
//! every example is a checklist that lints clean.
//! `RELCON_BLESS=1 cargo test --test format_reference` prints the tables to paste.

use std::path::Path;

use relcon::checklist::kinds::KINDS;
use relcon::checklist::spec::{Key, Ty};
use relcon::checklist::Checklist;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("checklists/README.md"))
        .expect("checklists/README.md exists")
}

fn key_table(title: &str, keys: &[Key], out: &mut String) {
    out.push_str(&format!(
        "{title}\n\n| key | value | required | meaning |\n|---|---|---|---|\n"
    ));
    let mut nested = Vec::new();
    for key in keys {
        let required = if key.required { "yes" } else { "" };
        out.push_str(&format!(
            "| `{}` | {} | {required} | {} |\n",
            key.name,
            key.ty.expected().replace('|', "\\|"),
            key.doc
        ));
        match key.ty {
            Ty::Table(inner) | Ty::Tables(inner) => nested.push((key.name, inner)),
            _ => {}
        }
    }
    out.push('\n');
    for (name, inner) in nested {
        key_table(&format!("Keys of each `{name}` entry:"), inner, out);
    }
}

fn kind_reference(kind: &relcon::checklist::kinds::KindSpec) -> String {
    let mut out = String::new();
    key_table(
        &format!("Keys of `{}` items:", kind.name),
        kind.keys,
        &mut out,
    );
    out
}

#[test]
fn key_tables_match_the_kinds() {
    let readme = readme();
    let mut missing = Vec::new();
    for (table, keys) in relcon::checklist::FILE_TABLES {
        let mut text = String::new();
        key_table(&format!("Keys of `{table}`:"), keys, &mut text);
        if std::env::var_os("RELCON_BLESS").is_some() {
            println!("### `{table}`\n\n{text}");
        }
        if !readme.contains(&text) {
            missing.push(*table);
        }
    }
    for kind in KINDS {
        let table = kind_reference(kind);
        if std::env::var_os("RELCON_BLESS").is_some() {
            println!("### `{}`\n\n{table}", kind.name);
        }
        if !readme.contains(&table) {
            missing.push(kind.name);
        }
    }
    assert!(missing.is_empty(), "the key tables of {missing:?} in checklists/README.md are out of date (RELCON_BLESS=1 prints them)");
}

/// The ```toml blocks of the reference.
fn examples(readme: &str) -> Vec<String> {
    readme
        .split("```toml\n")
        .skip(1)
        .map(|block| block.split("\n```").next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn every_example_lints_clean() {
    let readme = readme();
    let blocks = examples(&readme);
    assert!(!blocks.is_empty());
    for (n, block) in blocks.iter().enumerate() {
        if let Err(invalid) =
            Checklist::from_bytes(&format!("README example {}", n + 1), block.as_bytes())
        {
            panic!("{}", invalid.render());
        }
    }
}

#[test]
fn every_kind_has_an_example() {
    let readme = readme();
    let blocks = examples(&readme);
    for kind in KINDS {
        let needle = format!("kind = \"{}\"", kind.name);
        assert!(
            blocks.iter().any(|b| b.contains(&needle)),
            "no example of kind `{}`",
            kind.name
        );
    }
}
