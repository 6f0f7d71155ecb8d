//! The `http`, `cookies` and `tls` kinds against real servers on 127.0.0.1, with
//! certificates made in the test: every assertion and cookie rule passing and failing, and
//! the hard cases (hung server, huge body, redirect loop, a server that closes mid-response,
//! certificates expiring, expired, for the wrong name, self-signed).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use common::{run_checklist_with, HEADER};
use http_body_util::{BodyExt, StreamBody};
use hyper::StatusCode;
use relcon::checks::net::Net;
use relcon::demo::pki::{self, Ca, Validity};
use relcon::demo::server::{full, Handler, Request, Response, Server};
use relcon::engine::event::ItemResult;
use relcon::status::Status;
use tokio_util::sync::CancellationToken;

/// A CA whose certificate file the checks trust, and a server certificate it issued.
struct Pki {
    ca: Ca,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        Pki {
            ca: Ca::new("test CA").expect("a CA"),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn net(&self) -> Net {
        let path = self.dir.path().join("ca.pem");
        std::fs::write(&path, self.ca.pem()).expect("writes the CA");
        Net::new(Some(&path)).expect("roots")
    }

    fn tls(&self, names: &[&str], validity: Validity) -> Arc<rustls::ServerConfig> {
        let leaf = self.ca.issue(names, validity).expect("a leaf");
        Arc::new(pki::server_config(&leaf, &[]).expect("a server config"))
    }
}

fn handler(f: impl Fn(Request) -> Response + Send + Sync + 'static) -> Handler {
    let f = Arc::new(f);
    Arc::new(move |request| {
        let f = f.clone();
        Box::pin(async move { f(request) })
    })
}

fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).expect("a status");
    for (name, value) in headers {
        response.headers_mut().append(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).expect("a name"),
            value.parse().expect("a value"),
        );
    }
    response
}

/// Runs one item of `kind` with `keys` against `base` (the base URL input `APP_URL`).
async fn check(pki: &Pki, base: &str, kind: &str, keys: &str) -> ItemResult {
    let timeout = if keys.contains("timeout") {
        ""
    } else {
        "timeout = \"3s\"\n"
    };
    let text = format!("{HEADER}base_url = [\"APP_URL\"]\n\n[inputs]\nAPP_URL = {{}}\nTOKEN = {{ secret = true }}\n\n[[item]]\nid = \"x\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"{kind}\"\nhelp = \"h\"\n{timeout}{keys}\n");
    let run = run_checklist_with(
        &text,
        &[("APP_URL", base), ("TOKEN", "tok-canary-http-77")],
        8,
        CancellationToken::new(),
        pki.net(),
    )
    .await;
    let result = run.results["x"].clone();
    assert!(
        !format!("{} {}", result.summary, result.evidence).contains("tok-canary-http-77"),
        "the secret leaked"
    );
    result
}

/// A JSON API for the assertion tests.
fn api() -> Handler {
    Arc::new(|request| {
        Box::pin(async move {
            match request.uri().path() {
                "/health" => respond(
                    200,
                    &[
                        ("content-type", "application/json"),
                        ("cache-control", "no-store"),
                        ("x-request-id", "fixed"),
                    ],
                    r#"{"status":"ok","checks":[{"name":"db"}],"errors":[],"links":{"a":"https://127.0.0.1/x","b":"https://127.0.0.1/y"}}"#,
                ),
                "/echo" => {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    respond(200, &[("x-request-id", &id)], "ok")
                }
                "/auth" => {
                    let ok = request
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        == Some("Bearer tok-canary-http-77");
                    respond(if ok { 200 } else { 401 }, &[], "")
                }
                "/echo-auth" => {
                    let sent = |name: &str| {
                        request
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    let body = format!("you sent {} and {}", sent("authorization"), sent("cookie"));
                    respond(200, &[("x-auth-echo", &sent("authorization"))], &body)
                }
                "/moved" => respond(302, &[("location", "/health")], ""),
                "/loop" => respond(302, &[("location", "/loop")], ""),
                "/slow" => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    respond(200, &[], "late")
                }
                _ => respond(404, &[], "no"),
            }
        })
    })
}

