//! Render time of the human-readable reports: Markdown and HTML of a 1,000-item report
//! whose session has 10,000 events (target: HTML well under 500 ms in release), with the
//! sizes of what they make.

#[path = "../tests/common/sample_report.rs"]
mod sample;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use relcon::report::{html, markdown};

fn bench_report(c: &mut Criterion) {
    let report = sample::large(1_000, 10_000);
    let md = markdown::render(&report, None);
    let page = html::render(&report, None);
    println!(
        "1,000 items, 10,000 events: Markdown {} characters, HTML {} bytes",
        md.chars().count(),
        page.len()
    );
    c.bench_function("markdown 1000 items 10000 events", |b| {
        b.iter(|| markdown::render(black_box(&report), None))
    });
    c.bench_function("html 1000 items 10000 events", |b| {
        b.iter(|| html::render(black_box(&report), None))
    });
}

criterion_group!(benches, bench_report);
criterion_main!(benches);
