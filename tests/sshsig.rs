//! SSH signatures against the real OpenSSH tools: relcon's signatures verify with
//! `ssh-keygen -Y verify`, `ssh-keygen -Y sign`'s verify in relcon, a private `ssh-agent`
//! signs, and allowed_signers files mean the same to relcon as to `ssh-keygen`.

#[path = "sshsig/kit.rs"]
mod kit;

#[path = "sshsig/agent.rs"]
mod agent;
#[path = "sshsig/allowed.rs"]
mod allowed;
#[path = "sshsig/signing.rs"]
mod signing;