#[tokio::test]
async fn http_assertions_pass_and_fail_with_expected_versus_actual() {
    let pki = Pki::new();
    let server = Server::start(Some(pki.tls(&["127.0.0.1"], Validity::days(90))), api())
        .await
        .expect("server");
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    let cases: &[(&str, Status, &str)] = &[
        ("url = \"${origin}/health\"", Status::Pass, "GET /health → 200 in"),
        ("url = \"${origin}/missing\"", Status::Fail, "GET /missing → 404 (expected 2xx)"),
        ("url = \"${origin}/health\"\nexpect = { status = 201 }", Status::Fail, "GET /health → 200 (expected 201)"),
        ("url = \"${origin}/health\"\nexpect = { status = [201, 204] }", Status::Fail, "GET /health → 200 (expected one of 201, 204)"),
        ("url = \"${origin}/missing\"\nexpect = { status = \"any\" }", Status::Pass, "GET /missing → 404"),
        ("url = \"${origin}/health\"\nexpect = { headers = { cache-control = \"public\" } }", Status::Fail, "header cache-control: expected \"public\", got \"no-store\""),
        ("url = \"${origin}/health\"\nexpect = { headers_present = [\"etag\"] }", Status::Fail, "header etag: expected, got none"),
        ("url = \"${origin}/health\"\nexpect = { header_any_of = [\"cf-ray\", \"x-request-id\"] }", Status::Pass, "GET"),
        ("url = \"${origin}/health\"\nexpect = { echo_header = \"X-Request-Id\" }", Status::Fail, "header X-Request-Id: expected the id sent"),
        ("url = \"${origin}/echo\"\nexpect = { echo_header = \"X-Request-Id\" }", Status::Pass, "GET /echo"),
        ("url = \"${origin}/health\"\nexpect = { json = [{ path = \"$.status\", equals = \"ok\" }, { path = \"$.checks[0].name\", exists = true }, { path = \"$.errors\", empty = true }, { path = \"$.checks\", type = \"array\" }, { path = \"$.links.*\", starts_with = \"https://127.0.0.1/\" }] }", Status::Pass, "GET"),
        ("url = \"${origin}/health\"\nexpect = { json = [{ path = \"$.status\", equals = \"down\" }] }", Status::Fail, "$.status: expected \"down\", got \"ok\""),
        ("url = \"${origin}/health\"\nexpect = { json = [{ path = \"$.nothing\", exists = true }] }", Status::Fail, "$.nothing: expected a value, found none"),
        ("url = \"${origin}/health\"\nexpect = { json = [{ path = \"$.checks\", type = \"object\" }] }", Status::Fail, "$.checks: expected object, got array"),
        ("url = \"${origin}/health\"\nexpect = { json = [{ path = \"$.checks\", empty = true }] }", Status::Fail, "$.checks: expected an empty value"),
        ("url = \"${origin}/health\"\nexpect = { json = [{ path = \"$.status\", matches = '^up$' }] }", Status::Fail, "$.status: expected a match of ^up$, got \"ok\""),
        ("url = \"${origin}/health\"\nexpect = { json = [{ path = \"$.links.*\", starts_with = \"https://elsewhere/\" }] }", Status::Fail, "$.links.*: expected a string starting with https://elsewhere/"),
        ("url = \"${origin}/echo\"\nexpect = { json = [{ path = \"$\", type = \"object\" }] }", Status::Fail, "body: expected JSON, got \"ok\""),
        ("url = \"${origin}/health\"\nexpect = { body_matches = '\"status\":\"ok\"' }", Status::Pass, "GET"),
        ("url = \"${origin}/health\"\nexpect = { body_matches = 'healthy' }", Status::Fail, "body: expected a match of healthy"),
        ("url = \"${origin}/health\"\nexpect = { body_contains = \"${APP_URL}\" }", Status::Fail, "body: expected to contain \"https://127.0.0.1:"),
        ("url = \"${origin}/slow\"\nexpect = { max_latency = \"100ms\" }", Status::Fail, "latency: expected at most 100ms, took"),
        ("url = \"${origin}/auth\"\nheaders = { Authorization = \"Bearer ${TOKEN}\" }", Status::Pass, "GET /auth → 200"),
        ("url = \"${origin}/moved\"", Status::Fail, "GET /moved → 302 (expected 2xx)"),
        ("url = \"${origin}/moved\"\nfollow_redirects = true", Status::Pass, "GET /moved → 200"),
        ("url = \"${origin}/loop\"\nfollow_redirects = true", Status::Fail, "GET /loop → "),
    ];
    for (keys, status, summary) in cases {
        let result = check(&pki, &base, "http", keys).await;
        assert_eq!(result.status, *status, "{keys}: {}", result.summary);
        assert!(
            result.summary.starts_with(summary),
            "{keys}: {}",
            result.summary
        );
    }
    // The transcript masks the credential it sent.
    let result = check(
        &pki,
        &base,
        "http",
        "url = \"${origin}/auth\"\nheaders = { Authorization = \"Bearer ${TOKEN}\" }",
    )
    .await;
    let sent = result.evidence["request"]["headers"]["Authorization"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(sent.starts_with("[secret "), "{sent}");
}

#[tokio::test]
async fn a_hung_server_fails_at_the_timeout() {
    let pki = Pki::new();
    let hang: Handler = Arc::new(|_| Box::pin(std::future::pending()));
    let server = Server::start(Some(pki.tls(&["127.0.0.1"], Validity::days(90))), hang)
        .await
        .expect("server");
    let clock = Instant::now();
    let result = check(
        &pki,
        &format!("https://127.0.0.1:{}", server.addr.port()),
        "http",
        "url = \"${origin}/health\"",
    )
    .await;
    assert_eq!(result.status, Status::Fail);
    assert!(
        result
            .summary
            .starts_with("GET /health → no complete response within the 3s timeout"),
        "{}",
        result.summary
    );
    assert!(
        clock.elapsed() < Duration::from_secs(6),
        "took {:?}",
        clock.elapsed()
    );
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_huge_body_is_capped_and_drained() {
    let pki = Pki::new();
    // 100 MB in 1 MiB chunks, made as they are sent.
    let huge: Handler = Arc::new(|_| {
        Box::pin(async {
            let chunk = Bytes::from(vec![b'x'; 1 << 20]);
            let chunks =
                futures::stream::iter((0..100).map(move |_| {
                    Ok::<_, std::io::Error>(hyper::body::Frame::data(chunk.clone()))
                }));
            Response::new(StreamBody::new(chunks).boxed())
        })
    });
    let server = Server::start(Some(pki.tls(&["127.0.0.1"], Validity::days(90))), huge)
        .await
        .expect("server");
    let before = peak_rss_kib();
    let result = check(
        &pki,
        &format!("https://127.0.0.1:{}", server.addr.port()),
        "http",
        "url = \"${origin}/big\"\ntimeout = \"30s\"",
    )
    .await;
    let grown = peak_rss_kib().saturating_sub(before);
    assert_eq!(result.status, Status::Pass, "{}", result.summary);
    assert_eq!(result.evidence["response"]["body_bytes"], 100 << 20);
    assert_eq!(result.evidence["response"]["body_truncated"], true);
    assert!(
        grown < 40 * 1024,
        "peak memory grew by {grown} KiB for a 100 MB body"
    );
}

#[tokio::test]
async fn a_server_that_closes_mid_response_fails() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listens");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial")
                .await;
            // Dropped here: the connection closes 993 bytes short.
        }
    });
    let pki = Pki::new();
    let result = check(
        &pki,
        &format!("http://127.0.0.1:{port}"),
        "http",
        "url = \"${origin}/x\"",
    )
    .await;
    assert_eq!(result.status, Status::Fail);
    assert!(
        result.summary.starts_with("GET /x → "),
        "{}",
        result.summary
    );
}

