//! What git knows of the repository: whether `--root` is a checkout, the files of its index
//! (a force-added `.env` that `.gitignore` lists is committed all the same), whether the
//! clone is shallow, and every blob reachable from HEAD, read through one long-lived
//! `git cat-file --batch` stream rather than a process per file or commit.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// A blob of the history and the first path it was seen at.
pub struct Blob {
    /// Its object id.
    pub oid: String,
    /// The path, relative to the repository's root.
    pub path: String,
}

fn git(root: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(root)
        // The repository is untrusted: none of its configuration may run a program.
        .args([
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null());
    command
}

fn output(root: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = git(root)
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(out.stdout)
}

/// The checkout's top directory, or why `root` is not one.
pub fn top(root: &Path) -> Result<std::path::PathBuf, String> {
    let out = output(root, &["rev-parse", "--show-toplevel"]).map_err(|why| {
        if why.contains("dubious ownership") {
            // git refuses a checkout another user owns: say so, not "not a repository".
            format!(
                "git refuses to read {}: it is owned by another user (mark it safe with `git config --global --add safe.directory {}`, or run as its owner)",
                root.display(),
                root.display()
            )
        } else {
            format!(
                "not a git repository: {} (relcon scans what is committed, and cannot tell committed from local files without git)",
                root.display()
            )
        }
    })?;
    Ok(String::from_utf8_lossy(&out).trim().into())
}

/// The files of the index with their blob ids, relative to the top directory; symbolic
/// links and submodules are left out (never followed).
pub fn tracked(top: &Path) -> Result<Vec<(String, String)>, String> {
    let out = output(top, &["ls-files", "-z", "--stage"])?;
    Ok(out
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = std::str::from_utf8(entry).ok()?;
            let (meta, path) = entry.split_once('\t')?;
            let mut parts = meta.split(' ');
            let mode = parts.next()?;
            let oid = parts.next()?;
            (mode == "100644" || mode == "100755").then(|| (path.to_string(), oid.to_string()))
        })
        .collect())
}

/// Whether the clone is shallow (its history is cut).
pub fn shallow(top: &Path) -> bool {
    output(top, &["rev-parse", "--is-shallow-repository"])
        .is_ok_and(|out| String::from_utf8_lossy(&out).trim() == "true")
}

/// Whether the repository has a commit at all.
pub fn has_head(top: &Path) -> bool {
    output(top, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).is_ok()
}

/// Every blob reachable from HEAD, each once, with the first path it was seen at.
pub fn history(top: &Path) -> Result<Vec<Blob>, String> {
    // "<oid> <path>" for blobs and trees, "<oid>" for commits.
    let out = output(top, &["rev-list", "--objects", "HEAD"])?;
    let text = String::from_utf8_lossy(&out);
    let mut seen = std::collections::HashSet::new();
    Ok(text
        .lines()
        .filter_map(|line| {
            let (oid, path) = line.split_once(' ')?;
            (!path.is_empty() && seen.insert(oid.to_string())).then(|| Blob {
                oid: oid.to_string(),
                path: path.to_string(),
            })
        })
        .collect())
}

/// Reads blobs through one `git cat-file --batch`: each of `oids` is handed to `each` with
/// its bytes, unless it is not a blob or is larger than `cap` (then `None`). Stops when
/// `each` returns false.
pub fn read_blobs(
    top: &Path,
    oids: &[String],
    cap: u64,
    mut each: impl FnMut(usize, Option<&[u8]>) -> bool,
) -> Result<(), String> {
    let mut child = git(top)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git cat-file: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let list: Vec<String> = oids.to_vec();
    // Written from a thread: git answers while it reads, and both pipes must keep moving.
    let writer = std::thread::spawn(move || {
        for oid in list {
            if writeln!(stdin, "{oid}").is_err() {
                return;
            }
        }
    });
    let mut stdout = BufReader::with_capacity(1 << 20, child.stdout.take().ok_or("no stdout")?);
    let mut header = String::new();
    let mut buffer = Vec::new();
    for i in 0..oids.len() {
        header.clear();
        if stdout.read_line(&mut header).map_err(|e| e.to_string())? == 0 {
            break;
        }
        let mut fields = header.split_whitespace();
        let (_, kind, size) = (fields.next(), fields.next(), fields.next());
        let Some(size) = size.and_then(|s| s.parse::<u64>().ok()) else {
            // "<oid> missing": nothing follows.
            if !each(i, None) {
                break;
            }
            continue;
        };
        buffer.clear();
        (&mut stdout)
            .take(size + 1)
            .read_to_end(&mut buffer)
            .map_err(|e| e.to_string())?;
        buffer.truncate(size as usize);
        let keep = kind == Some("blob") && size <= cap;
        if !each(i, keep.then_some(buffer.as_slice())) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = writer.join();
    Ok(())
}

/// The commit that introduced blob `oid` (the oldest reachable from HEAD that has it).
pub fn introduced(top: &Path, oid: &str) -> Option<String> {
    let out = output(
        top,
        &[
            "log",
            "--format=%H",
            "--reverse",
            &format!("--find-object={oid}"),
            "HEAD",
        ],
    )
    .ok()?;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .map(|s| s.to_string())
}
