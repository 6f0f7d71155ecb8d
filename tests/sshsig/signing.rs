//! Signing with key files and verifying, both ways against the real `ssh-keygen -Y`.

use relcon::sshsig::{verify, SignError, Signer, VerifyError};
use secrecy::SecretString;

use super::kit::*;

const REPORT: &[u8] = b"{\"verdict\":\"go\",\"items\":3}\n";

/// relcon signs `REPORT` with `key`; returns the message and signature files.
fn relcon_signs(lab: &Lab, signer: &Signer) -> (std::path::PathBuf, std::path::PathBuf) {
    let message = lab.write("report.json", REPORT);
    let armored = signer.sign(NS, REPORT).expect("signs");
    let signature = lab.write("report.json.sig", &armored);
    (message, signature)
}

#[test]
fn file_key_signatures_verify_with_ssh_keygen() {
    for kind in ["ed25519", "ecdsa"] {
        let lab = Lab::new();
        let key = lab.key("alice", kind);
        let signer = Signer::from_file(&key, None).expect("loads");
        assert_eq!(signer.fingerprint(), keygen_fingerprint(&key), "{kind}");
        let allowed = lab.write(
            "allowed_signers",
            format!("alice@example.com namespaces=\"{NS}\" {}\n", key_text(&key)),
        );
        let (message, signature) = relcon_signs(&lab, &signer);
        let verifies = |namespace: &str, message: &std::path::Path| {
            keygen_verifies(
                &allowed,
                "alice@example.com",
                namespace,
                &signature,
                message,
                None,
            )
        };
        assert!(
            verifies(NS, &message),
            "{kind}: ssh-keygen accepts relcon's signature"
        );
        assert!(
            !verifies("relcon-signoff", &message),
            "{kind}: another namespace"
        );
        let altered = lab.write("altered.json", b"{\"verdict\":\"go\",\"items\":4}\n");
        assert!(!verifies(NS, &altered), "{kind}: an altered message");
        assert!(
            !keygen_verifies(&allowed, "bob@example.com", NS, &signature, &message, None),
            "{kind}: another principal"
        );
    }
}

#[test]
fn ecdsa_keys_whose_scalar_ssh_keygen_wrote_short_sign() {
    // ssh-keygen drops a scalar's leading zero byte: one P-256 key in 256, half of all
    // P-521 keys. tests/sshsig/keys/make.py made these two with it.
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sshsig/keys");
    for name in ["short-p256", "short-p521"] {
        let key = keys.join(name);
        let text = std::fs::read_to_string(&key).expect("the key file");
        assert!(
            ssh_key::PrivateKey::from_openssh(&text).is_err(),
            "{name}: ssh-key reads it alone now; src/sshsig/widen.rs can go"
        );
        let signer = Signer::from_file(&key, None).expect("loads");
        assert_eq!(signer.fingerprint(), keygen_fingerprint(&key), "{name}");
        let lab = Lab::new();
        let (message, signature) = relcon_signs(&lab, &signer);
        assert!(
            keygen_accepts_alice(&lab, &key, &signature, &message),
            "{name}: ssh-keygen accepts relcon's signature"
        );
    }
    // Encrypted, the same key opens with its passphrase only.
    let locked = keys.join("short-p521-locked");
    let right = SecretString::from("correct horse");
    let signer = Signer::from_file(&locked, Some(&right)).expect("opens with its passphrase");
    assert_eq!(signer.fingerprint(), keygen_fingerprint(&locked));
    let wrong = SecretString::from("correct horse battery");
    assert!(
        matches!(
            Signer::from_file(&locked, Some(&wrong)),
            Err(SignError::WrongPassphrase { .. })
        ),
        "a wrong passphrase is said to be wrong"
    );
}

#[test]
fn ed25519_signatures_are_byte_for_byte_those_of_ssh_keygen() {
    // Ed25519 signing is deterministic, so the same key and message give the same text.
    let lab = Lab::new();
    let key = lab.key("alice", "ed25519");
    let message = lab.write("report.json", REPORT);
    let theirs = std::fs::read_to_string(keygen_sign(&key, NS, &message)).expect("sig");
    let ours = Signer::from_file(&key, None)
        .expect("loads")
        .sign(NS, REPORT)
        .expect("signs");
    assert_eq!(ours, theirs);
}

