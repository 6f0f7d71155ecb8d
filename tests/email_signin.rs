//! The shipped `secrets.email` asks the deployment whether it has email sign-in: an
//! OAuth-only deployment skips it, an email provider without settings still fails, and an
//! input can say so where the providers list cannot be read. A real HTTPS server on
//! 127.0.0.1 plays the deployment's `/api/auth/providers`.

mod common;

use std::sync::{Arc, Mutex};

use common::{item, report};
use relcon::demo::pki::{self, Ca, Validity};
use relcon::demo::server::{full, Handler, Response, Server};

/// What the deployment's providers endpoint answers: a status and a body.
type Answer = Arc<Mutex<(u16, String)>>;

fn provider(id: &str, kind: &str) -> String {
    format!(
        r#""{id}": {{"id": "{id}", "name": "{id}", "type": "{kind}", "signinUrl": "https://localhost/api/auth/signin/{id}", "callbackUrl": "https://localhost/api/auth/callback/{id}"}}"#
    )
}

fn providers(list: &[(&str, &str)]) -> String {
    let inner: Vec<String> = list.iter().map(|(id, kind)| provider(id, kind)).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Runs `secrets.email` of the shipped checklist with `env` against the server.
fn run(dir: &std::path::Path, base: &str, ca: &str, env: &str) -> serde_json::Value {
    let env_file = dir.join("deploy.env");
    std::fs::write(&env_file, format!("AUTH_URL={base}\n{env}")).expect("writes");
    let ran: common::Ran = common::relcon()
        .args(["run", "--headless", "--json", "--only", "secrets.email"])
        .args(["--root", &common::repo().display().to_string()])
        .args([
            "--env-file",
            &env_file.display().to_string(),
            "--cacert",
            ca,
        ])
        .current_dir(dir)
        .env("RELCON_STORE", common::store_in(dir))
        .output()
        .expect("relcon runs")
        .into();
    assert!(
        !ran.stdout.contains("canary-smtp-pw") && !ran.stderr.contains("canary-smtp-pw"),
        "the SMTP password leaked"
    );
    item(&report(&ran.stdout), "secrets.email").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_settings_are_required_only_where_the_deployment_has_email_sign_in() {
    let ca = Ca::new("test CA").expect("a CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).expect("writes the CA");
    let leaf = ca
        .issue(&["localhost"], Validity::days(30))
        .expect("a leaf");
    let tls = Arc::new(pki::server_config(&leaf, &[]).expect("a server config"));
    let answer: Answer = Arc::new(Mutex::new((200, String::new())));
    let served = answer.clone();
    let handler: Handler = Arc::new(move |request| {
        let (status, body) = served.lock().expect("the answer").clone();
        Box::pin(async move {
            let mut response = Response::new(full(body));
            *response.status_mut() = if request.uri().path() == "/api/auth/providers" {
                hyper::StatusCode::from_u16(status).expect("a status")
            } else {
                hyper::StatusCode::NOT_FOUND
            };
            response
        })
    });
    let server = Server::start(Some(tls), handler).await.expect("a server");
    let base = format!("https://localhost:{}", server.addr.port());
    let ca_arg = ca_path.display().to_string();
    let case = |status: u16, body: String, env: &'static str| {
        *answer.lock().expect("the answer") = (status, body);
        let dir = dir.path().to_path_buf();
        let (base, ca_arg) = (base.clone(), ca_arg.clone());
        async move {
            tokio::task::spawn_blocking(move || run(&dir, &base, &ca_arg, env))
                .await
                .expect("the run")
        }
    };
    let oauth_only = providers(&[("google", "oidc"), ("github", "oauth")]);
    let with_email = providers(&[("google", "oidc"), ("resend", "email")]);

    // OAuth only, no email settings: skipped, naming the providers it has.
    let email = case(200, oauth_only.clone(), "").await;
    assert_eq!(email["status"], "skip", "{email}");
    assert_eq!(
        email["summary"],
        "no provider of type email: the deployment lists github (oauth), google (oidc)"
    );
    // An email provider and no settings: the real defect still fails.
    let email = case(200, with_email.clone(), "").await;
    assert_eq!(email["status"], "fail", "{email}");
    assert!(
        email["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("none of SMTP_URL, EMAIL_SERVER, EMAIL_SERVER_HOST")),
        "{email}"
    );
    // The split SMTP form, complete: passes, saying why the item applied.
    let split = "EMAIL_SERVER_HOST=smtp.example.net\nEMAIL_SERVER_PORT=587\nEMAIL_SERVER_USER=mailer\nEMAIL_SERVER_PASSWORD=canary-smtp-pw-4471\n";
    let email = case(200, with_email.clone(), split).await;
    assert_eq!(email["status"], "pass", "{email}");
    assert!(
        email["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("the deployment lists resend (email); ")),
        "{email}"
    );
    // Half of it: fails, naming what is missing.
    let email = case(
        200,
        with_email.clone(),
        "EMAIL_SERVER_HOST=smtp.example.net\nEMAIL_SERVER_PORT=587\n",
    )
    .await;
    assert_eq!(email["status"], "fail", "{email}");
    assert!(
        email["summary"]
            .as_str()
            .is_some_and(|s| s.contains("set without EMAIL_SERVER_USER, EMAIL_SERVER_PASSWORD")),
        "{email}"
    );
    // The list cannot be read: the item cannot tell, and says how to tell it.
    let email = case(404, String::new(), "").await;
    assert_eq!(email["status"], "error", "{email}");
    assert!(
        email["summary"]
            .as_str()
            .is_some_and(|s| s
                .contains("GET /api/auth/providers → 404; or set EMAIL_SIGNIN to true or false")),
        "{email}"
    );
    // The input says so instead: false skips, true requires the settings.
    let email = case(404, String::new(), "EMAIL_SIGNIN=false\n").await;
    assert_eq!(email["status"], "skip", "{email}");
    let email = case(200, oauth_only, "EMAIL_SIGNIN=true\n").await;
    assert_eq!(email["status"], "fail", "{email}");
    assert_eq!(email["evidence"]["applies"]["source"], "EMAIL_SIGNIN");
    drop(server);
}
