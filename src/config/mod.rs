//! Configuration: layered (compiled defaults < TOML file < `ENTRA_AUTHMETHODS__…` environment),
//! validated once, and handed downstream as immutable typed settings.

mod cloud;
mod credential;
mod env;
mod groups;
mod loading;
mod raw;
mod report_settings;
mod schema;
mod secret;
mod strength;
mod tenant;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

pub(crate) use cloud::{Cloud, parse_managed_identity_endpoint};
pub use credential::{
    AppCredential, CertificateSettings, DelegatedSettings, IMDS_TOKEN_ENDPOINT, ManagedIdentitySettings,
    WorkloadIdentitySettings,
};
pub(crate) use groups::GroupSettings;
pub use loading::{from_toml_str, load};
pub use secret::{Secret, SecretSource};
pub use strength::MethodStrength;
pub(crate) use strength::{NO_TIER, STRENGTH_TIERS};

use crate::catalog::ReportKind;

/// Environment variables with this prefix (then `__` between key levels) override the file,
/// e.g. `ENTRA_AUTHMETHODS__GRAPH__PAGE_SIZE=500` or `ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET=…`.
pub(crate) const ENV_PREFIX: &str = "ENTRA_AUTHMETHODS";

/// The largest configuration or web configuration file read: far above what thousands of tenants
/// need (about 300 bytes each), far below what would strain a container's memory.
pub const MAX_CONFIG_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Shortest poll interval accepted: Microsoft updates the registration report for most users within
/// 36 hours (Microsoft Entra, "Authentication methods activity"),
/// and polling faster only spends the tenant's shared reports quota.
pub(crate) const MIN_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// Polls further apart than this would leave the data stale for longer than any report's window.
pub(crate) const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// A configuration problem, as one line naming the key and the value at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone)]
pub struct Settings {
    pub graph: GraphSettings,
    pub tenants: Vec<TenantSettings>,
    /// Where the last good snapshot of every tenant and report is kept across restarts.
    pub(crate) state_file: Option<PathBuf>,
    /// `[sharding]` from the file or environment; flags and the pod ordinal are applied by the CLI.
    pub(crate) sharding_index: Option<u32>,
    pub(crate) sharding_count: Option<u32>,
    /// Accepted settings that are probably not what the operator wants. Loading never logs: the
    /// daemon logs them, `--check-config` prints them.
    pub warnings: Vec<ConfigWarning>,
    /// What `credential = "auto"` chose, by tenant, for the caller to log.
    pub(crate) auto_choices: Vec<AutoChoice>,
    /// Where each tenant's credential keys were set, for the preflight step's errors.
    pub(crate) origins: Vec<TenantOrigin>,
}

/// The application credential `credential = "auto"` chose for a tenant (the kind is the tenant's
/// [`AppCredential`]), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AutoChoice {
    pub(crate) tenant: String,
    pub(crate) reason: &'static str,
}

/// The start of an error about a tenant's credential files, as a validation error of the same keys
/// would start: the source of the keys, then the tenant. Files are read after loading (the preflight
/// step), when the file and environment layers are gone, so their source is kept here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantOrigin {
    pub(crate) tenant: String,
    /// `tenant[0] ("contoso")`.
    pub(crate) label: String,
    /// `config file PATH`, `environment variable NAME`, or both, for client_certificate_file and
    /// client_certificate_key_file.
    pub(crate) certificate_source: String,
    /// The same for client_secret_file.
    pub(crate) secret_file_source: String,
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
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) poll_timeout: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) retry_backoff_base: Duration,
    pub(crate) retry_backoff_max: Duration,
    pub(crate) page_size: u32,
    pub(crate) max_pages: u32,
    pub(crate) rate_limit_requests: u32,
    pub(crate) rate_limit_period: Duration,
    /// Polls running at once across all tenants and reports.
    pub(crate) max_concurrent_polls: u32,
    /// Values of a method label a tenant exports beyond the documented ones and those
    /// `[method_strength]` names; the rest fold into `other`.
    pub(crate) max_method_values: u32,
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
    pub app_credential: Option<AppCredential>,
    /// The signed-in user's credential written by `login`, for delegated-only reports.
    pub(crate) delegated: Option<DelegatedSettings>,
    pub cloud: Cloud,
    pub(crate) graph_endpoint: Url,
    pub(crate) login_endpoint: Url,
    pub(crate) poll_interval: Duration,
    pub breakdowns: Vec<Breakdown>,
    pub(crate) registration_source: RegistrationSource,
    /// Enabled reports and their settings.
    pub reports: BTreeMap<ReportKind, ReportSettings>,
    /// `[method_strength]`, the same for every tenant (a copy of the top-level table).
    pub(crate) method_strength: std::sync::Arc<MethodStrength>,
    /// `[[tenant.group]]`: groups counted on their own (details source only).
    pub(crate) groups: Vec<GroupSettings>,
    /// `exclude_groups`: object ids of groups whose members leave every count made from
    /// userRegistrationDetails (details source only).
    pub(crate) exclude_groups: Vec<String>,
}

