//! Signing with keys held by a real, private `ssh-agent`.

use relcon::sshsig::{verify, AgentKey, SignError, Signer};

use super::kit::*;

const SIGNOFF: &[u8] = b"item db-migrations signed off by alice\n";

#[test]
fn the_agent_signs_with_its_ed25519_key() {
    let lab = Lab::new();
    let key = lab.key("alice", "ed25519");
    let agent = Agent::start(&lab);
    agent.add(&key);

    let signer = Signer::agent(Some(&agent.socket), &AgentKey::First).expect("agent key");
    assert_eq!(signer.fingerprint(), keygen_fingerprint(&key));
    let armored = signer.sign(NS, SIGNOFF).expect("the agent signs");
    let message = lab.write("signoff.txt", SIGNOFF);
    let signature = lab.write("signoff.txt.sig", &armored);
    let allowed = lab.write(
        "allowed_signers",
        format!("alice@example.com {}\n", key_text(&key)),
    );
    assert!(keygen_verifies(
        &allowed,
        "alice@example.com",
        NS,
        &signature,
        &message,
        None
    ));
    assert!(!keygen_verifies(
        &allowed,
        "alice@example.com",
        "git",
        &signature,
        &message,
        None
    ));
    let verified = verify(&armored, NS, SIGNOFF).expect("relcon verifies");
    assert_eq!(verified.fingerprint, signer.fingerprint());
    // Ed25519 is deterministic: the agent's signature is the one the key file gives.
    let from_file = Signer::from_file(&key, None)
        .expect("file")
        .sign(NS, SIGNOFF);
    assert_eq!(from_file.expect("signs"), armored);
}

#[test]
fn the_agent_signs_with_the_key_chosen_even_rsa() {
    let lab = Lab::new();
    let ed = lab.key("ed-key", "ed25519");
    let rsa = lab.key_with("rsa-key", "rsa", "", &["-b", "2048"]);
    let ecdsa = lab.key("ecdsa-key", "ecdsa");
    let agent = Agent::start(&lab);
    for key in [&ed, &rsa, &ecdsa] {
        agent.add(key);
    }
    let message = lab.write("signoff.txt", SIGNOFF);
    let choices = [
        (AgentKey::Comment("rsa-key".into()), &rsa),
        (AgentKey::Fingerprint(keygen_fingerprint(&ecdsa)), &ecdsa),
        (AgentKey::First, &ed),
    ];
    for (which, key) in choices {
        let signer = Signer::agent(Some(&agent.socket), &which).expect("chosen key");
        assert_eq!(signer.fingerprint(), keygen_fingerprint(key), "{which:?}");
        let armored = signer.sign(NS, SIGNOFF).expect("signs");
        let signature = lab.write("signoff.txt.sig", &armored);
        assert!(
            keygen_accepts_alice(&lab, key, &signature, &message),
            "{which:?}"
        );
        assert_eq!(
            verify(&armored, NS, SIGNOFF).expect("verifies").fingerprint,
            signer.fingerprint()
        );
    }
}

#[test]
fn agent_problems_are_said_clearly() {
    let lab = Lab::new();
    let nowhere = lab.path("no-agent.sock");
    let error = Signer::agent(Some(&nowhere), &AgentKey::First).expect_err("no agent");
    assert!(
        matches!(error, SignError::AgentUnreachable { .. }),
        "{error}"
    );

    let agent = Agent::start(&lab);
    let error = Signer::agent(Some(&agent.socket), &AgentKey::First).expect_err("empty");
    assert!(matches!(error, SignError::NoIdentity { .. }), "{error}");
    assert!(error.to_string().contains("ssh-add"), "{error}");

    let key = lab.key("alice", "ed25519");
    agent.add(&key);
    let wanted = AgentKey::Fingerprint("SHA256:not-a-key-it-holds".into());
    let error = Signer::agent(Some(&agent.socket), &wanted).expect_err("not held");
    let said = error.to_string();
    assert!(
        matches!(error, SignError::NoMatchingIdentity { .. }),
        "{said}"
    );
    assert!(
        said.contains(&keygen_fingerprint(&key)) && said.contains("alice"),
        "{said}"
    );

    // A key taken out of the agent after the signer was chosen: signing says so.
    let signer = Signer::agent(Some(&agent.socket), &AgentKey::First).expect("held");
    succeed(
        tool("ssh-add")
            .env("SSH_AUTH_SOCK", &agent.socket)
            .arg("-D"),
    );
    let error = signer.sign(NS, SIGNOFF).expect_err("no longer held");
    assert!(matches!(error, SignError::AgentRefused { .. }), "{error}");
}