#[test]
fn encrypted_key_signs_only_with_its_passphrase() {
    let lab = Lab::new();
    let canary = "canary-Passphrase-7f3a9";
    let key = lab.key_with("alice", "ed25519", canary, &[]);
    let needed = Signer::from_file(&key, None).expect_err("needs a passphrase");
    assert!(
        matches!(needed, SignError::PassphraseNeeded { .. }),
        "{needed}"
    );
    assert!(
        needed.to_string().contains("passphrase is needed"),
        "{needed}"
    );
    let wrong = SecretString::from("not-the-passphrase");
    let refused = Signer::from_file(&key, Some(&wrong)).expect_err("wrong passphrase");
    assert!(
        matches!(refused, SignError::WrongPassphrase { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("passphrase for"), "{refused}");

    let right = SecretString::from(canary);
    let signer = Signer::from_file(&key, Some(&right)).expect("decrypts");
    let (message, signature) = relcon_signs(&lab, &signer);
    assert!(keygen_accepts_alice(&lab, &key, &signature, &message));

    // The passphrase shows up in nothing relcon prints or logs.
    let shown = [
        format!("{needed} {needed:?} {refused} {refused:?}"),
        format!("{signer:?} {right:?}"),
        std::fs::read_to_string(&signature).expect("sig"),
    ];
    for text in shown {
        assert!(!text.contains(canary), "the passphrase leaked into {text}");
    }
}

#[test]
fn rsa_key_files_are_refused_with_the_agent_as_the_way() {
    let lab = Lab::new();
    let plain = lab.key_with("plain", "rsa", "", &["-b", "2048"]);
    let encrypted = lab.key_with("locked", "rsa", "secret words", &["-b", "2048"]);
    let legacy = lab.key_with("legacy", "rsa", "", &["-b", "2048", "-m", "PEM"]);
    for key in [plain, encrypted, legacy] {
        // Refused before any passphrase is asked for or tried.
        let error = Signer::from_file(&key, None).expect_err("RSA file refused");
        assert!(
            matches!(error, SignError::RsaFile { .. }),
            "{}: {error}",
            key.display()
        );
        let said = error.to_string();
        assert!(said.contains("ssh-add") && said.contains("agent"), "{said}");
    }
}

#[test]
fn files_that_are_no_private_key_are_refused_clearly() {
    let lab = Lab::new();
    let key = lab.key("alice", "ed25519");
    let error = Signer::from_file(&public_of(&key), None).expect_err("a .pub");
    assert!(matches!(error, SignError::NotAKey { .. }), "{error}");
    let error = Signer::from_file(&lab.path("missing"), None).expect_err("missing");
    assert!(matches!(error, SignError::Read { .. }), "{error}");
}

#[test]
fn ssh_keygen_signatures_verify_in_relcon() {
    for kind in ["ed25519", "ecdsa", "rsa"] {
        let lab = Lab::new();
        let key = lab.key("alice", kind);
        let message = lab.write("report.json", REPORT);
        let armored = std::fs::read_to_string(keygen_sign(&key, NS, &message)).expect("sig");
        let verified = verify(&armored, NS, REPORT).expect(kind);
        assert_eq!(verified.fingerprint, keygen_fingerprint(&key), "{kind}");
        assert_eq!(verified.public_key.key_data(), public_key(&key).key_data());
    }
}

#[test]
fn verify_tells_namespace_alteration_and_garbage_apart() {
    let lab = Lab::new();
    let key = lab.key("alice", "ed25519");
    let message = lab.write("report.json", REPORT);
    let armored = std::fs::read_to_string(keygen_sign(&key, NS, &message)).expect("sig");

    let error = verify(&armored, "relcon-signoff", REPORT).expect_err("namespace");
    assert_eq!(
        error,
        VerifyError::WrongNamespace {
            expected: "relcon-signoff".into(),
            found: NS.into()
        }
    );
    let error = verify(&armored, NS, b"{\"verdict\":\"no-go\"}\n").expect_err("altered");
    assert!(
        matches!(&error, VerifyError::Mismatch { fingerprint } if *fingerprint == keygen_fingerprint(&key)),
        "{error}"
    );
    assert!(
        error.to_string().contains("changed after signing"),
        "{error}"
    );
    let error = verify("not a signature", NS, REPORT).expect_err("garbage");
    assert!(matches!(error, VerifyError::Malformed { .. }), "{error}");
    // A signature whose body was tampered with is garbage or a mismatch, never accepted.
    let tampered = armored.replacen("AAAA", "AAAB", 1);
    assert!(verify(&tampered, NS, REPORT).is_err());
}
