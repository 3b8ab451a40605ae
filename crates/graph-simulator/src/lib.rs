//! A Microsoft Graph simulator for the authentication-methods reports.
//!
//! Graph cannot be reached from the build and test machines, so integration tests and the
//! `--demo` mode talk to this instead. It serves, from one loopback listener:
//!
//! * `POST /{tenant}/oauth2/v2.0/token`: Entra's client-credentials flow (secret in the form or
//!   HTTP Basic), the device-code grant and the refresh-token grant (with rotation), with Entra's
//!   exact error bodies; tokens only for the Graph of the tenant's national cloud ([`SimCloud`]);
//! * `GET /{v1.0|beta}/reports/authenticationMethods/userRegistrationDetails[/{id}]` with
//!   `$top`, `$select`, `$filter`, `$orderby` and `$skiptoken` paging;
//! * `GET /{v1.0|beta}/reports/authenticationMethods/usersRegisteredByFeature(…)` and
//!   `usersRegisteredByMethod(…)` (delegated-only on Graph, so app-only tokens get 403);
//! * the beta reports: the legacy `reportRoot` ones
//!   (`getCredentialUserRegistrationCount`, `getCredentialUsageSummary(period)`,
//!   `credentialUserRegistrationDetails`, `userCredentialUsageDetails`, three of them retired by
//!   default, see [`RetirableReport`]) and the newer `userRegistrationActivity(period)`,
//!   `userSignInsByAuthMethodSummary(period)`, `userEventsSummary`, `userMfaSignInSummary`,
//!   `userPasswordResetsAndChangesSummary`, all computed from the population's activity log
//!   ([`SimEvent`]), honouring `Prefer: include-unknown-enum-members`;
//! * `GET /{v}/directoryRoles[/{id}|(roleTemplateId='…')][/members]`, for app-only clients that
//!   must find privileged admins themselves;
//! * `GET /{v}/groups/{id}/transitiveMembers[/microsoft.graph.user]`: the members of the
//!   population's groups ([`groups_of`]: nested groups, devices, paging), for clients that count a
//!   pilot group or leave break-glass accounts out;
//! * `POST /{v}/$batch` (JSON batching, up to 20 requests, each through the same handlers);
//! * `POST /{tenant}/oauth2/v2.0/devicecode`, the start of the device-code flow that gives
//!   delegated (signed-in user) tokens; [`RunningSimulator::approve_device_code`] plays the user;
//! * `GET /metadata/identity/oauth2/token` (Azure IMDS, header `Metadata: true`) and
//!   `GET /msi/token` (App Service, header `X-IDENTITY-HEADER`): managed-identity tokens for the
//!   [`SimManagedIdentity`]s configured, with the string-typed fields of the real endpoints.
//!
//! Every answer is computed from a deterministic synthetic [`Population`], so tests can compute
//! the expected numbers independently. Throttling, licences, permissions and token expiry behave
//! as Microsoft documents them (Microsoft Graph, "Microsoft Graph throttling guidance"
//! (<https://learn.microsoft.com/graph/throttling>), Microsoft Graph, "Microsoft Graph error responses and resource
//! types" (<https://learn.microsoft.com/graph/errors>), Microsoft identity platform, "OAuth 2.0 client credentials flow"
//! (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>)), and [`Fault`]s inject the
//! failures clients must survive.
//!
//! The simulator is a sibling of the Graph client, not a user of it: it imports nothing from the
//! rest of the crate and writes its JSON itself, so the two only meet over real HTTP.

