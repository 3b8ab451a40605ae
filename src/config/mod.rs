//! Configuration: layered (compiled defaults < TOML file < `ENTRA_AUTHMETHODS__…` environment),
//! validated once, and handed downstream as immutable typed settings.

mod cloud;
mod credential;
mod env;
mod raw;
mod schema;
mod secret;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

pub use cloud::{Cloud, IMDS_ADDRESS, parse_endpoint, parse_managed_identity_endpoint};
pub use credential::{
    CertificateSettings, DelegatedSettings, IMDS_TOKEN_ENDPOINT, ManagedIdentitySettings, WorkloadIdentitySettings,
};
pub use secret::{Secret, SecretSource};

use credential::{AzureEnv, managed_identity_settings, validate_credential_kind};

use crate::catalog::{CredentialKind, REPORTS, ReportKind};
use raw::{RawConfig, RawGraph, RawTenant};

/// Environment variables with this prefix (then `__` between key levels) override the file,
/// e.g. `ENTRA_AUTHMETHODS__GRAPH__PAGE_SIZE=500` or `ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET=…`.
pub const ENV_PREFIX: &str = "ENTRA_AUTHMETHODS";

/// Shortest poll interval accepted: the reports are refreshed by Microsoft every few hours at best,
/// and polling faster only spends the tenant's shared reports quota.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// Polls further apart than this would leave the data stale for longer than any report's window.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// A configuration problem, as one line naming the key and the value at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone)]
pub struct Settings {
    pub graph: GraphSettings,
    pub tenants: Vec<TenantSettings>,
    /// Where the last good snapshot of every tenant and report is kept across restarts.
    pub state_file: Option<PathBuf>,
    /// `[sharding]` from the file or environment; flags and the pod ordinal are applied by the CLI.
    pub sharding_index: Option<u32>,
    pub sharding_count: Option<u32>,
    /// Accepted settings that are probably not what the operator wants. `load` does not log them:
    /// the daemon logs them, `--check-config` prints them.
    pub warnings: Vec<ConfigWarning>,
}

impl Settings {
    /// Logs every warning (`tracing::warn!`, naming the tenant and the key).
    pub fn log_warnings(&self) {
        for w in &self.warnings {
            tracing::warn!(tenant = %w.tenant, key = w.key, "{}", w.message);
        }
    }
}

/// A setting that is valid but probably a mistake, such as `user_types` without `"all"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The tenant's name.
    pub tenant: String,
    /// The key at issue, e.g. `user_types`.
    pub key: &'static str,
    /// One line naming the tenant (`tenant[0] ("contoso"): …`) and the key.
    pub message: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// How the Graph client behaves; shared by all tenants.
#[derive(Debug, Clone, PartialEq)]
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
    /// Polls running at once across all tenants and reports.
    pub max_concurrent_polls: u32,
}

/// Compared at a reload: a tenant whose settings are equal keeps running untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSettings {
    /// The `tenant` label value.
    pub name: String,
    pub tenant_id: String,
    /// The app registration's client ID; for a managed identity the user-assigned identity's
    /// client ID, or empty for the system-assigned identity.
    pub client_id: String,
    /// The application credential; `None` when the tenant only has a delegated one.
    pub client_secret: Option<SecretSource>,
    /// The application credential when it is a certificate (`client_certificate_file`).
    pub client_certificate: Option<CertificateSettings>,
    /// The application credential when it is workload identity federation.
    pub workload_identity: Option<WorkloadIdentitySettings>,
    /// The application credential when it is an Azure managed identity.
    pub managed_identity: Option<ManagedIdentitySettings>,
    /// The signed-in user's credential written by `login`, for delegated-only reports.
    pub delegated: Option<DelegatedSettings>,
    pub cloud: Cloud,
    pub graph_endpoint: Url,
    pub login_endpoint: Url,
    pub poll_interval: Duration,
    pub breakdowns: Vec<Breakdown>,
    pub registration_source: RegistrationSource,
    /// Enabled reports and their settings.
    pub reports: BTreeMap<ReportKind, ReportSettings>,
}

/// Which report feeds `entra_authmethods_users`, `…_registered_by_feature` and `…_registered_by_method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RegistrationSource {
    /// Counted by the exporter from userRegistrationDetails (application permission).
    #[default]
    Details,
    /// Microsoft's own usersRegisteredByFeature/ByMethod (delegated only).
    Summary,
}

