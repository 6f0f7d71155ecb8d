//! The real binary in a pseudo-terminal, its screen read by a terminal emulator (vt100):
//! for the console's end-to-end tests and its benchmark.
#![allow(dead_code)] // each user takes its own part

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtyPair, PtySize};

const ROWS: u16 = 40;
const COLS: u16 = 120;

/// A program in a pseudo-terminal and what its terminal shows.
pub struct Pty {
    pair: PtyPair,
    /// The program.
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    _dir: Option<tempfile::TempDir>,
}

impl Pty {
    /// Starts `relcon args` at 120×40 in a directory of its own, with the store in it.
    pub fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut pty = Self::start_in(dir.path(), args, ROWS, COLS);
        pty._dir = Some(dir);
        pty
    }

    /// Starts `relcon args` at `cols`×`rows` in `dir`, with the store in `dir`.
    pub fn start_in(dir: &std::path::Path, args: &[&str], rows: u16, cols: u16) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_relcon"));
        command.args(args);
        command.cwd(dir);
        command.env("TERM", "xterm-256color");
        command.env(
            "RELCON_STORE",
            format!("sqlite://{}", dir.join("store.sqlite").display()),
        );
        // The demo keeps its store in the data directory: here, the test's own.
        command.env("XDG_DATA_HOME", dir);
        let child = pair.slave.spawn_command(command).expect("relcon starts");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let mut reader = pair.master.try_clone_reader().expect("a reader");
        let parser = screen.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                parser.lock().expect("the screen").process(&buffer[..n]);
            }
        });
        let writer = pair.master.take_writer().expect("a writer");
        Pty {
            pair,
            child,
            writer,
            screen,
            _dir: None,
        }
    }

    /// The screen's text.
    pub fn contents(&self) -> String {
        self.with_screen(vt100::Screen::contents)
    }

    /// What `look` finds on the screen now.
    pub fn with_screen<R>(&self, look: impl FnOnce(&vt100::Screen) -> R) -> R {
        look(self.screen.lock().expect("the screen").screen())
    }

    /// Waits until the screen satisfies `ready` (looking every millisecond); fails with the
    /// screen after `secs`.
    pub fn wait_until(&self, what: &str, secs: u64, ready: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.with_screen(&ready) {
            assert!(
                Instant::now() < deadline,
                "never saw {what}; the screen:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits until the screen's text satisfies `ready`.
    pub fn wait_for(&self, what: &str, secs: u64, ready: impl Fn(&str) -> bool) {
        self.wait_until(what, secs, |screen| ready(&screen.contents()));
    }

    /// Types `bytes`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("writes");
        self.writer.flush().expect("flushes");
    }

    /// Where `text` is on the screen: (column, row), from 0.
    pub fn find(&self, text: &str) -> Option<(u16, u16)> {
        self.contents().lines().enumerate().find_map(|(row, line)| {
            line.find(text)
                .map(|at| (line[..at].chars().count() as u16, row as u16))
        })
    }

    /// Waits for the program to end; its exit code.
    pub fn wait_exit(&mut self, secs: u64) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                return status.exit_code();
            }
            assert!(
                Instant::now() < deadline,
                "relcon did not end; the screen:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The terminal is back as the program found it: the main screen, the cursor shown,
    /// mouse reporting off, and cooked mode (`stty` run in the same terminal says so).
    pub fn assert_restored(&mut self) {
        self.with_screen(|screen| {
            assert!(!screen.alternate_screen(), "still on the alternate screen");
            assert!(!screen.hide_cursor(), "the cursor is still hidden");
            assert_eq!(
                screen.mouse_protocol_mode(),
                vt100::MouseProtocolMode::None,
                "mouse reporting is still on"
            );
        });
        let mut stty = CommandBuilder::new("stty");
        stty.arg("-a");
        let mut child = self.pair.slave.spawn_command(stty).expect("stty runs");
        let status = child.wait().expect("stty ends");
        assert!(status.success());
        self.wait_for("the terminal's modes", 10, |s| s.contains("icanon"));
        let modes = self.contents();
        for mode in ["icanon", "echo", "icrnl", "opost"] {
            assert!(
                modes.split_whitespace().any(|w| w == mode),
                "{mode} is off: the terminal was left raw:\n{modes}"
            );
        }
    }
}