mod access;
mod activity;
mod assertions;
mod batch;
mod catalog;
mod cloud;
mod collection;
mod conn;
mod daily;
mod delegated;
mod device_code;
mod directory_roles;
mod drift;
mod entra;
mod enums;
mod envelope;
mod event_gen;
mod event_list;
mod events;
mod faults;
mod groups;
mod legacy_reports;
mod managed_identity;
mod odata_filter;
mod population;
mod query;
mod registration_filter;
mod reports;
mod resolve;
mod rng;
mod routes;
mod rows;
mod state;
mod summary;
mod throttle;
mod timefmt;
mod tokens;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_beta;
#[cfg(test)]
mod tests_delegated;
#[cfg(test)]
mod tests_directory;
#[cfg(test)]
mod tests_filter_msgs;
#[cfg(test)]
mod tests_managed_identity;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use assertions::{AssertionKind, ClientAssertionSeen, FEDERATED_AUDIENCE};
pub use catalog::{
    FUTURE_METHODS, KNOWN_METHODS, PRIVILEGED_ROLES, is_passwordless_method, is_sspr_method, is_strong_mfa_method,
};
pub use cloud::SimCloud;
pub use daily::DAILY_ROWS;
pub use delegated::DEFAULT_USER_ROLES;
pub use directory_roles::{DIRECTORY_ROLES, directory_roles_of};
pub use enums::{
    REGISTRATION_AUTH_METHODS, USAGE_AUTH_METHODS, legacy_registration_auth_methods, legacy_usage_auth_method,
    usage_auth_method_as_served,
};
pub use events::{
    EVENT_SPAN, EventKind, FAILURE_REASONS, REGISTRATION_ACTIVITY_METHODS, RESET_ACTIVITY_METHODS, SIGN_IN_METHODS,
    SimEvent,
};
pub use faults::{Fault, TokenError};
pub use groups::{GROUP_NAMES, SimGroup, group_object_id, groups_of};
pub use managed_identity::{
    APP_SERVICE_TOKEN_PATH, IMDS_TOKEN_PATH, ManagedIdentityProtocol, ManagedIdentityRequestSeen, SimManagedIdentity,
};
pub use population::{Population, SimUser};

use conn::{ConnTap, SimListener};
use state::{Shared, TenantState};
use throttle::Throttle;

/// Tenant id of [`SimulatorConfig::single`], for demo configs and tests.
pub const DEMO_TENANT_ID: &str = "3f1c6a2e-9b1d-4c5e-8a7f-0d2b4e6c8a10";
/// Client (application) id of [`SimulatorConfig::single`].
pub const DEMO_CLIENT_ID: &str = "7a4d2c1b-5e3f-4a6b-9c8d-1e2f3a4b5c6d";
/// Client secret of [`SimulatorConfig::single`]. Public on purpose: it only opens the simulator.
pub const DEMO_CLIENT_SECRET: &str = "sim8Q~demo-secret-for-the-local-simulator-only";

/// Client id of the system-assigned managed identity of [`SimulatorConfig::single`].
pub const DEMO_MANAGED_IDENTITY_CLIENT_ID: &str = "5b0e8d3c-2a71-4f96-b8e4-6c1d9a2f7e30";
/// Client id of the user-assigned managed identity of [`SimulatorConfig::single`].
pub const DEMO_USER_ASSIGNED_CLIENT_ID: &str = "c9f2a6d4-8e13-4b57-a0c8-3d5e7f9b1a24";
/// Default App Service `X-IDENTITY-HEADER` secret ([`SimulatorConfig::identity_header`]).
/// Public on purpose: it only opens the simulator.
pub const DEMO_IDENTITY_HEADER: &str = "sim-identity-header-for-the-local-simulator-only";

/// Graph's documented identity-reports quota: 5 requests …
pub const DEFAULT_QUOTA_REQUESTS: u32 = 5;
/// … per 10 seconds, per app per tenant (Microsoft Graph, "Microsoft Graph service-specific throttling limits"
/// (<https://learn.microsoft.com/graph/throttling-limits>), identity and access reports).
pub const DEFAULT_QUOTA_WINDOW: Duration = Duration::from_secs(10);
/// Entra's usual `expires_in` for client-credentials tokens.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);
/// Entra's refresh-token inactivity window (90 days).
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 86_400);
/// Entra's device-code lifetime: "the user has 15 minutes to sign in".
pub const DEFAULT_DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(900);
/// Entra's device-code polling interval.
pub const DEFAULT_DEVICE_CODE_INTERVAL: Duration = Duration::from_secs(5);

/// Application permissions of the demo app in [`SimulatorConfig::single`]: everything the reports
/// and the directory-role lookup need, so the demo shows every report.
pub const DEMO_APP_ROLES: [&str; 4] =
    ["AuditLog.Read.All", "Reports.Read.All", "RoleManagement.Read.Directory", "GroupMember.Read.All"];

