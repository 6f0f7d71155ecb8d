//! Times as a session keeps them: events stamp milliseconds, reports show seconds; both are
//! RFC 3339 in UTC.

use std::time::SystemTime;

/// A moment, read from (or written as) RFC 3339 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    /// Now.
    pub fn now() -> Self {
        Timestamp(SystemTime::now())
    }

    /// The moment RFC 3339 UTC `text` names.
    pub fn parse(text: &str) -> Option<Self> {
        humantime::parse_rfc3339_weak(text).ok().map(Timestamp)
    }

    /// As the system clock has it.
    pub fn system(self) -> SystemTime {
        self.0
    }

    /// RFC 3339 UTC with seconds, as reports show times.
    pub fn seconds(self) -> String {
        humantime::format_rfc3339_seconds(self.0).to_string()
    }

    /// RFC 3339 UTC with milliseconds, as events are stamped.
    pub fn millis(self) -> String {
        humantime::format_rfc3339_millis(self.0).to_string()
    }
}

impl From<SystemTime> for Timestamp {
    fn from(at: SystemTime) -> Self {
        Timestamp(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_text_reads_back_as_it_was_written() {
        let at = Timestamp::parse("2026-11-26T07:00:00.123Z").expect("a time");
        assert_eq!(at.millis(), "2026-11-26T07:00:00.123Z");
        assert_eq!(at.seconds(), "2026-11-26T07:00:00Z");
        assert_eq!(Timestamp::parse("yesterday"), None);
    }
}