#[tokio::test]
async fn certificates_are_verified() {
    let pki = Pki::new();
    let ok = handler(|_| respond(200, &[], "ok"));
    // Self-signed, and its issuer is not trusted.
    let leaf = pki::self_signed(&["127.0.0.1"], Validity::days(90)).expect("a cert");
    let server = Server::start(
        Some(Arc::new(pki::server_config(&leaf, &[]).expect("config"))),
        ok.clone(),
    )
    .await
    .expect("server");
    let result = check(
        &pki,
        &format!("https://127.0.0.1:{}", server.addr.port()),
        "http",
        "url = \"${origin}/\"",
    )
    .await;
    assert_eq!(result.status, Status::Fail);
    assert!(
        result.summary.contains("UnknownIssuer") || result.summary.contains("certificate"),
        "{}",
        result.summary
    );
    // Trusted through --cacert: passes.
    let server = Server::start(Some(pki.tls(&["127.0.0.1"], Validity::days(90))), ok)
        .await
        .expect("server");
    assert_eq!(
        check(
            &pki,
            &format!("https://127.0.0.1:{}", server.addr.port()),
            "http",
            "url = \"${origin}/\""
        )
        .await
        .status,
        Status::Pass
    );
}

/// Names, validity, HSTS header, plain-HTTP port, expected status and summary.
type TlsCase = (
    &'static [&'static str],
    Validity,
    Option<&'static str>,
    u16,
    Status,
    &'static str,
);

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("an address").port()
}

