//! TLS to MySQL and MariaDB, chosen by the connection URL with the parameter names MySQL
//! clients use. Read pools, write pools and every command that dials (doctor, inspect) go
//! through [`parse`] and [`first_dial`], so they all connect the same way.
//!
//! | URL | Airlock |
//! | --- | --- |
//! | no TLS parameter | `PREFERRED` |
//! | `ssl-mode=DISABLED` | clear text |
//! | `ssl-mode=PREFERRED` | TLS when the server offers it (certificate not verified), else clear text |
//! | `ssl-mode=REQUIRED`, `ssl=true` | TLS or no connection; certificate not verified (as the `mysql` client does) |
//! | `ssl-mode=VERIFY_CA`, or `ssl-ca=PATH` alone | TLS; the chain must lead to a trusted root, the host name may differ |
//! | `ssl-mode=VERIFY_IDENTITY` | TLS; chain and host name verified |
//!
//! `sslmode`/`ssl_mode` are accepted for `ssl-mode`, `ssl_ca`/`sslca`/`sslrootcert` for
//! `ssl-ca`, and the Postgres spellings of the values (`disable`, `prefer`, `require`,
//! `verify-ca`, `verify-full`). Trusted roots are the system's plus the `ssl-ca` file, loaded by
//! the same code as for Postgres ([`crate::tls`]). The driver's own TLS parameters
//! (`require_ssl`, `verify_ca`, `verify_identity`, `built_in_roots`) are refused with the
//! `ssl-mode` to use instead, so there is one way to ask.
//!
//! `VERIFY_CA` with a certificate issued to another name: mysql_async cannot verify a chain
//! while ignoring the name, so one probe connection (the protocol's SSL request, then a rustls
//! handshake that checks the chain) learns a name the certificate holds, and the pool verifies
//! the chain against that name.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, Opts, OptsBuilder, SslOpts};
use rustls::ClientConfig;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::engine::Flavor;
use super::error::classify;
use crate::common::{self, Scrubber};
use crate::tls::{Relaxed, Roots, roots, tls_error};
use crate::{DbError, DbErrorKind};

/// What the URL asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    fn from_value(value: &str) -> Option<SslMode> {
        Some(
            match value.trim().to_ascii_uppercase().replace('-', "_").as_str() {
                "DISABLED" | "DISABLE" => SslMode::Disabled,
                "PREFERRED" | "PREFER" => SslMode::Preferred,
                "REQUIRED" | "REQUIRE" => SslMode::Required,
                "VERIFY_CA" => SslMode::VerifyCa,
                "VERIFY_IDENTITY" | "VERIFY_FULL" => SslMode::VerifyIdentity,
                _ => return None,
            },
        )
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }

    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyIdentity)
    }
}

/// The TLS part of a MySQL URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsPlan {
    pub mode: SslMode,
    /// `ssl-ca=PATH`: a PEM file of extra trusted roots.
    pub ca: Option<String>,
}

/// What the first connection settled, reported by `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub mode: SslMode,
    pub encrypted: bool,
    pub verified: bool,
}

const MODE_KEYS: &[&str] = &["ssl-mode", "ssl_mode", "sslmode"];
const CA_KEYS: &[&str] = &["ssl-ca", "ssl_ca", "sslca", "sslrootcert"];
const DRIVER_KEYS: &[&str] = &[
    "require_ssl",
    "verify_ca",
    "verify_identity",
    "built_in_roots",
];

fn bad_url(message: String) -> DbError {
    DbError::new(DbErrorKind::Connection, message)
}