/// One enabled report of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSettings {
    pub interval: Duration,
    /// How far back event reports (userEventsSummary) look.
    pub lookback: Duration,
    /// Failure reasons exported by name before the rest is summed as `other`.
    pub max_failure_reasons: usize,
    /// Past this age the report's data series are no longer exported (so `absent()` alerts fire),
    /// while its health series remain. Default: three intervals.
    pub max_staleness: Duration,
    /// Enabled explicitly in the configuration (not just by default): a missing credential is then
    /// a configuration error rather than a warning.
    pub explicit: bool,
}

pub const DEFAULT_LOOKBACK: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_MAX_FAILURE_REASONS: usize = 10;

impl TenantSettings {
    /// The `.default` scope of the Graph resource this tenant talks to. A custom `graph_endpoint`
    /// (proxy, simulator) still receives tokens for its cloud's Graph resource.
    pub fn has_app_credential(&self) -> bool {
        self.client_secret.is_some()
            || self.client_certificate.is_some()
            || self.workload_identity.is_some()
            || self.managed_identity.is_some()
    }

    pub fn scope(&self) -> String {
        format!("{}/.default", self.cloud.graph_endpoint())
    }
}

/// Which users a breakdown counts by type. Label values are Graph's `includedUserTypes` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum UserType {
    All,
    Member,
    Guest,
}

/// Which users a breakdown counts by role: `admin` is `isAdmin == true`, `user` everyone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum UserRole {
    All,
    Admin,
    User,
    /// Members of the nine privileged directory roles (graph-api.md section 3).
    PrivilegedAdmin,
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
    pub const ALL: [UserRole; 4] = [UserRole::All, UserRole::Admin, UserRole::User, UserRole::PrivilegedAdmin];
    /// Exported when `user_roles` is not configured. privilegedAdmin needs an extra permission
    /// (RoleManagement.Read.Directory) with the details source, so it is opt-in.
    pub const DEFAULT: [UserRole; 3] = [UserRole::All, UserRole::Admin, UserRole::User];
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::All => "all",
            UserRole::Admin => "admin",
            UserRole::User => "user",
            UserRole::PrivilegedAdmin => "privilegedAdmin",
        }
    }
}

/// One `user_type` × `user_role` combination to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
    let env = match sources.env {
        Some(env) => env,
        None => process_env()?,
    };
    let file = match sources.file {
        Some(path) => {
            let name = format!("config file {}", path.display());
            if !path.is_file() {
                return Err(ConfigError(format!("{name}: not found or not a regular file")));
            }
            let source = config::File::from(path).format(config::FileFormat::Toml).required(true);
            Some(FileLayer::new(config::Config::builder().add_source(source), name)?)
        }
        None => None,
    };
    load_layers(file, &env)
}

/// The process environment. Unlike `std::env::vars`, it does not panic on a variable that is not
/// UTF-8: such a variable of ours is an error, any other is not our business.
fn process_env() -> Result<HashMap<String, String>, ConfigError> {
    let prefix = format!("{ENV_PREFIX}__");
    let mut env = HashMap::new();
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        match value.into_string() {
            Ok(value) => {
                env.insert(name, value);
            }
            Err(_) if name.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(&prefix)) => {
                return Err(ConfigError(format!("environment variable {name}: the value is not valid UTF-8")));
            }
            Err(_) => {}
        }
    }
    Ok(env)
}

/// Parses a TOML string; used by `--check-config` tests and the demo, which builds its config in memory.
pub fn from_toml_str(text: &str) -> Result<Settings, ConfigError> {
    let source = config::File::from_str(text, config::FileFormat::Toml);
    let file = FileLayer::new(config::Config::builder().add_source(source), "configuration".into())?;
    load_layers(Some(file), &HashMap::new())
}

/// The file, parsed and checked against the schema, before the environment is merged over it.
struct FileLayer {
    config: config::Config,
    /// The names of its `[[tenant]]` tables, by index.
    tenants: Vec<Option<String>>,
    /// `config file PATH`, the start of its error messages.
    name: String,
}

