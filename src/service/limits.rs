//! The run's concurrency held to what the process may open: an item holds a few file
//! descriptors at once (a socket, a child's pipes), so `--concurrency 65535` under
//! `ulimit -n 256` would fail items with "Too many open files" instead of running them.

/// Descriptors one running item may hold at once (a child's three pipes and its pidfd, a
/// connection or two, DNS), with room to spare.
const PER_ITEM: u64 = 8;

/// Descriptors kept for everything else: the store's pool, the terminal, the runtime.
const RESERVED: u64 = 64;

/// The open-file limit after raising the soft limit to the hard one (as hurl and curl's
/// parallel mode do not, but a tool asked for a wide fan-out should); none when unknown.
fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// `asked` held to the open-file limit, with a note saying so when it was lowered.
pub fn concurrency(asked: usize) -> (usize, Option<String>) {
    let Some(limit) = open_file_limit() else {
        return (asked, None);
    };
    let room =
        usize::try_from((limit.saturating_sub(RESERVED) / PER_ITEM).max(1)).unwrap_or(usize::MAX);
    if asked <= room {
        return (asked, None);
    }
    (
        room,
        Some(format!(
            "note: running at most {room} items at once, not {asked}: the open-file limit is {limit} (ulimit -n), and each running item may hold {PER_ITEM}"
        )),
    )
}