/// Splits the TLS parameters off a `mysql://` URL: the URL the driver gets, and the plan.
pub(crate) fn parse(url: &str) -> Result<(String, TlsPlan), DbError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((
            url.to_owned(),
            TlsPlan {
                mode: SslMode::Preferred,
                ca: None,
            },
        ));
    };
    let mut mode: Option<(String, SslMode)> = None;
    let mut ca = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = common::percent_decode(raw);
        let shown: String = value.chars().take(32).collect();
        let asked = if MODE_KEYS.contains(&key) {
            Some(SslMode::from_value(&value).ok_or_else(|| {
                bad_url(format!(
                    "unknown {key} `{shown}` in the mysql URL; use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"
                ))
            })?)
        } else if key == "ssl" {
            Some(match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" => SslMode::Required,
                "false" | "0" | "off" | "no" => SslMode::Disabled,
                _ => {
                    return Err(bad_url(format!(
                        "unknown ssl `{shown}` in the mysql URL; use ssl=true, ssl=false or ssl-mode=…"
                    )));
                }
            })
        } else if CA_KEYS.contains(&key) {
            if value.is_empty() {
                return Err(bad_url(format!("{key} in the mysql URL names no file")));
            }
            ca = Some(value);
            None
        } else if DRIVER_KEYS.contains(&key) {
            return Err(bad_url(format!(
                "the mysql URL parameter `{key}` is not supported; use ssl-mode=REQUIRED, VERIFY_CA or VERIFY_IDENTITY (and ssl-ca=PATH)"
            )));
        } else {
            kept.push(pair);
            None
        };
        if let Some(asked) = asked {
            if let Some((earlier, before)) = &mode
                && *before != asked
            {
                return Err(bad_url(format!(
                    "the mysql URL asks for two TLS modes ({earlier} and {key}); keep one ssl-mode"
                )));
            }
            mode = Some((key.to_owned(), asked));
        }
    }
    let mode = match mode {
        Some((_, m)) => m,
        // As the mysql client: a CA file without a mode means "verify the chain".
        None if ca.is_some() => SslMode::VerifyCa,
        None => SslMode::Preferred,
    };
    let cleaned = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((cleaned, TlsPlan { mode, ca }))
}

/// The URL's options and TLS plan. The options carry no TLS yet: [`first_dial`] settles it.
pub(crate) fn opts_from_url(url: &str) -> Result<(Opts, TlsPlan), DbError> {
    let (cleaned, plan) = parse(url)?;
    let opts = Opts::from_url(&cleaned)
        .map_err(|_| bad_url("malformed mysql connection URL".to_owned()))?;
    Ok((opts, plan))
}

/// Why a dial failed: the driver's error or our deadline.
enum DialError {
    Timeout,
    Driver(mysql_async::Error),
}

/// Connects once and reads the server version.
async fn dial_version(opts: &Opts, timeout: Duration) -> Result<String, DialError> {
    let mut conn = tokio::time::timeout(timeout, Conn::new(opts.clone()))
        .await
        .map_err(|_| DialError::Timeout)?
        .map_err(DialError::Driver)?;
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(DialError::Driver)?;
    let _ = conn.disconnect().await;
    Ok(version.unwrap_or_default())
}

/// `opts` with TLS settled. With TLS the driver must not move to the server's Unix socket
/// (`prefer_socket`), which would silently drop the encryption the URL asked for.
fn with_ssl(opts: &Opts, ssl: Option<SslOpts>) -> Opts {
    let tls = ssl.is_some();
    let builder = OptsBuilder::from_opts(opts.clone()).ssl_opts(ssl);
    if tls {
        builder.prefer_socket(false).into()
    } else {
        builder.into()
    }
}

/// Encryption without verification (PREFERRED, REQUIRED). The driver's built-in roots stay
/// loaded only because it refuses an empty store; no certificate is checked against them.
fn unverified() -> SslOpts {
    SslOpts::default().with_danger_accept_invalid_certs(true)
}

fn verifying(roots: &Roots, name: Option<String>) -> SslOpts {
    let certs = roots
        .certs
        .iter()
        .map(|c| c.as_ref().to_vec().into())
        .collect();
    SslOpts::default()
        .with_disable_built_in_roots(true)
        .with_root_certs(certs)
        .with_danger_tls_hostname_override(name)
}

fn no_tls_offered(e: &mysql_async::Error) -> bool {
    matches!(
        e,
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)
    )
}

fn no_tls_error(mode: SslMode) -> DbError {
    tls_error(format!(
        "the server offers no TLS and ssl-mode={} never falls back to clear text; enable TLS on the server (ssl_cert, ssl_key) or, on a trusted network only, use ssl-mode=PREFERRED",
        mode.as_str()
    ))
}

