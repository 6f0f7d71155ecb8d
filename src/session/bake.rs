//! The post-deploy bake as its session records it, and the regression rule, pure: the bakes
//! folded from a session's records, each item's latency figures, and whether the rounds so
//! far show a regression. The bake's runner, the console, the report and `relcon verify`
//! all ask this module, so they cannot judge one bake two ways.

use std::collections::BTreeMap;
use std::time::Duration;

use super::event::BakeRules;
use super::fold::Audit;
use super::{Body, Timestamp};
use crate::status::Status;

/// How a bake ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It lasted its time without a regression.
    Go,
    /// A regression ended it.
    NoGo,
    /// Someone stopped it early: not a failure.
    Stopped,
}

impl Outcome {
    /// Its word, as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Go => "go",
            Outcome::NoGo => "no-go",
            Outcome::Stopped => "stopped",
        }
    }

    /// The outcome a stored word names.
    pub fn parse(word: &str) -> Option<Self> {
        [Outcome::Go, Outcome::NoGo, Outcome::Stopped]
            .into_iter()
            .find(|o| o.name() == word)
    }
}

/// One recorded round.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// When it was recorded.
    pub at: Timestamp,
    /// 1, 2, 3…
    pub number: u32,
    /// Each item's status, in the bake's item order.
    pub status: Vec<Status>,
    /// Each item's latency.
    pub latency_ms: Vec<u64>,
    /// What items that did not pass said.
    pub notes: BTreeMap<String, String>,
}

/// A post-deploy bake as its session has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bake {
    /// When it started.
    pub started_at: Timestamp,
    /// Who started it.
    pub by: String,
    /// The items it re-runs.
    pub items: Vec<String>,
    /// The time between rounds.
    pub every: Duration,
    /// How long it lasts.
    pub duration: Duration,
    /// How its rounds are judged.
    pub rules: BakeRules,
    /// Items marked for the bake that it leaves out, with why.
    pub left_out: BTreeMap<String, String>,
    /// Its rounds so far.
    pub rounds: Vec<Round>,
    /// How it ended, why and when; none while it runs (or when its process died: another
    /// `relcon bake` takes it up).
    pub ended: Option<(Outcome, String, Timestamp)>,
}

/// An item's figures over a bake's rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFigures {
    /// The latency of every round, in order (a failed round's too).
    pub latencies: Vec<u64>,
    /// The median latency of passing rounds.
    pub p50: Option<u64>,
    /// The 95th percentile (nearest rank) of passing rounds.
    pub p95: Option<u64>,
    /// Rounds that failed.
    pub failures: usize,
    /// Failed rounds in a row at the end.
    pub streak: usize,
    /// The median latency of the first rounds, once there are that many.
    pub baseline: Option<u64>,
}

/// The bakes a session's records hold, oldest first.
pub fn bakes(audit: &[Audit]) -> Vec<Bake> {
    let mut bakes: Vec<Bake> = Vec::new();
    for record in audit {
        match &record.body {
            Body::BakeStarted {
                items,
                every_ms,
                for_ms,
                rules,
                left_out,
            } => bakes.push(Bake {
                started_at: record.at,
                by: record.by.clone(),
                items: items.clone(),
                every: Duration::from_millis(*every_ms),
                duration: Duration::from_millis(*for_ms),
                rules: rules.clone(),
                left_out: left_out.clone(),
                rounds: Vec::new(),
                ended: None,
            }),
            Body::BakeRound {
                round,
                status,
                latency_ms,
                notes,
            } => {
                if let Some(bake) = bakes.last_mut().filter(|b| b.ended.is_none()) {
                    bake.rounds.push(Round {
                        at: record.at,
                        number: *round,
                        status: status.clone(),
                        latency_ms: latency_ms.clone(),
                        notes: notes.clone(),
                    });
                }
            }
            Body::BakeEnded { outcome, reason } => {
                if let Some(bake) = bakes.last_mut().filter(|b| b.ended.is_none()) {
                    let outcome = Outcome::parse(outcome).unwrap_or(Outcome::Stopped);
                    bake.ended = Some((outcome, reason.clone(), record.at));
                }
            }
            _ => {}
        }
    }
    bakes
}

