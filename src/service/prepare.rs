//! Setting a run up: everything it needs gathered and checked before anything runs (the
//! checklist, its environment, the values, trusted roots, the store, the operator), and
//! the command line that takes its session up again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Setup;
use crate::checklist::plan::{self, Scope};
use crate::checklist::values::Values;
use crate::checklist::Checklist;
use crate::engine::run::RunOptions;
use crate::store::Store;

/// The shipped checklist's path under `--root`, used when no checklist is named.
pub const DEFAULT_CHECKLIST: &str = "checklists/authjs-neon.toml";

/// What `relcon run` was asked.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// The checklist file.
    pub checklist: Option<PathBuf>,
    /// `--env`.
    pub environment: Option<String>,
    /// `--env-file`s, in order.
    pub env_files: Vec<PathBuf>,
    /// `--root`.
    pub root: Option<PathBuf>,
    /// `--json`.
    pub json: bool,
    /// `--junit`.
    pub junit: Option<PathBuf>,
    /// `--only`, `--skip`, `--automated-only`.
    pub scope: Scope,
    /// `--concurrency`.
    pub concurrency: usize,
    /// `--timeout`.
    pub timeout: Duration,
    /// `--as`.
    pub operator: Option<String>,
    /// `--cacert`.
    pub cacert: Option<PathBuf>,
    /// `--store`.
    pub store: Option<String>,
    /// `--session` or `--resume`.
    pub session: SessionChoice,
    /// `--rerun`.
    pub rerun: bool,
    /// `--yes-apply`.
    pub yes_apply: bool,
    /// `--headless`.
    pub headless: bool,
    /// `--sign-key`: the key the console's sign-offs are signed with.
    pub sign_key: Option<PathBuf>,
    /// `--expect-head`: the session must begin with these events.
    pub expect_head: Option<crate::session::Head>,
    /// `--bake`: the post-deploy bake started right at go.
    pub bake: Option<super::bake::Asked>,
}

/// Which session a run works in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SessionChoice {
    /// A new one.
    #[default]
    New,
    /// This one.
    Id(String),
    /// The latest open one of the checklist and environment.
    Resume,
}

/// Who is operating: `--as`, else `RELCON_OPERATOR`, else the email of the user's global
/// git identity (read from the file, never from the current directory's repository, which
/// a checked-out project controls), else `$USER`; without control or invisible characters.
pub async fn operator(requested: Option<&str>) -> String {
    // A name given is taken as given: an empty one is refused where it is used.
    if let Some(name) = requested {
        return clean_identity(name);
    }
    let chosen = std::env::var("RELCON_OPERATOR")
        .ok()
        .filter(|name| !clean_identity(name).is_empty())
        .or_else(global_git_email)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    match clean_identity(&chosen) {
        name if name.is_empty() => "unknown".into(),
        name => name,
    }
}

/// A name as it may be recorded and shown (see [`crate::session::identity::clean`]).
pub fn clean_identity(name: &str) -> String {
    crate::session::identity::clean(name)
}

/// `user.email` of the global git config (`$XDG_CONFIG_HOME/git/config`, then
/// `~/.gitconfig`, the later winning as git reads them), read as a file.
fn global_git_email() -> Option<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")))
        .map(|d| d.join("git/config"));
    let files = [xdg, home.map(|h| h.join(".gitconfig"))];
    files
        .into_iter()
        .flatten()
        .filter_map(|path| crate::files::read_text_capped(&path, 1024 * 1024).ok())
        .filter_map(|text| user_email(&text))
        .next_back()
}

/// `email` in the `[user]` section of a git config file.
fn user_email(text: &str) -> Option<String> {
    let mut in_user = false;
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_user = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .eq_ignore_ascii_case("user");
            continue;
        }
        if let Some((key, value)) = line.split_once('=').filter(|_| in_user) {
            if key.trim().eq_ignore_ascii_case("email") {
                let value = value.trim().trim_matches('"').to_string();
                found = Some(value).filter(|v| !v.is_empty());
            }
        }
    }
    found
}

