//! What the SSH signature tests share: a temporary lab directory with keys made by the real
//! `ssh-keygen`, the `ssh-keygen -Y` commands to compare with, and a private `ssh-agent`
//! that lives as long as its guard.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The namespace relcon signs reports in.
pub const NS: &str = "relcon-report";

/// A temporary directory holding keys, messages and signatures.
pub struct Lab {
    dir: tempfile::TempDir,
}

/// An OpenSSH tool, with no agent from the environment around it.
pub fn tool(name: &str) -> Command {
    let mut command = Command::new(name);
    command.env_remove("SSH_AUTH_SOCK");
    command
}

/// Runs a command, which must start.
pub fn output(command: &mut Command) -> Output {
    command.output().expect("the OpenSSH tool runs")
}

/// Runs a command that must succeed, and returns its stdout.
pub fn succeed(command: &mut Command) -> String {
    let out = output(command);
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

impl Lab {
    /// A fresh, empty lab.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A path inside the lab.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file of the lab and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// Makes a key with `ssh-keygen -t kind` and passphrase `passphrase` (`""` for none),
    /// commented with its name; returns the private key's path (`.pub` beside it).
    pub fn key_with(&self, name: &str, kind: &str, passphrase: &str, extra: &[&str]) -> PathBuf {
        let path = self.path(name);
        succeed(
            tool("ssh-keygen")
                .args(["-q", "-t", kind, "-N", passphrase, "-C", name, "-f"])
                .arg(&path)
                .args(extra),
        );
        path
    }

    /// Makes an unencrypted key of `kind` (ed25519, ecdsa, rsa).
    pub fn key(&self, name: &str, kind: &str) -> PathBuf {
        self.key_with(name, kind, "", &[])
    }
}

/// The `.pub` file beside a private key.
pub fn public_of(key: &Path) -> PathBuf {
    let mut path = key.as_os_str().to_owned();
    path.push(".pub");
    PathBuf::from(path)
}

/// The key type and base64 of a key's `.pub` file, as an allowed_signers line holds them.
pub fn key_text(key: &Path) -> String {
    let text = std::fs::read_to_string(public_of(key)).expect("public key");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The public key of a key's `.pub` file.
pub fn public_key(key: &Path) -> relcon::sshsig::PublicKey {
    relcon::sshsig::PublicKey::from_openssh(&key_text(key)).expect("public key")
}

/// The fingerprint `ssh-keygen -lf KEY.pub` prints.
pub fn keygen_fingerprint(key: &Path) -> String {
    let listed = succeed(tool("ssh-keygen").arg("-lf").arg(public_of(key)));
    listed
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint")
        .to_string()
}

/// `ssh-keygen -Y sign -f key -n namespace message`: returns the signature file.
pub fn keygen_sign(key: &Path, namespace: &str, message: &Path) -> PathBuf {
    succeed(
        tool("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", namespace, "-f"])
            .arg(key)
            .arg(message),
    );
    let mut signature = message.as_os_str().to_owned();
    signature.push(".sig");
    PathBuf::from(signature)
}

/// Whether `ssh-keygen -Y verify` accepts `signature` over `message` for `principal` in
/// `namespace`, at `verify_time` (`YYYYMMDD[HHMM[SS]][Z]`) or now.
pub fn keygen_verifies(
    allowed: &Path,
    principal: &str,
    namespace: &str,
    signature: &Path,
    message: &Path,
    verify_time: Option<&str>,
) -> bool {
    let mut command = tool("ssh-keygen");
    command
        .args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", principal, "-n", namespace, "-s"])
        .arg(signature)
        .stdin(std::fs::File::open(message).expect("message"));
    if let Some(time) = verify_time {
        command.args(["-O", &format!("verify-time={time}")]);
    }
    output(&mut command).status.success()
}

/// Whether `ssh-keygen -Y verify` accepts `signature` over `message` in [`NS`] now, made
/// by alice@example.com, whose key `key` is in `lab`'s allowed_signers file.
pub fn keygen_accepts_alice(lab: &Lab, key: &Path, signature: &Path, message: &Path) -> bool {
    let allowed = lab.write(
        "allowed_signers",
        format!("alice@example.com {}\n", key_text(key)),
    );
    keygen_verifies(&allowed, "alice@example.com", NS, signature, message, None)
}

/// What `ssh-keygen -Y find-principals` prints for a signature's key, one principal a
/// line; empty when it finds none (it then exits non-zero, which is checked).
pub fn keygen_find_principals(allowed: &Path, signature: &Path, verify_time: &str) -> Vec<String> {
    let out = output(
        tool("ssh-keygen")
            .args(["-Y", "find-principals", "-f"])
            .arg(allowed)
            .arg("-s")
            .arg(signature)
            .args(["-O", &format!("verify-time={verify_time}")]),
    );
    let found: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        out.status.success(),
        !found.is_empty(),
        "exit status and output agree"
    );
    found
}

/// A private `ssh-agent` on a socket in a lab, killed when this guard drops.
pub struct Agent {
    child: Child,
    /// The agent's socket.
    pub socket: PathBuf,
}

impl Agent {
    /// Starts `ssh-agent -d -a SOCKET`, and waits (with a deadline) for its first line,
    /// which it prints once the socket listens.
    pub fn start(lab: &Lab) -> Self {
        let socket = lab.path("agent.sock");
        let mut child = tool("ssh-agent")
            .arg("-d")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        let stdout = child.stdout.take().expect("stdout");
        let agent = Self { child, socket };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("ssh-agent announces its socket within 20 s");
        assert!(
            first.starts_with("SSH_AUTH_SOCK=") && agent.socket.exists(),
            "ssh-agent said {first:?}"
        );
        agent
    }

    /// Loads a key into the agent with `ssh-add`.
    pub fn add(&self, key: &Path) {
        succeed(
            tool("ssh-add")
                .env("SSH_AUTH_SOCK", &self.socket)
                .arg("-q")
                .arg(key),
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