/// The rustls error inside a driver error, if the failure was the TLS handshake.
fn rustls_error(e: &mysql_async::Error) -> Option<&rustls::Error> {
    let mysql_async::Error::Io(mysql_async::IoError::Io(io)) = e else {
        return None;
    };
    io.get_ref()?.downcast_ref::<rustls::Error>()
}

/// A refused certificate, with the option that fixes it.
fn certificate_error(mode: SslMode, e: &rustls::Error) -> DbError {
    let fix = match e {
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. },
        ) => {
            "connect with the host name the certificate names, or use ssl-mode=VERIFY_CA to verify the chain only"
        }
        _ => {
            "set ssl-ca=PATH to the PEM certificate of the CA that signed the server's certificate"
        }
    };
    tls_error(format!(
        "the server's TLS certificate was refused under ssl-mode={} ({e}); {fix}",
        mode.as_str()
    ))
}

fn dial_error(mode: SslMode, e: DialError, scrub: &Scrubber, timeout: Duration) -> DbError {
    match e {
        DialError::Timeout => DbError::connect_timeout(timeout),
        DialError::Driver(e) if no_tls_offered(&e) => no_tls_error(mode),
        DialError::Driver(e) => match rustls_error(&e) {
            Some(tls) => scrub.error(certificate_error(mode, tls)),
            None => scrub.error(classify(&e)),
        },
    }
}

/// Dials once as the plan says and reads the server flavor. Returns the options every pooled
/// connection uses (with TLS settled) and what was negotiated.
pub(crate) async fn first_dial(
    opts: &Opts,
    plan: &TlsPlan,
    scrub: &Scrubber,
    timeout: Duration,
) -> Result<(Opts, Flavor, Negotiated), DbError> {
    let negotiated = |encrypted| Negotiated {
        mode: plan.mode,
        encrypted,
        verified: encrypted && plan.mode.verifies(),
    };
    let tls_opts = match plan.mode {
        SslMode::Disabled => None,
        SslMode::Preferred | SslMode::Required => Some(with_ssl(opts, Some(unverified()))),
        SslMode::VerifyCa | SslMode::VerifyIdentity => {
            let roots = roots(plan.ca.as_deref(), "ssl-ca")?;
            let name = if plan.mode == SslMode::VerifyCa {
                probe_name(opts, &roots, timeout)
                    .await
                    .map_err(|e| scrub.error(e))?
            } else {
                None
            };
            Some(with_ssl(opts, Some(verifying(&roots, name))))
        }
    };
    let Some(tls_opts) = tls_opts else {
        let version = dial_version(opts, timeout)
            .await
            .map_err(|e| dial_error(plan.mode, e, scrub, timeout))?;
        return Ok((
            opts.clone(),
            Flavor::from_version(&version),
            negotiated(false),
        ));
    };
    match dial_version(&tls_opts, timeout).await {
        Ok(version) => Ok((tls_opts, Flavor::from_version(&version), negotiated(true))),
        Err(DialError::Driver(e)) if plan.mode == SslMode::Preferred && no_tls_offered(&e) => {
            tracing::info!(
                "the mysql server offers no TLS; ssl-mode=PREFERRED connects in clear text"
            );
            let plain = with_ssl(opts, None);
            let version = dial_version(&plain, timeout)
                .await
                .map_err(|e| dial_error(plan.mode, e, scrub, timeout))?;
            Ok((plain, Flavor::from_version(&version), negotiated(false)))
        }
        Err(e) => Err(dial_error(plan.mode, e, scrub, timeout)),
    }
}

// --- VERIFY_CA: learn a name the certificate holds -------------------------------------------

/// Capability flags of the SSL request (protocol 4.1, secure auth, SSL).
const CLIENT_LONG_PASSWORD: u32 = 0x1;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SSL: u32 = 0x800;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
/// utf8mb4_general_ci.
const CHARSET: u8 = 45;
/// The server's greeting is small; anything larger is not a MySQL server.
const MAX_GREETING: usize = 16 * 1024;

