//! Headers of an HTTP handler request: Synapsor Runner's set, plus Airlock's v2 signature.
//!
//! Always sent: `accept`, `content-type`, `idempotency-key`, `x-synapsor-issued-at`,
//! `x-synapsor-proposal-id` (as Synapsor Runner does, whether or not requests are signed),
//! `authorization: Bearer <token>` when the executor has `auth`. With a signing secret:
//! `x-synapsor-signature: sha256=<hex>` (HMAC of the raw body) and
//! `x-airlock-signature: v2=<hex>` (HMAC of issued-at, proposal id, idempotency key and body
//! hash; see [`airlock_protocol::handler::v2_string_to_sign`]).

use airlock_protocol::handler::{headers as h, sign_v1, sign_v2};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use crate::secret::Secret;

/// What identifies one attempt.
pub struct Signed<'a> {
    pub body: &'a [u8],
    pub issued_at: &'a str,
    pub proposal_id: &'a str,
    pub idempotency_key: &'a str,
}

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
    let value = |v: &str, what: &'static str| HeaderValue::from_str(v).map_err(|_| what);
    map.insert(
        HeaderName::from_static(h::IDEMPOTENCY_KEY),
        value(
            s.idempotency_key,
            "the idempotency key is not a valid header value",
        )?,
    );
    map.insert(
        HeaderName::from_static(h::ISSUED_AT),
        value(s.issued_at, "issued-at is not a valid header value")?,
    );
    map.insert(
        HeaderName::from_static(h::PROPOSAL_ID),
        value(s.proposal_id, "the proposal id is not a valid header value")?,
    );
    if let Some(token) = token {
        let mut v = value(
            &format!("Bearer {}", token.expose()),
            "the bearer token is not a valid header value",
        )?;
        v.set_sensitive(true);
        map.insert(HeaderName::from_static(h::AUTHORIZATION), v);
    }
    if let Some(secret) = signing_secret {
        let key = secret.expose().as_bytes();
        map.insert(
            HeaderName::from_static(h::SIGNATURE),
            value(&sign_v1(key, s.body), "signature")?,
        );
        map.insert(
            HeaderName::from_static(h::AIRLOCK_SIGNATURE),
            value(
                &sign_v2(key, s.issued_at, s.proposal_id, s.idempotency_key, s.body),
                "signature",
            )?,
        );
    }
    Ok(map)
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
