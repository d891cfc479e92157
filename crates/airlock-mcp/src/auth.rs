//! Who is calling over HTTP: a static bearer token (context from the environment, as the
//! original did), or a JWT whose verified claims carry tenant and principal (`http_claims`).
//!
//! `http_claims` settings live in the context's `values`:
//! `tenant_claim` (default `tenant_id`), `principal_claim` (default `sub`), `issuer`,
//! `audience` (string or list), `hs256_secret_env` (HS256 secret from that environment
//! variable, at least 32 bytes), `jwks_file` (RS256/ES256 public keys, relative to the
//! config's folder) and `require_exp` (default true).
//!
//! What a token must carry (docs/security.md lists the same): a valid signature; `exp` in the
//! future (30 s leeway), unless `require_exp` is false; `nbf`, when present, in the past;
//! when `issuer` is configured, an `iss` claim equal to it; when `audience` is configured, an
//! `aud` claim that is one of the configured values or an array holding one of them; the
//! tenant and principal claims as non-empty strings (or numbers) without control characters.
//! A missing `iss` or `aud` is refused exactly like a wrong one.

use std::path::Path;
use std::sync::Arc;

use airlock_capability::plan::TrustedScope;
use airlock_config::{Config, ContextProvider, TrustedContext};
use airlock_runtime::Env;
use http::HeaderMap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// Shortest HS256 secret accepted: the hash's output size, as RFC 7518 §3.2 requires.
pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Longest tenant or principal accepted from a claim.
const MAX_CLAIM_CHARS: usize = 256;

/// A caller the HTTP layer let through. Stored in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Verified claims (JWT); `None` for the static token, whose context comes from the
    /// environment of the process.
    pub scope: Option<TrustedScope>,
    /// Stable identity of the credential, used to bind sessions to their creator.
    pub identity: String,
}

/// Why a request was refused with 401. Never echoed to the client in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    MissingBearer,
    BadToken(&'static str),
}

impl Denied {
    pub fn reason(self) -> &'static str {
        match self {
            Denied::MissingBearer => "missing bearer token",
            Denied::BadToken(r) => r,
        }
    }
}

/// Problems in the server's own auth settings, found at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthSetupError {
    #[error(
        "{env} is not set: HTTP MCP requires a bearer token (set it, configure an http_claims context, or use --dev-no-auth on loopback)"
    )]
    TokenMissing { env: String },
    #[error(
        "the http_claims context `{context}` has no key to verify tokens: set values.hs256_secret_env or values.jwks_file"
    )]
    NoKeys { context: String },
    #[error(
        "the http_claims context `{context}` names {env} in values.hs256_secret_env, and it is not set"
    )]
    SecretMissing { context: String, env: String },
    #[error(
        "the HS256 secret in {env} (context `{context}`) is {len} bytes; at least {MIN_HS256_SECRET_BYTES} are required"
    )]
    SecretTooShort {
        context: String,
        env: String,
        len: usize,
    },
    #[error("could not read the JWKS file {path}: {source}")]
    JwksRead {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the JWKS file {path} is not a valid key set: {message}")]
    JwksInvalid { path: String, message: String },
    #[error(
        "http_claims contexts `{a}` and `{b}` use different verification settings; Airlock verifies one bearer per request, so they must match"
    )]
    Conflicting { a: String, b: String },
    #[error("the http_claims setting values.{key} of context `{context}` must be {expected}")]
    BadSetting {
        context: String,
        key: &'static str,
        expected: &'static str,
    },
}

/// How the HTTP servers authenticate requests.
#[derive(Clone)]
pub struct HttpAuth {
    inner: Arc<AuthInner>,
}

struct AuthInner {
    /// SHA-256 of the static token (compared in constant time, length not leaked).
    static_token: Option<[u8; 32]>,
    static_env: Option<String>,
    jwt: Option<JwtVerifier>,
    disabled: bool,
}

