//! "Acknowledged" means on the disk: no result is printed before the commit that holds it
//! has been synced. kill -9 cannot show it (the page cache outlives the process), so the
//! real binary runs under strace, and the trace is read in the order the kernel saw it:
//! for every printed result, the write-ahead-log frame that holds that result must have
//! been written, and an fsync of the log must have returned, before the line was printed.
//! Leases and markers (claims, a run's start) commit without waiting for the disk; the
//! test holds that this never reaches a result, and that a run's end is committed with its
//! last results, not after them.

mod common;

use std::collections::HashMap;
use std::process::Command;

const ITEMS: usize = 12;

fn checklist() -> String {
    let mut text = String::from(
        "sections = [\"Checks\"]\n\n[checklist]\nid = \"durable\"\ntitle = \"Durable\"\nversion = 1\n",
    );
    for n in 1..=ITEMS {
        text.push_str(&format!(
            "\n[[item]]\nid = \"check.{n}\"\nsection = \"Checks\"\ntitle = \"Check {n}\"\nkind = \"command\"\nhelp = \"Passes.\"\nrun = [\"true\"]\n"
        ));
    }
    text
}

/// One line of the trace: who, and what.
struct Line<'a> {
    pid: &'a str,
    call: &'a str,
}

fn parse(line: &str) -> Option<Line<'_>> {
    let (pid, call) = line.trim_start().split_once(' ')?;
    Some(Line {
        pid,
        call: call.trim_start(),
    })
}

/// The items whose results a write-ahead-log frame written by `call` holds. A result's
/// payload is canonical JSON: its item, its output digest, its run id and then `started_at`,
/// which a run's start (item and run id only) lacks.
fn result_in_frame(call: &str) -> Vec<String> {
    let pattern = regex::Regex::new(
        r#"\\"item\\":\\"(check\.\d+)\\",(?:\\"output\\":(?:null|\{[^}]*\}),)?\\"run_id\\":\\"[0-9a-f-]{36}\\",\\"started_at\\""#,
    )
    .expect("pattern");
    pattern
        .captures_iter(call)
        .map(|c| c[1].to_string())
        .collect()
}

#[test]
fn no_result_is_printed_before_the_disk_has_it() {
    let strace = Command::new("strace").arg("-V").output();
    assert!(
        strace.is_ok_and(|o| o.status.success()),
        "this test needs strace (apt-get install strace; .ci/run installs it)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("durable.toml");
    std::fs::write(&path, checklist()).expect("checklist written");
    let store = format!("sqlite://{}", dir.path().join("store.sqlite").display());
    let trace = dir.path().join("trace");
    let ran = Command::new("strace")
        .args(["-f", "-qq", "-y", "-s", "65536", "-o"])
        .arg(&trace)
        .args(["-e", "trace=write,pwrite64,fsync,fdatasync"])
        .arg(env!("CARGO_BIN_EXE_relcon"))
        .arg("run")
        .arg(&path)
        .args(["--headless", "--concurrency", "8", "--store", &store])
        .current_dir(dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .expect("strace runs relcon");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(0), "the run passes: {stderr}");
    let text = std::fs::read_to_string(&trace).expect("trace read");

    // Walk the trace in order: the last log frame written for each result, the number of
    // log syncs returned so far, and at which count each result's frame was written.
    let mut synced = 0usize;
    let mut written_at: HashMap<String, usize> = HashMap::new();
    let mut pending_sync: HashMap<&str, bool> = HashMap::new();
    let mut printed = Vec::new();
    // When each result, and the session's close, first reached the log.
    let mut first_written: HashMap<String, usize> = HashMap::new();
    let mut closed_at = None;
    for line in text.lines().filter_map(parse) {
        let call = line.call;
        if let Some(rest) = call.strip_prefix("<... ") {
            let sync = rest.starts_with("fsync resumed>") || rest.starts_with("fdatasync resumed>");
            if sync && pending_sync.remove(line.pid) == Some(true) && call.ends_with("= 0") {
                synced += 1;
            }
            continue;
        }
        if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
            let wal = call.contains("-wal>");
            if call.contains("<unfinished ...>") {
                pending_sync.insert(line.pid, wal);
            } else if wal && call.ends_with("= 0") {
                synced += 1;
            }
        } else if call.starts_with("pwrite64(") && call.contains("-wal>") {
            for item in result_in_frame(call) {
                first_written.entry(item.clone()).or_insert(synced);
                written_at.insert(item, synced);
            }
            if call.contains("session_closed") {
                closed_at.get_or_insert(synced);
            }
        } else if call.starts_with("write(2<") {
            let shown = call.replace("\\342\\234\\224", "✔");
            if let Some(item) = shown
                .split_whitespace()
                .find(|w| w.starts_with("check.") && shown.contains("pass"))
            {
                if !shown.contains("start") {
                    let item = item.trim_end_matches(['\\', 'n', '"', ',']).to_string();
                    let held = written_at.get(&item).copied();
                    printed.push((item, held, synced));
                }
            }
        }
    }
    assert_eq!(
        printed.len(),
        ITEMS,
        "every result is printed once ({printed:?}); stderr: {stderr}"
    );
    for (item, written, synced_then) in &printed {
        let written = written.unwrap_or_else(|| {
            panic!("{item} was printed before its result reached the write-ahead log")
        });
        assert!(
            *synced_then > written,
            "{item} was printed before the log was synced after its result was written \
             (syncs then {synced_then}, frame written after sync {written})"
        );
    }
    // The run's end (leaving, and closing on go) is committed with its last results: no
    // sync of the log comes between them.
    let last_result = first_written.values().max().copied();
    assert!(
        closed_at.is_some() && closed_at == last_result,
        "the close reached the log after sync {closed_at:?}, the last result after sync {last_result:?}"
    );
    // Markers and leases did not each cost a sync: fewer syncs than events.
    assert!(
        synced < 2 * ITEMS,
        "a sync per result at most, markers and leases none: {synced} syncs for {ITEMS} results"
    );
}