/// Beta reports that can be switched to "retired": they then answer like an API removed from the
/// schema, 400 `BadRequest` "Resource not found for the segment 'name'." (the real answer after
/// Microsoft's stop dates is UNCERTAIN; this is Graph's answer for names its metadata lacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetirableReport {
    /// `getCredentialUserRegistrationCount` (Microsoft Graph, "reportRoot: getCredentialUserRegistrationCount"
    /// (<https://learn.microsoft.com/graph/api/reportroot-getcredentialuserregistrationcount?view=graph-rest-beta>)).
    /// Live by default: no deprecation was announced.
    CredentialUserRegistrationCount,
    /// `getCredentialUsageSummary` (Microsoft Graph, "reportRoot: getCredentialUsageSummary"
    /// (<https://learn.microsoft.com/graph/api/reportroot-getcredentialusagesummary?view=graph-rest-beta>)). Retired by
    /// default: stopped August 1, 2025.
    CredentialUsageSummary,
    /// `credentialUserRegistrationDetails` (Microsoft Graph, "List credentialUserRegistrationDetails"
    /// (<https://learn.microsoft.com/graph/api/reportroot-list-credentialuserregistrationdetails?view=graph-rest-beta>)).
    /// Retired by default: stopped June 30, 2024.
    CredentialUserRegistrationDetails,
    /// `userCredentialUsageDetails` (Microsoft Graph, "List userCredentialUsageDetails"
    /// (<https://learn.microsoft.com/graph/api/reportroot-list-usercredentialusagedetails?view=graph-rest-beta>)).
    /// Retired by default: stopped August 1, 2025.
    UserCredentialUsageDetails,
    /// `userRegistrationActivity` (Microsoft Graph, "authenticationMethodsRoot: userRegistrationActivity"
    /// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-userregistrationactivity?view=graph-rest-beta>)).
    UserRegistrationActivity,
    /// `userSignInsByAuthMethodSummary` (Microsoft Graph, "authenticationMethodsRoot: userSignInsByAuthMethodSummary"
    /// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersigninsbyauthmethodsummary?view=graph-rest-beta>)).
    UserSignInsByAuthMethodSummary,
    /// `userEventsSummary` (Microsoft Graph, "List userEventsSummary"
    /// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-usereventssummary?view=graph-rest-beta>)).
    UserEventsSummary,
    /// `userMfaSignInSummary` (Microsoft Graph, "List userMfaSignInSummary"
    /// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-usermfasigninsummary?view=graph-rest-beta>)).
    UserMfaSignInSummary,
    /// `userPasswordResetsAndChangesSummary` (Microsoft Graph, "List userPasswordResetsAndChangesSummary"
    /// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userpasswordresetsandchangessummary?view=graph-rest-beta>)).
    UserPasswordResetsAndChangesSummary,
}

impl RetirableReport {
    /// Every report, in section order.
    pub const ALL: [RetirableReport; 9] = [
        RetirableReport::CredentialUserRegistrationCount,
        RetirableReport::CredentialUsageSummary,
        RetirableReport::CredentialUserRegistrationDetails,
        RetirableReport::UserCredentialUsageDetails,
        RetirableReport::UserRegistrationActivity,
        RetirableReport::UserSignInsByAuthMethodSummary,
        RetirableReport::UserEventsSummary,
        RetirableReport::UserMfaSignInSummary,
        RetirableReport::UserPasswordResetsAndChangesSummary,
    ];