#[tokio::test]
async fn tls_chain_expiry_hsts_and_redirect() {
    let pki = Pki::new();
    let https_handler = |hsts: Option<&'static str>| {
        handler(move |_| match hsts {
            Some(value) => respond(200, &[("strict-transport-security", value)], "ok"),
            None => respond(200, &[], "ok"),
        })
    };
    let redirect = Server::start(
        None,
        handler(|_| respond(301, &[("location", "https://localhost/")], "")),
    )
    .await
    .expect("server");
    let plain = Server::start(None, handler(|_| respond(200, &[], "plain")))
        .await
        .expect("server");
    let year = Some("max-age=31536000; includeSubDomains");
    let cases: Vec<TlsCase> = vec![
        (
            &["localhost"],
            Validity::days(90),
            year,
            redirect.addr.port(),
            Status::Pass,
            "certificate valid for localhost",
        ),
        (
            &["localhost"],
            Validity::days(10),
            year,
            redirect.addr.port(),
            Status::Warn,
            "the certificate expires in ",
        ),
        (
            &["localhost"],
            Validity::days(3),
            year,
            redirect.addr.port(),
            Status::Fail,
            "the certificate expires in ",
        ),
        (
            &["localhost"],
            Validity {
                since_days: 30,
                until_days: -1,
            },
            year,
            redirect.addr.port(),
            Status::Fail,
            "the certificate has expired",
        ),
        (
            &["other.example"],
            Validity::days(90),
            year,
            redirect.addr.port(),
            Status::Fail,
            "the certificate is not valid for localhost",
        ),
        (
            &["localhost"],
            Validity::days(90),
            None,
            redirect.addr.port(),
            Status::Warn,
            "no Strict-Transport-Security header: set `Strict-Transport-Security: max-age=31536000",
        ),
        (
            &["localhost"],
            Validity::days(90),
            Some("max-age=300"),
            redirect.addr.port(),
            Status::Warn,
            "Strict-Transport-Security max-age=300, expected at least 15552000",
        ),
        // HTTPS only: nothing listens for plain HTTP (the port refuses).
        (
            &["localhost"],
            Validity::days(90),
            year,
            closed_port(),
            Status::Pass,
            "certificate valid for localhost, ",
        ),
        (
            &["localhost"],
            Validity::days(90),
            year,
            plain.addr.port(),
            Status::Fail,
            "plain HTTP http://localhost:",
        ),
    ];
    for (names, validity, hsts, http_port, status, summary) in cases {
        let server = Server::start(Some(pki.tls(names, validity)), https_handler(hsts))
            .await
            .expect("server");
        let keys = format!("url = \"${{origin}}/\"\nhttp_url = \"http://localhost:{http_port}/\"");
        let result = check(
            &pki,
            &format!("https://localhost:{}", server.addr.port()),
            "tls",
            &keys,
        )
        .await;
        assert_eq!(
            result.status, status,
            "{names:?} {validity:?} {hsts:?}: {}",
            result.summary
        );
        assert!(
            result.summary.starts_with(summary),
            "{names:?} {validity:?}: {}",
            result.summary
        );
        assert!(
            result.evidence["not_after"].is_string()
                && result.evidence["issuer"]
                    .as_str()
                    .is_some_and(|i| i.contains("test CA")),
            "{}",
            result.evidence
        );
    }
    // The pass says why there was no redirect to check.
    let server = Server::start(
        Some(pki.tls(&["localhost"], Validity::days(90))),
        https_handler(year),
    )
    .await
    .expect("server");
    let keys = format!(
        "url = \"${{origin}}/\"\nhttp_url = \"http://localhost:{}/\"",
        closed_port()
    );
    let result = check(
        &pki,
        &format!("https://localhost:{}", server.addr.port()),
        "tls",
        &keys,
    )
    .await;
    assert_eq!(result.status, Status::Pass, "{}", result.summary);
    assert!(
        result.summary.ends_with("; no plain-HTTP listener"),
        "{}",
        result.summary
    );
    assert_eq!(result.evidence["http_redirect"]["listener"], false);
    // Self-signed without --cacert: described, and failed.
    let leaf = pki::self_signed(&["localhost"], Validity::days(90)).expect("a cert");
    let server = Server::start(
        Some(Arc::new(pki::server_config(&leaf, &[]).expect("config"))),
        https_handler(year),
    )
    .await
    .expect("server");
    let keys = format!(
        "url = \"${{origin}}/\"\nhttp_url = \"http://localhost:{}/\"",
        redirect.addr.port()
    );
    let result = check(
        &pki,
        &format!("https://localhost:{}", server.addr.port()),
        "tls",
        &keys,
    )
    .await;
    assert_eq!(result.status, Status::Fail);
    assert!(
        result
            .summary
            .starts_with("the chain does not lead to a trusted root"),
        "{}",
        result.summary
    );
    assert_eq!(result.evidence["names"], serde_json::json!(["localhost"]));
}

