//! The scan's work, off the async runtime: which committed files and history blobs to read,
//! read in parallel by worker threads, each searched once, findings sent back as they are
//! found.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use globset::{Glob, GlobSet, GlobSetBuilder};
use tokio::sync::mpsc::UnboundedSender;

use super::rules::{Hit, Rules};
use super::{devdefaults, git, Raw};

/// Files over this size are skipped (and counted): a secret lives in a config or source
/// file, not in a data dump.
const SIZE_CAP: u64 = 2 * 1024 * 1024;

/// How much of a long line is kept around a finding for its excerpt.
const WINDOW: usize = 240;

/// What the scan covered.
#[derive(Debug, Default)]
pub struct Stats {
    pub files: usize,
    pub blobs: usize,
    pub binary: usize,
    pub large: usize,
    pub vendored: usize,
    pub unsafe_paths: usize,
    /// "scanned", "off", or why not.
    pub history: String,
    /// Why history was wanted and not scanned (a shallow clone).
    pub history_skipped: Option<String>,
}

/// What to scan.
pub struct Plan {
    root: PathBuf,
    top: PathBuf,
    /// `--root` relative to the top of the checkout (`""` at the top).
    prefix: String,
    paths: GlobSet,
    exclude: GlobSet,
    sets: Vec<String>,
}

fn globs(patterns: &[String]) -> Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|e| format!("bad glob {pattern}: {e}"))?;
        builder.add(glob);
    }
    builder.build().map_err(|e| e.to_string())
}

/// Generated and vendored paths: never scanned, always counted.
fn vendored(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|part| {
        matches!(
            part,
            "node_modules" | ".next" | ".git" | ".vercel" | ".turbo" | "vendor" | "target"
        )
    }) || matches!(
        name,
        "package-lock.json" | "yarn.lock" | "pnpm-lock.yaml" | "bun.lockb" | "Cargo.lock"
    ) || name.ends_with(".lock")
        || name.ends_with(".min.js")
        || name.ends_with(".min.css")
        || name.ends_with(".map")
}