impl HttpAuth {
    /// `static_token` is the value of `--auth-token-env`'s variable, if set.
    pub fn new(
        static_token: Option<(String, String)>,
        jwt: Option<JwtVerifier>,
        dev_no_auth: bool,
    ) -> HttpAuth {
        let (static_env, static_token) = match static_token {
            Some((env, token)) if !token.is_empty() => (Some(env), Some(digest(&token))),
            _ => (None, None),
        };
        HttpAuth {
            inner: Arc::new(AuthInner {
                static_token,
                static_env,
                jwt,
                disabled: dev_no_auth,
            }),
        }
    }

    /// Whether any request can get through without a credential.
    pub fn is_disabled(&self) -> bool {
        self.inner.disabled && self.inner.static_token.is_none() && self.inner.jwt.is_none()
    }

    /// One line for the startup banner.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(env) = &self.inner.static_env {
            parts.push(format!("bearer token from {env}"));
        }
        if let Some(jwt) = &self.inner.jwt {
            parts.push(format!("JWT bearer ({})", jwt.describe()));
        }
        if parts.is_empty() {
            "disabled for localhost development only".to_owned()
        } else {
            parts.join(", or ")
        }
    }

    /// Checks the `Authorization` header.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Denied> {
        if self.is_disabled() {
            return Ok(Caller {
                scope: None,
                identity: "anonymous".into(),
            });
        }
        let token = bearer(headers).ok_or(Denied::MissingBearer)?;
        if let Some(expected) = &self.inner.static_token
            && bool::from(digest(token).ct_eq(expected))
        {
            return Ok(Caller {
                scope: None,
                identity: "static-token".into(),
            });
        }
        match &self.inner.jwt {
            Some(jwt) => {
                let scope = jwt.verify(token).map_err(Denied::BadToken)?;
                let identity = format!("jwt:{}\n{}", scope.tenant_id, scope.principal);
                Ok(Caller {
                    scope: Some(scope),
                    identity,
                })
            }
            None => Err(Denied::BadToken("bearer token does not match")),
        }
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

/// Verification settings of the `http_claims` contexts.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    tenant_claim: String,
    principal_claim: String,
    issuer: Option<String>,
    audience: Option<Vec<String>>,
    hs256_secret_env: Option<String>,
    jwks_file: Option<String>,
    require_exp: bool,
}

/// Verifies JWT bearers and turns their claims into a trusted scope.
pub struct JwtVerifier {
    settings: Settings,
    hs256: Option<DecodingKey>,
    /// `(kid, algorithm, key)` from the JWKS file.
    keys: Vec<(Option<String>, Algorithm, DecodingKey)>,
}

impl JwtVerifier {
    /// Builds the verifier from the config's `http_claims` contexts; `None` when there are
    /// none. `base_dir` resolves a relative `jwks_file`.
    pub fn from_config(
        config: &Config,
        env: &Env,
        base_dir: &Path,
    ) -> Result<Option<JwtVerifier>, AuthSetupError> {
        let mut contexts: Vec<(String, &TrustedContext)> = Vec::new();
        if let Some(ctx) = &config.trusted_context {
            contexts.push(("trusted_context".into(), ctx));
        }
        for (name, ctx) in config.contexts.iter().flatten() {
            contexts.push((name.clone(), ctx));
        }
        let mut chosen: Option<(String, Settings)> = None;
        for (name, ctx) in contexts {
            if ctx.provider != ContextProvider::HttpClaims {
                continue;
            }
            let settings = settings(&name, ctx)?;
            match &chosen {
                Some((first, s)) if *s != settings => {
                    return Err(AuthSetupError::Conflicting {
                        a: first.clone(),
                        b: name,
                    });
                }
                Some(_) => {}
                None => chosen = Some((name, settings)),
            }
        }
        let Some((context, settings)) = chosen else {
            return Ok(None);
        };
        if settings.hs256_secret_env.is_none() && settings.jwks_file.is_none() {
            return Err(AuthSetupError::NoKeys { context });
        }
        let hs256 = match &settings.hs256_secret_env {
            Some(var) => match env.get(var).filter(|v| !v.is_empty()) {
                Some(secret) if secret.len() < MIN_HS256_SECRET_BYTES => {
                    return Err(AuthSetupError::SecretTooShort {
                        context,
                        env: var.clone(),
                        len: secret.len(),
                    });
                }
                Some(secret) => Some(DecodingKey::from_secret(secret.as_bytes())),
                None => {
                    return Err(AuthSetupError::SecretMissing {
                        context,
                        env: var.clone(),
                    });
                }
            },
            None => None,
        };
        let keys = match &settings.jwks_file {
            Some(file) => load_jwks(&base_dir.join(file))?,
            None => Vec::new(),
        };
        Ok(Some(JwtVerifier {
            settings,
            hs256,
            keys,
        }))
    }