impl FileLayer {
    fn new(builder: config::ConfigBuilder<config::builder::DefaultState>, name: String) -> Result<Self, ConfigError> {
        use config::Source;
        let fail = |e: String| ConfigError(format!("{name}: {e}"));
        let config = builder.build().map_err(|e| fail(describe_config_error(e)))?;
        let root = config.collect().map_err(|e| fail(describe_config_error(e)))?;
        let tenants = schema::check_file(&root).map_err(fail)?;
        Ok(FileLayer { config, tenants, name })
    }

    fn has(&self, key: &str) -> bool {
        self.config.get::<config::Value>(key).is_ok()
    }
}

fn load_layers(file: Option<FileLayer>, env: &HashMap<String, String>) -> Result<Settings, ConfigError> {
    let azure = AzureEnv::from_map(env);
    let overrides = env::overrides(env, file.as_ref().map(|f| f.tenants.as_slice())).map_err(ConfigError)?;
    let mut builder = config::Config::builder();
    if let Some(f) = &file {
        builder = builder.add_source(f.config.clone());
    }
    for o in &overrides {
        builder = builder
            .set_override(&o.path, config::Value::new(Some(&o.var), o.value.clone()))
            .map_err(|e| ConfigError(format!("environment variable {}: {}", o.var, describe_config_error(e))))?;
    }
    let whole = file.as_ref().map_or("configuration", |f| f.name.as_str());
    // The schema checks above leave nothing for the deserializer to reject; this is a safety net.
    let raw: RawConfig = builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError(format!("{whole}: {}", describe_config_error(e))))?;
    validate(raw, &azure)
        .map_err(|e| ConfigError(format!("{}: {}", blame(&e.keys, file.as_ref(), &overrides), e.message)))
}

/// Where the values behind a validation error come from: `config file PATH`,
/// `environment variable NAME`, or both.
fn blame(keys: &[String], file: Option<&FileLayer>, overrides: &[env::EnvOverride]) -> String {
    let file_tenants = file.map_or(0, |f| f.tenants.len());
    // A tenant that only the environment defines: every variable of it is involved.
    let env_only_tenant = |key: &str| {
        let index: usize = key.strip_prefix("tenant[")?.split_once(']')?.0.parse().ok()?;
        (index >= file_tenants).then(|| format!("tenant[{index}]."))
    };
    let mut vars: Vec<&str> = overrides.iter().filter(|o| keys.contains(&o.path)).map(|o| o.var.as_str()).collect();
    if vars.is_empty() {
        vars = overrides
            .iter()
            .filter(|o| keys.iter().any(|k| env_only_tenant(k).is_some_and(|prefix| o.path.starts_with(&prefix))))
            .map(|o| o.var.as_str())
            .collect();
    }
    let from_file = file.filter(|f| keys.iter().any(|k| !overrides.iter().any(|o| o.path == *k) && f.has(k)));
    let file_name = file.map_or("configuration", |f| f.name.as_str());
    let env_part = match vars.as_slice() {
        [] => return file_name.to_string(),
        [one] => format!("environment variable {one}"),
        [init @ .., last] => format!("environment variables {} and {last}", init.join(", ")),
    };
    match from_file {
        Some(f) => format!("{} and {env_part}", f.name),
        None => env_part,
    }
}

