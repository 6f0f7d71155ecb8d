//! `command`: a program run with an allowlisted environment; passes on the expected exit code.
//!
//! How it runs: the program is the leader of its own process group, so a timeout, a
//! cancellation or its own exit can take down everything it started.

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::{CheckContext, OutputSink, RunFuture};
use super::{CheckResult, Stream};
use crate::status::Status;

/// Variables every program gets from relcon's own environment.
pub const BASE_ENV: &[&str] = &["PATH", "HOME", "LANG", "TERM", "TZ"];

/// How long a program has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize)]
struct Config {
    run: Vec<String>,
    cwd: Option<String>,
    #[serde(default)]
    pass_env: Vec<String>,
    #[serde(default)]
    pass_secrets: Vec<String>,
    #[serde(default)]
    expect_exit: i32,
}

/// Kills a process group when dropped: nothing a check started outlives it.
struct GroupGuard(i32);

impl GroupGuard {
    fn signal(&self, signal: i32) {
        // SAFETY: killpg only sends a signal; a group that is gone makes it fail harmlessly.
        unsafe {
            libc::killpg(self.0, signal);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}

/// The longest line kept whole; the rest of a longer line is cut (and said so).
const MAX_LINE: usize = 16 * 1024;

/// Forwards a stream's lines until it ends. Bytes that are not UTF-8 are replaced, never a
/// reason to stop reading (a program whose pipe closed would die of SIGPIPE). A line is
/// held up to `MAX_LINE` bytes whatever its length: the rest is counted, not stored.
async fn forward(reader: impl AsyncRead + Unpin, stream: Stream, sink: OutputSink) -> usize {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut dropped = 0usize;
    let mut count = 0;
    loop {
        let (taken, ended) = match reader.fill_buf().await {
            Ok([]) | Err(_) => {
                if !line.is_empty() || dropped > 0 {
                    send(&sink, stream, &line, dropped).await;
                    count += 1;
                }
                break;
            }
            Ok(available) => match available.iter().position(|&b| b == b'\n') {
                Some(newline) => (&available[..=newline], true),
                None => (available, false),
            },
        };
        let room = (MAX_LINE + 4).saturating_sub(line.len()).min(taken.len());
        line.extend_from_slice(&taken[..room]);
        // A line's end is not part of it, kept or not.
        dropped += (taken.len() - room).saturating_sub(usize::from(ended && room < taken.len()));
        let used = taken.len();
        reader.consume(used);
        if ended {
            send(&sink, stream, &line, dropped).await;
            count += 1;
            line.clear();
            dropped = 0;
        }
    }
    count
}

/// Sends one line held in `bytes`, of which `dropped` more bytes were not kept.
async fn send(sink: &OutputSink, stream: Stream, bytes: &[u8], dropped: usize) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\n', '\r']);
    if text.len() > MAX_LINE || dropped > 0 {
        let cut = (0..=MAX_LINE.min(text.len()))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let more = text.len() - cut + dropped;
        sink.line(stream, &format!("{}… ({more} more bytes)", &text[..cut]))
            .await;
    } else {
        sink.line(stream, text).await;
    }
}

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        match ctx.config::<Config>() {
            Ok(config) => execute(ctx, &config).await,
            Err(result) => result,
        }
    })
}

