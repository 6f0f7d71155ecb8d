//! What only a PostgreSQL store does: connection errors said plainly without the password,
//! TLS demanded off loopback and verified against the CA and the host name (through a real
//! TLS front to the test server), and a change feed that falls back to polling, with a
//! warning, on a connection that never delivers notifications (as behind a
//! transaction-mode pooler).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{report, Backend, Place, HEADER};

const CANARY: &str = "canary-pw-7f3a9";

#[test]
fn an_unreachable_store_is_said_plainly_without_its_password() {
    let place = Place::new(Backend::Sqlite);
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let refused = place
        .relcon()
        .args(["sessions"])
        .env(
            "RELCON_STORE",
            format!("postgres://postgres:{CANARY}@127.0.0.1:{port}/relcon"),
        )
        .output()
        .expect("relcon runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot open store postgres://postgres:***@127.0.0.1:{port}/relcon: unreachable"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(CANARY), "{stderr}");

    let mut missing = url::Url::parse(&common::test_pg()).expect("a URL");
    missing.set_path("/relcon_no_such_database");
    let _ = missing.set_password(Some(CANARY));
    let ran = place
        .relcon()
        .args(["sessions"])
        .env("RELCON_STORE", missing.as_str())
        .output()
        .expect("relcon runs");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the database does not exist")
            && stderr.contains("relcon_no_such_database"),
        "{stderr}"
    );
    assert!(!stderr.contains(CANARY), "{stderr}");
}

#[test]
fn a_remote_store_without_verified_tls_is_refused_before_connecting() {
    let place = Place::new(Backend::Sqlite);
    let ran = place
        .relcon()
        .args(["sessions"])
        .env(
            "RELCON_STORE",
            format!("postgres://relcon:{CANARY}@db.invalid/relcon?sslmode=require"),
        )
        .output()
        .expect("relcon runs");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    // Help shows where the store comes from, never its value.
    for command in ["run", "sessions", "signoff", "watch", "close"] {
        let help = place
            .relcon()
            .args([command, "--help"])
            .env(
                "RELCON_STORE",
                format!("postgres://relcon:{CANARY}@db.invalid/relcon"),
            )
            .output()
            .expect("relcon runs");
        assert!(
            !String::from_utf8_lossy(&help.stdout).contains(CANARY),
            "{command} --help"
        );
    }
    assert!(
        stderr.contains("host name must be verified: drop sslmode=require"),
        "{stderr}"
    );
    assert!(!stderr.contains(CANARY), "{stderr}");
}

/// A TCP relay to the test server that drops every notification the server sends: LISTEN
/// succeeds through it and nothing is ever heard, as behind a transaction-mode pooler.
fn deaf_relay() -> u16 {
    let server = url::Url::parse(&common::test_pg()).expect("a URL");
    let upstream = format!(
        "{}:{}",
        server.host_str().unwrap_or("127.0.0.1"),
        server.port().unwrap_or(5432)
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut client_in, mut server_out) = (
                client.try_clone().expect("a clone"),
                server.try_clone().expect("a clone"),
            );
            std::thread::spawn(move || std::io::copy(&mut client_in, &mut server_out));
            std::thread::spawn(move || relay_without_notifications(server, client));
        }
    });
    port
}

/// Copies server messages (a type byte, then a length that counts itself) to the client,
/// leaving out NotificationResponse ('A').
fn relay_without_notifications(mut server: std::net::TcpStream, mut client: std::net::TcpStream) {
    use std::io::{Read, Write};
    loop {
        let mut header = [0u8; 5];
        if server.read_exact(&mut header).is_err() {
            break;
        }
        let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let mut body = vec![0u8; length.saturating_sub(4)];
        if server.read_exact(&mut body).is_err() {
            break;
        }
        if header[0] == b'A' {
            continue;
        }
        if client.write_all(&header).is_err() || client.write_all(&body).is_err() {
            break;
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
}

#[test]
fn a_feed_without_notifications_polls_and_says_so() {
    let place = Place::new(Backend::Postgres);
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let path = place.write("c.toml", &format!("{HEADER}{manual}"));
    let ran = place.run(&["run", &path, "--json"]);
    let session = common::session_id(&report(&ran.stdout));

    // The watcher reaches the database through the relay (plain TCP: no TLS to relay).
    let mut relayed = url::Url::parse(&place.store).expect("a URL");
    relayed.set_port(Some(deaf_relay())).expect("a port");
    relayed.query_pairs_mut().append_pair("sslmode", "disable");
    let mut watch = place
        .relcon()
        .args(["watch", "--session", &session])
        .env("RELCON_STORE", relayed.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch starts");
    let events = common::line_channel(watch.stdout.take().expect("stdout"));
    let warnings = common::line_channel(watch.stderr.take().expect("stderr"));
    let warning = warnings
        .recv_timeout(Duration::from_secs(20))
        .expect("a warning");
    assert!(
        warning.contains("LISTEN does not work on this connection")
            && warning.contains("polling every 100ms"),
        "{warning}"
    );
    let first: serde_json::Value = serde_json::from_str(
        &events
            .recv_timeout(Duration::from_secs(10))
            .expect("the log"),
    )
    .expect("JSON");
    assert_eq!(first["type"], "session_started");
    while events.recv_timeout(Duration::from_millis(300)).is_ok() {}

    let signed_at = Instant::now();
    let signed = place.run(&[
        "signoff",
        "sign",
        "--session",
        &session,
        "--as",
        "alice",
        "--status",
        "done",
    ]);
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let seen: serde_json::Value = serde_json::from_str(
        &events
            .recv_timeout(Duration::from_secs(10))
            .expect("the sign-off"),
    )
    .expect("JSON");
    assert_eq!(seen["type"], "signoff");
    assert!(
        signed_at.elapsed() < Duration::from_secs(2),
        "seen after {:?}",
        signed_at.elapsed()
    );
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn a_store_over_tls_is_verified_against_its_ca_and_host_name() {
    use relcon::demo::pki::{Ca, Validity};
    let place = Place::new(Backend::Postgres);
    let ca = Ca::new("relcon test CA").expect("a CA");
    let other_ca = Ca::new("someone else's CA").expect("a CA");
    let ca_file = place.write("ca.pem", ca.pem());
    let other_file = place.write("other-ca.pem", other_ca.pem());
    let good = common::tls_front(
        &ca.issue(&["localhost"], Validity::days(30))
            .expect("a leaf"),
    );
    let misnamed = common::tls_front(
        &ca.issue(&["db.example.com"], Validity::days(30))
            .expect("a leaf"),
    );
    let url = |port: u16, root: &str| {
        let mut url = url::Url::parse(&place.store).expect("a URL");
        url.set_host(Some("localhost")).expect("a host");
        url.set_port(Some(port)).expect("a port");
        url.query_pairs_mut()
            .append_pair("sslmode", "verify-full")
            .append_pair("sslrootcert", root);
        url.to_string()
    };
    let sessions = |store: String| {
        let ran = place
            .relcon()
            .args(["sessions"])
            .env("RELCON_STORE", store)
            .output()
            .expect("relcon runs");
        (
            ran.status.code(),
            String::from_utf8_lossy(&ran.stdout).into_owned()
                + &String::from_utf8_lossy(&ran.stderr),
        )
    };
    let (code, said) = sessions(url(good, &ca_file));
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("no sessions in"), "{said}");

    let (code, said) = sessions(url(good, &other_file));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("TLS failed"), "{said}");

    let (code, said) = sessions(url(misnamed, &ca_file));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("TLS failed"), "{said}");
}