impl Plan {
    /// The scan of `paths` less `exclude` in the checkout at `root`.
    pub fn new(
        root: &Path,
        paths: &[String],
        exclude: &[String],
        sets: &[String],
    ) -> Result<Self, String> {
        let top = git::top(root)?;
        let root = root
            .canonicalize()
            .map_err(|e| format!("cannot read {}: {e}", root.display()))?;
        let top = top.canonicalize().unwrap_or(top);
        let prefix = root
            .strip_prefix(&top)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            root,
            top,
            prefix,
            paths: globs(paths)?,
            exclude: globs(exclude)?,
            sets: sets.to_vec(),
        })
    }

    fn wanted(&self, path: &str) -> bool {
        self.paths.is_match(path) && !self.exclude.is_match(path)
    }

    /// Runs the scan; findings go to `sender` as they are found.
    pub fn run(
        &self,
        words: &[String],
        names: &[String],
        history: bool,
        stop: &AtomicBool,
        sender: &UnboundedSender<Raw>,
    ) -> Result<Stats, String> {
        let rules = Rules::new(&self.sets, names);
        let dev = self.sets.iter().any(|s| s == "dev-defaults");
        let search = Search {
            rules: &rules,
            dev: dev.then_some(words),
        };
        let mut stats = Stats {
            history: "off".into(),
            ..Stats::default()
        };
        let tracked = git::tracked(&self.root)?;
        let mut files = Vec::new();
        for (path, _) in &tracked {
            if !self.wanted(path) {
                continue;
            }
            if vendored(path) {
                stats.vendored += 1;
                continue;
            }
            files.push(path.as_str());
        }
        let counts = Counts::default();
        let safe = SafeDirs::new(&self.root);
        let next = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(8);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= files.len() || stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let path = files[i];
                    let Some(full) = safe.file(path) else {
                        counts.unsafe_paths.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    match read(&full) {
                        Read::Text(bytes) => {
                            counts.files.fetch_add(1, Ordering::Relaxed);
                            search.file(path, &bytes, None, sender);
                        }
                        Read::Binary => {
                            counts.binary.fetch_add(1, Ordering::Relaxed);
                        }
                        Read::Large => {
                            counts.large.fetch_add(1, Ordering::Relaxed);
                        }
                        Read::Gone => {}
                    }
                });
            }
        });
        stats.files = counts.files.into_inner();
        stats.binary = counts.binary.into_inner();
        stats.large = counts.large.into_inner();
        stats.unsafe_paths = counts.unsafe_paths.into_inner();
        if history && !stop.load(Ordering::Relaxed) {
            self.history(&search, &tracked, &mut stats, stop, sender)?;
        }
        Ok(stats)
    }

    /// Every blob reachable from HEAD that is not in the index, each once.
    fn history(
        &self,
        search: &Search<'_>,
        tracked: &[(String, String)],
        stats: &mut Stats,
        stop: &AtomicBool,
        sender: &UnboundedSender<Raw>,
    ) -> Result<(), String> {
        if git::shallow(&self.top) {
            stats.history = "not scanned".into();
            stats.history_skipped = Some("shallow clone (fetch the full history: `git fetch --unshallow`, or `fetch-depth: 0` in CI)".into());
            return Ok(());
        }
        if !git::has_head(&self.top) {
            stats.history = "no commits yet".into();
            return Ok(());
        }
        let current: HashSet<&str> = tracked.iter().map(|(_, oid)| oid.as_str()).collect();
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let blobs: Vec<git::Blob> = git::history(&self.top)?
            .into_iter()
            .filter_map(|blob| {
                let path = blob.path.strip_prefix(&prefix)?.to_string();
                (!current.contains(blob.oid.as_str()) && self.wanted(&path) && !vendored(&path))
                    .then_some(git::Blob { path, ..blob })
            })
            .collect();
        let oids: Vec<String> = blobs.iter().map(|b| b.oid.clone()).collect();
        git::read_blobs(&self.top, &oids, SIZE_CAP, |i, bytes| {
            if let Some(bytes) = bytes {
                if !is_binary(bytes) {
                    stats.blobs += 1;
                    search.file(&blobs[i].path, bytes, Some(&blobs[i].oid), sender);
                }
            }
            !stop.load(Ordering::Relaxed)
        })?;
        stats.history = "scanned".into();
        Ok(())
    }
}

#[derive(Default)]
struct Counts {
    files: AtomicUsize,
    binary: AtomicUsize,
    large: AtomicUsize,
    unsafe_paths: AtomicUsize,
}

/// Directories checked to be inside the root without a symbolic link on the way.
struct SafeDirs {
    root: PathBuf,
    known: Mutex<HashMap<PathBuf, bool>>,
}

impl SafeDirs {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The file at `path` under the root, when it is a regular file reached without a
    /// symbolic link and without leaving the root.
    fn file(&self, path: &str) -> Option<PathBuf> {
        let relative = Path::new(path);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let full = self.root.join(relative);
        let parent = full.parent()?.to_path_buf();
        let ok = {
            let known = self.known.lock().ok()?.get(&parent).copied();
            match known {
                Some(ok) => ok,
                None => {
                    let ok = parent
                        .canonicalize()
                        .is_ok_and(|real| real == parent && real.starts_with(&self.root));
                    self.known.lock().ok()?.insert(parent, ok);
                    ok
                }
            }
        };
        let meta = std::fs::symlink_metadata(&full).ok()?;
        (ok && meta.file_type().is_file()).then_some(full)
    }
}

enum Read {
    Text(Vec<u8>),
    Binary,
    Large,
    Gone,
}

fn read(path: &Path) -> Read {
    use std::io::Read as _;
    let Ok(file) = std::fs::File::open(path) else {
        return Read::Gone;
    };
    if file.metadata().is_ok_and(|m| m.len() > SIZE_CAP) {
        return Read::Large;
    }
    let mut bytes = Vec::new();
    if file.take(SIZE_CAP + 1).read_to_end(&mut bytes).is_err() {
        return Read::Gone;
    }
    if bytes.len() as u64 > SIZE_CAP {
        Read::Large
    } else if is_binary(&bytes) {
        Read::Binary
    } else {
        Read::Text(bytes)
    }
}

