//! Item statuses, the verdict over them and the exit codes, as PRODUCT.md fixes them.

use serde::{Deserialize, Serialize};

use crate::exit;

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not run or not signed yet.
    Pending,
    /// Running now.
    Running,
    /// Met.
    Pass,
    /// Met, with advice.
    Warn,
    /// The deployment does not meet the item.
    Fail,
    /// The check could not be evaluated.
    Error,
    /// Not applicable.
    Skip,
    /// An item it needs has not passed.
    Blocked,
}

impl Status {
    /// Every status, in the order counts are shown.
    pub const ALL: [Status; 8] = [
        Status::Pass,
        Status::Warn,
        Status::Fail,
        Status::Error,
        Status::Skip,
        Status::Blocked,
        Status::Pending,
        Status::Running,
    ];

    /// The status's name as reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Blocked => "blocked",
        }
    }

    /// A symbol that tells the status apart without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Pending => "·",
            Status::Running => "▶",
            Status::Pass => "✔",
            Status::Warn => "▲",
            Status::Fail => "✘",
            Status::Error => "‼",
            Status::Skip => "↷",
            Status::Blocked => "⊘",
        }
    }

    /// Whether items that need this one may run: it passed, passed with advice, or does
    /// not apply.
    pub fn satisfies_needs(self) -> bool {
        matches!(self, Status::Pass | Status::Warn | Status::Skip)
    }

    /// Whether the item has a final result (it is not waiting or running).
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Pending | Status::Running)
    }
}

/// The release decision over the required items in scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Everything passed, warned or does not apply.
    #[serde(rename = "go")]
    Go,
    /// Something failed or could not be evaluated.
    #[serde(rename = "no-go")]
    NoGo,
    /// Something is still pending, running or blocked.
    #[serde(rename = "incomplete")]
    Incomplete,
}

impl Verdict {
    /// The verdict over the statuses of the required items in scope:
    /// no-go on any fail or error, else incomplete on any pending, running or blocked, else go.
    pub fn of(statuses: impl IntoIterator<Item = Status>) -> Self {
        let mut verdict = Verdict::Go;
        for status in statuses {
            match status {
                Status::Fail | Status::Error => return Verdict::NoGo,
                Status::Pending | Status::Running | Status::Blocked => {
                    verdict = Verdict::Incomplete
                }
                Status::Pass | Status::Warn | Status::Skip => {}
            }
        }
        verdict
    }

    /// The verdict's name as reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Go => "go",
            Verdict::NoGo => "no-go",
            Verdict::Incomplete => "incomplete",
        }
    }

    /// The process exit code for this verdict.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Go => exit::GO,
            Verdict::NoGo => exit::NO_GO,
            Verdict::Incomplete => exit::INCOMPLETE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn verdict_rules_and_precedence() {
        assert_eq!(Verdict::of([]), Verdict::Go);
        assert_eq!(Verdict::of([Pass, Warn, Skip]), Verdict::Go);
        assert_eq!(Verdict::of([Pass, Fail]), Verdict::NoGo);
        assert_eq!(Verdict::of([Pass, Error]), Verdict::NoGo);
        assert_eq!(Verdict::of([Pass, Pending]), Verdict::Incomplete);
        assert_eq!(Verdict::of([Running, Pass]), Verdict::Incomplete);
        assert_eq!(Verdict::of([Blocked]), Verdict::Incomplete);
        // no-go wins over incomplete, whatever the order.
        assert_eq!(Verdict::of([Pending, Fail]), Verdict::NoGo);
        assert_eq!(Verdict::of([Error, Blocked]), Verdict::NoGo);
        assert_eq!(Verdict::Go.exit_code(), 0);
        assert_eq!(Verdict::NoGo.exit_code(), 1);
        assert_eq!(Verdict::Incomplete.exit_code(), 3);
    }
}