fn describe_config_error(e: config::ConfigError) -> String {
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

/// A validation failure: its message, and the keys whose values it is about (`graph.page_size`,
/// `tenant[0].poll_interval`, or `tenant[0]` for a tenant as a whole), to name where they came from.
#[derive(Debug)]
struct Invalid {
    message: String,
    keys: Vec<String>,
}

impl Invalid {
    fn new(keys: &[&str], message: impl Into<String>) -> Self {
        Invalid { message: message.into(), keys: keys.iter().map(|k| k.to_string()).collect() }
    }
}

fn validate(raw: RawConfig, azure: &AzureEnv) -> Result<Settings, Invalid> {
    let state_file = raw.state_file.map(validate_state_file).transpose()?;
    let graph = validate_graph(raw.graph)?;
    if raw.tenants.is_empty() {
        return Err(Invalid::new(
            &[],
            "no [[tenant]] configured: add at least one [[tenant]] table with name, tenant_id, client_id and client_secret_file",
        ));
    }
    let mut names = HashSet::new();
    let mut tenants = Vec::with_capacity(raw.tenants.len());
    let mut warnings = Vec::new();
    for (index, t) in raw.tenants.into_iter().enumerate() {
        let tenant = validate_tenant(index, t, azure, &mut warnings)?;
        if !names.insert(tenant.name.clone()) {
            return Err(Invalid::new(
                &[&format!("tenant[{index}].name")],
                format!(
                    "{}: name = {:?} is used by an earlier tenant; tenant names must be unique",
                    schema::tenant_label(index, Some(&tenant.name)),
                    tenant.name
                ),
            ));
        }
        tenants.push(tenant);
    }
    let (sharding_index, sharding_count) = (raw.sharding.index, raw.sharding.count);
    if let (Some(index), Some(count)) = (sharding_index, sharding_count)
        && index >= count
    {
        return Err(Invalid::new(
            &["sharding.index", "sharding.count"],
            format!("sharding.index = {index} is out of range for sharding.count = {count}"),
        ));
    }
    if sharding_count == Some(0) {
        return Err(Invalid::new(&["sharding.count"], "sharding.count = 0: it must be at least 1"));
    }
    Ok(Settings { graph, tenants, state_file, sharding_index, sharding_count, warnings })
}

/// The state file itself may not exist yet, but its directory must: the file is replaced by
/// renaming a temporary file written next to it.
fn validate_state_file(path: PathBuf) -> Result<PathBuf, Invalid> {
    let err = |msg: String| {
        Err(Invalid::new(&["state_file"], format!("state_file = {:?}: {msg}", path.display().to_string())))
    };
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return err("not a file path".into());
    }
    if path.is_dir() {
        return err(
            "is a directory; expected a file path such as /var/lib/entra-authmethods-exporter/state.json".into()
        );
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return err(format!("directory {} does not exist", dir.display()));
    }
    Ok(path)
}

fn validate_graph(g: RawGraph) -> Result<GraphSettings, Invalid> {
    let err = |key: &str, msg: String| Err(Invalid::new(&[&format!("graph.{key}")], format!("graph.{key}: {msg}")));
    if g.page_size == 0 || g.page_size > 1000 {
        return err("page_size", format!("{} is out of range; Graph serves 1 to 1000 rows a page", g.page_size));
    }
    if g.max_pages == 0 {
        return err("max_pages", "must be at least 1".into());
    }
    if g.max_attempts == 0 || g.max_attempts > 20 {
        return err("max_attempts", format!("{} is out of range 1..=20", g.max_attempts));
    }
    if g.max_concurrent_polls == 0 {
        return err("max_concurrent_polls", "must be at least 1".into());
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
        return Err(Invalid::new(
            &["graph.retry_backoff_base", "graph.retry_backoff_max"],
            format!(
                "graph.retry_backoff_base: {} is larger than retry_backoff_max {}",
                humantime::format_duration(g.retry_backoff_base),
                humantime::format_duration(g.retry_backoff_max)
            ),
        ));
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
        max_concurrent_polls: g.max_concurrent_polls,
    })
}

