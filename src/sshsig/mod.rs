//! SSH signatures (SSHSIG), offline and interchangeable with `ssh-keygen -Y sign` and
//! `ssh-keygen -Y verify`: relcon decides whom a key stands for with an OpenSSH
//! allowed_signers file ([`AllowedSigners`]).
//!
//! A foundation: it uses no other module of relcon.

mod allowed;
mod line;
mod pattern;

pub use allowed::{AllowedSigners, AllowedSignersError, Refusal};
pub use ssh_key::PublicKey;
