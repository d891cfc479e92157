//! Trusted context: tenant and principal from config, the environment or verified HTTP claims.
//! Never from tool arguments.

use airlock_capability::plan::TrustedScope;
use airlock_capability::{CallCode, CallError};
use airlock_config::{Capability, Config, ContextProvider, TrustedContext};

use crate::Env;

const DEFAULT_TENANT_ENV: &str = airlock_config::env_vars::SYNAPSOR_TENANT_ID;
const DEFAULT_PRINCIPAL_ENV: &str = airlock_config::env_vars::SYNAPSOR_PRINCIPAL;

/// The context config that applies to a capability: its named context, else the global one.
fn context_for<'a>(config: &'a Config, cap: &Capability) -> Option<&'a TrustedContext> {
    cap.context
        .as_ref()
        .and_then(|name| config.contexts.as_ref()?.get(name))
        .or(config.trusted_context.as_ref())
}

/// Resolves tenant and principal for one call. `claims` is the scope a transport verified
/// (HTTP bearer claims); only the `http_claims` provider uses it.
pub fn resolve_scope(
    config: &Config,
    cap: &Capability,
    env: &Env,
    claims: Option<&TrustedScope>,
) -> Result<TrustedScope, CallError> {
    let ctx = context_for(config, cap).ok_or_else(|| {
        CallError::new(
            CallCode::TrustedContextMissing,
            "No trusted context is configured for this capability.",
        )
    })?;
    let values = ctx.values.clone().unwrap_or_default();
    let from_env = |name: Option<&String>, default: &str| -> Option<String> {
        let name = name.map_or(default, String::as_str);
        env.get(name).filter(|v| !v.is_empty()).cloned()
    };
    match ctx.provider {
        ContextProvider::Environment => {
            let tenant = from_env(values.tenant_id_env.as_ref(), DEFAULT_TENANT_ENV);
            let principal = from_env(values.principal_env.as_ref(), DEFAULT_PRINCIPAL_ENV);
            match (tenant, principal) {
                (Some(tenant_id), Some(principal)) => Ok(TrustedScope { tenant_id, principal, provenance: "environment" }),
                _ => Err(CallError::new(
                    CallCode::TrustedBindingMissing,
                    "The trusted tenant and principal are not set for this Airlock process.",
                )
                .with_detail(format!(
                    "set {} and {} in the environment of the airlock process",
                    values.tenant_id_env.as_deref().unwrap_or(DEFAULT_TENANT_ENV),
                    values.principal_env.as_deref().unwrap_or(DEFAULT_PRINCIPAL_ENV)
                ))),
            }
        }
        ContextProvider::StaticDev => {
            let tenant = values
                .tenant_id_env
                .as_ref()
                .and_then(|n| env.get(n).filter(|v| !v.is_empty()).cloned())
                .or_else(|| values.tenant_id.clone().filter(|v| !v.is_empty()));
            let principal = values
                .principal_env
                .as_ref()
                .and_then(|n| env.get(n).filter(|v| !v.is_empty()).cloned())
                .or_else(|| values.principal.clone().filter(|v| !v.is_empty()));
            match (tenant, principal) {
                (Some(tenant_id), Some(principal)) => Ok(TrustedScope { tenant_id, principal, provenance: "static_dev" }),
                _ => Err(CallError::new(
                    CallCode::TrustedBindingMissing,
                    "The static_dev trusted context has no tenant or principal.",
                )),
            }
        }
        ContextProvider::HttpClaims => claims.cloned().ok_or_else(|| {
            CallError::new(
                CallCode::TrustedContextUnavailable,
                "This capability takes its tenant from verified HTTP claims, and this call carried none.",
            )
            .with_detail("http_claims context is only available through the authenticated HTTP server")
        }),
        ContextProvider::CloudSession => Err(CallError::new(
            CallCode::TrustedContextUnavailable,
            "cloud_session trusted context is not available in Airlock.",
        )),
    }
}
