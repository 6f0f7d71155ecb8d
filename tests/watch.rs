//! `relcon watch`: another process's sign-off appears within a second, and the watch ends
//! when the session closes.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{report, Backend, Place, HEADER};

fn a_watcher_sees_another_process_sign_off_and_the_close(backend: Backend) {
    let place = Place::new(backend);
    let manual = "\n[[item]]\nid = \"sign\"\nsection = \"Checks\"\ntitle = \"Sign\"\nkind = \"manual\"\nhelp = \"Sign it.\"\n";
    let path = place.write("c.toml", &format!("{HEADER}{manual}"));
    let ran = place.run(&["run", &path, "--json"]);
    let session = common::session_id(&report(&ran.stdout));

    let mut watch = place
        .relcon()
        .args(["watch", "--session", &session])
        .stdout(Stdio::piped())
        .spawn()
        .expect("watch starts");
    let receiver = common::line_channel(watch.stdout.take().expect("stdout"));
    let next = |what: &str| -> serde_json::Value {
        let line = receiver
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no event: {what}"));
        serde_json::from_str(&line).expect("a JSON line")
    };
    // The log so far comes first.
    assert_eq!(next("the start")["type"], "session_started");
    while receiver.recv_timeout(Duration::from_millis(500)).is_ok() {}

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
    let event = next("the sign-off");
    assert_eq!(
        (event["type"].clone(), event["actor"].clone()),
        (serde_json::json!("signoff"), serde_json::json!("alice"))
    );
    assert!(
        signed_at.elapsed() < Duration::from_secs(2),
        "seen after {:?}",
        signed_at.elapsed()
    );
    // Signing the only item closes the session, and the watch with it.
    assert_eq!(next("the close")["type"], "session_closed");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = watch.try_wait().expect("waits") {
            break status;
        }
        assert!(Instant::now() < deadline, "the watch did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
}

crate::on_both_backends!(a_watcher_sees_another_process_sign_off_and_the_close);