    fn describe(&self) -> String {
        let mut algs = Vec::new();
        if self.hs256.is_some() {
            algs.push("HS256");
        }
        if self.keys.iter().any(|k| k.1 == Algorithm::RS256) {
            algs.push("RS256");
        }
        if self.keys.iter().any(|k| k.1 == Algorithm::ES256) {
            algs.push("ES256");
        }
        format!(
            "{}; tenant from `{}`, principal from `{}`",
            algs.join("/"),
            self.settings.tenant_claim,
            self.settings.principal_claim
        )
    }

    /// Verifies signature, `exp`, `nbf`, `iss`, `aud`, and reads tenant and principal.
    /// The error is a short reason for the operator log.
    pub fn verify(&self, token: &str) -> Result<TrustedScope, &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed JWT")?;
        let key = match header.alg {
            Algorithm::HS256 => self.hs256.as_ref(),
            Algorithm::RS256 | Algorithm::ES256 => {
                let candidates: Vec<&(Option<String>, Algorithm, DecodingKey)> = self
                    .keys
                    .iter()
                    .filter(|(kid, alg, _)| {
                        *alg == header.alg
                            && (header.kid.is_none() || kid.is_none() || *kid == header.kid)
                    })
                    .collect();
                match candidates.as_slice() {
                    [one] => Some(&one.2),
                    [..] => candidates
                        .iter()
                        .find(|(kid, _, _)| kid.is_some() && *kid == header.kid)
                        .map(|k| &k.2),
                }
            }
            _ => return Err("JWT algorithm not accepted"),
        }
        .ok_or("no key for the JWT's algorithm or key id")?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        // A configured issuer or audience makes its claim required: a token that leaves it
        // out must not pass where a wrong value would fail.
        let mut required = Vec::new();
        if self.settings.require_exp {
            required.push("exp");
        }
        if let Some(iss) = &self.settings.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.settings.audience {
            Some(aud) => {
                validation.set_audience(aud);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "JWT expired",
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => "JWT not valid yet (nbf)",
                jsonwebtoken::errors::ErrorKind::InvalidAudience => "JWT audience does not match",
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => "JWT issuer does not match",
                jsonwebtoken::errors::ErrorKind::InvalidSignature => "JWT signature invalid",
                jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(claim) => {
                    match claim.as_str() {
                        "iss" => "JWT lacks the iss claim the config requires",
                        "aud" => "JWT lacks the aud claim the config requires",
                        _ => "JWT lacks the exp claim",
                    }
                }
                _ => "JWT rejected",
            },
        )?;
        // The library's checks, held again here so that a change in its defaults cannot
        // quietly open the boundary.
        if let Some(iss) = &self.settings.issuer
            && data.claims.get("iss").and_then(Value::as_str) != Some(iss.as_str())
        {
            return Err("JWT issuer does not match");
        }
        if let Some(wanted) = &self.settings.audience {
            let matches = |v: &Value| v.as_str().is_some_and(|a| wanted.iter().any(|w| w == a));
            let ok = match data.claims.get("aud") {
                Some(Value::Array(items)) => items.iter().any(matches),
                Some(one) => matches(one),
                None => false,
            };
            if !ok {
                return Err("JWT audience does not match");
            }
        }
        if self.settings.require_exp && !data.claims.get("exp").is_some_and(Value::is_number) {
            return Err("JWT lacks the exp claim");
        }
        let claim = |name: &str| -> Option<String> {
            let s = match data.claims.get(name)? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            (!s.is_empty()
                && s.chars().count() <= MAX_CLAIM_CHARS
                && !s.chars().any(char::is_control))
            .then_some(s)
        };
        let tenant_id =
            claim(&self.settings.tenant_claim).ok_or("JWT has no usable tenant claim")?;
        let principal =
            claim(&self.settings.principal_claim).ok_or("JWT has no usable principal claim")?;
        Ok(TrustedScope {
            tenant_id,
            principal,
            provenance: "http_claims",
        })
    }
}

