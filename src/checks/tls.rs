//! `tls`: the certificate chain, its expiry, HSTS and the plain-HTTP redirect.
//!
//! How it runs: the handshake records the chain whatever it is, then the chain is verified on
//! its own, so a bad certificate is described (subject, issuer, names, expiry), not only
//! refused. HSTS and the plain-HTTP redirect are probed with ordinary requests.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::net::{describe_error, provider};
use super::CheckResult;
use super::{CheckContext, RunFuture};
use crate::status::Status;

#[derive(Debug, Deserialize)]
struct Config {
    url: String,
    warn_days: Option<i64>,
    fail_days: Option<i64>,
    hsts: Option<bool>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    hsts_min_age: Option<String>,
    http_redirect: Option<bool>,
    http_url: Option<String>,
}

/// Accepts any chain during the handshake (it is verified separately afterwards), while
/// still checking the handshake signatures.
#[derive(Debug)]
struct Recorder(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The chain the server presents.
async fn fetch_chain(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let provider = provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recorder(provider)))
        .with_no_client_auth();
    let name =
        ServerName::try_from(host.to_string()).map_err(|e| format!("bad host name {host}: {e}"))?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
        Ok::<_, String>(
            tls.get_ref()
                .1
                .peer_certificates()
                .map(|c| c.to_vec())
                .unwrap_or_default(),
        )
    };
    tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| format!("no TLS handshake with {host}:{port} in time"))?
}

/// Why a chain does not verify, in words.
fn chain_problem(err: &rustls::Error, host: &str, self_signed: bool) -> String {
    use rustls::CertificateError as E;
    match err {
        rustls::Error::InvalidCertificate(E::Expired | E::ExpiredContext { .. }) => "the certificate has expired".into(),
        rustls::Error::InvalidCertificate(E::NotValidYet | E::NotValidYetContext { .. }) => "the certificate is not valid yet".into(),
        rustls::Error::InvalidCertificate(E::NotValidForName | E::NotValidForNameContext { .. }) => format!("the certificate is not valid for {host}"),
                rustls::Error::InvalidCertificate(E::UnknownIssuer) => "the chain does not lead to a trusted root (self-signed or a private CA? pass its certificate with --cacert)".into(),
        _ if self_signed => "the chain does not lead to a trusted root: the certificate is self-signed (pass it with --cacert to trust it)".into(),
        other => format!("the chain does not verify: {other}"),
    }
}

pub(crate) fn run<'a>(ctx: &'a CheckContext<'a>) -> RunFuture<'a> {
    Box::pin(async move {
        match ctx.config::<Config>() {
            Ok(config) => inspect(ctx, &config).await,
            Err(result) => result,
        }
    })
}

