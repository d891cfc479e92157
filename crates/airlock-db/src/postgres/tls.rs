//! TLS to Postgres, chosen by the connection URL the way Synapsor Runner users already write it.
//!
//! | `sslmode` | Airlock |
//! | --- | --- |
//! | absent, `prefer`, `allow` | no TLS (as libpq's fallback would end on a server without it) |
//! | `disable` | no TLS |
//! | `require`, `verify-full` | TLS required; certificate chain **and** host name verified |
//! | `verify-ca` | TLS required; chain verified, host name not |
//! | `no-verify` | TLS required, certificate not verified (disposable dev databases only) |
//!
//! `require` verifies, unlike libpq and like the Node driver the original used, so a URL that
//! asks for TLS never silently accepts any certificate. Trusted roots are the system's, plus the
//! PEM file named by `sslrootcert=PATH`. Both parameters are removed before the URL reaches the
//! driver.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::common;
use crate::tls::{Relaxed, tls_error};
use crate::{DbError, DbErrorKind};

/// What the URL asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Off,
    VerifyFull,
    VerifyCa,
    NoVerify,
}

impl TlsMode {
    /// The `sslmode` this mode stands for (`require` verifies, so it reads `verify-full`).
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            TlsMode::Off => "disable",
            TlsMode::VerifyFull => "verify-full",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::NoVerify => "no-verify",
        }
    }
}

/// The URL without `sslmode`/`sslrootcert`, the TLS mode, and the extra root file if any.
#[derive(Debug)]
pub(crate) struct TlsRequest {
    pub url: String,
    pub mode: TlsMode,
    pub root_cert: Option<String>,
}

/// Splits the TLS parameters off a `postgres://` URL or a `key=value` connection string.
pub(crate) fn parse(url: &str) -> Result<TlsRequest, DbError> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> bool {
        match key {
            "sslmode" => {
                mode = Some(value.to_owned());
                true
            }
            "sslrootcert" => {
                root_cert = Some(value.to_owned());
                true
            }
            _ => false,
        }
    };
    let cleaned = if url.contains("://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                        !take(k, &common::percent_decode(v))
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_owned(),
        }
    } else {
        url.split_whitespace()
            .filter(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                !take(k.trim(), v.trim_matches('\''))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mode = match mode.as_deref() {
        None | Some("disable" | "allow" | "prefer") => TlsMode::Off,
        Some("require" | "verify-full") => TlsMode::VerifyFull,
        Some("verify-ca") => TlsMode::VerifyCa,
        Some("no-verify") => TlsMode::NoVerify,
        Some(other) => {
            return Err(DbError::new(
                DbErrorKind::Connection,
                format!(
                    "unknown sslmode `{}` in the postgres URL; use disable, prefer, require, verify-ca, verify-full or no-verify",
                    other.chars().take(32).collect::<String>()
                ),
            ));
        }
    };
    Ok(TlsRequest {
        url: cleaned,
        mode,
        root_cert,
    })
}

/// The rustls connector for a TLS mode other than [`TlsMode::Off`].
pub(crate) fn connector(req: &TlsRequest) -> Result<MakeRustlsConnect, DbError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("TLS setup failed: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match req.mode {
        TlsMode::NoVerify => Arc::new(Relaxed::any_certificate(provider)),
        TlsMode::VerifyFull | TlsMode::VerifyCa => {
            let roots = Arc::new(crate::tls::roots(req.root_cert.as_deref(), "sslrootcert")?.store);
            let chain = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| tls_error(format!("TLS setup failed: {e}")))?;
            if req.mode == TlsMode::VerifyCa {
                Arc::new(Relaxed::chain_only(chain, provider))
            } else {
                chain
            }
        }
        TlsMode::Off => unreachable!("no connector without TLS"),
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_split_off_urls_and_key_value_strings() {
        let r = parse("postgres://u:p@db:5432/app?sslmode=require&application_name=x").unwrap();
        assert_eq!(r.mode, TlsMode::VerifyFull);
        assert_eq!(r.url, "postgres://u:p@db:5432/app?application_name=x");
        let r = parse("postgresql://db/app?sslrootcert=%2Fetc%2Fca.pem&sslmode=verify-ca").unwrap();
        assert_eq!(
            (r.mode, r.root_cert.as_deref()),
            (TlsMode::VerifyCa, Some("/etc/ca.pem"))
        );
        assert_eq!(r.url, "postgresql://db/app");
        let r = parse("host=db user=u sslmode=no-verify dbname=app").unwrap();
        assert_eq!(
            (r.mode, r.url.as_str()),
            (TlsMode::NoVerify, "host=db user=u dbname=app")
        );
        for off in [
            "postgres://db/app",
            "postgres://db/app?sslmode=prefer",
            "postgres://db/app?sslmode=disable",
        ] {
            assert_eq!(parse(off).unwrap().mode, TlsMode::Off, "{off}");
        }
        let err = parse("postgres://db/app?sslmode=maybe").unwrap_err();
        assert!(err.to_string().contains("unknown sslmode `maybe`"), "{err}");
    }
}