    /// The reports retired on 2026-11-27, the default of [`SimulatorConfig::retired_reports`].
    pub const RETIRED_BY_DEFAULT: [RetirableReport; 3] = [
        RetirableReport::CredentialUsageSummary,
        RetirableReport::CredentialUserRegistrationDetails,
        RetirableReport::UserCredentialUsageDetails,
    ];

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// What to simulate. Build it with [`SimulatorConfig::single`] or a struct literal
/// (`..Default::default()` fills the quota and token lifetime with Graph's values).
#[derive(Clone)]
pub struct SimulatorConfig {
    pub tenants: Vec<SimTenantConfig>,
    /// Reports quota per (client id, tenant): requests allowed per window. Default 5 per 10 s
    /// (Graph's documented limit); tests that are not about throttling set it high.
    pub quota_requests: u32,
    /// The sliding window of the quota. `Duration::ZERO` disables throttling.
    pub quota_window: Duration,
    /// Lifetime of issued access tokens (default 3599 s; tests use short ones to exercise
    /// renewal). `expires_in` reports the whole seconds of it.
    pub token_lifetime: Duration,
    /// Lifetime of refresh tokens (default 90 days); expired ones get `invalid_grant` AADSTS700082.
    pub refresh_token_lifetime: Duration,
    /// How long a device code can be approved (default 900 s, `expires_in`).
    pub device_code_lifetime: Duration,
    /// Minimum time between device-code polls (default 5 s, `interval`, rounded up to whole
    /// seconds in the answer); faster polls get `slow_down`. Tests use short ones.
    pub device_code_interval: Duration,
    /// Reports answering as removed APIs at start; change at run time with
    /// [`RunningSimulator::set_retired`]. Default [`RetirableReport::RETIRED_BY_DEFAULT`].
    pub retired_reports: Vec<RetirableReport>,
    /// Managed identities attached to the simulated host, served by the IMDS and App Service
    /// endpoints. Default: none ([`SimulatorConfig::single`] adds two).
    pub managed_identities: Vec<SimManagedIdentity>,
    /// The `X-IDENTITY-HEADER` value the App Service endpoint requires (App Service's
    /// `IDENTITY_HEADER`); empty disables that endpoint. Default [`DEMO_IDENTITY_HEADER`].
    pub identity_header: String,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            tenants: Vec::new(),
            quota_requests: DEFAULT_QUOTA_REQUESTS,
            quota_window: DEFAULT_QUOTA_WINDOW,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            refresh_token_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
            device_code_lifetime: DEFAULT_DEVICE_CODE_LIFETIME,
            device_code_interval: DEFAULT_DEVICE_CODE_INTERVAL,
            retired_reports: RetirableReport::RETIRED_BY_DEFAULT.to_vec(),
            managed_identities: Vec::new(),
            identity_header: DEMO_IDENTITY_HEADER.to_owned(),
        }
    }
}

impl fmt::Debug for SimulatorConfig {
    /// The identity header is redacted, like the tenants' client secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("tenants", &self.tenants)
            .field("quota_requests", &self.quota_requests)
            .field("quota_window", &self.quota_window)
            .field("token_lifetime", &self.token_lifetime)
            .field("refresh_token_lifetime", &self.refresh_token_lifetime)
            .field("device_code_lifetime", &self.device_code_lifetime)
            .field("device_code_interval", &self.device_code_interval)
            .field("retired_reports", &self.retired_reports)
            .field("managed_identities", &self.managed_identities)
            .field("identity_header", &"<redacted>")
            .finish()
    }
}

impl SimulatorConfig {
    /// One licensed tenant ([`DEMO_TENANT_ID`], [`DEMO_CLIENT_ID`], [`DEMO_CLIENT_SECRET`]) whose
    /// app holds [`DEMO_APP_ROLES`] (AuditLog.Read.All, Reports.Read.All, GroupMember.Read.All,
    /// RoleManagement.Read.Directory), with Graph's default quota and token lifetime: the setup
    /// most tests and the demo start from. Tests remove permissions with
    /// [`RunningSimulator::set_app_roles`]. The host also has a system-assigned managed identity
    /// ([`DEMO_MANAGED_IDENTITY_CLIENT_ID`]) and a user-assigned one ([`DEMO_USER_ASSIGNED_CLIENT_ID`])
    /// in that tenant, both granted [`DEMO_APP_ROLES`].
    pub fn single(users: usize, seed: u64) -> Self {
        let roles: Vec<String> = DEMO_APP_ROLES.iter().map(|r| (*r).to_owned()).collect();
        let identity = |client_id: &str, system_assigned: bool| SimManagedIdentity {
            tenant_id: DEMO_TENANT_ID.to_owned(),
            client_id: client_id.to_owned(),
            system_assigned,
            app_roles: roles.clone(),
        };
        SimulatorConfig {
            managed_identities: vec![
                identity(DEMO_MANAGED_IDENTITY_CLIENT_ID, true),
                identity(DEMO_USER_ASSIGNED_CLIENT_ID, false),
            ],
            tenants: vec![SimTenantConfig {
                tenant_id: DEMO_TENANT_ID.to_owned(),
                client_id: DEMO_CLIENT_ID.to_owned(),
                client_secret: DEMO_CLIENT_SECRET.to_owned(),
                users,
                seed,
                licensed: true,
                app_roles: DEMO_APP_ROLES.iter().map(|r| (*r).to_owned()).collect(),
                cloud: SimCloud::Global,
            }],
            ..Default::default()
        }
    }
}

