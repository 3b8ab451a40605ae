//! Configuration: layered (compiled defaults < TOML file < `ENTRA_AUTHMETHODS__…` environment),
//! validated once, and handed downstream as immutable typed settings.

mod cloud;
mod raw;
mod secret;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use reqwest::Url;

pub use cloud::{Cloud, parse_endpoint};
pub use secret::{Secret, SecretSource};

use raw::{RawConfig, RawGraph, RawTenant};

/// Environment variables with this prefix (then `__` between key levels) override the file,
/// e.g. `ENTRA_AUTHMETHODS__GRAPH__PAGE_SIZE=500` or `ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET=…`.
pub const ENV_PREFIX: &str = "ENTRA_AUTHMETHODS";

/// Shortest poll interval accepted: the reports are refreshed by Microsoft every few hours at best,
/// and polling faster only spends the tenant's shared reports quota.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// A configuration problem, as one line naming the key and the value at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone)]
pub struct Settings {
    pub graph: GraphSettings,
    pub tenants: Vec<TenantSettings>,
}

/// How the Graph client behaves; shared by all tenants.
#[derive(Debug, Clone)]
pub struct GraphSettings {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub poll_timeout: Duration,
    pub max_attempts: u32,
    pub retry_backoff_base: Duration,
    pub retry_backoff_max: Duration,
    pub page_size: u32,
    pub max_pages: u32,
    pub rate_limit_requests: u32,
    pub rate_limit_period: Duration,
}

#[derive(Debug, Clone)]
pub struct TenantSettings {
    /// The `tenant` label value.
    pub name: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretSource,
    pub cloud: Cloud,
    pub graph_endpoint: Url,
    pub login_endpoint: Url,
    pub poll_interval: Duration,
    pub breakdowns: Vec<Breakdown>,
}

impl TenantSettings {
    /// The `.default` scope of the Graph resource this tenant talks to. A custom `graph_endpoint`
    /// (proxy, simulator) still receives tokens for its cloud's Graph resource.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.cloud.graph_endpoint())
    }
}

/// Which users a breakdown counts by type. Label values are Graph's `includedUserTypes` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserType {
    All,
    Member,
    Guest,
}

/// Which users a breakdown counts by role: `admin` is `isAdmin == true`, `user` everyone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserRole {
    All,
    Admin,
    User,
}

impl UserType {
    pub const ALL: [UserType; 3] = [UserType::All, UserType::Member, UserType::Guest];
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::All => "all",
            UserType::Member => "member",
            UserType::Guest => "guest",
        }
    }
}

impl UserRole {
    pub const ALL: [UserRole; 3] = [UserRole::All, UserRole::Admin, UserRole::User];
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::All => "all",
            UserRole::Admin => "admin",
            UserRole::User => "user",
        }
    }
}

/// One `user_type` × `user_role` combination to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Breakdown {
    pub user_type: UserType,
    pub user_role: UserRole,
}

/// Where the settings come from: an optional file, plus the environment.
pub struct Sources<'a> {
    pub file: Option<&'a Path>,
    /// The environment to read; `None` reads the process environment. Tests pass a map instead of
    /// mutating the process environment (which is `unsafe` in edition 2024).
    pub env: Option<std::collections::HashMap<String, String>>,
}

/// Loads and validates the configuration.
pub fn load(sources: Sources<'_>) -> Result<Settings, ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(path) = sources.file {
        if !path.is_file() {
            return Err(ConfigError(format!("config file {}: not found or not a regular file", path.display())));
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml).required(true));
    }
    let mut env: std::collections::HashMap<String, String> = sources.env.unwrap_or_else(|| std::env::vars().collect());
    // The config crate cannot index arrays from environment keys, so `…__TENANT__<n>__<KEY>` is
    // applied here as an override of `tenant[n].key`.
    let tenant_prefix = format!("{ENV_PREFIX}__TENANT__");
    let tenant_keys: Vec<String> = env.keys().filter(|k| k.starts_with(&tenant_prefix)).cloned().collect();
    for key in tenant_keys {
        let value = env.remove(&key).unwrap_or_default();
        let rest = &key[tenant_prefix.len()..];
        let Some((index, field)) = rest
            .split_once("__")
            .filter(|(i, f)| !f.is_empty() && i.chars().all(|c| c.is_ascii_digit()) && !i.is_empty())
        else {
            return Err(ConfigError(format!(
                "environment variable {key}: expected {tenant_prefix}<index>__<KEY>, e.g. {tenant_prefix}0__CLIENT_SECRET"
            )));
        };
        let path = format!("tenant[{index}].{}", field.to_ascii_lowercase());
        builder =
            builder.set_override(path, value).map_err(|e| ConfigError(format!("environment variable {key}: {e}")))?;
    }
    builder = builder
        .add_source(config::Environment::with_prefix(ENV_PREFIX).separator("__").try_parsing(true).source(Some(env)));
    let where_ = match sources.file {
        Some(p) => format!("config file {}", p.display()),
        None => "configuration".to_string(),
    };
    let raw: RawConfig = builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError(format!("{where_}: {}", describe_config_error(e))))?;
    validate(raw).map_err(|e| ConfigError(format!("{where_}: {}", e.0)))
}

