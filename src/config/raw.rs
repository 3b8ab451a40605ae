//! The configuration as written by the operator (file and environment), before validation.
//! Every struct denies unknown fields so that a typo is an error, not a silently ignored key.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    /// Where the last good snapshots are kept across restarts.
    pub(crate) state_file: Option<PathBuf>,
    #[serde(default)]
    pub(crate) graph: RawGraph,
    #[serde(default)]
    pub(crate) sharding: RawSharding,
    #[serde(default, rename = "tenant")]
    pub(crate) tenants: Vec<RawTenant>,
    /// `[method_strength]`: method name → strength tier, over the defaults.
    #[serde(default)]
    pub(crate) method_strength: RawMethodStrength,
}

/// `[method_strength]`: method names are Graph's camelCase spellings, so its keys are free (not
/// checked against a schema) and set in the file only.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub(crate) struct RawMethodStrength(pub(crate) std::collections::BTreeMap<String, String>);

/// `[sharding]`: this replica's share of the tenants; the flags `--shard.index`/`--shard.count` win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSharding {
    pub(crate) index: Option<u32>,
    pub(crate) count: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawGraph {
    #[serde(with = "humantime_serde")]
    pub(crate) connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub(crate) request_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub(crate) poll_timeout: Duration,
    pub(crate) max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub(crate) retry_backoff_base: Duration,
    #[serde(with = "humantime_serde")]
    pub(crate) retry_backoff_max: Duration,
    pub(crate) page_size: u32,
    pub(crate) max_pages: u32,
    pub(crate) rate_limit_requests: u32,
    #[serde(with = "humantime_serde")]
    pub(crate) rate_limit_period: Duration,
    pub(crate) max_concurrent_polls: u32,
    pub(crate) max_method_values: u32,
}

impl Default for RawGraph {
    fn default() -> Self {
        RawGraph {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            poll_timeout: Duration::from_secs(3600),
            max_attempts: 5,
            retry_backoff_base: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(60),
            page_size: 1000,
            max_pages: 10_000,
            // Graph's "identity and access reports" quota: 5 requests per 10 seconds per app per tenant.
            rate_limit_requests: 5,
            rate_limit_period: Duration::from_secs(10),
            // Each poll holds one page in memory and one connection; tenants beyond this wait their turn.
            max_concurrent_polls: 16,
            // Method names beyond the documented ones a tenant may add as label values; the rest
            // fold into method="other".
            max_method_values: 64,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTenant {
    pub(crate) name: Option<String>,
    pub(crate) tenant_id: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) client_secret_file: Option<PathBuf>,
    /// PEM certificate (and its key unless `client_certificate_key_file` is set) for client assertions.
    pub(crate) client_certificate_file: Option<PathBuf>,
    pub(crate) client_certificate_key_file: Option<PathBuf>,
    /// `"secret"`, `"certificate"`, `"workload_identity"`, `"managed_identity"` or `"auto"`;
    /// default: from the keys present.
    pub(crate) credential: Option<String>,
    /// The managed-identity token endpoint (IMDS, or App Service's `IDENTITY_ENDPOINT`).
    pub(crate) managed_identity_endpoint: Option<String>,
    /// App Service's `IDENTITY_HEADER` value; when set the App Service protocol is spoken.
    pub(crate) managed_identity_header: Option<String>,
    pub(crate) cloud: Option<String>,
    pub(crate) graph_endpoint: Option<String>,
    pub(crate) login_endpoint: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) poll_interval: Option<Duration>,
    pub(crate) user_types: Option<Vec<String>>,
    pub(crate) user_roles: Option<Vec<String>>,
    pub(crate) registration_source: Option<String>,
    pub(crate) refresh_token_file: Option<PathBuf>,
    pub(crate) delegated_client_id: Option<String>,
    /// Object ids of groups whose members leave every count made from userRegistrationDetails.
    pub(crate) exclude_groups: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) reports: std::collections::BTreeMap<String, RawReport>,
    /// `[[tenant.group]]`: groups counted on their own.
    #[serde(default, rename = "group")]
    pub(crate) groups: Vec<RawGroup>,
}

/// `[[tenant.group]]`: a group whose members get their own counts (the `group` label).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroup {
    pub(crate) name: Option<String>,
    pub(crate) id: Option<String>,
}

/// `[tenant.reports.<name>]`: per-report overrides.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReport {
    pub(crate) enabled: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) lookback: Option<Duration>,
    pub(crate) max_failure_reasons: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) max_staleness: Option<Duration>,
}
