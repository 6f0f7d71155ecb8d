//! What the network checks share: the trusted roots (the system's, plus `--cacert`), HTTP
//! clients built on them, and reading a response body with a cap.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// Trust for a run, and its HTTP clients: shared by every check. The system's roots are
/// read only when a check needs them (a run against plain-HTTP targets never does), and a
/// client is built once per kind of client and reused, so items on one origin share its
/// connections.
#[derive(Debug, Clone)]
pub struct Net {
    roots: Arc<OnceLock<Arc<RootCertStore>>>,
    cacert: Option<PathBuf>,
    extra: Arc<Vec<CertificateDer<'static>>>,
    clients: Arc<Mutex<HashMap<ClientKey, reqwest::Client>>>,
}

/// The crypto provider every TLS connection uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What makes two clients different.
type ClientKey = (Redirects, Duration, bool);

impl Net {
    /// The system's roots (read when first needed), plus the certificates of the PEM file
    /// `cacert` (read now, so that a bad file stops the run before it starts).
    pub fn new(cacert: Option<&Path>) -> Result<Self, String> {
        let mut extra = Vec::new();
        if let Some(path) = cacert {
            let pem = crate::files::read_capped(path, crate::files::CAP)
                .map_err(|e| format!("cannot read --cacert {}: {e}", path.display()))?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("--cacert {} is not PEM certificates: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("--cacert {} holds no certificate", path.display()));
            }
            let mut check = RootCertStore::empty();
            for cert in &certs {
                check
                    .add(cert.clone())
                    .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
            }
            extra = certs;
        }
        Ok(Self {
            roots: Arc::default(),
            cacert: cacert.map(Path::to_path_buf),
            extra: Arc::new(extra),
            clients: Arc::default(),
        })
    }

    /// The `--cacert` file, for connectors that read their roots from a file.
    pub fn cacert(&self) -> Option<&Path> {
        self.cacert.as_deref()
    }

    /// The trusted roots: the system's (unreadable ones skipped; what loads is trusted)
    /// and `--cacert`'s, read on first use.
    pub fn roots(&self) -> Arc<RootCertStore> {
        self.roots
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
                roots.add_parsable_certificates(self.extra.iter().cloned());
                Arc::new(roots)
            })
            .clone()
    }

    /// A TLS client configuration that verifies against the roots.
    pub fn tls_config(&self) -> Result<ClientConfig, String> {
        Self::tls_config_with(self.roots())
    }

    fn tls_config_with(roots: Arc<RootCertStore>) -> Result<ClientConfig, String> {
        Ok(ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }

    /// An HTTP client: certificates verified, redirects followed only when asked (at most
    /// 10), the given connection timeout.
    pub fn client(
        &self,
        follow_redirects: bool,
        connect_timeout: Duration,
    ) -> Result<reqwest::Client, String> {
        let redirects = if follow_redirects {
            Redirects::Any
        } else {
            Redirects::None
        };
        self.client_with(redirects, connect_timeout)
    }

    /// An HTTP client that follows `redirects` (at most 10).
    pub fn client_with(
        &self,
        redirects: Redirects,
        connect_timeout: Duration,
    ) -> Result<reqwest::Client, String> {
        self.cached((redirects, connect_timeout, true))
    }

    /// The client [`Net::client_with`] gives, for requests to `url` only: one to a
    /// plain-HTTP URL that cannot be redirected to another origin never speaks TLS, so it
    /// is built without reading the system's roots.
    pub fn client_for(
        &self,
        url: &reqwest::Url,
        redirects: Redirects,
        connect_timeout: Duration,
    ) -> Result<reqwest::Client, String> {
        let tls = url.scheme() != "http" || redirects == Redirects::Any;
        self.cached((redirects, connect_timeout, tls))
    }

    /// Drops the clients built so far, and with them their idle connections: a run whose
    /// checks are over closes its sockets while the store commits its last results, not
    /// on the way out. A later request builds its client again.
    pub fn close_idle(&self) {
        let clients = std::mem::take(&mut *self.clients.lock().unwrap_or_else(|e| e.into_inner()));
        drop(clients);
    }

    fn cached(&self, key: ClientKey) -> Result<reqwest::Client, String> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = self.build(key)?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    fn build(
        &self,
        (redirects, connect_timeout, tls): ClientKey,
    ) -> Result<reqwest::Client, String> {
        let redirects = match redirects {
            Redirects::Any => reqwest::redirect::Policy::limited(10),
            Redirects::None => reqwest::redirect::Policy::none(),
            // A redirect off the first URL's origin is the response: the check names it.
            Redirects::SameOrigin => reqwest::redirect::Policy::custom(|attempt| {
                let same = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.origin() == attempt.url().origin());
                if attempt.previous().len() > 10 {
                    attempt.error("more than 10 redirects")
                } else if same {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }),
        };
        // Without TLS the configuration trusts nothing: no certificate could pass it.
        let roots = if tls {
            self.roots()
        } else {
            Arc::new(RootCertStore::empty())
        };
        reqwest::Client::builder()
            .use_preconfigured_tls(Self::tls_config_with(roots)?)
            .redirect(redirects)
            .connect_timeout(connect_timeout)
            .user_agent(concat!("relcon/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())
    }
}

/// Which redirects a client follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Redirects {
    /// None: a redirect is the response.
    None,
    /// Those on the first request's origin; one off it is the response.
    SameOrigin,
    /// Any.
    Any,
}

/// A body read with a cap: the kept bytes, and how many there were in all.
pub struct Body {
    /// Up to the cap.
    pub kept: Vec<u8>,
    /// Every byte received.
    pub total: u64,
}

/// Reads a response body, keeping at most `cap` bytes and draining the rest unstored.
pub async fn read_body(response: &mut reqwest::Response, cap: u64) -> Result<Body, reqwest::Error> {
    let mut body = Body {
        kept: Vec::new(),
        total: 0,
    };
    while let Some(chunk) = response.chunk().await? {
        body.total += chunk.len() as u64;
        let room = cap.saturating_sub(body.kept.len() as u64) as usize;
        body.kept.extend_from_slice(&chunk[..room.min(chunk.len())]);
    }
    Ok(body)
}

/// Why a request failed, in words for a summary: the innermost cause.
pub fn describe_error(err: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let detail = cause.to_string();
    if err.is_timeout() {
        "no response in time".into()
    } else if err.is_connect() {
        format!("cannot connect: {detail}")
    } else {
        detail
    }
}