async fn execute(ctx: &CheckContext<'_>, config: &Config) -> CheckResult {
    let mut argv = Vec::new();
    for arg in &config.run {
        match ctx.values.render(arg) {
            Ok(value) => argv.push(value),
            Err(err) => {
                return CheckResult::definitive_error(format!("cannot build the command: {err}"))
            }
        }
    }
    let Some((program, args)) = argv.split_first() else {
        return CheckResult::definitive_error("`run` is empty");
    };
    let cwd = match &config.cwd {
        Some(dir) => match ctx.values.render(dir) {
            Ok(dir) => ctx.root.join(dir),
            Err(err) => {
                return CheckResult::definitive_error(format!(
                    "cannot build the working directory: {err}"
                ))
            }
        },
        None => ctx.root.to_path_buf(),
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(&cwd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // A runner killed outright (SIGKILL) takes its check's program with it, so that the run
    // that takes the item over does not run beside a leftover. (Its own children are the
    // program's to stop.)
    let parent = std::process::id();
    // SAFETY: between fork and exec, only async-signal-safe calls: prctl, getppid, _exit.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    for name in BASE_ENV {
        if let Ok(value) = std::env::var(name) {
            command.env(name, value);
        }
    }
    for name in config.pass_env.iter().chain(&config.pass_secrets) {
        if let Some(value) = ctx.values.input(name) {
            command.env(name, value);
        }
    }
    let shown = ctx.redactor.scrub(&argv.join(" ")).into_owned();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return CheckResult::new(
                Status::Error,
                format!("cannot start `{program}` in {}: {err}", cwd.display()),
            )
        }
    };
    let Some(pid) = child.id() else {
        return CheckResult::new(
            Status::Error,
            format!("`{program}` exited before it could be watched"),
        );
    };
    let group = GroupGuard(pid as i32);
    let stdout = child
        .stdout
        .take()
        .map(|out| tokio::spawn(forward(out, Stream::Stdout, ctx.output.clone())));
    let stderr = child
        .stderr
        .take()
        .map(|err| tokio::spawn(forward(err, Stream::Stderr, ctx.output.clone())));
    let started = tokio::time::Instant::now();
    let ended = tokio::select! {
        status = child.wait() => Ok(status),
        () = tokio::time::sleep_until(ctx.deadline) => Err("timed out"),
        () = ctx.cancel.cancelled() => Err("cancelled"),
    };
    let status = match ended {
        Ok(status) => status,
        Err(why) => {
            // The readers go too: a program that left the group may hold a pipe open, and a
            // reader left behind would keep the run's event channel open with it.
            for reader in [&stdout, &stderr].into_iter().flatten() {
                reader.abort();
            }
            group.signal(libc::SIGTERM);
            if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
                group.signal(libc::SIGKILL);
                let _ = child.wait().await;
            }
            drop(group);
            let (status, summary) = if why == "cancelled" {
                (
                    Status::Pending,
                    format!(
                        "cancelled after {}; the process group was stopped",
                        humantime::format_duration(Duration::from_secs(
                            started.elapsed().as_secs()
                        ))
                    ),
                )
            } else {
                (
                    Status::Error,
                    format!(
                        "timed out after {}; the process group was stopped",
                        humantime::format_duration(ctx.timeout)
                    ),
                )
            };
            return CheckResult::new(status, summary)
                .with_evidence(serde_json::json!({ "command": shown }));
        }
    };
    // Whatever the program left running in its group goes with it, so its pipes close.
    drop(group);
    let mut lines = 0;
    for mut reader in [stdout, stderr].into_iter().flatten() {
        // A process that left the group may still hold a pipe: do not wait for it forever,
        // and do not leave its reader behind.
        match tokio::time::timeout(Duration::from_secs(1), &mut reader).await {
            Ok(Ok(count)) => lines += count,
            _ => reader.abort(),
        }
    }
    let evidence = |code: Option<i32>| serde_json::json!({ "command": shown, "exit_code": code, "output_lines": lines });
    match status {
        Ok(status) => match status.code() {
            Some(code) if code == config.expect_exit => {
                CheckResult::new(Status::Pass, format!("exited {code}"))
                    .with_evidence(evidence(Some(code)))
            }
            Some(code) => CheckResult::new(
                Status::Fail,
                format!("exited {code}, expected {}", config.expect_exit),
            )
            .with_evidence(evidence(Some(code))),
            None => {
                use std::os::unix::process::ExitStatusExt;
                let signal = status.signal().unwrap_or_default();
                CheckResult::new(
                    Status::Fail,
                    format!(
                        "killed by signal {signal}, expected exit {}",
                        config.expect_exit
                    ),
                )
                .with_evidence(evidence(None))
            }
        },
        Err(err) => CheckResult::new(Status::Error, format!("cannot wait for `{program}`: {err}")),
    }
}
