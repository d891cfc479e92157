//! Every environment variable the config makes Airlock read: set or not. Values are never
//! printed, only names.

use airlock_config::{Config, ContextProvider, ExecutorKind, env_vars};

use super::check::{Check, Code};
use crate::settings::Settings;

/// One variable the config refers to, and why.
struct Need {
    var: String,
    code: Code,
    why: String,
}

fn needs(config: &Config, writers: &[String]) -> Vec<Need> {
    let mut out: Vec<Need> = Vec::new();
    let mut push = |var: &str, code: Code, why: String| {
        if !out.iter().any(|n| n.var == var) {
            out.push(Need {
                var: var.to_owned(),
                code,
                why,
            });
        }
    };
    let contexts = config
        .trusted_context
        .iter()
        .map(|c| ("trusted_context".to_owned(), c))
        .chain(
            config
                .contexts
                .iter()
                .flatten()
                .map(|(n, c)| (format!("contexts.{n}"), c)),
        );
    for (where_, ctx) in contexts {
        let values = ctx.values.clone().unwrap_or_default();
        match ctx.provider {
            ContextProvider::Environment => {
                let tenant = values
                    .tenant_id_env
                    .as_deref()
                    .unwrap_or(env_vars::SYNAPSOR_TENANT_ID);
                let principal = values
                    .principal_env
                    .as_deref()
                    .unwrap_or(env_vars::SYNAPSOR_PRINCIPAL);
                push(
                    tenant,
                    Code::EnvTenantMissing,
                    format!("the tenant of {where_}"),
                );
                push(
                    principal,
                    Code::EnvPrincipalMissing,
                    format!("the principal of {where_}"),
                );
            }
            // static_dev reads a variable only when no literal stands in for it.
            ContextProvider::StaticDev => {
                if let (Some(v), None) = (&values.tenant_id_env, &values.tenant_id) {
                    push(v, Code::EnvTenantMissing, format!("the tenant of {where_}"));
                }
                if let (Some(v), None) = (&values.principal_env, &values.principal) {
                    push(
                        v,
                        Code::EnvPrincipalMissing,
                        format!("the principal of {where_}"),
                    );
                }
            }
            ContextProvider::HttpClaims | ContextProvider::CloudSession => {}
        }
    }
    for (name, source) in &config.sources {
        if source.path.is_none()
            && let Some(v) = &source.read_url_env
        {
            push(
                v,
                Code::EnvReadUrlMissing,
                format!("reads of source `{name}`"),
            );
        }
        if writers.contains(name)
            && let Some(v) = &source.write_url_env
        {
            push(
                v,
                Code::EnvWriteUrlMissing,
                format!("applying approved proposals on source `{name}`"),
            );
        }
    }
    for (name, e) in config.executors.iter().flatten() {
        let why = format!("executor `{name}`");
        match e.kind {
            ExecutorKind::HttpHandler => {
                for v in [e.url_env.as_deref(), e.signing_secret_env.as_deref()]
                    .into_iter()
                    .flatten()
                    .chain(e.auth.as_ref().map(|a| a.token_env.as_str()))
                {
                    push(v, Code::EnvHandlerMissing, why.clone());
                }
            }
            ExecutorKind::CommandHandler => {
                if let Some(v) = &e.command_env {
                    push(v, Code::EnvHandlerMissing, why.clone());
                }
            }
            ExecutorKind::SqlUpdate => {}
        }
    }
    out
}

/// One check per variable, in config order.
pub fn checks(settings: &Settings, config: &Config, writers: &[String]) -> Vec<Check> {
    needs(config, writers)
        .into_iter()
        .map(|n| {
            let name = format!("env:{}", n.var);
            if is_set(settings, &n.var) {
                Check::pass(Code::EnvSet, name, format!("{} is set ({})", n.var, n.why))
            } else {
                Check::fail(
                    n.code,
                    name,
                    format!("{} is not set; it is needed for {}", n.var, n.why),
                    format!("export {} in the environment of the airlock process", n.var),
                )
            }
        })
        .collect()
}

pub fn is_set(settings: &Settings, var: &str) -> bool {
    settings.env.get(var).is_some_and(|v| !v.is_empty())
}
