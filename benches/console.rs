//! The console's speed and weight, measured on the release binary in a pseudo-terminal and
//! on the drawing code directly. `cargo bench --bench console` prints:
//! - time to first frame of `relcon demo` (target ≤ 150 ms), over 10 starts;
//! - render time per frame at 200×60 with 500 items and one item holding output at the
//!   store's cap (target p99 ≤ 4 ms), over 1,000 frames;
//! - peak RSS of `relcon run` in the console after a check streams 1,000,000 lines
//!   (target ≤ 80 MB);
//! - CPU time the console uses while idle for 10 s (target ≈ 0).

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use relcon::checklist::plan::{Plan, Scope};
use relcon::checklist::Checklist;
use relcon::engine::event::{Event, Stream};
use relcon::redact::Redactor;
use relcon::tui::app::App;
use relcon::tui::theme::Theme;
use std::time::{Duration, Instant};

#[path = "../tests/common/pty.rs"]
mod pty;

use pty::Pty;

/// Leaves the console with q and waits for it to end.
/// Quits the console: q twice, so that checks still running (q asks first) are cancelled.
fn quit(mut console: Pty) {
    console.send(b"qq");
    let _ = console.child.wait();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A process's peak resident set (VmHWM) in kB, and its CPU time (user + system) in ticks.
fn proc_figures(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    (hwm, ticks)
}

fn first_frame() {
    let mut times = Vec::new();
    for _ in 0..10 {
        let dir = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        let console = Pty::start_in(dir.path(), &["demo"], 40, 120);
        console.wait_until("the first frame", 30, |s| {
            s.alternate_screen() && s.contents().contains("Checklist")
        });
        times.push(started.elapsed());
        console.wait_until("the automated results", 30, |s| {
            let text = s.contents();
            text.contains("✔ pass    security.tls") && !text.contains(" running")
        });
        quit(console);
    }
    times.sort();
    println!(
        "time to first frame of `relcon demo` over 10 starts: median {:.0} ms, max {:.0} ms (target ≤ 150 ms)",
        ms(percentile(&times, 0.5)),
        ms(times[times.len() - 1])
    );
}

fn render() {
    let mut text = String::from("sections = [\"Bulk\"]\n\n[checklist]\nid = \"bulk\"\ntitle = \"Five hundred items\"\nversion = 1\n");
    for n in 0..500 {
        text.push_str(&format!("\n[[item]]\nid = \"bulk.item-{n:03}\"\nsection = \"Bulk\"\ntitle = \"Item {n}\"\nkind = \"command\"\nhelp = \"Runs step {n} of the bulk job and checks that it exits 0.\"\nrun = [\"true\"]\n"));
    }
    let checklist = Checklist::from_bytes("bulk.toml", text.as_bytes()).expect("valid");
    let plan = Plan::new(&checklist, None, &Scope::default()).expect("plan");
    let mut app = App::new(&plan, "bench", &Redactor::with_key([1; 32]));
    app.on_engine(&Event::Started {
        id: "bulk.item-250".into(),
        attempt: 1,
        at: std::time::SystemTime::now(),
    });
    for n in 0..relcon::store::OUTPUT_CAP + 5_000 {
        app.on_engine(&Event::Output {
            id: "bulk.item-250".into(),
            stream: Stream::Stdout,
            line: format!("line {n}: compiled module {n} in 12 ms (cache hit)"),
        });
    }
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let theme = Theme::new(true);
    let mut times = Vec::new();
    for frame in 0..1_000 {
        // Alternately the item with the full output (following its end, or scrolled
        // into the middle) and items around it.
        app.selected = 240 + frame % 20;
        app.follow = frame % 2 == 0;
        app.detail_scroll = 50_000;
        let started = Instant::now();
        terminal
            .draw(|f| relcon::tui::view::draw(f, &app, &theme, std::time::SystemTime::now()))
            .expect("draws");
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "render at 200×60, 500 items, one holding {} output lines: p50 {:.2} ms, p99 {:.2} ms (target p99 ≤ 4 ms)",
        relcon::store::OUTPUT_CAP,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
}

fn memory_and_idle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let checklist = dir.path().join("stream.toml");
    std::fs::write(
        &checklist,
        "sections = [\"Load\"]\n\n[checklist]\nid = \"stream\"\ntitle = \"A chatty check\"\nversion = 1\n\n[[item]]\nid = \"chatty\"\nsection = \"Load\"\ntitle = \"A million lines\"\nkind = \"command\"\nhelp = \"Prints a million lines.\"\nrun = [\"seq\", \"1\", \"1000000\"]\ntimeout = \"5m\"\n",
    )
    .expect("writes");
    let started = Instant::now();
    let console = Pty::start_in(
        dir.path(),
        &["run", &checklist.display().to_string()],
        60,
        200,
    );
    console.wait_for("the verdict", 300, |s| s.contains("verdict GO"));
    let streamed = started.elapsed();
    let pid = console.child.process_id().expect("a pid");
    // Let the last frames settle before the idle window.
    std::thread::sleep(Duration::from_millis(500));
    let (hwm, before) = proc_figures(pid);
    std::thread::sleep(Duration::from_secs(10));
    let (_, after) = proc_figures(pid);
    let tick = 1000.0 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    println!(
        "a check streaming 1,000,000 lines in the console: done in {:.1} s, peak RSS {:.1} MB (target ≤ 80 MB)",
        streamed.as_secs_f64(),
        hwm as f64 / 1024.0
    );
    println!(
        "CPU time while idle for 10 s: {:.0} ms (target ≈ 0)",
        (after - before) as f64 * tick
    );
    quit(console);
}

fn main() {
    // `cargo bench --bench console -- first_frame` runs only the parts named.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let parts: [(&str, fn()); 3] = [
        ("render", render),
        ("first_frame", first_frame),
        ("memory_and_idle", memory_and_idle),
    ];
    for (name, part) in parts {
        if wanted.is_empty() || wanted.iter().any(|w| name.contains(w.as_str())) {
            part();
        }
    }
}
