//! Trusted roots for TLS to databases, shared by every engine: the system's certificate store
//! plus the PEM file the connection URL names (`sslrootcert` for Postgres, `ssl-ca` for MySQL).
//! One loader, so both engines trust exactly the same certificates and fail the same way.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

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