/// Whether a round's status counts as a failed round.
fn failed(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error)
}

/// The value at nearest rank `percent` of sorted `values`.
fn rank(sorted: &[u64], percent: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    rank(&sorted, 50)
}

impl Bake {
    /// When it ends, if nothing ends it sooner.
    pub fn ends_at(&self) -> std::time::SystemTime {
        self.started_at.system() + self.duration
    }

    /// The rounds it holds in all (its time over the time between rounds, the first at once).
    pub fn planned_rounds(&self) -> u32 {
        let every = self.every.as_millis().max(1);
        u32::try_from(self.duration.as_millis() / every).unwrap_or(u32::MAX)
    }

    /// The failed rounds in a row that are a regression of `item`.
    pub fn fail_after(&self, item: &str) -> u32 {
        self.rules
            .fail_after_by_item
            .get(item)
            .copied()
            .unwrap_or(self.rules.fail_after)
            .max(1)
    }

    /// The figures of item number `index` (in the bake's item order).
    pub fn figures(&self, index: usize) -> ItemFigures {
        let samples: Vec<(Status, u64)> = self
            .rounds
            .iter()
            .filter_map(|r| Some((*r.status.get(index)?, *r.latency_ms.get(index)?)))
            .collect();
        let mut passing: Vec<u64> = samples
            .iter()
            .filter(|(s, _)| !failed(*s))
            .map(|(_, l)| *l)
            .collect();
        passing.sort_unstable();
        let baseline_rounds = self.rules.baseline_rounds.max(1) as usize;
        let baseline = (samples.len() >= baseline_rounds)
            .then(|| {
                let first: Vec<u64> = samples[..baseline_rounds]
                    .iter()
                    .filter(|(s, _)| !failed(*s))
                    .map(|(_, l)| *l)
                    .collect();
                median(&first)
            })
            .flatten();
        ItemFigures {
            latencies: samples.iter().map(|(_, l)| *l).collect(),
            p50: rank(&passing, 50),
            p95: rank(&passing, 95),
            failures: samples.iter().filter(|(s, _)| failed(*s)).count(),
            streak: samples.iter().rev().take_while(|(s, _)| failed(*s)).count(),
            baseline,
        }
    }

    /// The latency above which item `index`'s p95 is a regression, once it has a baseline:
    /// max(factor × baseline, baseline + margin).
    pub fn latency_limit(&self, index: usize) -> Option<u64> {
        let baseline = self.figures(index).baseline?;
        let scaled =
            (baseline as f64 * f64::from(self.rules.latency_factor_percent) / 100.0).ceil() as u64;
        let margin = self
            .items
            .get(index)
            .and_then(|item| self.rules.latency_margin_ms_by_item.get(item))
            .copied()
            .unwrap_or(self.rules.latency_margin_ms);
        Some(scaled.max(baseline.saturating_add(margin)))
    }

    /// The first regression the rounds so far show, said in a line: an item failing its
    /// number of rounds in a row, or an item's p95 above its limit. The p95 is taken over
    /// the most recent samples after the baseline (at least `latency_samples`, and 20 so
    /// that it is never one slow sample: a cold start is not a regression).
    pub fn regression(&self) -> Option<String> {
        for (index, item) in self.items.iter().enumerate() {
            let figures = self.figures(index);
            let needed = self.fail_after(item) as usize;
            if figures.streak >= needed {
                let note = self
                    .rounds
                    .last()
                    .and_then(|r| r.notes.get(item))
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default();
                let rounds = if needed == 1 {
                    "in a round".to_string()
                } else {
                    format!("{needed} rounds in a row")
                };
                return Some(format!("{item} failed {rounds}{note}"));
            }
        }
        for (index, item) in self.items.iter().enumerate() {
            if let Some(reason) = self.latency_regression(index, item) {
                return Some(reason);
            }
        }
        None
    }