/// A server answering the CSRF endpoint with the given Set-Cookie headers.
async fn cookie_server(pki: &Pki, cookies: &'static [&'static str]) -> Server {
    let handler = handler(move |_| {
        let headers: Vec<(&str, &str)> = cookies.iter().map(|c| ("set-cookie", *c)).collect();
        respond(200, &headers, "{\"csrfToken\":\"abc\"}")
    });
    Server::start(Some(pki.tls(&["localhost"], Validity::days(90))), handler)
        .await
        .expect("server")
}

#[tokio::test]
async fn cookie_rules_pass_and_fail() {
    let pki = Pki::new();
    const GOOD_CSRF: &str =
        "__Host-authjs.csrf-token=abc%7Cdef; Path=/; HttpOnly; Secure; SameSite=Lax";
    const GOOD_CALLBACK: &str = "__Secure-authjs.callback-url=https%3A%2F%2Flocalhost; Path=/; HttpOnly; Secure; SameSite=Lax";
    let cases: &[(&[&str], &str, Status, &str)] = &[
        (&[GOOD_CSRF, GOOD_CALLBACK], "", Status::Pass, "2 cookies: __Host-authjs.csrf-token, __Secure-authjs.callback-url"),
        (&["__Host-next-auth.csrf-token=abc; Path=/; HttpOnly; Secure; SameSite=Lax"], "", Status::Pass, "1 cookie: __Host-next-auth.csrf-token"),
        (&["__Host-next-auth.csrf-token=abc; Path=/; HttpOnly; Secure; SameSite=Lax"], "authjs_version = \"5\"", Status::Fail, "no csrf-token cookie (expected __Host-authjs.csrf-token)"),
        (&[GOOD_CALLBACK], "", Status::Fail, "no csrf-token cookie"),
        (&["__Host-authjs.csrf-token=abc; Path=/; HttpOnly; SameSite=Lax"], "", Status::Fail, "__Host-authjs.csrf-token: __Host- cookies must be Secure"),
        (&["__Host-authjs.csrf-token=abc; Path=/api; HttpOnly; Secure; SameSite=Lax"], "", Status::Fail, "__Host-authjs.csrf-token: __Host- cookies must have Path=/, got /api"),
        (&["__Host-authjs.csrf-token=abc; Path=/; HttpOnly; Secure; SameSite=Lax; Domain=localhost"], "", Status::Fail, "__Host-authjs.csrf-token: __Host- cookies must not set Domain"),
        (&[GOOD_CSRF, "__Secure-authjs.callback-url=x; Path=/; HttpOnly; SameSite=Lax"], "", Status::Fail, "__Secure-authjs.callback-url: __Secure- cookies must be Secure"),
        (&["__Host-authjs.csrf-token=abc; Path=/; Secure; SameSite=Lax"], "", Status::Fail, "__Host-authjs.csrf-token: not HttpOnly"),
        (&["__Host-authjs.csrf-token=abc; Path=/; HttpOnly; Secure; SameSite=None"], "", Status::Fail, "__Host-authjs.csrf-token: SameSite=None, expected Lax"),
        (&["__Host-authjs.csrf-token=abc; Path=/; HttpOnly; Secure; SameSite=Strict"], "same_site = \"Strict\"", Status::Pass, "1 cookie"),
        (&["authjs.csrf-token=abc; Path=/; HttpOnly; Secure; SameSite=Lax"], "", Status::Fail, "authjs.csrf-token: on https the csrf-token cookie must be __Host-authjs.csrf-token"),
        (&[GOOD_CSRF, "__Secure-authjs.callback-url=x; Path=/; HttpOnly; Secure; SameSite=Lax; Domain=localhost"], "allow_domain = false", Status::Fail, "__Secure-authjs.callback-url: sets Domain=localhost"),
        (&[GOOD_CSRF, "__Secure-authjs.session-token.0=a; Path=/; HttpOnly; Secure; SameSite=Lax"], "expect_cookies = [\"csrf-token\", \"session-token\"]", Status::Pass, "2 cookies"),
    ];
    for (cookies, keys, status, summary) in cases {
        let server = cookie_server(&pki, cookies).await;
        let result = check(
            &pki,
            &format!("https://localhost:{}", server.addr.port()),
            "cookies",
            &format!("url = \"${{origin}}/api/auth/csrf\"\n{keys}"),
        )
        .await;
        assert_eq!(
            result.status, *status,
            "{cookies:?} {keys}: {}",
            result.summary
        );
        assert!(
            result.summary.starts_with(summary),
            "{cookies:?} {keys}: {}",
            result.summary
        );
        assert!(
            !result.evidence.to_string().contains("abc%7Cdef"),
            "cookie values are masked"
        );
    }
    // Plain http (staging without TLS): unprefixed names, and a warning that they cannot be Secure.
    let plain = Server::start(
        None,
        handler(|_| {
            respond(
                200,
                &[(
                    "set-cookie",
                    "authjs.csrf-token=abc; Path=/; HttpOnly; SameSite=Lax",
                )],
                "{}",
            )
        }),
    )
    .await
    .expect("server");
    let result = check(
        &pki,
        &format!("http://localhost:{}", plain.addr.port()),
        "cookies",
        "url = \"${origin}/api/auth/csrf\"",
    )
    .await;
    assert_eq!(result.status, Status::Warn, "{}", result.summary);
    assert!(
        result
            .summary
            .starts_with("plain http: cookies cannot be Secure here"),
        "{}",
        result.summary
    );
}

