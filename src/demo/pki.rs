//! Certificates made on the spot: a CA and the leaves it issues, or self-signed ones, with
//! any names and validity. The sandbox serves them; tests make valid, expiring, expired and
//! wrongly named certificates with them.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// A certificate authority.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

/// A certificate and its key, ready to serve.
pub struct Leaf {
    /// The certificate, PEM.
    pub pem: String,
    /// The certificate, DER.
    pub der: CertificateDer<'static>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

/// When a certificate is valid, relative to now.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// Days before now it became valid (negative: in the future).
    pub since_days: i64,
    /// Days from now it expires (negative: already expired).
    pub until_days: i64,
}

impl Validity {
    /// Valid from yesterday for `days` days.
    pub fn days(days: i64) -> Self {
        Self {
            since_days: 1,
            until_days: days,
        }
    }
}

fn params(
    names: &[&str],
    common_name: &str,
    validity: Validity,
) -> Result<CertificateParams, rcgen::Error> {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(validity.since_days);
    params.not_after = now + Duration::days(validity.until_days);
    Ok(params)
}

fn leaf(cert: rcgen::Certificate, key: &KeyPair) -> Leaf {
    Leaf {
        pem: cert.pem(),
        der: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

impl Ca {
    /// A new CA named `name`, valid for ten years.
    pub fn new(name: &str) -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = params(&[], name, Validity::days(3650))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        Ok(Self {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, PEM (what `--cacert` takes).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// A leaf for `names` (DNS names or IP addresses) with `validity`.
    pub fn issue(&self, names: &[&str], validity: Validity) -> Result<Leaf, rcgen::Error> {
        let key = KeyPair::generate()?;
        let params = params(names, names.first().copied().unwrap_or("relcon"), validity)?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(leaf(cert, &key))
    }
}

/// A self-signed certificate for `names`.
pub fn self_signed(names: &[&str], validity: Validity) -> Result<Leaf, rcgen::Error> {
    let key = KeyPair::generate()?;
    let cert =
        params(names, names.first().copied().unwrap_or("relcon"), validity)?.self_signed(&key)?;
    Ok(leaf(cert, &key))
}

/// A TLS server configuration serving `leaf` (with `chain` after it).
pub fn server_config(
    leaf: &Leaf,
    chain: &[CertificateDer<'static>],
) -> Result<rustls::ServerConfig, rustls::Error> {
    let mut certs = vec![leaf.der.clone()];
    certs.extend(chain.iter().cloned());
    rustls::ServerConfig::builder_with_provider(crate::checks::net::provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, leaf.key.clone_key())
}