    fn latency_regression(&self, index: usize, item: &str) -> Option<String> {
        let limit = self.latency_limit(index)?;
        let baseline = self.figures(index).baseline?;
        let after: Vec<u64> = self
            .rounds
            .iter()
            .skip(self.rules.baseline_rounds.max(1) as usize)
            .filter_map(|r| {
                let status = *r.status.get(index)?;
                (!failed(status)).then_some(*r.latency_ms.get(index)?)
            })
            .collect();
        let wanted = (self.rules.latency_samples.max(3) as usize).max(20);
        if after.len() < self.rules.latency_samples.max(3) as usize {
            return None;
        }
        let mut window = after[after.len().saturating_sub(wanted)..].to_vec();
        window.sort_unstable();
        let p95 = rank(&window, 95)?;
        let over = window.iter().filter(|&&l| l > limit).count();
        (p95 > limit && over >= 2).then(|| {
            format!(
                "{item} became slower: p95 {p95} ms over the last {} samples, above {limit} ms (baseline {baseline} ms)",
                window.len()
            )
        })
    }

    /// The first round after which the rounds show a regression, with the regression.
    pub fn first_regression(&self) -> Option<(u32, String)> {
        let mut prefix = Bake {
            rounds: Vec::with_capacity(self.rounds.len()),
            ..self.clone()
        };
        for round in &self.rounds {
            prefix.rounds.push(round.clone());
            if let Some(reason) = prefix.regression() {
                return Some((round.number, reason));
            }
        }
        None
    }

    /// How its recorded end disagrees with what its rounds say by the rule, if it does: a
    /// bake ends no-go at the first round that shows a regression, with that reason, and
    /// go or stopped only when none does. (One still baking is judged when it ends.)
    pub fn disagreement(&self) -> Option<String> {
        let (outcome, reason, _) = self.ended.as_ref()?;
        let last = self.rounds.last().map_or(0, |r| r.number);
        match (outcome, self.first_regression()) {
            (Outcome::NoGo, None) => Some(format!(
                "recorded no-go ({reason}), but none of its {} rounds shows a regression",
                self.rounds.len()
            )),
            (Outcome::NoGo, Some((round, found))) if found != *reason => Some(format!(
                "recorded no-go ({reason}), but its rounds say: {found} (round {round})"
            )),
            (Outcome::NoGo, Some((round, _))) if round != last => Some(format!(
                "it went on to round {last} after the regression of round {round}"
            )),
            (Outcome::Go | Outcome::Stopped, Some((round, found))) => Some(format!(
                "recorded {}, but round {round} shows a regression: {found}",
                outcome.name()
            )),
            _ => None,
        }
    }

