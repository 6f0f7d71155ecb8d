//! JUnit XML of a report, for CI systems: one suite per section, one case per item (the
//! section as classname, the id as name); fail and error are failures, skip, blocked and
//! pending are skipped with their reason.

use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::model::Report;
use crate::status::Status;

/// The report as JUnit XML.
pub fn render(report: &Report) -> Result<String, quick_junit::SerializeError> {
    let mut junit = quick_junit::Report::new(format!("relcon {}", report.checklist.id));
    let mut suites: Vec<TestSuite> = Vec::new();
    for item in report.items.iter().filter(|i| i.in_scope) {
        let mut status = match item.status {
            Status::Pass | Status::Warn => TestCaseStatus::success(),
            Status::Fail | Status::Error => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_type(item.status.name());
                status
            }
            Status::Skip | Status::Blocked | Status::Pending | Status::Running => {
                let mut status = TestCaseStatus::skipped();
                status.set_type(item.status.name());
                status
            }
        };
        if item.status != Status::Pass {
            status.set_message(format!("{}: {}", item.status.name(), item.summary));
        }
        let mut case = TestCase::new(item.id.as_str(), status);
        case.set_classname(item.section.as_str());
        case.set_time(Duration::from_millis(item.duration_ms));
        if item.status == Status::Warn {
            case.set_system_out(format!("warn: {}", item.summary));
        }
        match suites.iter_mut().find(|s| s.name.as_str() == item.section) {
            Some(suite) => {
                suite.add_test_case(case);
            }
            None => {
                let mut suite = TestSuite::new(item.section.as_str());
                suite.add_test_case(case);
                suites.push(suite);
            }
        }
    }
    junit.add_test_suites(suites);
    junit.to_string()
}