/// The `http_claims` contexts whose HS256 secret is set in `env` and too short, as
/// `(JSON path of hs256_secret_env, error)`: `config validate` reports them without starting
/// a server. An unset variable is not reported here (it is set where the server runs).
pub fn short_hs256_secrets(config: &Config, env: &Env) -> Vec<(String, AuthSetupError)> {
    let mut found = Vec::new();
    let named = config
        .trusted_context
        .iter()
        .map(|c| {
            (
                "trusted_context".to_owned(),
                "$.trusted_context".to_owned(),
                c,
            )
        })
        .chain(
            config
                .contexts
                .iter()
                .flatten()
                .map(|(name, c)| (name.clone(), format!("$.contexts.{name}"), c)),
        );
    for (name, path, ctx) in named {
        if ctx.provider != ContextProvider::HttpClaims {
            continue;
        }
        let Ok(Settings {
            hs256_secret_env: Some(var),
            ..
        }) = settings(&name, ctx)
        else {
            continue;
        };
        if let Some(secret) = env.get(&var).filter(|v| !v.is_empty())
            && secret.len() < MIN_HS256_SECRET_BYTES
        {
            found.push((
                format!("{path}.values.hs256_secret_env"),
                AuthSetupError::SecretTooShort {
                    context: name,
                    env: var,
                    len: secret.len(),
                },
            ));
        }
    }
    found
}

fn settings(context: &str, ctx: &TrustedContext) -> Result<Settings, AuthSetupError> {
    let get = |key: &str| ctx.values.as_ref().and_then(|v| v.extra.get(key));
    let text = |key: &'static str| -> Result<Option<String>, AuthSetupError> {
        match get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(AuthSetupError::BadSetting {
                context: context.to_owned(),
                key,
                expected: "a non-empty string",
            }),
        }
    };
    let audience = match get("audience") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(vec![s.clone()]),
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| AuthSetupError::BadSetting {
                    context: context.to_owned(),
                    key: "audience",
                    expected: "a string or a list of strings",
                })?,
        ),
        Some(_) => {
            return Err(AuthSetupError::BadSetting {
                context: context.to_owned(),
                key: "audience",
                expected: "a string or a list of strings",
            });
        }
    };
    let require_exp = match get("require_exp") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(AuthSetupError::BadSetting {
                context: context.to_owned(),
                key: "require_exp",
                expected: "true or false",
            });
        }
    };
    Ok(Settings {
        require_exp,
        tenant_claim: text("tenant_claim")?.unwrap_or_else(|| "tenant_id".into()),
        principal_claim: text("principal_claim")?.unwrap_or_else(|| "sub".into()),
        issuer: text("issuer")?,
        audience,
        hs256_secret_env: text("hs256_secret_env")?,
        jwks_file: text("jwks_file")?,
    })
}