    /// Its verdict: how it ended, or none while it runs.
    pub fn outcome(&self) -> Option<Outcome> {
        self.ended.as_ref().map(|(o, _, _)| *o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> BakeRules {
        BakeRules {
            fail_after: 2,
            fail_after_by_item: BTreeMap::from([("version".to_string(), 1)]),
            latency_factor_percent: 300,
            latency_margin_ms: 250,
            latency_margin_ms_by_item: BTreeMap::from([("version".to_string(), 1000)]),
            latency_samples: 10,
            baseline_rounds: 3,
        }
    }

    fn bake(rounds: &[(&[Status], &[u64])]) -> Bake {
        Bake {
            started_at: Timestamp::now(),
            by: "ann".into(),
            items: vec!["live".into(), "version".into()],
            every: Duration::from_secs(1),
            duration: Duration::from_secs(60),
            rules: rules(),
            left_out: BTreeMap::new(),
            rounds: rounds
                .iter()
                .enumerate()
                .map(|(n, (status, latency))| Round {
                    at: Timestamp::now(),
                    number: n as u32 + 1,
                    status: status.to_vec(),
                    latency_ms: latency.to_vec(),
                    notes: BTreeMap::new(),
                })
                .collect(),
            ended: None,
        }
    }

    const OK: &[Status] = &[Status::Pass, Status::Pass];
    const LIVE_FAILS: &[Status] = &[Status::Fail, Status::Pass];

    #[test]
    fn one_failed_round_is_not_a_regression_and_two_in_a_row_are() {
        let once = bake(&[(OK, &[20, 20]), (LIVE_FAILS, &[20, 20]), (OK, &[20, 20])]);
        assert_eq!(once.regression(), None);
        let twice = bake(&[
            (OK, &[20, 20]),
            (LIVE_FAILS, &[20, 20]),
            (LIVE_FAILS, &[20, 20]),
        ]);
        assert_eq!(
            twice.regression().as_deref(),
            Some("live failed 2 rounds in a row")
        );
        assert_eq!(twice.figures(0).failures, 2);
    }

    #[test]
    fn an_item_with_its_own_count_fails_at_once() {
        let changed = bake(&[(OK, &[20, 20]), (&[Status::Pass, Status::Fail], &[20, 20])]);
        assert_eq!(
            changed.regression().as_deref(),
            Some("version failed in a round")
        );
    }

    #[test]
    fn latency_is_judged_against_the_first_rounds_and_never_on_one_sample() {
        let mut rounds: Vec<(&[Status], &[u64])> = vec![(OK, &[100, 20]); 3];
        let usual: &[u64] = &[110, 20];
        rounds.extend(vec![(OK, usual); 9]);
        // A cold start: one slow sample among fast ones.
        rounds.push((OK, &[5000, 20]));
        assert_eq!(bake(&rounds).regression(), None);
        // 350 ms is the limit (max(3 × 100, 100 + 250)): at it is not above it.
        rounds.push((OK, &[350, 20]));
        assert_eq!(bake(&rounds).regression(), None);
        rounds.push((OK, &[351, 20]));
        let slow = bake(&rounds);
        assert_eq!(slow.latency_limit(0), Some(350));
        // An item with its own margin: max(3 × 20, 20 + 1000).
        assert_eq!(slow.latency_limit(1), Some(1020));
        let reason = slow.regression().expect("a regression");
        assert!(
            reason.starts_with("live became slower: p95 5000 ms"),
            "{reason}"
        );
    }

    #[test]
    fn a_recorded_end_is_checked_against_the_rounds() {
        let mut twice = bake(&[
            (OK, &[20, 20]),
            (LIVE_FAILS, &[20, 20]),
            (LIVE_FAILS, &[20, 20]),
        ]);
        let at = Timestamp::now();
        twice.ended = Some((Outcome::NoGo, "live failed 2 rounds in a row".into(), at));
        assert_eq!(twice.disagreement(), None);
        twice.ended = Some((Outcome::Go, "3 rounds".into(), at));
        assert_eq!(
            twice.disagreement().as_deref(),
            Some("recorded go, but round 3 shows a regression: live failed 2 rounds in a row")
        );
        let mut fine = bake(&[(OK, &[20, 20]), (OK, &[20, 20])]);
        fine.ended = Some((Outcome::NoGo, "live failed 2 rounds in a row".into(), at));
        assert!(fine
            .disagreement()
            .is_some_and(|d| d.contains("none of its 2 rounds")));
        fine.ended = Some((Outcome::Stopped, "stopped by ann".into(), at));
        assert_eq!(fine.disagreement(), None);
    }

    #[test]
    fn too_few_samples_are_not_judged() {
        let rounds: Vec<(&[Status], &[u64])> = vec![
            (OK, &[10, 10]),
            (OK, &[10, 10]),
            (OK, &[10, 10]),
            (OK, &[900, 10]),
            (OK, &[900, 10]),
        ];
        assert_eq!(bake(&rounds).regression(), None);
    }

    #[test]
    fn percentiles_are_by_nearest_rank_over_passing_rounds() {
        let rounds: Vec<(&[Status], &[u64])> = vec![
            (OK, &[10, 1]),
            (OK, &[20, 1]),
            (LIVE_FAILS, &[9000, 1]),
            (OK, &[30, 1]),
        ];
        let figures = bake(&rounds).figures(0);
        assert_eq!(figures.p50, Some(20));
        assert_eq!(figures.p95, Some(30));
        assert_eq!(figures.baseline, Some(10));
        assert_eq!(figures.latencies, [10, 20, 9000, 30]);
        assert_eq!(figures.streak, 0);
    }
}
