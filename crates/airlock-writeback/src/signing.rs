//! Headers of an HTTP handler request: Synapsor Runner's set, plus Airlock's v2 signature.
//!
//! Always sent: `accept`, `content-type`, `idempotency-key`, `x-synapsor-issued-at`,
//! `x-synapsor-proposal-id` (as Synapsor Runner does, whether or not requests are signed),
//! `authorization: Bearer <token>` when the executor has `auth`. With a signing secret:
//! `x-synapsor-signature: sha256=<hex>` (HMAC of the raw body) and
//! `x-airlock-signature: v2=<hex>` (HMAC of issued-at, proposal id, idempotency key and body
//! hash; see [`airlock_protocol::handler::v2_string_to_sign`]).

pub use airlock_protocol::handler::Signed;
use airlock_protocol::handler::headers as h;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use crate::secret::Secret;

/// Builds the header map. Fails only when a value cannot be a header (a control character in
/// the token or an id), which is reported without the value.
pub fn headers(
    s: &Signed<'_>,
    token: Option<&Secret>,
    signing_secret: Option<&Secret>,
) -> Result<HeaderMap, &'static str> {
    let mut map = HeaderMap::new();
    map.insert(ACCEPT, HeaderValue::from_static("application/json"));
    map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    map.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("airlock/", env!("CARGO_PKG_VERSION"))),
    );
    for (name, value) in s.headers(signing_secret.map(|k| k.expose().as_bytes())) {
        let what = match name {
            h::IDEMPOTENCY_KEY => "the idempotency key is not a valid header value",
            h::ISSUED_AT => "issued-at is not a valid header value",
            h::PROPOSAL_ID => "the proposal id is not a valid header value",
            _ => "signature",
        };
        map.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).map_err(|_| what)?,
        );
    }
    if let Some(token) = token {
        map.insert(HeaderName::from_static(h::AUTHORIZATION), bearer(token)?);
    }
    Ok(map)
}

/// `Bearer <token>`, marked sensitive so it never shows in `Debug`.
pub fn bearer(token: &Secret) -> Result<HeaderValue, &'static str> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| "the bearer token is not a valid header value")?;
    v.set_sensitive(true);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_protocol::handler::{verify_v1, verify_v2};

    #[test]
    fn signs_both_ways_and_hides_the_token() {
        let body = br#"{"a":1}"#;
        let s = Signed {
            body,
            issued_at: "2026-06-20T14:31:08.123Z",
            proposal_id: "wrp_1",
            idempotency_key: "wrp_1:INV-1",
        };
        let m = headers(&s, Some(&Secret::new("tok")), Some(&Secret::new("sec"))).unwrap();
        assert!(verify_v1(b"sec", body, m[h::SIGNATURE].to_str().unwrap()));
        assert!(verify_v2(
            b"sec",
            s.issued_at,
            s.proposal_id,
            s.idempotency_key,
            body,
            m[h::AIRLOCK_SIGNATURE].to_str().unwrap()
        ));
        assert!(m[h::AUTHORIZATION].is_sensitive());
        assert!(!format!("{m:?}").contains("tok\""));
        let unsigned = headers(&s, None, None).unwrap();
        assert!(unsigned.get(h::SIGNATURE).is_none());
        assert_eq!(unsigned[h::PROPOSAL_ID], "wrp_1");
        assert_eq!(unsigned[h::IDEMPOTENCY_KEY], "wrp_1:INV-1");
        assert!(headers(&s, Some(&Secret::new("a\nb")), None).is_err());
    }
}