fn load_jwks(path: &Path) -> Result<Vec<(Option<String>, Algorithm, DecodingKey)>, AuthSetupError> {
    let shown = path.display().to_string();
    // A key set is a few kilobytes; a wrong path must not hang or fill memory.
    let bytes = airlock_config::read_bounded(path, 1024 * 1024, airlock_config::load::READ_TIMEOUT)
        .map_err(|source| AuthSetupError::JwksRead {
            path: shown.clone(),
            source,
        })?;
    let set: JwkSet = serde_json::from_slice(&bytes).map_err(|e| AuthSetupError::JwksInvalid {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => {
                tracing::warn!(path = %shown, kid = ?jwk.common.key_id, "JWKS key skipped: only RSA (RS256) and P-256 (ES256) keys are used");
                continue;
            }
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| AuthSetupError::JwksInvalid {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        keys.push((jwk.common.key_id.clone(), alg, key));
    }
    if keys.is_empty() {
        return Err(AuthSetupError::JwksInvalid {
            path: shown,
            message: "no RSA or P-256 key in it".into(),
        });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

    fn config(values: Value) -> Config {
        let doc = json!({
            "version": 1,
            "mode": "review",
            "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
            "trusted_context": {"provider": "http_claims", "values": values},
            "capabilities": [{
                "name": "billing.inspect_invoice", "kind": "read", "source": "app",
                "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
                "args": {"invoice_id": {"type": "string", "max_length": 64}},
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id"]
            }]
        });
        airlock_config::parse(&doc).expect("valid config").0
    }

    fn verifier() -> JwtVerifier {
        let cfg = config(json!({
            "hs256_secret_env": "JWT_SECRET", "issuer": "https://issuer.test",
            "audience": "airlock-test", "tenant_claim": "org"
        }));
        let env: Env = [("JWT_SECRET".to_owned(), SECRET.to_owned())].into();
        JwtVerifier::from_config(&cfg, &env, Path::new("."))
            .expect("settings")
            .expect("http_claims present")
    }

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn token(claims: Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("sign")
    }

    fn good() -> Value {
        json!({"org": "acme", "sub": "agent-7", "iss": "https://issuer.test", "aud": "airlock-test", "exp": now() + 600})
    }

    #[test]
    fn a_valid_token_yields_tenant_and_principal() {
        let scope = verifier().verify(&token(good(), SECRET)).expect("valid");
        assert_eq!(scope.tenant_id, "acme");
        assert_eq!(scope.principal, "agent-7");
        assert_eq!(scope.provenance, "http_claims");
    }

    #[test]
    fn bad_tokens_are_refused() {
        let v = verifier();
        let with = |k: &str, val: Value| {
            let mut c = good();
            c[k] = val;
            token(c, SECRET)
        };
        assert_eq!(
            v.verify(&token(good(), "wrong-secret-wrong-secret-wrong-secret")),
            Err("JWT signature invalid")
        );
        assert_eq!(
            v.verify(&with("exp", json!(now() - 3600))),
            Err("JWT expired")
        );
        assert_eq!(
            v.verify(&with("nbf", json!(now() + 3600))),
            Err("JWT not valid yet (nbf)")
        );
        assert_eq!(
            v.verify(&with("aud", json!("someone-else"))),
            Err("JWT audience does not match")
        );
        assert_eq!(
            v.verify(&with("iss", json!("https://evil.test"))),
            Err("JWT issuer does not match")
        );
        assert_eq!(
            v.verify(&with("org", json!(""))),
            Err("JWT has no usable tenant claim")
        );
        assert_eq!(v.verify("not-a-jwt"), Err("malformed JWT"));
    }

    fn without(keys: &[&str]) -> Value {
        let mut c = good();
        for k in keys {
            c.as_object_mut().map(|m| m.remove(*k));
        }
        c
    }

    #[test]
    fn configured_claims_must_be_present() {
        let v = verifier();
        assert_eq!(
            v.verify(&token(without(&["iss"]), SECRET)),
            Err("JWT lacks the iss claim the config requires")
        );
        assert_eq!(
            v.verify(&token(without(&["aud"]), SECRET)),
            Err("JWT lacks the aud claim the config requires")
        );
        assert!(v.verify(&token(without(&["iss", "aud"]), SECRET)).is_err());
        assert_eq!(
            v.verify(&token(without(&["exp"]), SECRET)),
            Err("JWT lacks the exp claim")
        );
        // Wrong types count as absent or wrong, never as a match.
        let mut c = good();
        c["aud"] = json!(["other", 7]);
        assert!(v.verify(&token(c, SECRET)).is_err());
        let mut c = good();
        c["aud"] = json!(["other", "more"]);
        assert_eq!(
            v.verify(&token(c, SECRET)),
            Err("JWT audience does not match")
        );
        let mut c = good();
        c["aud"] = json!(["other", "airlock-test"]);
        assert!(v.verify(&token(c, SECRET)).is_ok());
        let mut c = good();
        c["iss"] = json!(null);
        assert!(v.verify(&token(c, SECRET)).is_err());
    }

    #[test]
    fn exp_may_be_optional_only_when_the_config_says_so() {
        let cfg = config(
            json!({"hs256_secret_env": "JWT_SECRET", "tenant_claim": "org", "require_exp": false}),
        );
        let env: Env = [("JWT_SECRET".to_owned(), SECRET.to_owned())].into();
        let v = JwtVerifier::from_config(&cfg, &env, Path::new("."))
            .unwrap()
            .unwrap();
        assert!(
            v.verify(&token(without(&["exp", "iss", "aud"]), SECRET))
                .is_ok()
        );
        // An expired token is still refused.
        let mut c = good();
        c["exp"] = json!(now() - 3600);
        assert_eq!(v.verify(&token(c, SECRET)), Err("JWT expired"));
    }

    #[test]
    fn a_short_hs256_secret_is_a_setup_error() {
        let cfg = config(json!({"hs256_secret_env": "JWT_SECRET"}));
        let env: Env = [("JWT_SECRET".to_owned(), "x".repeat(31))].into();
        let err = JwtVerifier::from_config(&cfg, &env, Path::new("."))
            .err()
            .unwrap();
        assert!(
            matches!(err, AuthSetupError::SecretTooShort { len: 31, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("at least 32"));
    }

    #[test]
    fn static_token_and_jwt_modes() {
        let auth = HttpAuth::new(Some(("T".into(), "s3cret".into())), Some(verifier()), false);
        let mut h = HeaderMap::new();
        assert_eq!(auth.authenticate(&h), Err(Denied::MissingBearer));
        h.insert("authorization", "Bearer s3cret".parse().unwrap());
        assert_eq!(auth.authenticate(&h).unwrap().scope, None);
        h.insert("authorization", "Bearer s3cret2".parse().unwrap());
        assert!(auth.authenticate(&h).is_err());
        h.insert(
            "authorization",
            format!("bearer {}", token(good(), SECRET)).parse().unwrap(),
        );
        assert_eq!(
            auth.authenticate(&h).unwrap().scope.unwrap().tenant_id,
            "acme"
        );
    }

    #[test]
    fn setup_errors_name_their_cause() {
        let cfg = config(json!({"hs256_secret_env": "MISSING_SECRET"}));
        let err = JwtVerifier::from_config(&cfg, &Env::new(), Path::new("."))
            .err()
            .unwrap();
        assert!(err.to_string().contains("MISSING_SECRET"));
        let cfg = config(json!({}));
        let err = JwtVerifier::from_config(&cfg, &Env::new(), Path::new("."))
            .err()
            .unwrap();
        assert!(err.to_string().contains("jwks_file"));
    }
}