/// Parses a TOML string; used by `--check-config` tests and the demo, which builds its config in memory.
pub fn from_toml_str(text: &str) -> Result<Settings, ConfigError> {
    let raw: RawConfig = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError(format!("configuration: {}", describe_config_error(e))))?;
    validate(raw).map_err(|e| ConfigError(format!("configuration: {}", e.0)))
}

fn describe_config_error(e: config::ConfigError) -> String {
    // The config crate's messages already name the key ("unknown field `x` ... for key `tenant[0]`").
    // TOML syntax errors come as several lines with a source excerpt; keep one line for logs.
    let text = e.to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('|')
                && !l.split_once(" |").is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    parts.join(": ")
}

fn validate(raw: RawConfig) -> Result<Settings, ConfigError> {
    let graph = validate_graph(raw.graph)?;
    if raw.tenants.is_empty() {
        return Err(ConfigError(
            "no [[tenant]] configured: add at least one [[tenant]] table with name, tenant_id, client_id and client_secret_file".into(),
        ));
    }
    let mut names = HashSet::new();
    let mut tenants = Vec::with_capacity(raw.tenants.len());
    for (index, t) in raw.tenants.into_iter().enumerate() {
        let tenant = validate_tenant(index, t)?;
        if !names.insert(tenant.name.clone()) {
            return Err(ConfigError(format!(
                "tenant[{index}]: name = {:?} is used by an earlier tenant; tenant names must be unique",
                tenant.name
            )));
        }
        tenants.push(tenant);
    }
    Ok(Settings { graph, tenants })
}

fn validate_graph(g: RawGraph) -> Result<GraphSettings, ConfigError> {
    let err = |key: &str, msg: String| Err(ConfigError(format!("graph.{key}: {msg}")));
    if g.page_size == 0 || g.page_size > 1000 {
        return err("page_size", format!("{} is out of range; Graph serves 1 to 1000 rows a page", g.page_size));
    }
    if g.max_pages == 0 {
        return err("max_pages", "must be at least 1".into());
    }
    if g.max_attempts == 0 || g.max_attempts > 20 {
        return err("max_attempts", format!("{} is out of range 1..=20", g.max_attempts));
    }
    if g.rate_limit_requests == 0 {
        return err("rate_limit_requests", "must be at least 1".into());
    }
    for (key, d) in [
        ("connect_timeout", g.connect_timeout),
        ("request_timeout", g.request_timeout),
        ("poll_timeout", g.poll_timeout),
        ("rate_limit_period", g.rate_limit_period),
        ("retry_backoff_max", g.retry_backoff_max),
    ] {
        if d.is_zero() {
            return err(key, "must be greater than zero".into());
        }
    }
    if g.retry_backoff_base > g.retry_backoff_max {
        return err(
            "retry_backoff_base",
            format!(
                "{} is larger than retry_backoff_max {}",
                humantime::format_duration(g.retry_backoff_base),
                humantime::format_duration(g.retry_backoff_max)
            ),
        );
    }
    Ok(GraphSettings {
        connect_timeout: g.connect_timeout,
        request_timeout: g.request_timeout,
        poll_timeout: g.poll_timeout,
        max_attempts: g.max_attempts,
        retry_backoff_base: g.retry_backoff_base,
        retry_backoff_max: g.retry_backoff_max,
        page_size: g.page_size,
        max_pages: g.max_pages,
        rate_limit_requests: g.rate_limit_requests,
        rate_limit_period: g.rate_limit_period,
    })
}

