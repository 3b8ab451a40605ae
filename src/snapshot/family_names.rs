//! The metric family names, one constant each, so that rendering, the family table and tests spell
//! each name once; and the dates that belong to a family rather than to Graph's answers.

pub(crate) const BUILD_INFO: &str = "entra_authmethods_build_info";
pub(crate) const WEB_TLS_CERTIFICATE_EXPIRY: &str = "entra_authmethods_web_tls_certificate_expiry_timestamp_seconds";
pub(crate) const CONFIG_RELOAD_SUCCESSFUL: &str = "entra_authmethods_config_last_reload_successful";
pub(crate) const CONFIG_RELOAD_SUCCESS_TIME: &str = "entra_authmethods_config_last_reload_success_timestamp_seconds";
pub(crate) const SMS_VOICE_RETIREMENT: &str = "entra_authmethods_sms_voice_retirement_timestamp_seconds";
pub(crate) const TENANT_INFO: &str = "entra_authmethods_tenant_info";

/// When Microsoft stops delivering MFA and SSPR codes and calls by SMS and voice, by `audience`:
/// 2027-02-01 for everyone but Global Administrators and external users, who follow on 2027-07-01
/// (Microsoft Entra, "SMS and voice retirement", updated 2026-09). Users whose strongest method is a
/// phone (`users_by_strongest_method{strength="phone"}`) are blocked at sign-in from then on, so the
/// dashboards count the days left and the phone-only alert runs in the 90 days before.
pub(crate) const SMS_VOICE_RETIREMENT_DATES: [(&str, i64); 2] =
    [("users", 1_801_440_000), ("global_admins_and_external_users", 1_814_400_000)];
pub(crate) const POLL_SUCCESS: &str = "entra_authmethods_poll_success";
pub(crate) const LAST_SUCCESS: &str = "entra_authmethods_last_success_timestamp_seconds";
pub(crate) const POLL_DURATION: &str = "entra_authmethods_poll_duration_seconds";
pub(crate) const POLL_INTERVAL: &str = "entra_authmethods_poll_interval_seconds";
pub(crate) const POLLS: &str = "entra_authmethods_polls_total";
pub(crate) const POLL_FAILURES: &str = "entra_authmethods_poll_failures_total";
pub(crate) const GRAPH_REQUESTS: &str = "entra_authmethods_graph_requests_total";
pub(crate) const TOKEN_REQUESTS: &str = "entra_authmethods_token_requests_total";
pub(crate) const REPORT_AVAILABLE: &str = "entra_authmethods_report_available";
pub(crate) const LAST_ERROR_INFO: &str = "entra_authmethods_last_error_info";
pub(crate) const POLL_OVERRUN: &str = "entra_authmethods_poll_overrun";
pub(crate) const POLL_IN_PROGRESS: &str = "entra_authmethods_poll_in_progress";
pub(crate) const POLL_PAGES_READ: &str = "entra_authmethods_poll_pages_read";
pub(crate) const CLIENT_CERTIFICATE_EXPIRY: &str = "entra_authmethods_client_certificate_expiry_timestamp_seconds";
pub(crate) const CLIENT_CERTIFICATE_NOT_BEFORE: &str =
    "entra_authmethods_client_certificate_not_before_timestamp_seconds";
pub(crate) const LABEL_VALUES_FOLDED: &str = "entra_authmethods_label_values_folded";
pub(crate) const USERS: &str = "entra_authmethods_users";
pub(crate) const BY_FEATURE: &str = "entra_authmethods_users_registered_by_feature";
pub(crate) const BY_METHOD: &str = "entra_authmethods_users_registered_by_method";
pub(crate) const BY_DEFAULT_METHOD: &str = "entra_authmethods_users_by_default_method";
pub(crate) const BY_METHODS_REGISTERED: &str = "entra_authmethods_users_by_methods_registered";
pub(crate) const BY_STRONGEST_METHOD: &str = "entra_authmethods_users_by_strongest_method";
pub(crate) const EXCLUDED_USERS: &str = "entra_authmethods_excluded_users";
pub(crate) const GROUP_USERS: &str = "entra_authmethods_group_users";
pub(crate) const GROUP_BY_FEATURE: &str = "entra_authmethods_group_users_registered_by_feature";
pub(crate) const GROUP_BY_STRONGEST_METHOD: &str = "entra_authmethods_group_users_by_strongest_method";
pub(crate) const GROUP_AVAILABLE: &str = "entra_authmethods_group_available";
pub(crate) const REFRESH: &str = "entra_authmethods_report_refresh_timestamp_seconds";
pub(crate) const CREDENTIAL_REGISTRATIONS: &str = "entra_authmethods_credential_user_registrations";
pub(crate) const CREDENTIAL_USERS: &str = "entra_authmethods_credential_users";
pub(crate) const CREDENTIAL_USAGE: &str = "entra_authmethods_credential_usage_activities";
pub(crate) const CREDENTIAL_DETAILS_USERS: &str = "entra_authmethods_credential_details_users";
pub(crate) const CREDENTIAL_DETAILS_BY_STATUS: &str = "entra_authmethods_credential_details_users_by_status";
pub(crate) const CREDENTIAL_DETAILS_BY_METHOD: &str = "entra_authmethods_credential_details_users_by_method";
pub(crate) const CREDENTIAL_USAGE_EVENTS: &str = "entra_authmethods_credential_usage_events";
pub(crate) const CREDENTIAL_USAGE_FAILURES: &str = "entra_authmethods_credential_usage_event_failures";
pub(crate) const REGISTRATION_ACTIVITIES: &str = "entra_authmethods_registration_activities";
pub(crate) const SIGN_INS_BY_METHOD: &str = "entra_authmethods_sign_ins_by_method";
pub(crate) const USER_EVENTS: &str = "entra_authmethods_user_events";
pub(crate) const USER_EVENT_FAILURES: &str = "entra_authmethods_user_event_failures";
pub(crate) const MFA_SIGN_INS: &str = "entra_authmethods_mfa_sign_ins";
pub(crate) const MFA_SIGN_INS_DAY: &str = "entra_authmethods_mfa_sign_ins_day_timestamp_seconds";
pub(crate) const PASSWORD_RESETS: &str = "entra_authmethods_password_resets_and_changes";
pub(crate) const PASSWORD_RESETS_DAY: &str = "entra_authmethods_password_resets_and_changes_day_timestamp_seconds";
