//! The list's filters: all items, or only the failed, the unsettled or the manual ones.

use super::ItemInfo;
use crate::status::Status;

/// Which items the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Every item.
    #[default]
    All,
    /// Failed and errored items.
    Failed,
    /// Items not settled yet: pending, running, blocked.
    Pending,
    /// Manual items.
    Manual,
}

impl Filter {
    /// The next filter in the cycle.
    pub fn next(self) -> Self {
        match self {
            Filter::All => Filter::Failed,
            Filter::Failed => Filter::Pending,
            Filter::Pending => Filter::Manual,
            Filter::Manual => Filter::All,
        }
    }

    /// Its name, as the list's title shows it.
    pub fn name(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Failed => "failed",
            Filter::Pending => "pending",
            Filter::Manual => "manual",
        }
    }

    pub(super) fn admits(self, status: Status, item: &ItemInfo) -> bool {
        match self {
            Filter::All => true,
            Filter::Failed => matches!(status, Status::Fail | Status::Error),
            Filter::Pending => {
                matches!(status, Status::Pending | Status::Running | Status::Blocked)
            }
            Filter::Manual => !item.automated,
        }
    }
}