/// A NUL byte early on: what git takes for binary too.
fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8000)].contains(&0)
}

/// The rules applied to one file.
struct Search<'a> {
    rules: &'a Rules,
    /// The dev-default words, when that set is chosen.
    dev: Option<&'a [String]>,
}

impl Search<'_> {
    fn file(&self, path: &str, bytes: &[u8], blob: Option<&str>, sender: &UnboundedSender<Raw>) {
        if !self.rules.is_empty() {
            for (number, range, hits) in self.rules.search(bytes) {
                self.send(path, number, &bytes[range], &hits, blob, sender);
            }
        }
        let Some(words) = self.dev else {
            return;
        };
        if !devdefaults::is_env_file(path) {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        for (number, name, value) in devdefaults::assignments(path, &text) {
            if value.is_empty() || !devdefaults::secret_looking(&name) {
                continue;
            }
            if devdefaults::dev_word(&value, words).is_some() {
                let line = nth_line(bytes, number);
                let Some(at) = find(line, value.as_bytes()) else {
                    continue;
                };
                let hit = Hit {
                    rule: "dev-default",
                    span: at..at + value.len(),
                    secret: true,
                };
                self.send(path, number, line, &[hit], blob, sender);
            }
        }
    }

    fn send(
        &self,
        path: &str,
        number: usize,
        line: &[u8],
        hits: &[Hit],
        blob: Option<&str>,
        sender: &UnboundedSender<Raw>,
    ) {
        let inline_allow = allow_comment(line);
        for (target, hit) in hits.iter().enumerate() {
            // A window of a long line around the hit, cut on character boundaries.
            let start = hit.span.start.saturating_sub(WINDOW);
            let end = (hit.span.end + WINDOW).min(line.len());
            let window = &line[start..end];
            let text = String::from_utf8_lossy(window).into_owned();
            if text.len() != window.len() {
                // Not UTF-8 around the hit: spans would not line up; show the hit alone.
                let value = String::from_utf8_lossy(&line[hit.span.clone()]).into_owned();
                let _ = sender.send(Raw {
                    rule: hit.rule,
                    path: path.to_string(),
                    line: number,
                    spans: vec![(0..value.len(), hit.secret)],
                    text: value,
                    target: 0,
                    blob: blob.map(String::from),
                    inline_allow: inline_allow.clone(),
                });
                continue;
            }
            let spans = hits
                .iter()
                .filter(|h| h.span.start >= start && h.span.end <= end)
                .map(|h| (h.span.start - start..h.span.end - start, h.secret))
                .collect::<Vec<_>>();
            let target = spans
                .iter()
                .position(|(s, _)| s.start == hit.span.start - start)
                .unwrap_or(target.min(spans.len().saturating_sub(1)));
            let _ = sender.send(Raw {
                rule: hit.rule,
                path: path.to_string(),
                line: number,
                text,
                spans,
                target,
                blob: blob.map(String::from),
                inline_allow: inline_allow.clone(),
            });
        }
    }
}

/// Line `number` (1-based) of `bytes`.
fn nth_line(bytes: &[u8], number: usize) -> &[u8] {
    let line = bytes
        .split(|&b| b == b'\n')
        .nth(number - 1)
        .unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `relcon:allow <rule> <reason…>` on a line: the rule and the reason (empty when none).
fn allow_comment(line: &[u8]) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(line);
    let (_, rest) = text.split_once("relcon:allow")?;
    let mut words = rest.split_whitespace();
    let rule = words.next()?.to_string();
    let reason = words
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches(['-', ':', '—'])
        .trim()
        .trim_end_matches(['"', '\'', '`', '*', '/', '>'])
        .trim()
        .to_string();
    Some((rule, reason))
}