/// One simulated tenant and the one app registration allowed to get tokens for it.
#[derive(Clone)]
pub struct SimTenantConfig {
    /// A GUID string; matched case-insensitively, as Entra does.
    pub tenant_id: String,
    /// The app registration allowed to get tokens (the same app may be registered in several
    /// tenants, like a multi-tenant app).
    pub client_id: String,
    pub client_secret: String,
    /// Population size *including* disabled users (about 2%), which the report does not list;
    /// use [`Population::listed_count`] for the number of rows served.
    pub users: usize,
    /// Seed of the deterministic generator.
    pub seed: u64,
    /// `false`: every report answers 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`.
    pub licensed: bool,
    /// Application permissions granted (the token's `roles`); without `AuditLog.Read.All` the
    /// reports answer 403 `Authentication_MSGraphPermissionMissing` (`Reports.Read.All` for the
    /// legacy ones), without `RoleManagement.Read.Directory` (or `Directory.Read.All`) the directory
    /// roles answer 403 `Authorization_RequestDenied`.
    pub app_roles: Vec<String>,
    /// The national cloud the tenant lives in ([`SimCloud::Global`] in [`SimulatorConfig::single`]):
    /// the token endpoints issue tokens for that cloud's Graph only (scope `{graph}/.default`,
    /// managed-identity `resource` `{graph}/`). Another cloud's Graph behind another login host is
    /// refused with AADSTS90038, anything else with AADSTS70011 `invalid_scope` (managed identity:
    /// `invalid_resource` AADSTS50001).
    pub cloud: SimCloud,
}

impl fmt::Debug for SimTenantConfig {
    /// The secret is redacted so configs can be logged or printed by failing asserts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimTenantConfig")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("users", &self.users)
            .field("seed", &self.seed)
            .field("licensed", &self.licensed)
            .field("app_roles", &self.app_roles)
            .field("cloud", &self.cloud)
            .finish()
    }
}

/// Counters for assertions such as "the client respected the quota" or "paging fetched N pages".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Tokens issued.
    pub token_requests_ok: u64,
    /// Token requests refused (including injected `TokenFailure`s and wrong methods).
    pub token_requests_failed: u64,
    /// Graph requests per route, whatever their outcome, keyed `"{version}/{route}"`:
    /// `v1.0/userRegistrationDetails`, `beta/userRegistrationDetails/{id}`,
    /// `v1.0/usersRegisteredByFeature`, `v1.0/usersRegisteredByMethod`,
    /// `beta/getCredentialUserRegistrationCount`, `beta/getCredentialUsageSummary`,
    /// `beta/credentialUserRegistrationDetails`, `beta/userCredentialUsageDetails`,
    /// `beta/userRegistrationActivity`, `beta/userSignInsByAuthMethodSummary`,
    /// `beta/userEventsSummary`, `beta/userMfaSignInSummary`,
    /// `beta/userPasswordResetsAndChangesSummary`, `v1.0/directoryRoles`,
    /// `v1.0/directoryRoles/{id}`, `v1.0/directoryRoles/{id}/members`, `v1.0/groups/{id}/transitiveMembers`,
    /// `v1.0/groups/{id}/transitiveMembers/microsoft.graph.user`, `v1.0/$batch` (the batch
    /// itself; its inner requests count under their own routes); `unknown` for paths the simulator
    /// does not serve. Requests to retired reports count under their route.
    pub graph_requests: BTreeMap<String, u64>,
    /// 429 answers sent, from the quota or from `Fault::Throttle`.
    pub throttled: u64,
    /// userRegistrationDetails list pages answered with 200.
    pub pages_served: u64,
    /// Rows in those pages.
    pub rows_served: u64,
    /// Device codes handed out by `/devicecode`.
    pub device_code_requests: u64,
    /// Token requests with the device-code grant (every poll, pending or not).
    pub device_code_polls: u64,
    /// Tokens issued by the device-code grant.
    pub device_code_grants: u64,
    /// Tokens issued by the refresh-token grant.
    pub refresh_token_grants: u64,
    /// Tokens issued by the client-credentials grant, per `scope` as the client sent it
    /// (`https://dod-graph.microsoft.us/.default`, …), so tests can see which cloud was asked.
    pub token_scopes: BTreeMap<String, u64>,
    /// The most requests of any kind handled at the same moment, so tests can check a client's
    /// concurrency limit from the server's side.
    pub max_in_flight: u64,
}