#[tokio::test]
async fn health_probes_take_any_2xx_follow_redirects_on_the_origin_and_name_one_off_it() {
    let pki = Pki::new();
    let server = Server::start(
        None,
        handler(|request| match request.uri().path() {
            "/health" => respond(204, &[], ""),
            "/moved" => respond(302, &[("location", "/health")], ""),
            "/protected" => respond(
                302,
                &[("location", "https://sso.example.com/login?next=%2Fhealth")],
                "",
            ),
            _ => respond(404, &[], "not found"),
        }),
    )
    .await
    .expect("server");
    let base = format!("http://localhost:{}", server.addr.port());
    for (path, status, said) in [
        ("/health", Status::Pass, "GET /health → 204"),
        ("/moved", Status::Pass, "GET /moved → 204"),
        (
            "/protected",
            Status::Fail,
            "GET /protected → 302 to https://sso.example.com/login?next=%2Fhealth: a redirect off the origin",
        ),
        ("/missing", Status::Fail, "GET /missing → 404"),
    ] {
        let keys = format!("url = \"${{origin}}{path}\"\nredirects = \"same-origin\"");
        let result = check(&pki, &base, "http", &keys).await;
        assert_eq!(result.status, status, "{path}: {}", result.summary);
        assert!(result.summary.starts_with(said), "{path}: {}", result.summary);
    }
}

