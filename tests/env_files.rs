//! Env files are read literally: `$VAR` is never expanded (a value cannot pull a CI token
//! or another input's secret into itself), such a value is noted once, and a value that
//! equals a secret is refused on its way off the origin, in the URL too.

mod common;

use common::{command_item, item, report, Backend, Place, HEADER};

#[test]
fn values_are_taken_as_written_and_a_secret_in_a_url_off_the_origin_is_refused() {
    let place = Place::new(Backend::Sqlite);
    let checklist = format!(
        "{HEADER}base_url = [\"APP_URL\"]\n\n[inputs]\nAPP_URL = {{}}\nTRACKING_ID = {{}}\nPASSWORD = {{}}\nSECRET = {{ secret = true }}\n{}{}",
        command_item(
            "echo",
            "printf '%s|%s\\n' \"$TRACKING_ID\" \"$PASSWORD\"",
            "pass_env = [\"TRACKING_ID\", \"PASSWORD\"]"
        ),
        "\n[[item]]\nid = \"collect\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"http\"\nhelp = \"h\"\nurl = \"http://127.0.0.1:9/collect?id=${TRACKING_ID}\"\ntimeout = \"2s\"\n",
    );
    let path = place.write("c.toml", &checklist);
    let env = place.write(
        "deploy.env",
        "APP_URL=https://app.example.com\nTRACKING_ID=${CI_DEPLOY_TOKEN}\nPASSWORD=pa$HOME\nSECRET=Canary-Secret-771x\n",
    );
    let ran: common::Ran = place
        .relcon()
        .args(["run", &path, "--headless", "--json", "--env-file", &env])
        .env("CI_DEPLOY_TOKEN", "ci-token-canary-991")
        .output()
        .expect("relcon runs")
        .into();
    let doc = report(&ran.stdout);
    assert_eq!(item(&doc, "echo")["status"], "pass");
    assert!(
        !ran.stdout.contains("ci-token-canary-991") && !ran.stderr.contains("ci-token-canary-991")
    );
    assert!(
        ran.stderr.contains("note: not expanded: ")
            && ran.stderr.contains("TRACKING_ID (")
            && ran.stderr.contains("PASSWORD ("),
        "{}",
        ran.stderr
    );
    assert_eq!(
        ran.stderr.matches("not expanded").count(),
        1,
        "{}",
        ran.stderr
    );
    let output: Vec<String> = ran
        .stderr
        .lines()
        .filter(|l| l.contains("${CI_DEPLOY_TOKEN}|pa$HOME"))
        .map(String::from)
        .collect();
    assert!(!output.is_empty(), "the values as written: {}", ran.stderr);

    // A non-secret input holding a secret's value does not carry it to another host.
    let env = place.write(
        "deploy.env",
        "APP_URL=https://app.example.com\nTRACKING_ID=Canary-Secret-771x\nSECRET=Canary-Secret-771x\n",
    );
    let ran = place.run(&[
        "run",
        &path,
        "--headless",
        "--json",
        "--only",
        "collect",
        "--env-file",
        &env,
    ]);
    let collect = item(&report(&ran.stdout), "collect").clone();
    assert_eq!(collect["status"], "error", "{collect}");
    assert!(
        collect["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("refusing to send a secret to http://127.0.0.1:9")),
        "{collect}"
    );
}
