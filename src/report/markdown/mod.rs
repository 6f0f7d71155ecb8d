//! The report as Markdown, for a pull request or a release ticket: the verdict first, the
//! counts, failures and warnings with their reasons and evidence, every item by section,
//! who ran and who signed what and when, and how to verify the export.
//!
//! It always fits in one GitHub comment ([`LIMIT`]): when the whole text would not, it
//! says so and gives less, in steps: passing items counted per section instead of listed,
//! then shorter evidence excerpts, then none, and last, only as many entries of each list
//! as fit, each list saying how many it left out. Failures, warnings, items still open and
//! sign-offs are the last to go.
//!
//! Every text from the report goes through [`escape`], so nothing in it becomes markup.

mod bake;
mod blocks;
mod escape;

use super::diff::Diff;
use super::model::Report;

/// GitHub's limit for a comment, a pull request's or an issue's body, in characters. It
/// is counted here in UTF-16 units, as the browser counts it: never fewer than characters.
pub const LIMIT: usize = 65_536;

/// How much a rendering gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Detail {
    /// Every item listed by section; otherwise passing and skipped items are counted.
    every_item: bool,
    /// The longest evidence excerpt, in characters (0: none).
    excerpt: usize,
}

/// The steps from the whole report to the least that still says what matters.
const DETAILS: [Detail; 4] = [
    Detail {
        every_item: true,
        excerpt: 2_000,
    },
    Detail {
        every_item: false,
        excerpt: 2_000,
    },
    Detail {
        every_item: false,
        excerpt: 400,
    },
    Detail {
        every_item: false,
        excerpt: 0,
    },
];

/// Room kept for the notice that says what was summarised.
const NOTICE_ROOM: usize = 1_000;

/// A rendering in parts: lists whose entries can be left out, between a head and a tail
/// that always stay.
#[derive(Debug, Default)]
struct Doc {
    /// The verdict, the facts of the session, the counts.
    head: String,
    /// The lists, in the order they are shown.
    groups: Vec<Group>,
    /// The integrity facts and how to verify.
    tail: String,
}

/// A list: its heading (with a table's header, if any) and its entries.
#[derive(Debug, Default)]
struct Group {
    /// Shown even when no entry fits.
    heading: String,
    /// One block or one table row each.
    entries: Vec<String>,
}

/// The length of `text` as GitHub counts it.
fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

impl Doc {
    /// The text with the entries each group keeps (`kept[g]` of group `g`), and `notice`
    /// after the head.
    fn assemble(&self, notice: &str, kept: &[usize]) -> String {
        let mut out = String::with_capacity(self.head.len() + self.tail.len() + 4_096);
        out.push_str(&self.head);
        if !notice.is_empty() {
            out.push_str(&format!("> {notice}\n\n"));
        }
        for (group, &kept) in self.groups.iter().zip(kept) {
            out.push_str(&group.heading);
            for entry in &group.entries[..kept] {
                out.push_str(entry);
            }
            let left = group.entries.len() - kept;
            if left > 0 {
                out.push_str(&format!(
                    "\n_…and {left} more not shown here, to fit in one comment: the JSON or HTML export has them all._\n"
                ));
            }
            out.push('\n');
        }
        out.push_str(&self.tail);
        out
    }

    /// Every entry of every group.
    fn everything(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.entries.len()).collect()
    }

    /// How many entries of each group fit in `limit` with the head, the tail and a notice:
    /// the groups take turns, one entry each, so that a long list of failures cannot crowd
    /// out the sign-offs.
    fn fit(&self, limit: usize) -> Vec<usize> {
        let fixed = units(&self.head)
            + units(&self.tail)
            + NOTICE_ROOM
            + self
                .groups
                .iter()
                .map(|g| units(&g.heading) + 160)
                .sum::<usize>();
        let mut room = limit.saturating_sub(fixed);
        let mut kept = vec![0; self.groups.len()];
        let mut full = vec![false; self.groups.len()];
        while full.iter().any(|f| !f) {
            for (g, group) in self.groups.iter().enumerate() {
                if full[g] {
                    continue;
                }
                match group.entries.get(kept[g]).map(|e| units(e)) {
                    Some(size) if size <= room => {
                        room -= size;
                        kept[g] += 1;
                    }
                    _ => full[g] = true,
                }
            }
        }
        kept
    }
}

/// What a summarised rendering says it left out.
fn notice(detail: Detail, cut: bool) -> String {
    if detail.every_item && !cut {
        return String::new();
    }
    let mut text = String::from(
        "**Summarised:** the whole report is longer than one GitHub comment allows (65,536 characters), so passing and skipped items are counted per section instead of listed; failures, warnings, items still open and sign-offs are listed."
    );
    if detail.excerpt == 0 {
        text.push_str(" Evidence is left out.");
    } else if detail.excerpt < DETAILS[0].excerpt {
        text.push_str(&format!(
            " Evidence excerpts are cut to {} characters.",
            detail.excerpt
        ));
    }
    if cut {
        text.push_str(" Even so, not every entry fits: each list says how many it left out.");
    }
    text.push_str(" The JSON or HTML export holds everything.");
    text
}

/// The report as Markdown, at most [`LIMIT`] characters long.
pub fn render(report: &Report, since: Option<&Diff>) -> String {
    let mut last = Doc::default();
    for detail in DETAILS {
        let doc = blocks::compose(report, detail, since);
        let text = doc.assemble(&notice(detail, false), &doc.everything());
        if units(&text) <= LIMIT {
            return text;
        }
        last = doc;
    }
    let kept = last.fit(LIMIT);
    let detail = DETAILS[DETAILS.len() - 1];
    last.assemble(&notice(detail, true), &kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(entries: &[usize]) -> Doc {
        Doc {
            head: "# head\n\n".into(),
            groups: entries
                .iter()
                .map(|&n| Group {
                    heading: "## list\n\n".into(),
                    entries: (0..n).map(|i| format!("- entry {i:04}\n")).collect(),
                })
                .collect(),
            tail: "## tail\n".into(),
        }
    }

    #[test]
    fn lists_take_turns_when_room_runs_out() {
        let doc = doc(&[10_000, 3, 10_000]);
        let kept = doc.fit(20_000);
        assert_eq!(kept[1], 3, "the short list is kept whole: {kept:?}");
        assert!(kept[0] > 100 && kept[0] < 10_000, "{kept:?}");
        assert!(kept[0].abs_diff(kept[2]) <= 1, "{kept:?}");
        let text = doc.assemble(&notice(DETAILS[3], true), &kept);
        assert!(units(&text) <= 20_000, "{}", units(&text));
        assert!(text.contains("more not shown here"));
        assert!(text.contains("not every entry fits"));
    }

    #[test]
    fn nothing_is_said_about_summarising_a_whole_report() {
        assert_eq!(notice(DETAILS[0], false), "");
        assert!(notice(DETAILS[1], false).contains("counted per section"));
        // The notice spells the limit out for people.
        assert!(notice(DETAILS[1], false).contains(&format!(
            "{},{:03}",
            LIMIT / 1000,
            LIMIT % 1000
        )));
        assert!(notice(DETAILS[3], false).contains("Evidence is left out"));
    }

    #[test]
    fn length_is_counted_as_a_browser_counts_it() {
        assert_eq!(units("abc"), 3);
        assert_eq!(units("✔"), 1);
        assert_eq!(units("😀"), 2);
    }
}