#[tokio::test]
async fn a_request_id_counts_from_the_app_or_its_platform_on_a_2xx_only() {
    let pki = Pki::new();
    let server = Server::start(
        None,
        handler(|request| match request.uri().path() {
            "/fly" => respond(200, &[("fly-request-id", "01J-fly-abc")], "{}"),
            "/own" => respond(200, &[("x-request-id", "generated-by-the-app")], "{}"),
            "/edge" => respond(502, &[("cf-ray", "8f00-LHR")], "bad gateway"),
            _ => respond(200, &[], "{}"),
        }),
    )
    .await
    .expect("server");
    let base = format!("http://localhost:{}", server.addr.port());
    // As the shipped obs.request-id asks.
    let expect = "expect = { echo_header = \"X-Request-Id\", header_any_of = [\"x-request-id\", \"x-vercel-id\", \"cf-ray\", \"fly-request-id\", \"x-amzn-trace-id\"] }";
    for (path, status, header) in [
        ("/fly", Status::Pass, Some("fly-request-id")),
        ("/own", Status::Pass, Some("x-request-id")),
        ("/edge", Status::Fail, None),
        ("/none", Status::Fail, None),
    ] {
        let keys = format!("url = \"${{origin}}{path}\"\n{expect}");
        let result = check(&pki, &base, "http", &keys).await;
        assert_eq!(result.status, status, "{path}: {}", result.summary);
        if let Some(header) = header {
            assert_eq!(result.evidence["request_id"]["header"], header, "{path}");
        }
    }
}

#[tokio::test]
async fn a_protected_preview_is_reached_with_the_bypass_header_and_an_unset_one_is_not_sent() {
    let pki = Pki::new();
    // Deployment Protection: 401 unless the bypass secret comes along.
    let protected = || {
        handler(|request| {
            let bypass = request
                .headers()
                .get("x-vercel-protection-bypass")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            match bypass.as_deref() {
                Some("tok-canary-http-77") => respond(
                    200,
                    &[
                        (
                            "set-cookie",
                            "authjs.csrf-token=abc%7Cdef; Path=/; HttpOnly; SameSite=Lax",
                        ),
                        ("strict-transport-security", "max-age=31536000"),
                    ],
                    "{}",
                ),
                Some(other) => respond(400, &[], &format!("unexpected bypass {other:?}")),
                None => respond(401, &[], "Authentication Required"),
            }
        })
    };
    let plain = Server::start(None, protected()).await.expect("server");
    let base = format!("http://localhost:{}", plain.addr.port());
    let with = "headers = { x-vercel-protection-bypass = \"${TOKEN}\" }";
    let unset = "headers = { x-vercel-protection-bypass = \"${UNSET_BYPASS:-}\" }";
    // Over plain http the cookies kind warns that nothing can be Secure: reached all the same.
    for (kind, keys, reached) in [
        ("http", "url = \"${origin}/\"", Status::Pass),
        ("cookies", "url = \"${origin}/api/auth/csrf\"", Status::Warn),
    ] {
        let result = check(&pki, &base, kind, &format!("{keys}\n{with}")).await;
        assert_eq!(result.status, reached, "{kind}: {}", result.summary);
        let result = check(&pki, &base, kind, &format!("{keys}\n{unset}")).await;
        assert_eq!(
            result.status,
            Status::Fail,
            "{kind} without: {}",
            result.summary
        );
    }
    let https = Server::start(
        Some(pki.tls(&["localhost"], Validity::days(90))),
        protected(),
    )
    .await
    .expect("server");
    let base = format!("https://localhost:{}", https.addr.port());
    let keys = format!(
        "url = \"${{origin}}/\"\nhttp_url = \"http://localhost:{}/\"\n",
        closed_port()
    );
    let result = check(&pki, &base, "tls", &format!("{keys}{with}")).await;
    assert_eq!(result.status, Status::Pass, "tls: {}", result.summary);
}

#[tokio::test]
async fn credentials_relcon_sends_are_masked_when_the_server_echoes_them() {
    let pki = Pki::new();
    let server = Server::start(Some(pki.tls(&["127.0.0.1"], Validity::days(90))), api())
        .await
        .expect("server");
    let port = server.addr.port();
    let result = check(
        &pki,
        &format!("https://127.0.0.1:{port}"),
        "http",
        &format!("url = \"https://alice:Userinfo-Canary-55@127.0.0.1:{port}/echo-auth\"\ncookies = {{ session = \"Cookie-Canary-0042\" }}\nexpect = {{ body_contains = \"nothing like it\" }}"),
    )
    .await;
    assert_eq!(result.status, Status::Fail, "{}", result.summary);
    let basic = base64::engine::general_purpose::STANDARD.encode("alice:Userinfo-Canary-55");
    let shown = format!("{} {}", result.summary, result.evidence);
    for canary in ["Userinfo-Canary", "Cookie-Canary", &basic[..12]] {
        assert!(
            !shown.contains(canary),
            "{canary} reached the result: {shown}"
        );
    }
    assert!(result.summary.contains("[secret "), "{}", result.summary);
}
