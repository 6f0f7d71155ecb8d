//! The `relcon` command line: parsing and dispatch only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The shipped checklist, used when no checklist is named.
const DEFAULT_CHECKLIST: &str = "checklists/authjs-neon.toml";

#[derive(Parser)]
#[command(
    name = "relcon",
    version,
    about = "A terminal release console: walk a deploy through its checklist."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a checklist: a one-line summary, or every error with file:line:column.
    #[command(
        after_help = "Examples:\n  relcon lint checklists/authjs-neon.toml\n  relcon lint my-service.toml\n\nExit codes: 0 valid, 2 invalid or unreadable."
    )]
    Lint {
        /// The checklist file (default: checklists/authjs-neon.toml).
        checklist: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Readable reports for the unexpected (a panic); expected failures have their own messages.
    if let Err(err) = color_eyre::install() {
        eprintln!("warning: {err}");
    }
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Lint { checklist } => {
            let path = checklist.unwrap_or_else(|| PathBuf::from(DEFAULT_CHECKLIST));
            relcon::commands::lint::run(&path, &mut std::io::stdout(), &mut std::io::stderr())
        }
    };
    ExitCode::from(code)
}
