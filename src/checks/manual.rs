//! `manual`: an item a person does and signs off, with evidence fields and N signers.

/// A manual item is never run: it waits for its sign-offs.
pub(crate) fn run<'a>(_: &'a super::CheckContext<'a>) -> super::RunFuture<'a> {
    Box::pin(async { super::CheckResult::new(crate::status::Status::Pending, "awaiting sign-off") })
}
