//! Trusted roots for TLS to databases, shared by every engine: the system's certificate store
//! plus the PEM file the connection URL names (`sslrootcert` for Postgres, `ssl-ca` for MySQL).
//! One loader, so both engines trust exactly the same certificates and fail the same way.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::{DbError, DbErrorKind};

/// The certificates of the PEM file `path`, named by the URL parameter `option`.
fn file_certs(path: &str, option: &str) -> Result<Vec<CertificateDer<'static>>, DbError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect())
        .map_err(|e| tls_error(format!("could not read {option} {path}: {e}")))?;
    if certs.is_empty() {
        return Err(tls_error(format!(
            "{option} {path} holds no PEM certificate"
        )));
    }
    Ok(certs)
}

/// The roots a verifying connection trusts, in both forms drivers take.
pub(crate) struct Roots {
    /// Every certificate the store accepted, as DER (for drivers that take a list).
    pub certs: Vec<CertificateDer<'static>>,
    pub store: RootCertStore,
}

/// The system's roots plus every certificate in `extra` (a PEM file named by the URL
/// parameter `option`). A system certificate rustls cannot use is skipped (with no usable
/// root the handshake fails with a message naming the option to set); one in `extra` is an
/// error.
pub(crate) fn roots(extra: Option<&str>, option: &str) -> Result<Roots, DbError> {
    let mut roots = Roots {
        certs: Vec::new(),
        store: RootCertStore::empty(),
    };
    for cert in rustls_native_certs::load_native_certs().certs {
        if roots.store.add(cert.clone()).is_ok() {
            roots.certs.push(cert);
        }
    }
    if let Some(path) = extra {
        for cert in file_certs(path, option)? {
            roots
                .store
                .add(cert.clone())
                .map_err(|e| tls_error(format!("{option} {path}: {e}")))?;
            roots.certs.push(cert);
        }
    }
    Ok(roots)
}

pub(crate) fn tls_error(message: String) -> DbError {
    DbError::new(DbErrorKind::Connection, message)
}

/// The verifiers the weaker modes need besides full verification: "the chain must verify, the
/// certificate may name another host" (Postgres `verify-ca`, MySQL `VERIFY_CA`) and "any
/// certificate" (Postgres `no-verify`). Handshake signatures are checked either way. When a
/// chain-only check accepts a certificate for another name, the DNS names it holds are kept
/// ([`Relaxed::presented_names`]): MySQL's `VERIFY_CA` verifies its pool against one of them.
#[derive(Debug)]
pub(crate) struct Relaxed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    presented: Mutex<Option<Vec<String>>>,
}

impl Relaxed {
    pub(crate) fn chain_only(
        chain: Arc<WebPkiServerVerifier>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        Relaxed {
            chain: Some(chain),
            provider,
            presented: Mutex::new(None),
        }
    }

    pub(crate) fn any_certificate(provider: Arc<CryptoProvider>) -> Self {
        Relaxed {
            chain: None,
            provider,
            presented: Mutex::new(None),
        }
    }

    /// After a handshake: `None` when the certificate named the host asked for, else the DNS
    /// names it holds (wildcards made concrete).
    pub(crate) fn presented_names(&self) -> Option<Vec<String>> {
        self.presented.lock().ok().and_then(|n| n.clone())
    }
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => {
                let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
                })?;
                let names = cert
                    .valid_dns_names()
                    .map(|n| match n.strip_prefix("*.") {
                        Some(rest) => format!("airlock-verify-ca.{rest}"),
                        None => n.to_owned(),
                    })
                    .collect();
                if let Ok(mut slot) = self.presented.lock() {
                    *slot = Some(names);
                }
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