/// Opens one connection, asks for TLS and checks the certificate chain against `roots`.
/// `None` when the certificate is valid for the host the URL names; otherwise a name it is
/// valid for, which the pool then verifies the chain against.
async fn probe_name(
    opts: &Opts,
    roots: &Roots,
    timeout: Duration,
) -> Result<Option<String>, DbError> {
    let host = opts.ip_or_hostname().to_owned();
    let port = opts.tcp_port();
    let work = async {
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| DbError::new(DbErrorKind::Connection, e.to_string()))?;
        if !server_offers_tls(&mut stream).await? {
            return Err(no_tls_error(SslMode::VerifyCa));
        }
        stream
            .write_all(&ssl_request())
            .await
            .map_err(|e| DbError::new(DbErrorKind::Connection, e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots.store.clone()),
            provider.clone(),
        )
        .build()
        .map_err(|e| tls_error(format!("TLS setup failed: {e}")))?;
        let capture = Arc::new(Relaxed::chain_only(chain, provider.clone()));
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(format!("TLS setup failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(capture.clone())
            .with_no_client_auth();
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| tls_error(format!("`{host}` is not a valid TLS server name")))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tls = connector.connect(server_name, stream).await.map_err(|e| {
            match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(tls) => certificate_error(SslMode::VerifyCa, tls),
                None => DbError::new(DbErrorKind::Connection, e.to_string()),
            }
        })?;
        drop(tls);
        match capture.presented_names() {
            None => Ok(None),
            Some(names) => names.into_iter().next().map(Some).ok_or_else(|| {
                tls_error(
                    "the server's certificate names no DNS host, so ssl-mode=VERIFY_CA cannot check it; connect with the address it names under VERIFY_IDENTITY".to_owned(),
                )
            }),
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| DbError::connect_timeout(timeout))?
}