impl SimStats {
    /// Requests to one route across both versions, e.g. `requests_to("userRegistrationDetails")`.
    pub fn requests_to(&self, route: &str) -> u64 {
        self.graph_requests
            .iter()
            .filter(|(k, _)| k.split_once('/').is_some_and(|(_, r)| r == route))
            .map(|(_, n)| n)
            .sum()
    }

    /// All Graph requests, served or not.
    pub fn graph_requests_total(&self) -> u64 {
        self.graph_requests.values().sum()
    }
}

/// Start a simulator on `addr` (use port 0 for an ephemeral port) and serve it in a background
/// tokio task until [`RunningSimulator::shutdown`] or drop. Populations are generated before this
/// returns (a million users take a few seconds).
///
/// Only loopback addresses are accepted: the simulator hands out tokens for a fixed secret and
/// must never be reachable from the network. Invalid configs (no tenants, duplicate tenant ids)
/// are refused too.
pub async fn start(config: SimulatorConfig, addr: SocketAddr) -> io::Result<RunningSimulator> {
    if !addr.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the Graph simulator binds loopback addresses only, not {addr}"),
        ));
    }
    if config.tenants.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the Graph simulator needs at least one tenant"));
    }
    for (i, t) in config.tenants.iter().enumerate() {
        if config.tenants[..i].iter().any(|o| o.tenant_id.eq_ignore_ascii_case(&t.tenant_id)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("duplicate simulator tenant id {}", t.tenant_id),
            ));
        }
    }

    managed_identity::validate(&config.managed_identities, |id| {
        config.tenants.iter().any(|t| t.tenant_id.eq_ignore_ascii_case(id))
    })
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;

    // Generation is CPU-bound; keep it off the async workers.
    let specs: Vec<(usize, u64)> = config.tenants.iter().map(|t| (t.users, t.seed)).collect();
    let retired = config.retired_reports.iter().fold(0u32, |bits, r| bits | r.bit());
    let now = OffsetDateTime::now_utc();
    let populations = tokio::task::spawn_blocking(move || {
        specs.into_iter().map(|(n, seed)| Population::generate_at(n, seed, now)).collect::<Vec<_>>()
    })
    .await
    .map_err(io::Error::other)?;

    let tenants = config
        .tenants
        .into_iter()
        .zip(populations)
        .map(|(t, p)| TenantState {
            tenant_id: t.tenant_id,
            client_id: t.client_id,
            client_secret: t.client_secret,
            app_credentials: Default::default(),
            app_roles: RwLock::new(t.app_roles),
            seed: t.seed,
            cloud: t.cloud,
            licensed: AtomicBool::new(t.licensed),
            population: RwLock::new(Arc::new(p)),
            drift_steps: AtomicU64::new(0),
        })
        .collect();
    let shared = Arc::new(Shared {
        tenants,
        tokens: Default::default(),
        faults: Default::default(),
        throttle: Throttle::new(config.quota_requests, config.quota_window),
        stats: Default::default(),
        token_lifetime: config.token_lifetime,
        local_addr,
        order_cache: Default::default(),
        device_codes: Default::default(),
        refresh_tokens: Default::default(),
        device_code_lifetime: config.device_code_lifetime,
        device_code_interval: config.device_code_interval,
        refresh_token_lifetime: config.refresh_token_lifetime,
        retired: AtomicU32::new(retired),
        managed_identities: config.managed_identities,
        identity_header: config.identity_header,
        last_managed_identity: Default::default(),
    });

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let app = routes::router(shared.clone()).into_make_service_with_connect_info::<ConnTap>();
    let server = axum::serve(SimListener { inner: listener }, app).with_graceful_shutdown(async {
        let _ = stop_rx.await;
    });
    let task = tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::warn!(error = %e, "Graph simulator stopped with an error");
        }
    });
    tracing::info!(addr = %local_addr, "Graph simulator listening");
    Ok(RunningSimulator { shared, addr: local_addr, stop: Some(stop_tx), task: Some(task) })
}

/// Handle on a running simulator: where it listens, and the switches tests pull. Dropping it
/// stops the server (gracefully, in the background).
pub struct RunningSimulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// How long `shutdown` waits for in-flight requests (a `Slow` fault, say) before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