fn validate_tenant(index: usize, t: RawTenant) -> Result<TenantSettings, ConfigError> {
    let label = match &t.name {
        Some(n) => format!("tenant[{index}] ({n:?})"),
        None => format!("tenant[{index}]"),
    };
    let err = |msg: String| ConfigError(format!("{label}: {msg}"));
    let required = |key: &str, v: Option<String>| -> Result<String, ConfigError> {
        match v {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(err(format!("{key} is required"))),
        }
    };

    let name = required("name", t.name.clone())?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) || name.len() > 64 {
        return Err(err(format!(
            "name = {name:?} must be 1 to 64 characters of letters, digits, '-', '_' or '.' (it becomes the tenant label)"
        )));
    }
    let tenant_id = required("tenant_id", t.tenant_id)?;
    if !is_tenant_id(&tenant_id) {
        return Err(err(format!(
            "tenant_id = {tenant_id:?} is neither a GUID nor a domain name such as contoso.onmicrosoft.com"
        )));
    }
    let client_id = required("client_id", t.client_id)?;
    if !is_guid(&client_id) {
        return Err(err(format!(
            "client_id = {client_id:?} is not a GUID (the application (client) ID of the app registration)"
        )));
    }
    let client_secret = match (t.client_secret, t.client_secret_file) {
        (Some(_), Some(_)) => {
            return Err(err("set either client_secret or client_secret_file, not both".into()));
        }
        (Some(s), None) if !s.is_empty() => SecretSource::Inline(Secret::new(s)),
        (Some(_), None) => return Err(err("client_secret is empty".into())),
        (None, Some(path)) => {
            let src = SecretSource::File(path);
            src.read().map_err(err)?;
            src
        }
        (None, None) => {
            return Err(err("a credential is required: set client_secret_file (preferred) or client_secret".into()));
        }
    };
    let cloud = match t.cloud.as_deref() {
        None => Cloud::default(),
        Some(c) => Cloud::parse(c).map_err(err)?,
    };
    let graph_endpoint =
        parse_endpoint("graph_endpoint", t.graph_endpoint.as_deref().unwrap_or(cloud.graph_endpoint())).map_err(err)?;
    let login_endpoint =
        parse_endpoint("login_endpoint", t.login_endpoint.as_deref().unwrap_or(cloud.login_endpoint())).map_err(err)?;
    let poll_interval = t.poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL);
    if poll_interval < MIN_POLL_INTERVAL {
        return Err(err(format!(
            "poll_interval = {:?} is below the minimum of 1m",
            humantime::format_duration(poll_interval).to_string()
        )));
    }
    let user_types = parse_list("user_types", t.user_types, &UserType::ALL, UserType::as_str).map_err(err)?;
    let user_roles = parse_list("user_roles", t.user_roles, &UserRole::ALL, UserRole::as_str).map_err(err)?;
    let breakdowns = user_types
        .iter()
        .flat_map(|&user_type| user_roles.iter().map(move |&user_role| Breakdown { user_type, user_role }))
        .collect();

    Ok(TenantSettings {
        name,
        tenant_id,
        client_id,
        client_secret,
        cloud,
        graph_endpoint,
        login_endpoint,
        poll_interval,
        breakdowns,
    })
}

fn parse_list<T: Copy + PartialEq>(
    key: &str,
    values: Option<Vec<String>>,
    allowed: &[T],
    name: fn(T) -> &'static str,
) -> Result<Vec<T>, String> {
    let Some(values) = values else {
        return Ok(allowed.to_vec());
    };
    if values.is_empty() {
        return Err(format!("{key} is empty; list at least one of {}", names(allowed, name)));
    }
    let mut out = Vec::new();
    for v in values {
        let Some(&item) = allowed.iter().find(|&&a| name(a) == v) else {
            return Err(format!("{key} contains {v:?}; allowed values are {}", names(allowed, name)));
        };
        if out.contains(&item) {
            return Err(format!("{key} lists {v:?} twice"));
        }
        out.push(item);
    }
    Ok(out)
}

fn names<T: Copy>(allowed: &[T], name: fn(T) -> &'static str) -> String {
    allowed.iter().map(|&a| format!("{:?}", name(a))).collect::<Vec<_>>().join(", ")
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_tenant_id(s: &str) -> bool {
    is_guid(s)
        || (s.contains('.')
            && s.split('.')
                .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')))
}

#[cfg(test)]
mod tests;