/// The checklist file: the one given, else the shipped one under the root.
pub fn checklist_path(given: Option<&Path>, root: &Path) -> Result<PathBuf, String> {
    match given {
        Some(path) => Ok(path.to_path_buf()),
        None => {
            let path = root.join(DEFAULT_CHECKLIST);
            if path.exists() {
                Ok(path)
            } else {
                Err(format!(
                    "no checklist given and {} does not exist",
                    path.display()
                ))
            }
        }
    }
}

/// A checklist read and validated from `bytes`; an invalid one is bad input, said in one line.
pub fn parse_checklist(name: &str, bytes: &[u8]) -> Result<Checklist, String> {
    Checklist::from_bytes(name, bytes).map_err(|invalid| {
        let first = invalid.problems.first().map(|p| {
            let (line, column) = invalid.source.location(p.span.start);
            format!("{}:{line}:{column}: {}", invalid.source.name, p.message)
        });
        format!(
            "invalid checklist ({} errors, first {}); see `relcon lint {name}`",
            invalid.problems.len(),
            first.unwrap_or_default()
        )
    })
}

/// The timeout of items that set none when `--timeout` is not given (its default there).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// `relcon run` with what this run was given that finds its session and its configuration
/// again: checklist, root, environment, env files, the CA file and the timeout the checks
/// ran with, scope, who runs it and with which key, and the store when one was named (its
/// password shown as `***`, to be put back). Consent to production writes is not carried:
/// it is given anew.
fn resume_command(args: &RunArgs, checklist: &Path) -> String {
    let quoted = crate::text::shell_word;
    let mut line = vec![
        "relcon".to_string(),
        "run".to_string(),
        quoted(&checklist.display().to_string()),
    ];
    let mut flag = |name: &str, value: &str| {
        line.push(name.to_string());
        line.push(quoted(value));
    };
    if let Some(root) = &args.root {
        flag("--root", &root.display().to_string());
    }
    if let Some(environment) = &args.environment {
        flag("--env", environment);
    }
    for file in &args.env_files {
        flag("--env-file", &file.display().to_string());
    }
    if let Some(cacert) = &args.cacert {
        flag("--cacert", &cacert.display().to_string());
    }
    if args.timeout != DEFAULT_TIMEOUT {
        flag(
            "--timeout",
            &humantime::format_duration(args.timeout).to_string(),
        );
    }
    if let Some(store) = &args.store {
        flag("--store", &crate::dburl::shown(store));
    }
    if !args.scope.only.is_empty() {
        flag("--only", &args.scope.only.join(","));
    }
    if !args.scope.skip.is_empty() {
        flag("--skip", &args.scope.skip.join(","));
    }
    if let Some(who) = &args.operator {
        flag("--as", who);
    }
    if let Some(key) = &args.sign_key {
        flag("--sign-key", &key.display().to_string());
    }
    if args.scope.automated_only {
        line.push("--automated-only".into());
    }
    line.join(" ")
}

