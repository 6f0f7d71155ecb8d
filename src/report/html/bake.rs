//! The post-deploy bake in the HTML report: its verdict and why, then per baked item a
//! chart of its latency over the rounds (failed rounds marked, its limit dashed) beside its
//! figures. The charts are inline SVG drawn with presentation attributes, so the page's
//! Content-Security-Policy (no inline style) holds.

use std::fmt::Write;

use super::{badge, escape};
use crate::report::model::{ReportBake, ReportBakeItem};
use crate::status::Status;

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 48.0;

use crate::report::view::ms_or_dash as ms;

/// The status a bake's outcome is shown as.
fn outcome_status(outcome: &str) -> Status {
    match outcome {
        "go" => Status::Pass,
        "no-go" => Status::Fail,
        "stopped" => Status::Skip,
        _ => Status::Running,
    }
}

/// The word of a bake's outcome.
fn outcome_word(outcome: &str) -> &'static str {
    match outcome {
        "go" => "GO",
        "no-go" => "NO-GO",
        "stopped" => "STOPPED",
        _ => "BAKING",
    }
}

/// An item's latency over the rounds as a line, scaled to the larger of its slowest round
/// and its limit; a failed round is a red dot on the baseline; the limit a dashed line.
pub fn chart(item: &ReportBakeItem) -> String {
    let n = item.latencies_ms.len();
    let top = item
        .latencies_ms
        .iter()
        .copied()
        .chain(item.limit_ms)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |i: usize| {
        if n <= 1 {
            WIDTH / 2.0
        } else {
            4.0 + (WIDTH - 8.0) * i as f64 / (n - 1) as f64
        }
    };
    let y = |ms: u64| HEIGHT - 2.0 - (HEIGHT - 4.0) * ms as f64 / top;
    let points: Vec<String> = item
        .latencies_ms
        .iter()
        .enumerate()
        .map(|(i, &l)| format!("{:.1},{:.1}", x(i), y(l)))
        .collect();
    let mut svg = format!(
        "<svg class=\"spark\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"latency of {} over {n} rounds\">",
        escape(&item.id)
    );
    if let Some(limit) = item.limit_ms {
        let _ = write!(
            svg,
            "<line x1=\"0\" x2=\"{WIDTH}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"#9a6700\" stroke-dasharray=\"4 3\" stroke-width=\"1\"><title>limit {limit} ms</title></line>",
            y(limit)
        );
    }
    let _ = write!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\"/>",
        points.join(" ")
    );
    for &round in &item.failed_rounds {
        let i = (round as usize).saturating_sub(1).min(n.saturating_sub(1));
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#cf222e\"><title>round {round} failed</title></circle>",
            x(i),
            HEIGHT - 4.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The bake's section.
pub fn render(bake: &ReportBake, out: &mut String) {
    let status = outcome_status(&bake.outcome);
    let _ = write!(
        out,
        "<section id=\"bake\"><h2>Post-deploy bake {}</h2>\n<p>",
        badge_word(status, outcome_word(&bake.outcome))
    );
    if !bake.reason.is_empty() {
        let _ = write!(out, "<strong>{}</strong>. ", escape(&bake.reason));
    }
    let _ = writeln!(
        out,
        "{} rounds, every {} for {}, started <time>{}</time> by {}.</p>",
        bake.rounds,
        crate::report::view::duration_ms(bake.every_ms),
        crate::report::view::duration_ms(bake.for_ms),
        escape(&bake.started_at),
        escape(&bake.by)
    );
    if bake.outcome == "no-go" {
        out.push_str("<p>Next: roll back to the previous release, then start a new session.</p>\n");
    }
    if !bake.left_out.is_empty() {
        out.push_str("<ul>\n");
        for (item, why) in &bake.left_out {
            let _ = writeln!(
                out,
                "<li>left out: <code>{}</code>: {}</li>",
                escape(item),
                escape(why)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<table class=\"fixed bake\"><thead><tr><th>item</th><th>latency over the rounds</th><th>rounds</th><th>failed</th><th>p50</th><th>p95</th><th>baseline</th><th>limit</th></tr></thead>\n<tbody>\n");
    for item in &bake.items {
        let failed = if item.failures > 0 {
            badge(Status::Fail)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{} {failed}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&item.id),
            chart(item),
            item.latencies_ms.len(),
            item.failures,
            ms(item.p50_ms),
            ms(item.p95_ms),
            ms(item.baseline_ms),
            ms(item.limit_ms)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// A badge with its own word (a bake's outcome is no item status).
fn badge_word(status: Status, word: &str) -> String {
    format!(
        "<span class=\"st {}\">{} {word}</span>",
        super::status_class(status),
        status.symbol()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_marks_failed_rounds_and_the_limit() {
        let item = ReportBakeItem {
            id: "health<live>".into(),
            failures: 1,
            p50_ms: Some(10),
            p95_ms: Some(20),
            baseline_ms: Some(10),
            limit_ms: Some(260),
            latencies_ms: vec![10, 20, 5000],
            failed_rounds: vec![3],
        };
        let svg = chart(&item);
        assert!(svg.contains("aria-label=\"latency of health&lt;live&gt; over 3 rounds\""));
        assert!(svg.contains("<title>limit 260 ms</title>"));
        assert!(svg.contains("<title>round 3 failed</title>"));
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(
            !svg.contains("style="),
            "inline styles break the page's CSP"
        );
    }
}
