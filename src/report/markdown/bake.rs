//! The post-deploy bake in the Markdown report: its verdict and why in a line, then a table
//! of each baked item's rounds, failures and latency figures.

use super::escape::{code, prose, Place};
use super::Group;
use crate::report::model::ReportBake;
use crate::report::view;

use crate::report::view::ms_or_dash as ms;

/// The bake's verdict as a word with its symbol.
pub fn verdict(bake: &ReportBake) -> String {
    match bake.outcome.as_str() {
        "go" => "✔ GO".into(),
        "no-go" => "✘ NO-GO".into(),
        "stopped" => "↷ STOPPED".into(),
        _ => "… BAKING".into(),
    }
}

/// The bake's group: the heading says its verdict and why; one table row per item.
pub(super) fn group(bake: &ReportBake) -> Group {
    let every = view::duration_ms(bake.every_ms);
    let lasting = view::duration_ms(bake.for_ms);
    let mut heading = format!(
        "## Post-deploy bake: {}\n\n**{}**{} · {} rounds, every {every} for {lasting}, started {} by {}\n\n",
        verdict(bake),
        verdict(bake),
        if bake.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", prose(&view::clip(&bake.reason, 500), Place::Text))
        },
        bake.rounds,
        prose(&bake.started_at, Place::Text),
        prose(&view::clip(&bake.by, 200), Place::Text),
    );
    for (item, why) in &bake.left_out {
        heading.push_str(&format!(
            "- left out: {}: {}\n",
            code(&view::clip(item, 200), Place::Text),
            prose(&view::clip(why, 300), Place::Text)
        ));
    }
    if !bake.left_out.is_empty() {
        heading.push('\n');
    }
    heading.push_str("| item | rounds | failed | p50 | p95 | baseline | limit |\n|---|---|---|---|---|---|---|\n");
    let entries = bake
        .items
        .iter()
        .map(|item| {
            format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                code(&view::clip(&item.id, 200), Place::Cell),
                item.latencies_ms.len(),
                item.failures,
                ms(item.p50_ms),
                ms(item.p95_ms),
                ms(item.baseline_ms),
                ms(item.limit_ms)
            )
        })
        .collect();
    Group { heading, entries }
}
