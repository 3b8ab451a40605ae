//! Every metric family the exporter exports: name, help and label names. The README's metrics table
//! documents the same list; keep them in step.

pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    pub counter: bool,
}

const fn gauge(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Family {
    Family { name, help, labels, counter: false }
}

const fn counter(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Family {
    Family { name, help, labels, counter: true }
}

const TR: &[&str] = &["tenant", "report"];
const BREAKDOWN: &[&str] = &["tenant", "user_type", "user_role"];

pub const BUILD_INFO: &str = "entra_authmethods_build_info";
pub const CONFIG_RELOAD_SUCCESSFUL: &str = "entra_authmethods_config_last_reload_successful";
pub const CONFIG_RELOAD_SUCCESS_TIME: &str = "entra_authmethods_config_last_reload_success_timestamp_seconds";
pub const TENANT_INFO: &str = "entra_authmethods_tenant_info";
pub const POLL_SUCCESS: &str = "entra_authmethods_poll_success";
pub const LAST_SUCCESS: &str = "entra_authmethods_last_success_timestamp_seconds";
pub const POLL_DURATION: &str = "entra_authmethods_poll_duration_seconds";
pub const POLL_INTERVAL: &str = "entra_authmethods_poll_interval_seconds";
pub const POLLS: &str = "entra_authmethods_polls_total";
pub const POLL_FAILURES: &str = "entra_authmethods_poll_failures_total";
pub const GRAPH_REQUESTS: &str = "entra_authmethods_graph_requests_total";
pub const TOKEN_REQUESTS: &str = "entra_authmethods_token_requests_total";
pub const REPORT_AVAILABLE: &str = "entra_authmethods_report_available";
pub const LAST_ERROR_INFO: &str = "entra_authmethods_last_error_info";
pub const POLL_OVERRUN: &str = "entra_authmethods_poll_overrun";
pub const CLIENT_CERTIFICATE_EXPIRY: &str = "entra_authmethods_client_certificate_expiry_timestamp_seconds";
pub const CLIENT_CERTIFICATE_NOT_BEFORE: &str = "entra_authmethods_client_certificate_not_before_timestamp_seconds";
pub const USERS: &str = "entra_authmethods_users";
pub const BY_FEATURE: &str = "entra_authmethods_users_registered_by_feature";
pub const BY_METHOD: &str = "entra_authmethods_users_registered_by_method";
pub const BY_DEFAULT_METHOD: &str = "entra_authmethods_users_by_default_method";
pub const BY_METHODS_REGISTERED: &str = "entra_authmethods_users_by_methods_registered";
pub const REFRESH: &str = "entra_authmethods_report_refresh_timestamp_seconds";
pub const CREDENTIAL_REGISTRATIONS: &str = "entra_authmethods_credential_user_registrations";
pub const CREDENTIAL_USERS: &str = "entra_authmethods_credential_users";
pub const CREDENTIAL_USAGE: &str = "entra_authmethods_credential_usage_activities";
pub const CREDENTIAL_DETAILS_USERS: &str = "entra_authmethods_credential_details_users";
pub const CREDENTIAL_DETAILS_BY_STATUS: &str = "entra_authmethods_credential_details_users_by_status";
pub const CREDENTIAL_DETAILS_BY_METHOD: &str = "entra_authmethods_credential_details_users_by_method";
pub const CREDENTIAL_USAGE_EVENTS: &str = "entra_authmethods_credential_usage_events";
pub const CREDENTIAL_USAGE_FAILURES: &str = "entra_authmethods_credential_usage_event_failures";
pub const REGISTRATION_ACTIVITIES: &str = "entra_authmethods_registration_activities";
pub const SIGN_INS_BY_METHOD: &str = "entra_authmethods_sign_ins_by_method";
pub const USER_EVENTS: &str = "entra_authmethods_user_events";
pub const USER_EVENT_FAILURES: &str = "entra_authmethods_user_event_failures";
pub const MFA_SIGN_INS: &str = "entra_authmethods_mfa_sign_ins";
pub const MFA_SIGN_INS_DAY: &str = "entra_authmethods_mfa_sign_ins_day_timestamp_seconds";
pub const PASSWORD_RESETS: &str = "entra_authmethods_password_resets_and_changes";
pub const PASSWORD_RESETS_DAY: &str = "entra_authmethods_password_resets_and_changes_day_timestamp_seconds";

pub const FAMILIES: &[Family] = &[
    gauge(BUILD_INFO, "Always 1; labels carry the exporter's version and source revision.", &["version", "revision"]),
    gauge(
        CONFIG_RELOAD_SUCCESSFUL,
        "1 if the last configuration reload succeeded (or none was asked for), 0 if the new file was rejected and the previous configuration is still running.",
        &[],
    ),
    gauge(
        CONFIG_RELOAD_SUCCESS_TIME,
        "Unix time at which the running configuration was loaded (at start or by the last successful reload).",
        &[],
    ),
    gauge(
        TENANT_INFO,
        "Always 1; maps the tenant label to its Entra tenant ID and cloud.",
        &["tenant", "tenant_id", "cloud"],
    ),
    gauge(POLL_SUCCESS, "1 if the most recent background poll of the report succeeded, 0 if it failed.", TR),
    gauge(LAST_SUCCESS, "Unix time at which the last successful poll of the report completed.", TR),
    gauge(POLL_DURATION, "Wall time of the most recent poll of the report, successful or not.", TR),
    gauge(POLL_INTERVAL, "Configured interval between polls of the report.", TR),
    gauge(
        POLL_OVERRUN,
        "1 if the most recent poll took longer than the configured interval (polls then run back to back), else 0.",
        TR,
    ),
    counter(POLLS, "Polls of the report completed since the exporter started.", TR),
    counter(
        POLL_FAILURES,
        "Failed polls of the report since the exporter started, by failure reason.",
        &["tenant", "report", "reason"],
    ),
    counter(
        GRAPH_REQUESTS,
        "HTTP requests sent to Microsoft Graph by endpoint and status code (network or timeout when none); updated when a poll completes.",
        &["tenant", "endpoint", "code"],
    ),
    counter(
        TOKEN_REQUESTS,
        "Access-token requests to the Microsoft identity platform by outcome.",
        &["tenant", "outcome"],
    ),
    gauge(
        CLIENT_CERTIFICATE_EXPIRY,
        "Unix time at which the tenant's client certificate (notAfter) expires; read at each token request.",
        &["tenant"],
    ),
    gauge(
        CLIENT_CERTIFICATE_NOT_BEFORE,
        "Unix time from which the tenant's client certificate (notBefore) is valid; read at each token request. Entra refuses it before then.",
        &["tenant"],
    ),
    gauge(
        LAST_ERROR_INFO,
        "Always 1; the newest failed poll of the report: its failure reason and Graph's error code (none when Graph gave none).",
        &["tenant", "report", "reason", "graph_code"],
    ),
    gauge(
        REPORT_AVAILABLE,
        "1 if Graph serves the report for this tenant, 0 if it is retired, not offered in this cloud or needs an optional permission the app lacks.",
        TR,
    ),
    gauge(
        USERS,
        "Users in scope by user type and role (userRegistrationDetails: enabled users; or Microsoft's totalUserCount with the summary source). Cached from the last successful background poll of Microsoft Graph.",
        BREAKDOWN,
    ),
    gauge(
        BY_FEATURE,
        "Users registered for or capable of a feature (mfaCapable, ssprRegistered, passwordlessCapable, phishingResistantCapable, ...). Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "feature"],
    ),
    gauge(
        BY_METHOD,
        "Users who registered an authentication method, by Graph's method name. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "method"],
    ),
    gauge(
        BY_DEFAULT_METHOD,
        "Users by their preferred method for secondary authentication (unset when Graph has none). Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "method"],
    ),
    gauge(
        BY_METHODS_REGISTERED,
        "Users by number of distinct registered methods (0, 1, 2, 3, 4+). Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "methods"],
    ),
    gauge(
        REFRESH,
        "Newest lastUpdatedDateTime in userRegistrationDetails: when Microsoft last refreshed the report data. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant"],
    ),
    gauge(
        CREDENTIAL_REGISTRATIONS,
        "Users by registration status from the legacy getCredentialUserRegistrationCount report. Cached from a background poll.",
        &["tenant", "status"],
    ),
    gauge(
        CREDENTIAL_USERS,
        "Enabled users counted by getCredentialUserRegistrationCount. Cached from a background poll.",
        &["tenant"],
    ),
    gauge(
        CREDENTIAL_USAGE,
        "Registration and reset activities over the period from the legacy getCredentialUsageSummary report. Cached from a background poll.",
        &["tenant", "period", "feature", "method", "outcome"],
    ),
    gauge(
        CREDENTIAL_DETAILS_USERS,
        "Users listed by the legacy credentialUserRegistrationDetails report. Cached from a background poll.",
        &["tenant"],
    ),
    gauge(
        CREDENTIAL_DETAILS_BY_STATUS,
        "Users by registration status in the legacy credentialUserRegistrationDetails report. Cached from a background poll.",
        &["tenant", "status"],
    ),
    gauge(
        CREDENTIAL_DETAILS_BY_METHOD,
        "Users by registered method in the legacy credentialUserRegistrationDetails report. Cached from a background poll.",
        &["tenant", "method"],
    ),
    gauge(
        CREDENTIAL_USAGE_EVENTS,
        "Registration and reset events returned by the legacy userCredentialUsageDetails report. Cached from a background poll.",
        &["tenant", "feature", "method", "outcome"],
    ),
    gauge(
        CREDENTIAL_USAGE_FAILURES,
        "Failed events of the legacy userCredentialUsageDetails report by reason (top N, the rest as other). Cached from a background poll.",
        &["tenant", "feature", "reason"],
    ),
    gauge(
        REGISTRATION_ACTIVITIES,
        "Registration and reset activities over the period (userRegistrationActivity). Cached from a background poll.",
        &["tenant", "period", "feature", "method", "outcome"],
    ),
    gauge(
        SIGN_INS_BY_METHOD,
        "Successful sign-ins over the period by authentication method (userSignInsByAuthMethodSummary). Cached from a background poll.",
        &["tenant", "period", "method"],
    ),
    gauge(
        USER_EVENTS,
        "Registration and reset events within the lookback window (userEventsSummary). Cached from a background poll.",
        &["tenant", "feature", "method", "outcome"],
    ),
    gauge(
        USER_EVENT_FAILURES,
        "Failed registration and reset events within the lookback window by reason (top N, the rest as other). Cached from a background poll.",
        &["tenant", "feature", "reason"],
    ),
    gauge(
        MFA_SIGN_INS,
        "Sign-ins of the newest day in userMfaSignInSummary by kind (total, multi_factor, single_factor). Cached from a background poll.",
        &["tenant", "kind"],
    ),
    gauge(MFA_SIGN_INS_DAY, "Unix time of the day entra_authmethods_mfa_sign_ins counts.", &["tenant"]),
    gauge(
        PASSWORD_RESETS,
        "Password resets and changes of the newest day in userPasswordResetsAndChangesSummary by kind (admin_reset, self_service_reset, self_service_change). Cached from a background poll.",
        &["tenant", "kind"],
    ),
    gauge(
        PASSWORD_RESETS_DAY,
        "Unix time of the day entra_authmethods_password_resets_and_changes counts.",
        &["tenant"],
    ),
];