/// Reads the server's greeting packet and tells whether it offers TLS.
async fn server_offers_tls(stream: &mut tokio::net::TcpStream) -> Result<bool, DbError> {
    let io = |e: std::io::Error| DbError::new(DbErrorKind::Connection, e.to_string());
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await.map_err(io)?;
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    if len == 0 || len > MAX_GREETING {
        return Err(DbError::new(
            DbErrorKind::Connection,
            "the server did not greet like a MySQL server",
        ));
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.map_err(io)?;
    greeting_offers_tls(&payload)
}

/// Parses a protocol-10 greeting (or an error packet) for the SSL capability.
fn greeting_offers_tls(payload: &[u8]) -> Result<bool, DbError> {
    if payload.first() == Some(&0xff) {
        let message = String::from_utf8_lossy(payload.get(3..).unwrap_or_default());
        return Err(DbError::new(
            DbErrorKind::Connection,
            format!("the server refused the connection: {message}"),
        ));
    }
    let malformed = || {
        DbError::new(
            DbErrorKind::Connection,
            "the server did not greet like a MySQL server",
        )
    };
    if payload.first() != Some(&10) {
        return Err(malformed());
    }
    // protocol version, server version (NUL-terminated), connection id (4), auth data (8),
    // filler (1), then the low two bytes of the capability flags.
    let version_end = payload[1..]
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(malformed)?;
    let flags_at = 1 + version_end + 1 + 4 + 8 + 1;
    let flags = payload.get(flags_at..flags_at + 2).ok_or_else(malformed)?;
    Ok(u32::from(u16::from_le_bytes([flags[0], flags[1]])) & CLIENT_SSL != 0)
}

/// The protocol's SSL request packet (sequence id 1).
fn ssl_request() -> [u8; 36] {
    let mut packet = [0u8; 36];
    packet[0] = 32; // payload length, 3 bytes little-endian
    packet[3] = 1; // sequence id
    let flags = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION;
    packet[4..8].copy_from_slice(&flags.to_le_bytes());
    packet[8..12].copy_from_slice(&(16u32 << 20).to_le_bytes());
    packet[12] = CHARSET;
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> SslMode {
        parse(url).expect(url).1.mode
    }

    #[test]
    fn modes_and_aliases() {
        assert_eq!(mode("mysql://u@db/app"), SslMode::Preferred);
        assert_eq!(
            mode("mysql://u@db/app?ssl-mode=DISABLED"),
            SslMode::Disabled
        );
        assert_eq!(mode("mysql://u@db/app?sslmode=require"), SslMode::Required);
        assert_eq!(
            mode("mysql://u@db/app?ssl_mode=verify_ca"),
            SslMode::VerifyCa
        );
        assert_eq!(
            mode("mysql://u@db/app?ssl-mode=verify-full"),
            SslMode::VerifyIdentity
        );
        assert_eq!(mode("mysql://u@db/app?ssl=true"), SslMode::Required);
        assert_eq!(mode("mysql://u@db/app?ssl=0"), SslMode::Disabled);
        assert_eq!(
            mode("mysql://u@db/app?ssl-ca=%2Fetc%2Fca.pem"),
            SslMode::VerifyCa
        );
        assert_eq!(
            mode("mysql://u@db/app?ssl=true&ssl-mode=REQUIRED"),
            SslMode::Required,
            "the same mode twice is fine"
        );
    }

    #[test]
    fn tls_parameters_are_removed_and_others_kept() {
        let (url, plan) = parse(
            "mysql://u:p@db:3306/app?pool_max=4&ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fx%2Fca.pem",
        )
        .unwrap();
        assert_eq!(url, "mysql://u:p@db:3306/app?pool_max=4");
        assert_eq!(plan.ca.as_deref(), Some("/x/ca.pem"));
        let (url, _) = parse("mysql://u@db/app?ssl-mode=REQUIRED").unwrap();
        assert_eq!(url, "mysql://u@db/app");
    }

    #[test]
    fn bad_values_are_refused_without_echoing_the_url() {
        for (url, needle) in [
            (
                "mysql://u:hunter2@db/app?ssl-mode=MAYBE",
                "unknown ssl-mode `MAYBE`",
            ),
            (
                "mysql://u:hunter2@db/app?ssl=perhaps",
                "unknown ssl `perhaps`",
            ),
            (
                "mysql://u:hunter2@db/app?require_ssl=true",
                "`require_ssl` is not supported",
            ),
            ("mysql://u:hunter2@db/app?ssl-ca=", "names no file"),
            (
                "mysql://u:hunter2@db/app?ssl=false&ssl-mode=REQUIRED",
                "two TLS modes",
            ),
        ] {
            let err = parse(url).unwrap_err().to_string();
            assert!(err.contains(needle), "{url}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        let long = format!("mysql://u@db/app?ssl-mode={}", "X".repeat(500));
        assert!(parse(&long).unwrap_err().to_string().len() < 300);
    }

    #[test]
    fn greetings() {
        let mut greeting = vec![10u8];
        greeting.extend_from_slice(b"10.11.19-MariaDB\0");
        greeting.extend_from_slice(&[1, 0, 0, 0]);
        greeting.extend_from_slice(&[7; 8]);
        greeting.push(0);
        let with_ssl = [greeting.clone(), vec![0x00, 0x08]].concat();
        let without = [greeting.clone(), vec![0xff, 0xf7]].concat();
        assert!(greeting_offers_tls(&with_ssl).unwrap());
        assert!(!greeting_offers_tls(&without).unwrap());
        assert!(greeting_offers_tls(&greeting).is_err(), "truncated");
        assert!(greeting_offers_tls(b"\x09abc").is_err(), "old protocol");
        let refused = greeting_offers_tls(b"\xff\x69\x04Host 'x' is blocked").unwrap_err();
        assert!(refused.to_string().contains("is blocked"), "{refused}");
    }

    #[test]
    fn ssl_request_layout() {
        let p = ssl_request();
        assert_eq!(&p[..4], &[32, 0, 0, 1]);
        let flags = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
        assert_ne!(flags & CLIENT_SSL, 0);
        assert_ne!(flags & CLIENT_PROTOCOL_41, 0);
        assert!(p[13..].iter().all(|b| *b == 0));
    }
}