fn validate_tenant(
    index: usize,
    mut t: RawTenant,
    azure: &AzureEnv,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<TenantSettings, Invalid> {
    let label = schema::tenant_label(index, t.name.as_deref());
    // `keys`: the tenant's keys the message is about; none means the tenant as a whole.
    let err = |keys: &[&str], msg: String| {
        let keys: Vec<String> = if keys.is_empty() {
            vec![format!("tenant[{index}]")]
        } else {
            keys.iter().map(|k| format!("tenant[{index}].{k}")).collect()
        };
        Invalid { message: format!("{label}: {msg}"), keys }
    };
    let at = |key: &'static str| move |msg: String| err(&[key], msg);
    let required = |key: &str, v: Option<String>| -> Result<String, Invalid> {
        match v {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(err(&[key], format!("{key} is required"))),
        }
    };

    let name = required("name", t.name.clone())?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) || name.len() > 64 {
        return Err(err(
            &["name"],
            format!(
                "name = {name:?} must be 1 to 64 characters of letters, digits, '-', '_' or '.' (it becomes the tenant label)"
            ),
        ));
    }
    let choice = validate_credential_kind(&mut t, azure).map_err(|(keys, msg)| err(&keys, msg))?;
    let workload_identity = choice.workload;
    let tenant_id = required("tenant_id", t.tenant_id)?;
    if !is_tenant_id(&tenant_id) {
        return Err(err(
            &["tenant_id"],
            format!("tenant_id = {tenant_id:?} is neither a GUID nor a domain name such as contoso.onmicrosoft.com"),
        ));
    }
    let client_id = if choice.managed {
        // Optional: it names a user-assigned identity; without it the host's system-assigned one is used.
        match t.client_id.filter(|c| !c.trim().is_empty()) {
            Some(c) if !is_guid(&c) => {
                return Err(err(
                    &["client_id"],
                    format!(
                        "client_id = {c:?} is not a GUID (with a managed identity it is the client ID of the user-assigned identity)"
                    ),
                ));
            }
            other => other.unwrap_or_default(),
        }
    } else {
        let client_id = required("client_id", t.client_id)?;
        if !is_guid(&client_id) {
            return Err(err(
                &["client_id"],
                format!(
                    "client_id = {client_id:?} is not a GUID (the application (client) ID of the app registration)"
                ),
            ));
        }
        client_id
    };
    let client_certificate = match (t.client_certificate_file, t.client_certificate_key_file) {
        (Some(certificate_file), key_file) => {
            let cert = crate::graph::ClientCertificate::load(&certificate_file, key_file.as_deref())
                .map_err(|m| err(&["client_certificate_file", "client_certificate_key_file"], m))?;
            if let Some(problem) = cert.validity_problem(crate::graph::now_unix()) {
                // Not fatal: the operator may be about to rotate it, and the metric shows it.
                warnings.push(ConfigWarning {
                    tenant: name.clone(),
                    key: "client_certificate_file",
                    message: format!("{label}: {problem}"),
                });
            }
            Some(CertificateSettings { certificate_file, key_file })
        }
        (None, Some(_)) => {
            return Err(err(
                &["client_certificate_key_file"],
                "client_certificate_key_file needs client_certificate_file".into(),
            ));
        }
        (None, None) => None,
    };
    let client_secret = match (t.client_secret, t.client_secret_file) {
        (Some(_), Some(_)) => {
            return Err(err(
                &["client_secret", "client_secret_file"],
                "set either client_secret or client_secret_file, not both".into(),
            ));
        }
        (Some(s), None) if !s.is_empty() => Some(SecretSource::Inline(Secret::new(s))),
        (Some(_), None) => return Err(err(&["client_secret"], "client_secret is empty".into())),
        (None, Some(path)) => {
            let src = SecretSource::File(path);
            src.read().map_err(at("client_secret_file"))?;
            Some(src)
        }
        (None, None) => None,
    };
    let delegated = match (t.refresh_token_file, t.delegated_client_id) {
        (Some(_), None) if choice.managed => {
            // A managed identity cannot sign users in: the public client must be named.
            return Err(err(
                &["refresh_token_file", "credential"],
                "refresh_token_file with a managed identity needs delegated_client_id (the app registration used by `login`)".into(),
            ));
        }
        (Some(file), client) => {
            let client_id = client.unwrap_or_else(|| client_id.clone());
            if !is_guid(&client_id) {
                return Err(err(
                    &["delegated_client_id", "client_id"],
                    format!("delegated_client_id = {client_id:?} is not a GUID"),
                ));
            }
            Some(DelegatedSettings { client_id, refresh_token_file: file })
        }
        (None, Some(_)) => {
            return Err(err(
                &["delegated_client_id", "refresh_token_file"],
                "delegated_client_id needs refresh_token_file".into(),
            ));
        }
        (None, None) => None,
    };
    if client_secret.is_none()
        && client_certificate.is_none()
        && workload_identity.is_none()
        && !choice.managed
        && delegated.is_none()
    {
        return Err(err(
            &[],
            "a credential is required: set client_secret_file (preferred) or client_secret, client_certificate_file, or credential = \"workload_identity\", \"managed_identity\" or \"auto\", and/or refresh_token_file for delegated reports".into(),
        ));
    }
    let registration_source = match t.registration_source.as_deref() {
        None | Some("details") => RegistrationSource::Details,
        Some("summary") => RegistrationSource::Summary,
        Some(other) => {
            return Err(err(
                &["registration_source"],
                format!("registration_source = {other:?} is not one of \"details\", \"summary\""),
            ));
        }
    };
    let cloud = match t.cloud.as_deref() {
        None => Cloud::default(),
        Some(c) => Cloud::parse(c).map_err(at("cloud"))?,
    };
    let graph_endpoint =
        parse_endpoint("graph_endpoint", t.graph_endpoint.as_deref().unwrap_or(cloud.graph_endpoint()))
            .map_err(at("graph_endpoint"))?;
    let login_endpoint =
        parse_endpoint("login_endpoint", t.login_endpoint.as_deref().unwrap_or(cloud.login_endpoint()))
            .map_err(at("login_endpoint"))?;
    let managed_identity = if choice.managed {
        let user_assigned = Some(client_id.clone()).filter(|c| !c.is_empty());
        let mi = managed_identity_settings(
            t.managed_identity_endpoint,
            t.managed_identity_header,
            user_assigned,
            cloud,
            azure,
        )
        .map_err(|m| err(&["managed_identity_endpoint", "managed_identity_header"], m))?;
        Some(mi)
    } else {
        None
    };
    match (choice.auto_reason, &managed_identity) {
        (Some(reason), Some(mi)) => tracing::info!(
            tenant = %name,
            credential = "managed_identity",
            protocol = mi.protocol(),
            endpoint = %mi.endpoint,
            identity = mi.client_id.as_deref().unwrap_or("system-assigned"),
            "credential = \"auto\" chose managed identity: {reason}"
        ),
        (Some(reason), None) => {
            let kind = if client_secret.is_some() {
                "secret"
            } else if client_certificate.is_some() {
                "certificate"
            } else {
                "workload_identity"
            };
            tracing::info!(tenant = %name, credential = kind, "credential = \"auto\" chose {kind}: {reason}");
        }
        (None, _) => {}
    }
    let poll_interval = t.poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL);
    if poll_interval < MIN_POLL_INTERVAL {
        return Err(err(
            &["poll_interval"],
            format!(
                "poll_interval = {:?} is below the minimum of 1m",
                humantime::format_duration(poll_interval).to_string()
            ),
        ));
    }
    if poll_interval > MAX_POLL_INTERVAL {
        return Err(err(
            &["poll_interval"],
            format!(
                "poll_interval = {:?} is above the maximum of 30days",
                humantime::format_duration(poll_interval).to_string()
            ),
        ));
    }
    let user_types = parse_list("user_types", t.user_types, &UserType::ALL, &UserType::ALL, UserType::as_str)
        .map_err(at("user_types"))?;
    let user_roles = parse_list("user_roles", t.user_roles, &UserRole::ALL, &UserRole::DEFAULT, UserRole::as_str)
        .map_err(at("user_roles"))?;
    // Not an error, since it may be deliberate; but the shipped dashboards and alerts select
    // user_type="all" and user_role="all", and would show nothing for this tenant.
    for (key, label_name, has_all) in [
        ("user_types", "user_type", user_types.contains(&UserType::All)),
        ("user_roles", "user_role", user_roles.contains(&UserRole::All)),
    ] {
        if !has_all {
            warnings.push(ConfigWarning {
                tenant: name.clone(),
                key,
                message: format!(
                    "{label}: {key} does not list \"all\": the shipped dashboards and alerts select {label_name}=\"all\" and will show nothing for this tenant; add \"all\" unless that is intended"
                ),
            });
        }
    }
    let breakdowns = user_types
        .iter()
        .flat_map(|&user_type| user_roles.iter().map(move |&user_role| Breakdown { user_type, user_role }))
        .collect();
    let has = |kind: CredentialKind| match kind {
        CredentialKind::App => {
            client_secret.is_some()
                || client_certificate.is_some()
                || workload_identity.is_some()
                || managed_identity.is_some()
        }
        CredentialKind::Delegated => delegated.is_some(),
    };
    let reports = validate_reports(t.reports, poll_interval, registration_source, &has).map_err(|(keys, msg)| {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        err(&keys, msg)
    })?;

    Ok(TenantSettings {
        name,
        tenant_id,
        client_id,
        client_secret,
        client_certificate,
        workload_identity,
        managed_identity,
        delegated,
        cloud,
        graph_endpoint,
        login_endpoint,
        poll_interval,
        breakdowns,
        registration_source,
        reports,
    })
}