impl RunningSimulator {
    /// The bound address (with the actual port when 0 was requested).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the Graph base (append `/v1.0` or `/beta`) and the login authority
    /// (append `/{tenant}/oauth2/v2.0/token`) at once.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn tenant(&self, tenant_id: &str) -> &TenantState {
        match self.shared.tenant(tenant_id) {
            Some(t) => t,
            None => panic!("the simulator has no tenant {tenant_id}"),
        }
    }

    /// Registers a certificate (PEM) on the app registration of `tenant_id`, as uploading it under
    /// "Certificates & secrets" does; client assertions signed by its key are accepted from then on.
    /// Returns its `x5t#S256` thumbprint.
    ///
    /// # Panics
    /// If the tenant is not configured or the PEM holds no certificate (a test bug).
    pub fn register_certificate(&self, tenant_id: &str, pem: &str) -> String {
        faults::lock(&self.tenant(tenant_id).app_credentials)
            .add_certificate(pem)
            .unwrap_or_else(|e| panic!("register_certificate: {e}"))
    }

    /// Adds a federated identity credential (issuer, subject; audience `api://AzureADTokenExchange`)
    /// to the app registration of `tenant_id`.
    pub fn register_federated_credential(&self, tenant_id: &str, issuer: &str, subject: &str) {
        faults::lock(&self.tenant(tenant_id).app_credentials).add_federated(issuer, subject);
    }

    /// The last client assertion (certificate or federated) the token endpoint accepted for `tenant_id`.
    pub fn last_client_assertion(&self, tenant_id: &str) -> Option<ClientAssertionSeen> {
        faults::lock(&self.tenant(tenant_id).app_credentials).last()
    }

    /// The last managed-identity token request that got a token (IMDS or App Service).
    pub fn last_managed_identity_request(&self) -> Option<ManagedIdentityRequestSeen> {
        faults::lock(&self.shared.last_managed_identity).clone()
    }

    /// The population currently served for `tenant_id`.
    ///
    /// # Panics
    /// If the tenant is not configured (a test bug).
    pub fn population(&self, tenant_id: &str) -> Arc<Population> {
        self.tenant(tenant_id).population()
    }

    /// Serve `population` for `tenant_id` from now on. Pages already being written finish with
    /// the old snapshot; skiptokens keep working as table positions.
    ///
    /// # Panics
    /// If the tenant is not configured.
    pub fn set_population(&self, tenant_id: &str, mut population: Population) {
        if !population.events.is_sorted_by(|a, b| a.at <= b.at) {
            population.sort_events();
        }
        self.tenant(tenant_id).set_population(Arc::new(population));
    }

    /// One step of demo drift (see [`Population::drift`]): adoption grows, every tenth step some
    /// users lose a method, activity is appended to the log, and the report refresh time moves to
    /// now. O(users + events).
    ///
    /// # Panics
    /// If the tenant is not configured.
    pub fn drift(&self, tenant_id: &str) {
        let t = self.tenant(tenant_id);
        let step = t.drift_steps.fetch_add(1, Ordering::Relaxed);
        let mut next = Population::clone(&t.population());
        next.drift(t.seed, step, OffsetDateTime::now_utc());
        t.set_population(Arc::new(next));
    }

    /// Queue a fault; see [`Fault`] for what each does and which requests consume it.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.faults.push(fault);
    }

    /// Switch a tenant's P1/P2 licence (403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`
    /// on every report while off).
    ///
    /// # Panics
    /// If the tenant is not configured.
    pub fn set_licensed(&self, tenant_id: &str, licensed: bool) {
        self.tenant(tenant_id).licensed.store(licensed, Ordering::Relaxed);
    }

    /// Faults queued and not yet consumed, so a test can assert its faults actually fired.
    pub fn pending_faults(&self) -> usize {
        self.shared.faults.len()
    }

    /// Invalidate every access token issued so far: Graph answers 401 `InvalidAuthenticationToken`
    /// until the client gets a new token.
    pub fn revoke_tokens(&self) {
        self.shared.tokens.revoke_all();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        self.shared.stats.snapshot()
    }

    /// Stop accepting connections, let in-flight requests finish (up to a short grace period),
    /// and wait for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
        }
    }

    /// Switch a report between live and retired (answering 400 like a removed API).
    pub fn set_retired(&self, report: RetirableReport, retired: bool) {
        self.shared.set_retired(report, retired);
    }

    /// Whether `report` is retired now.
    pub fn is_retired(&self, report: RetirableReport) -> bool {
        self.shared.is_retired(report)
    }

    /// Replace the application permissions granted to a tenant's app. Like Entra, tokens already
    /// issued keep the roles they were issued with; the next client-credentials token carries the
    /// new set (call [`RunningSimulator::revoke_tokens`] to force that at once).
    ///
    /// # Panics
    /// If the tenant is not configured.
    pub fn set_app_roles(&self, tenant_id: &str, roles: Vec<String>) {
        self.tenant(tenant_id).set_app_roles(roles);
    }

    /// The signed-in user approves the device code shown as `user_code` (case-insensitive; dashes
    /// and spaces ignored), with the directory roles of [`DEFAULT_USER_ROLES`] (Reports Reader).
    /// `false` if no such pending, unexpired code exists.
    pub fn approve_device_code(&self, user_code: &str) -> bool {
        self.approve_device_code_with_roles(user_code, DEFAULT_USER_ROLES.iter().map(|r| (*r).to_owned()).collect())
    }

    /// Like [`RunningSimulator::approve_device_code`], signing in a user with these directory
    /// roles: without a reports role (Reports Reader, Security Reader, Global Reader, …) the reports
    /// answer 403 `Authentication_RequestFromUnsupportedUserRole`.
    pub fn approve_device_code_with_roles(&self, user_code: &str, user_roles: Vec<String>) -> bool {
        self.shared.device_codes.approve(user_code, user_roles)
    }

    /// The user declines: the next poll gets `authorization_declined`. `false` if no such pending code.
    pub fn decline_device_code(&self, user_code: &str) -> bool {
        self.shared.device_codes.decline(user_code)
    }

    /// Every outstanding device code expires now: polls get `expired_token`.
    pub fn expire_device_codes(&self) {
        self.shared.device_codes.expire_all();
    }

    /// Revoke every refresh token issued so far (as after a password reset or "revoke sessions"):
    /// redeeming one gets `invalid_grant` AADSTS50173. Access tokens stay valid until they expire.
    pub fn revoke_refresh_tokens(&self) {
        self.shared.refresh_tokens.revoke_all();
    }

    /// Mint a valid refresh token for the tenant's app directly, as if a user with
    /// [`DEFAULT_USER_ROLES`] had signed in with `https://graph.microsoft.com/.default offline_access`
    /// (for the demo and tests that do not want to drive the device-code flow). It becomes
    /// [`RunningSimulator::last_refresh_token`].
    ///
    /// # Panics
    /// If the tenant is not configured.
    pub fn issue_refresh_token(&self, tenant_id: &str) -> String {
        let t = self.tenant(tenant_id);
        let scopes = delegated::CONSENTED_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let roles = DEFAULT_USER_ROLES.iter().map(|r| (*r).to_owned()).collect();
        delegated::mint_refresh_token(&self.shared, t, scopes, roles)
    }

    /// The newest refresh token issued for the tenant (by a grant or by
    /// [`RunningSimulator::issue_refresh_token`]), to check that a client persisted the rotation.
    pub fn last_refresh_token(&self, tenant_id: &str) -> Option<String> {
        self.shared.refresh_tokens.last(tenant_id)
    }

    /// Issue a delegated access token directly, for unit tests of the delegated-only routes.
    #[cfg(test)]
    pub(crate) fn issue_delegated_token(&self, tenant_id: &str, scopes: &[&str]) -> String {
        self.issue_delegated_token_with_roles(tenant_id, scopes, &DEFAULT_USER_ROLES)
    }

    #[cfg(test)]
    pub(crate) fn issue_delegated_token_with_roles(&self, tenant_id: &str, scopes: &[&str], roles: &[&str]) -> String {
        let t = self.tenant(tenant_id);
        self.shared.tokens.issue(tokens::TokenRecord {
            tenant_id: t.tenant_id.clone(),
            client_id: t.client_id.clone(),
            kind: tokens::TokenKind::Delegated,
            roles: Vec::new(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            user_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            expires_at: std::time::Instant::now() + Duration::from_secs(3600),
        })
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl fmt::Debug for RunningSimulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningSimulator").field("addr", &self.addr).finish_non_exhaustive()
    }
}