async fn inspect(ctx: &CheckContext<'_>, config: &Config) -> CheckResult {
    let url = match ctx.values.render(&config.url).map(|u| url::Url::parse(&u)) {
        Ok(Ok(url)) if url.scheme() == "https" && url.host_str().is_some() => url,
        Ok(Ok(url)) => return CheckResult::new(Status::Fail, format!("{url} is not an https URL")),
        Ok(Err(err)) => return CheckResult::definitive_error(format!("bad URL: {err}")),
        Err(err) => return CheckResult::definitive_error(format!("cannot build the URL: {err}")),
    };
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let timeout = ctx.remaining() / 3;
    let chain = match fetch_chain(&host, port, timeout).await {
        Ok(chain) if !chain.is_empty() => chain,
        Ok(_) => {
            return CheckResult::new(
                Status::Fail,
                format!("{host}:{port} presented no certificate"),
            )
        }
        Err(err) => return CheckResult::new(Status::Fail, err),
    };
    let mut fails: Vec<String> = Vec::new();
    let mut warns: Vec<String> = Vec::new();
    // What a pass should say besides the certificate.
    let mut notes: Vec<String> = Vec::new();
    let mut evidence =
        serde_json::json!({ "host": host, "port": port, "chain_length": chain.len() });

    // The leaf's details.
    let mut days_left = None;
    let mut self_signed = false;
    match X509Certificate::from_der(chain[0].as_ref()) {
        Ok((_, leaf)) => {
            let names: Vec<String> = leaf
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|ext| {
                    ext.value
                        .general_names
                        .iter()
                        .filter_map(|n| match n {
                            GeneralName::DNSName(dns) => Some(dns.to_string()),
                            GeneralName::IPAddress(ip) => match ip.len() {
                                4 => Some(
                                    std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                                ),
                                16 => <[u8; 16]>::try_from(*ip)
                                    .ok()
                                    .map(|b| std::net::Ipv6Addr::from(b).to_string()),
                                _ => None,
                            },
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            self_signed = leaf.subject() == leaf.issuer();
            let not_after = leaf.validity().not_after.timestamp();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let days = (not_after - now).div_euclid(86_400);
            days_left = Some(days);
            evidence["subject"] = serde_json::json!(leaf.subject().to_string());
            evidence["issuer"] = serde_json::json!(leaf.issuer().to_string());
            evidence["names"] = serde_json::json!(names);
            evidence["not_after"] = serde_json::json!(humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + Duration::from_secs(not_after.max(0) as u64)
            )
            .to_string());
            evidence["days_left"] = serde_json::json!(days);
        }
        Err(err) => fails.push(format!("the certificate does not parse: {err}")),
    }

    // The chain, verified against the trusted roots.
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(ctx.net.roots(), provider())
            .build();
    let verified = match (verifier, ServerName::try_from(host.clone())) {
        (Ok(verifier), Ok(name)) => verifier
            .verify_server_cert(&chain[0], &chain[1..], &name, &[], UnixTime::now())
            .map(|_| ()),
        (Err(err), _) => Err(rustls::Error::General(err.to_string())),
        (_, Err(err)) => Err(rustls::Error::General(err.to_string())),
    };
    evidence["chain_valid"] = serde_json::json!(verified.is_ok());
    if let Err(err) = &verified {
        fails.push(chain_problem(err, &host, self_signed));
    }
    let (warn_days, fail_days) = (
        config.warn_days.unwrap_or(30),
        config.fail_days.unwrap_or(7),
    );
    if let Some(days) = days_left.filter(|&d| d >= 0) {
        if days < fail_days {
            fails.push(format!(
                "the certificate expires in {days} days (fail under {fail_days})"
            ));
        } else if days < warn_days {
            warns.push(format!(
                "the certificate expires in {days} days (warn under {warn_days})"
            ));
        }
    }

    // HSTS, over a verified connection only (so the item's headers, which may hold a
    // secret, go over TLS only: never on the plain-HTTP probe).
    let headers = match ctx.headers(&config.headers) {
        Ok(headers) => headers,
        Err(result) => return result,
    };
    if config.hsts.unwrap_or(true) {
        let min_age = config
            .hsts_min_age
            .as_deref()
            .and_then(|d| humantime::parse_duration(d).ok())
            .unwrap_or(Duration::from_secs(180 * 86_400));
        if verified.is_err() {
            evidence["hsts"] = serde_json::json!("not checked: the certificate does not verify");
        } else {
            match ctx
                .net
                .client(false, Duration::from_secs(5))
                .map(|c| c.get(url.clone()).headers(headers.clone()).timeout(timeout))
            {
                Ok(request) => match request.send().await {
                    Ok(response) => {
                        let header = response
                            .headers()
                            .get("strict-transport-security")
                            .and_then(|v| v.to_str().ok())
                            .map(String::from);
                        evidence["hsts"] = serde_json::json!(header);
                        // Directive names are case-insensitive, with optional spaces (RFC 6797).
                        let max_age = header.as_deref().and_then(|h| {
                            h.split(';').find_map(|part| {
                                let (name, value) = part.split_once('=')?;
                                name.trim()
                                    .eq_ignore_ascii_case("max-age")
                                    .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                                    .flatten()
                            })
                        });
                        // HSTS is advice on top of TLS at the edge (an opt-in on some
                        // platforms): its absence or weakness warns, with how to set it.
                        let advice = "set `Strict-Transport-Security: max-age=31536000; includeSubDomains` at the edge (Cloudflare: SSL/TLS → Edge Certificates → HSTS)";
                        match (header, max_age) {
                            (None, _) => warns.push(format!(
                                "no Strict-Transport-Security header: {advice}"
                            )),
                            (Some(_), None) => warns.push(format!(
                                "Strict-Transport-Security has no max-age: {advice}"
                            )),
                            (Some(_), Some(age)) if age < min_age.as_secs() => {
                                warns.push(format!(
                                    "Strict-Transport-Security max-age={age}, expected at least {}: {advice}",
                                    min_age.as_secs()
                                ))
                            }
                            _ => {}
                        }
                    }
                    Err(err) => {
                        fails.push(format!("GET {url} for HSTS → {}", describe_error(&err)))
                    }
                },
                Err(err) => {
                    return CheckResult::definitive_error(format!(
                        "cannot build the HTTP client: {err}"
                    ))
                }
            }
        }
    }

    // Plain HTTP must redirect to HTTPS.
    if config.http_redirect.unwrap_or(true) {
        let plain = match &config.http_url {
            Some(template) => ctx.values.render(template).map_err(|e| e.0),
            None => Ok(format!("http://{}/", url.host_str().unwrap_or_default())),
        };
        match plain {
            Err(err) => {
                return CheckResult::definitive_error(format!("cannot build http_url: {err}"))
            }
            Ok(plain) => match ctx
                .net
                .client(false, Duration::from_secs(5))
                .map(|c| c.get(&plain).timeout(timeout))
            {
                Ok(request) => match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let location = response
                            .headers()
                            .get("location")
                            .and_then(|v| v.to_str().ok())
                            .map(String::from);
                        evidence["http_redirect"] = serde_json::json!({ "url": plain, "status": status.as_u16(), "location": location });
                        // To https on the same host (any port: the https listener's).
                        let same_host = |l: &str| {
                            url::Url::parse(l).is_ok_and(|to| {
                                to.scheme() == "https" && to.host_str() == url.host_str()
                            })
                        };
                        let to_https =
                            status.is_redirection() && location.as_deref().is_some_and(same_host);
                        if !to_https {
                            let got = match location {
                                Some(l) if status.is_redirection() => {
                                    format!("{} to {l}", status.as_u16())
                                }
                                _ => status.as_u16().to_string(),
                            };
                            fails.push(format!(
                                "plain HTTP {plain} → {got} (expected a redirect to https://{host})"
                            ));
                        }
                    }
                    // Nothing listens for plain HTTP (an HTTPS-only load balancer): nothing
                    // can be served without TLS, which is what the redirect is for.
                    Err(err) if err.is_connect() => {
                        evidence["http_redirect"] = serde_json::json!({ "url": plain, "listener": false, "error": describe_error(&err) });
                        notes.push("no plain-HTTP listener".to_string());
                    }
                    Err(err) => {
                        fails.push(format!("plain HTTP {plain} → {}", describe_error(&err)))
                    }
                },
                Err(err) => {
                    return CheckResult::definitive_error(format!(
                        "cannot build the HTTP client: {err}"
                    ))
                }
            },
        }
    }

    evidence["failures"] = serde_json::json!(fails);
    evidence["warnings"] = serde_json::json!(warns);
    match (fails.as_slice(), warns.as_slice()) {
        ([], []) => {
            let days = days_left.map_or(String::new(), |d| format!(", {d} days left"));
            let notes: String = notes.iter().map(|n| format!("; {n}")).collect();
            CheckResult::new(
                Status::Pass,
                format!("certificate valid for {host}{days}{notes}"),
            )
            .with_evidence(evidence)
        }
        ([], [first, ..]) => CheckResult::new(Status::Warn, first.clone()).with_evidence(evidence),
        ([only], _) => CheckResult::new(Status::Fail, only.clone()).with_evidence(evidence),
        ([first, rest @ ..], _) => {
            CheckResult::new(Status::Fail, format!("{first} (and {} more)", rest.len()))
                .with_evidence(evidence)
        }
    }
}
