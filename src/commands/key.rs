//! The operator's signing key on the command line: opened from a key file or the agent, its
//! passphrase asked on the terminal (never echoed, never stored, three tries) when the file
//! is encrypted.

use std::sync::Arc;

use secrecy::SecretString;

use crate::service::signing::{self, KeyChoice};
use crate::sshsig::{SignError, Signer};

/// The key `choice` names, asking for its passphrase on the terminal when it needs one.
pub async fn open(choice: &KeyChoice) -> Result<Arc<Signer>, String> {
    let mut passphrase: Option<SecretString> = None;
    for _ in 0..3 {
        match signing::open(choice, passphrase.take()).await {
            Ok(signer) => return Ok(Arc::new(signer)),
            Err(SignError::PassphraseNeeded { path } | SignError::WrongPassphrase { path }) => {
                use std::io::IsTerminal;
                if !std::io::stdin().is_terminal() {
                    return Err(format!(
                        "{path} is encrypted and there is no terminal to type its passphrase on: load the key into ssh-agent (`ssh-add {path}`) and sign with the agent"
                    ));
                }
                let typed = tokio::task::spawn_blocking(move || {
                    rpassword::prompt_password(format!("passphrase for {path}: "))
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("cannot read the passphrase: {e}"))?;
                passphrase = Some(SecretString::from(typed));
            }
            Err(err) => return Err(err.to_string()),
        }
    }
    Err(format!("{}: three wrong passphrases", choice.describe()))
}

/// The key sign-offs are signed with: the one `asked` for, else `RELCON_SIGNING_KEY`, else
/// the agent's first key when an agent runs with one (else none: unsigned).
pub async fn for_signoffs(
    asked: Option<std::path::PathBuf>,
) -> Result<Option<Arc<Signer>>, String> {
    match asked
        .map(KeyChoice::File)
        .or_else(KeyChoice::default_for_signoffs)
    {
        // An agent that is not there or holds no key signs nothing; it is not asked for.
        Some(KeyChoice::Agent) => Ok(signing::open(&KeyChoice::Agent, None)
            .await
            .ok()
            .map(Arc::new)),
        Some(choice) => open(&choice).await.map(Some),
        None => Ok(None),
    }
}