/// Whether a run shows the console: unless told not to, when it has a terminal to show it on
/// (stdin and stdout, and a terminal that can draw).
pub fn wants_console(headless: bool) -> bool {
    use std::io::IsTerminal;
    !headless
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Gathers and checks what a run of `args` needs.
pub async fn prepare(args: &RunArgs) -> Result<Setup, String> {
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        return Err(format!("--root {} is not a directory", root.display()));
    }
    // A JUnit path that cannot be written is found before the run, not after it.
    if let Some(junit) = &args.junit {
        let parent = junit
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            return Err(format!(
                "cannot write JUnit XML to {}: {} is not a directory",
                junit.display(),
                parent.display()
            ));
        }
    }
    crate::engine::claims::lease_setting()?;
    // An existing store opens while the checklist is read (opening one writes nothing);
    // a new one is made only once the checklist is known to be good.
    let url = args.store.clone().unwrap_or_else(crate::store::default_url);
    let early = crate::store::exists(&url).then(|| tokio::spawn(Store::open_owned(url.clone())));
    let path = checklist_path(args.checklist.as_deref(), &root)?;
    let bytes = crate::files::read_capped(&path, crate::files::CAP)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let checklist = parse_checklist(&path.display().to_string(), &bytes)?;
    let environment = plan::choose_environment(&checklist, args.environment.as_deref())
        .map_err(|e| e.to_string())?;
    let values = Values::load(
        &checklist,
        environment.as_deref(),
        &args.env_files,
        &|name| std::env::var(name).ok(),
    )
    .map_err(|e| e.to_string())?;
    for note in values.notes() {
        crate::out::say(&format!("note: {note}"));
    }
    let net = crate::checks::net::Net::new(args.cacert.as_deref())?;
    let store = match early {
        Some(opening) => opening
            .await
            .map_err(|e| format!("the store did not open: {e}"))?,
        // A session to resume is in a store that exists.
        None if args.session != super::SessionChoice::New => Store::open_existing(&url).await,
        None => Store::open(&url).await,
    }
    .map_err(|e| e.to_string())?
    .expecting(args.expect_head.clone());
    let (concurrency, lowered) = super::limits::concurrency(args.concurrency);
    if let Some(note) = lowered {
        crate::out::say(&note);
    }
    Ok(Setup {
        checklist,
        bytes,
        environment,
        scope: args.scope.clone(),
        values,
        options: RunOptions {
            concurrency,
            default_timeout: args.timeout,
            root,
            operator: operator(args.operator.as_deref()).await,
            net: Arc::new(net),
            yes_apply: args.yes_apply,
        },
        json: args.json,
        junit: args.junit.clone(),
        console: wants_console(args.headless || args.json || args.junit.is_some()),
        store,
        session: args.session.clone(),
        rerun: args.rerun,
        resume: Some(resume_command(args, &path)),
        signer: None,
        bake: args.bake,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_lose_what_a_terminal_or_an_eye_would_misread() {
        assert_eq!(clean_identity("alice\u{200B}"), "alice");
        assert_eq!(clean_identity("ali\u{1b}[31mce\u{7}"), "ali[31mce");
        assert_eq!(clean_identity("  \u{FEFF}bob "), "bob");
        assert_eq!(
            user_email("[core]\n\temail = no\n[user]\n\tname = A\n\temail = a@example.com\n"),
            Some("a@example.com".into())
        );
        assert_eq!(user_email("[core]\nemail = x@example.com\n"), None);
    }

    #[test]
    fn the_resume_line_keeps_what_the_checks_ran_with() {
        let args = RunArgs {
            checklist: None,
            environment: Some("production".into()),
            env_files: vec!["prod.env".into()],
            root: None,
            json: false,
            junit: None,
            scope: Scope::default(),
            concurrency: 8,
            timeout: Duration::from_millis(1500),
            operator: Some("alice".into()),
            cacert: Some("ca dir/ca.pem".into()),
            store: Some("postgres://relcon:hunter22@db.example/relcon".into()),
            session: SessionChoice::New,
            rerun: false,
            yes_apply: true,
            headless: true,
            sign_key: Some("id_ed25519".into()),
            expect_head: None,
            bake: None,
        };
        assert_eq!(
            resume_command(&args, Path::new("c.toml")),
            "relcon run c.toml --env production --env-file prod.env --cacert 'ca dir/ca.pem' --timeout '1s 500ms' --store 'postgres://relcon:***@db.example/relcon' --as alice --sign-key id_ed25519"
        );
        let defaults = RunArgs {
            timeout: DEFAULT_TIMEOUT,
            cacert: None,
            sign_key: None,
            store: None,
            operator: None,
            env_files: Vec::new(),
            environment: None,
            ..args
        };
        assert_eq!(
            resume_command(&defaults, Path::new("c.toml")),
            "relcon run c.toml"
        );
    }
}