/// Which report feeds `entra_authmethods_users`, `…_registered_by_feature` and `…_registered_by_method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum RegistrationSource {
    /// Counted by the exporter from userRegistrationDetails (application permission).
    #[default]
    Details,
    /// Microsoft's own usersRegisteredByFeature/ByMethod (delegated only).
    Summary,
}

/// One enabled report of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSettings {
    pub(crate) interval: Duration,
    /// How far back event reports (userEventsSummary) look.
    pub lookback: Duration,
    /// Failure reasons exported by name before the rest is summed as `other`.
    pub(crate) max_failure_reasons: usize,
    /// Past this age the report's data series are no longer exported (so `absent()` alerts fire),
    /// while its health series remain. Default: three intervals.
    pub(crate) max_staleness: Duration,
    /// Enabled explicitly in the configuration (not just by default): a missing credential is then
    /// a configuration error rather than a warning.
    pub(crate) explicit: bool,
}

pub(crate) const DEFAULT_LOOKBACK: Duration = Duration::from_secs(24 * 3600);
pub(crate) const DEFAULT_MAX_FAILURE_REASONS: usize = 10;

impl TenantSettings {
    /// Whether reports read with application permissions can be polled.
    pub(crate) fn has_app_credential(&self) -> bool {
        self.app_credential.is_some()
    }

    /// Whether group memberships are read before each registration sweep.
    pub(crate) fn reads_groups(&self) -> bool {
        !self.groups.is_empty() || !self.exclude_groups.is_empty()
    }

    /// The `.default` scope of the Graph resource this tenant talks to. A custom `graph_endpoint`
    /// (proxy, simulator) still receives tokens for its cloud's Graph resource.
    pub(crate) fn scope(&self) -> String {
        format!("{}/.default", self.cloud.graph_endpoint())
    }
}

/// Which users a breakdown counts by type. Label values are Graph's `includedUserTypes` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum UserType {
    All,
    Member,
    Guest,
}

/// Which users a breakdown counts by role: `admin` is `isAdmin == true`, `user` everyone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum UserRole {
    All,
    Admin,
    User,
    /// Members of the nine privileged directory roles (Microsoft Graph, "authenticationMethodsRoot:
    /// usersRegisteredByFeature", `includedUserRoles`,
    /// <https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature>).
    PrivilegedAdmin,
}

impl UserType {
    pub(crate) const ALL: [UserType; 3] = [UserType::All, UserType::Member, UserType::Guest];
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserType::All => "all",
            UserType::Member => "member",
            UserType::Guest => "guest",
        }
    }
}

impl UserRole {
    pub(crate) const ALL: [UserRole; 4] = [UserRole::All, UserRole::Admin, UserRole::User, UserRole::PrivilegedAdmin];
    /// Exported when `user_roles` is not configured. privilegedAdmin needs an extra permission
    /// (RoleManagement.Read.Directory) with the details source, so it is opt-in.
    pub(crate) const DEFAULT: [UserRole; 3] = [UserRole::All, UserRole::Admin, UserRole::User];
    pub(crate) fn as_str(self) -> &'static str {
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
    pub(crate) user_type: UserType,
    pub(crate) user_role: UserRole,
}

/// Where the settings come from: an optional file, plus the environment.
pub struct Sources<'a> {
    pub file: Option<&'a Path>,
    /// The environment to read; `None` reads the process environment. Tests pass a map instead of
    /// mutating the process environment (which is `unsafe` in edition 2024).
    pub env: Option<std::collections::HashMap<String, String>>,
}

#[cfg(test)]
mod tests;