fn validate_reports(
    mut raw: BTreeMap<String, raw::RawReport>,
    poll_interval: Duration,
    source: RegistrationSource,
    has_credential: &dyn Fn(CredentialKind) -> bool,
) -> Result<BTreeMap<ReportKind, ReportSettings>, (Vec<String>, String)> {
    // Unknown report names are rejected by the schema check; kept for settings built otherwise.
    if let Some(unknown) = raw.keys().find(|k| ReportKind::from_name(k).is_none()) {
        let names: Vec<&str> = REPORTS.iter().map(|r| r.name).collect();
        return Err((
            vec![format!("reports.{unknown}")],
            format!("reports.{unknown} is not a report; known reports: {}", names.join(", ")),
        ));
    }
    let mut out = BTreeMap::new();
    for spec in &REPORTS {
        let r = raw.remove(spec.name).unwrap_or_default();
        let key = |k: &str| format!("reports.{}.{k}", spec.name);
        let default_on = spec.default_enabled
            || (spec.kind == ReportKind::RegistrationSummary && source == RegistrationSource::Summary);
        let enabled = r.enabled.unwrap_or(default_on);
        if spec.kind == ReportKind::RegistrationSummary && source == RegistrationSource::Summary && !enabled {
            return Err((
                vec![key("enabled"), "registration_source".into()],
                format!("{} = false, but registration_source = \"summary\" needs it", key("enabled")),
            ));
        }
        if !enabled {
            continue;
        }
        let explicit = r.enabled == Some(true)
            || (spec.kind == ReportKind::RegistrationSummary && source == RegistrationSource::Summary);
        if explicit && !spec.credentials.iter().any(|&k| has_credential(k)) {
            let kinds: Vec<&str> = spec.credentials.iter().map(|k| k.as_str()).collect();
            return Err((
                vec![key("enabled")],
                format!(
                    "report {} needs a {} credential: {}",
                    spec.name,
                    kinds.join(" or "),
                    if spec.credentials == [CredentialKind::Delegated] {
                        "set refresh_token_file and run `entra-authmethods-exporter login`"
                    } else {
                        "set client_secret_file"
                    }
                ),
            ));
        }
        let interval = r.interval.or(spec.default_interval).unwrap_or(poll_interval);
        if interval < MIN_POLL_INTERVAL || interval > MAX_POLL_INTERVAL {
            return Err((
                vec![key("interval")],
                format!(
                    "{} = {:?} is outside 1m to 30days",
                    key("interval"),
                    humantime::format_duration(interval).to_string()
                ),
            ));
        }
        let lookback = r.lookback.unwrap_or(DEFAULT_LOOKBACK);
        if lookback < Duration::from_secs(3600) || lookback > Duration::from_secs(30 * 24 * 3600) {
            return Err((vec![key("lookback")], format!("{} must be between 1h and 30d", key("lookback"))));
        }
        let max_failure_reasons = r.max_failure_reasons.unwrap_or(DEFAULT_MAX_FAILURE_REASONS);
        if !(1..=100).contains(&max_failure_reasons) {
            return Err((
                vec![key("max_failure_reasons")],
                format!("{} = {max_failure_reasons} is out of range 1..=100", key("max_failure_reasons")),
            ));
        }
        let max_staleness = r.max_staleness.unwrap_or(interval.saturating_mul(3));
        if max_staleness < interval {
            return Err((
                vec![key("max_staleness"), key("interval")],
                format!(
                    "{} = {:?} is shorter than the report's interval {:?}: the data would vanish between two good polls",
                    key("max_staleness"),
                    humantime::format_duration(max_staleness).to_string(),
                    humantime::format_duration(interval).to_string()
                ),
            ));
        }
        out.insert(spec.kind, ReportSettings { interval, lookback, max_failure_reasons, max_staleness, explicit });
    }
    Ok(out)
}

fn parse_list<T: Copy + PartialEq>(
    key: &str,
    values: Option<Vec<String>>,
    allowed: &[T],
    default: &[T],
    name: fn(T) -> &'static str,
) -> Result<Vec<T>, String> {
    let Some(values) = values else {
        return Ok(default.to_vec());
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
