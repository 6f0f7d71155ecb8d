//! Lint speed: the shipped checklist and a generated 5,000-item one, in process.
//! Also writes the generated checklist to `target/bench/generated-5000.toml` so that
//! `bench/lint.sh` can time the real binary on the same file.

use std::fmt::Write;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use relcon::checklist::Checklist;

const SHIPPED: &[u8] = include_bytes!("../checklists/authjs-neon.toml");

/// A checklist of `items` items across 50 sections, mixing kinds, `needs` chains, `when`
/// conditions, templates and production overrides.
fn generated(items: usize) -> String {
    let sections = 50;
    let mut out = String::from("sections = [");
    for s in 0..sections {
        write!(out, "\"Section {s}\", ").expect("write to string");
    }
    out.push_str("]\n\n[checklist]\nid = \"generated\"\ntitle = \"Generated\"\nversion = 1\ndefault_environment = \"staging\"\nbase_url = [\"APP_URL\"]\n\n");
    out.push_str("[inputs]\nAPP_URL = {}\nAPI_TOKEN = { secret = true }\nAPP_SECRET = { secret = true }\nPLATFORM = {}\n\n[vars]\nhealth_path = \"/health\"\n\n");
    out.push_str("[environments.staging]\n\n[environments.production]\nproduction = true\n\n[environments.production.overrides]\n");
    for i in (0..items).step_by(20) {
        writeln!(out, "\"item.{i}\" = {{ timeout = \"5s\", retries = 0 }}")
            .expect("write to string");
    }
    for i in 0..items {
        let section = i % sections;
        write!(out, "\n[[item]]\nid = \"item.{i}\"\nsection = \"Section {section}\"\ntitle = \"Item {i}\"\nhelp = \"What item {i} verifies, why, and what to do when it fails.\"\n").expect("write to string");
        if i >= sections {
            writeln!(out, "needs = [\"item.{}\"]", i - sections).expect("write to string");
        }
        match i % 4 {
            0 => write!(out, "kind = \"http\"\nwhen = \"PLATFORM != 'workers'\"\nurl = \"${{origin}}${{health_path}}?n={i}\"\nheaders = {{ Authorization = \"Bearer ${{API_TOKEN}}\" }}\ntimeout = \"10s\"\nretries = 2\nexpect = {{ status = [200, 204], body_matches = '(?i)ok', json = [{{ path = \"$.items[0].name\", exists = true }}] }}\n"),
            1 => write!(out, "kind = \"env\"\n[[item.rules]]\nnames = [\"APP_SECRET\"]\nmin_length = 32\nforbidden = [\"changeme\"]\npattern = '^[A-Za-z0-9+/=]+$'\n"),
            2 => write!(out, "kind = \"manual\"\nsignoffs = 1\nevidence = [{{ key = \"ref\", label = \"Reference\", format = \"url\" }}]\n"),
            _ => write!(out, "kind = \"scan\"\npaths = [\"**/*.env\", \"config/**\"]\nrules = [\"secrets\", \"dev-defaults\"]\n"),
        }
        .expect("write to string");
    }
    out
}

fn bench_lint(c: &mut Criterion) {
    let large = generated(5_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        // Best effort: the file only serves bench/lint.sh.
        let _ = std::fs::write(dir.join("generated-5000.toml"), &large);
    }
    if let Err(invalid) = Checklist::from_bytes("generated.toml", large.as_bytes()) {
        panic!(
            "the generated checklist must be valid:\n{}",
            invalid.render()
        );
    }
    c.bench_function("lint shipped checklist (31 items)", |b| {
        b.iter(|| Checklist::from_bytes("authjs-neon.toml", SHIPPED).map(|c| c.items.len()))
    });
    let mut group = c.benchmark_group("large");
    group.sample_size(20);
    group.bench_function("lint generated checklist (5,000 items)", |b| {
        b.iter(|| Checklist::from_bytes("generated.toml", large.as_bytes()).map(|c| c.items.len()))
    });
    group.finish();
}

criterion_group!(benches, bench_lint);
criterion_main!(benches);
