//! Every metric family the exporter exports: name, help, label names and what docs/metrics.md (the
//! metric contract, rendered from this table by [`super::contract::markdown`]) says of each: the
//! values of its labels, where its numbers come from, when it is exported and since which version.
//! tests/contract.rs fails when docs/metrics.md and this table disagree.

pub struct Family {
    pub name: &'static str,
    pub(crate) help: &'static str,
    pub labels: &'static [&'static str],
    pub(crate) counter: bool,
    /// The values of the labels this family does not share with others (see [`SHARED_LABELS`]).
    pub values: &'static [(&'static str, LabelValues)],
    /// Where the numbers come from: a Graph operation, or the exporter itself.
    pub(crate) source: &'static str,
    pub(crate) presence: Presence,
    /// The first version that exported the family, unchanged since.
    pub(crate) since: &'static str,
}

/// The values a label takes.
pub enum LabelValues {
    /// Exactly these, no others.
    Closed(&'static [&'static str]),
    /// An open set, described.
    Open(&'static str),
}

/// When a family has series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// From the first render on.
    Always,
    /// Once the first poll of the report ended, successfully or not.
    AfterPoll,
    /// Once a request of that endpoint got that answer (or none).
    AfterRequest,
    /// Once a poll of the report succeeded or found it unavailable, until its data is older than
    /// its `max_staleness`.
    Availability,
    /// While the report has data from a successful poll that is not older than its `max_staleness`.
    WithData,
    /// Once a poll of the report succeeded (or a state file restored one).
    AfterSuccess,
    /// Only after a poll of the report failed.
    AfterFailure,
    /// Only for a tenant with a certificate credential, once a token was requested with it.
    CertificateCredential,
    /// On Linux only (read from /proc).
    Linux,
    /// Only when `--web.config.file` turns TLS on.
    WebTls,
}

impl Presence {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Presence::Always => "always",
            Presence::AfterPoll => "once the report's first poll ended (successful or not)",
            Presence::AfterRequest => "per endpoint and code, once a request got that answer",
            Presence::Availability => {
                "once a poll found the report served or unavailable (or the cloud does not offer it), while that is no older than its `max_staleness`"
            }
            Presence::WithData => "while the report has data from a successful poll no older than its `max_staleness`",
            Presence::AfterSuccess => "once a poll of the report succeeded (or the state file restored one)",
            Presence::AfterFailure => "only after a poll of the report failed",
            Presence::CertificateCredential => {
                "only for tenants with a certificate credential, once a token was requested"
            }
            Presence::Linux => "on Linux only",
            Presence::WebTls => "only when the web configuration turns TLS on",
        }
    }
}

/// The version every family of the first release carries.
const V0_1_0: &str = "0.1.0";
/// The next release: families added since 0.1.0 (live sweep progress, the TLS serving certificate).
const V0_2_0: &str = "0.2.0";

const fn gauge(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Family {
    Family {
        name,
        help,
        labels,
        counter: false,
        values: &[],
        source: EXPORTER,
        presence: Presence::Always,
        since: V0_1_0,
    }
}

const fn counter(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Family {
    Family { counter: true, ..gauge(name, help, labels) }
}

impl Family {
    const fn from(self, source: &'static str) -> Family {
        Family { source, ..self }
    }

    const fn values(self, values: &'static [(&'static str, LabelValues)]) -> Family {
        Family { values, ..self }
    }

    const fn present(self, presence: Presence) -> Family {
        Family { presence, ..self }
    }

    const fn since(self, since: &'static str) -> Family {
        Family { since, ..self }
    }

    /// The values of `label`: the family's own, else the shared ones.
    pub fn label_values(&self, label: &str) -> Option<&'static LabelValues> {
        let own: &'static [(&'static str, LabelValues)] = self.values;
        own.iter().chain(SHARED_LABELS).find(|(name, _)| *name == label).map(|(_, v)| v)
    }
}

use LabelValues::{Closed, Open};

/// Labels with the same values in every family that has them.
pub const SHARED_LABELS: &[(&str, LabelValues)] = &[
    ("tenant", Open("the tenant's configured `name`")),
    (
        "report",
        Closed(&[
            "registration_details",
            "registration_summary",
            "credential_user_registration_count",
            "credential_usage_summary",
            "credential_user_registration_details",
            "user_credential_usage_details",
            "registration_activity",
            "sign_ins_by_method",
            "user_events_summary",
            "mfa_sign_in_summary",
            "password_resets_and_changes",
            "group_members",
        ]),
    ),
    ("user_type", Closed(&["all", "member", "guest"])),
    ("user_role", Closed(&["all", "admin", "user", "privilegedAdmin"])),
    ("group", Open("the `name` of one of the tenant's `[[tenant.group]]` tables")),
];

const FAILURE_REASONS: LabelValues = Closed(&[
    "throttled",
    "unauthorized",
    "forbidden",
    "not_found",
    "server_error",
    "timeout",
    "decode",
    "network",
    "config",
    "internal",
]);
const OUTCOMES: LabelValues = Closed(&["success", "failure"]);
const ACTIVITY_FEATURE: LabelValues = Open(
    "Graph's `feature` as it spells it: `registration`, `reset` (and the enum's `unknownFutureValue`); beyond these at most `graph.max_method_values` values per tenant (first seen first), `other` summing the rest's counts",
);
const EVENT_REASON: LabelValues = Open(
    "Graph's `failureReason` as it spells it, the `max_failure_reasons` most frequent per feature among the first 1,000 distinct reasons of the poll (exact when a feature has no more; each count by name is exact); `other` for the rest, `unspecified` when Graph gave none",
);
/// Per-user counts: `other` counts users with at least one folded method, each once.
const METHOD_PER_USER: LabelValues = Open(
    "Graph's method name as it spells it (`email`, `fido2`, …). Beyond the names any report documents (the `userRegistrationDetails` methods; the members of `usageAuthMethod`, such as `sms`, `appNotification`, `appCode`, `fido`, and of `registrationAuthMethod`; the sign-in summary's `password` and `smsSignIn`; `fido2`, `x509Certificate`, `certificateBasedAuthentication`), kept whichever report sends them, and those `[method_strength]` names, a tenant exports at most `graph.max_method_values` values (first seen first, kept while the exporter runs); the rest count as `other`: users with at least one folded method, each once",
);
/// Counts Graph aggregated, or events counted one by one: `other` sums the folded values' counts.
const METHOD_SUMMED: LabelValues = Open(
    "Graph's method name as it spells it (`email`, `fido2`, …). Beyond the names any report documents (as for `entra_authmethods_users_registered_by_method`: `sms`, `appCode`, … are always kept) and those `[method_strength]` names, a tenant exports at most `graph.max_method_values` values (first seen first, kept while the exporter runs); `other` is the sum of the folded values' counts",
);
/// `entra_authmethods_users_registered_by_method`, whose source decides what `other` is.
const METHOD_BY_SOURCE: LabelValues = Open(
    "Graph's method name as it spells it (`email`, `fido2`, …). Beyond the names any report documents (the `userRegistrationDetails` methods; the members of `usageAuthMethod`, such as `sms`, `appNotification`, `appCode`, `fido`, and of `registrationAuthMethod`; the sign-in summary's `password` and `smsSignIn`; `fido2`, `x509Certificate`, `certificateBasedAuthentication`), kept whichever report sends them, and those `[method_strength]` names, a tenant exports at most `graph.max_method_values` values (first seen first, kept while the exporter runs); the rest count as `other`: with the details source the users with at least one folded method, each once; with the summary source the sum of Graph's counts of the folded values",
);

const FEATURE_BY_SOURCE: LabelValues = Open(
    "with the details source exactly `mfaCapable`, `mfaRegistered`, `ssprRegistered`, `ssprEnabled`, `ssprCapable`, `passwordlessCapable`, `systemPreferredMethodEnabled`, `phishingResistantCapable`; with the summary source Graph's `authenticationMethodFeature` names as it sends them (`mfaCapable`, `ssprRegistered`, `ssprEnabled`, `ssprCapable`, `passwordlessCapable` today), and a name Microsoft adds is kept like a method name (at most `graph.max_method_values` beyond the documented ones, first seen first); the rest are summed into `other`",
);

/// The exporter's own state, no Graph operation.
const EXPORTER: &str = "the exporter itself";
const DETAILS: &str =
    "`GET /v1.0/reports/authenticationMethods/userRegistrationDetails` (report `registration_details`)";
const DETAILS_OR_SUMMARY: &str = "`GET /v1.0/reports/authenticationMethods/userRegistrationDetails` (report `registration_details`); with `registration_source = \"summary\"` `usersRegisteredByFeature` and `usersRegisteredByMethod` through `POST /v1.0/$batch` (report `registration_summary`)";
const CREDENTIAL_COUNT: &str =
    "`GET /beta/reports/getCredentialUserRegistrationCount` (report `credential_user_registration_count`)";
const CREDENTIAL_USAGE_SUMMARY: &str =
    "`GET /beta/reports/getCredentialUsageSummary(period='D1'|'D7'|'D30')` (report `credential_usage_summary`)";
const CREDENTIAL_DETAILS: &str =
    "`GET /beta/reports/credentialUserRegistrationDetails` (report `credential_user_registration_details`)";
const CREDENTIAL_USAGE_DETAILS: &str =
    "`GET /beta/reports/userCredentialUsageDetails` (report `user_credential_usage_details`)";
const REGISTRATION_ACTIVITY: &str = "`GET /beta/reports/authenticationMethods/userRegistrationActivity(period='d1'|'d7'|'d30')` (report `registration_activity`)";
const SIGN_INS: &str = "`GET /beta/reports/authenticationMethods/userSignInsByAuthMethodSummary(period='d1'|'d7'|'d30')` (report `sign_ins_by_method`)";
const USER_EVENTS_SUMMARY: &str =
    "`GET /beta/reports/authenticationMethods/userEventsSummary` (report `user_events_summary`)";
const MFA_SUMMARY: &str =
    "`GET /beta/reports/authenticationMethods/userMfaSignInSummary` (report `mfa_sign_in_summary`)";
const DETAILS_AND_GROUPS: &str = "`GET /v1.0/reports/authenticationMethods/userRegistrationDetails` (report `registration_details`) joined with `GET /v1.0/groups/{id}/transitiveMembers` (report `group_members`)";
const FEATURE_VALUES: LabelValues = Closed(&crate::aggregation::registration::FEATURES);
const PASSWORD_SUMMARY: &str = "`GET /beta/reports/authenticationMethods/userPasswordResetsAndChangesSummary` (report `password_resets_and_changes`)";

/// The standard process metrics of Prometheus' client libraries (src/snapshot/process.rs), appended
/// to every scrape on Linux: name and whether it is a counter.
pub const PROCESS_FAMILIES: &[(&str, bool)] = &[
    ("process_cpu_seconds_total", true),
    ("process_max_fds", false),
    ("process_open_fds", false),
    ("process_resident_memory_bytes", false),
    ("process_start_time_seconds", false),
    ("process_threads", false),
    ("process_virtual_memory_bytes", false),
];

const TR: &[&str] = &["tenant", "report"];
const BREAKDOWN: &[&str] = &["tenant", "user_type", "user_role"];

pub(crate) use super::family_names::*;

pub const FAMILIES: &[Family] = &[
    gauge(BUILD_INFO, "Always 1; labels carry the exporter's version and source revision.", &["version", "revision"])
        .values(&[
            ("version", Open("the exporter's version (`CARGO_PKG_VERSION`)")),
            ("revision", Open("the source revision it was built from (`ENTRA_AUTHMETHODS_REVISION` at build time), `unknown` when not given")),
        ]),
    gauge(
        WEB_TLS_CERTIFICATE_EXPIRY,
        "Unix time at which the certificate the exporter serves over TLS (notAfter) expires; follows its rotation.",
        &[],
    )
        .from("the web configuration's TLS certificate, read at start and when its file changes")
        .present(Presence::WebTls)
        .since(V0_2_0),
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
        SMS_VOICE_RETIREMENT,
        "Unix time from which Microsoft no longer sends MFA and SSPR codes or calls by SMS and voice, per audience (users: 2027-02-01; global_admins_and_external_users: 2027-07-01). A date of this release, not read from Graph.",
        &["audience"],
    )
        .values(&[("audience", Closed(&["users", "global_admins_and_external_users"]))])
        .since(V0_2_0),
    gauge(
        TENANT_INFO,
        "Always 1; maps the tenant label to its Entra tenant ID and cloud.",
        &["tenant", "tenant_id", "cloud"],
    )
        .values(&[
            ("tenant_id", Open("the tenant's Entra tenant ID (a GUID)")),
            ("cloud", Closed(&["global", "usgov", "usgov-dod", "china"])),
        ]),
    gauge(POLL_SUCCESS, "1 if the most recent background poll of the report succeeded, 0 if it failed.", TR)
        .present(Presence::AfterPoll),
    gauge(LAST_SUCCESS, "Unix time at which the last successful poll of the report completed.", TR)
        .present(Presence::AfterSuccess),
    gauge(POLL_DURATION, "Wall time of the most recent poll of the report, successful or not.", TR)
        .present(Presence::AfterPoll),
    gauge(POLL_INTERVAL, "Configured interval between polls of the report.", TR),
    gauge(
        POLL_OVERRUN,
        "1 if the most recent poll took longer than the configured interval (polls then run back to back), else 0.",
        TR,
    )
        .present(Presence::AfterPoll),
    gauge(
        POLL_IN_PROGRESS,
        "1 while a poll of the report runs (it holds its turn and sends requests), else 0; a poll waiting for its turn is not running yet.",
        TR,
    )
        .since(V0_2_0),
    gauge(
        POLL_PAGES_READ,
        "Pages read by the running poll of the report, or by the last poll while none runs; updated during a sweep (at most every few seconds).",
        TR,
    )
        .since(V0_2_0),
    counter(POLLS, "Polls of the report completed since the exporter started.", TR),
    counter(
        POLL_FAILURES,
        "Failed polls of the report since the exporter started, by failure reason.",
        &["tenant", "report", "reason"],
    )
        .values(&[("reason", FAILURE_REASONS)]),
    counter(
        GRAPH_REQUESTS,
        "HTTP requests sent to Microsoft Graph by endpoint and status code (network or timeout when none); updated when a poll completes.",
        &["tenant", "endpoint", "code"],
    )
        .from("every request to Microsoft Graph (`/v1.0/…`, `/beta/…`, `/v1.0/$batch`, `/v1.0/directoryRoles`, `/v1.0/groups/{id}/transitiveMembers`)")
        .values(&[
            ("endpoint", Open("Graph's operation name: `userRegistrationDetails`, `usersRegisteredByFeature`, `usersRegisteredByMethod`, `$batch`, `getCredentialUserRegistrationCount`, `getCredentialUsageSummary`, `credentialUserRegistrationDetails`, `userCredentialUsageDetails`, `userRegistrationActivity`, `userSignInsByAuthMethodSummary`, `userEventsSummary`, `userMfaSignInSummary`, `userPasswordResetsAndChangesSummary`, `directoryRoles`, `directoryRoleMembers`, `transitiveMembers`")),
            ("code", Open("the HTTP status code (`200`, `429`, …), or `network` or `timeout` when there was no answer")),
        ])
        .present(Presence::AfterRequest),
    counter(
        TOKEN_REQUESTS,
        "Access-token requests to the Microsoft identity platform by outcome.",
        &["tenant", "outcome"],
    )
        .from("the Microsoft identity platform's token endpoint (`POST /{tenant}/oauth2/v2.0/token`) or the managed-identity endpoint")
        .values(&[("outcome", OUTCOMES)]),
    gauge(
        CLIENT_CERTIFICATE_EXPIRY,
        "Unix time at which the tenant's client certificate (notAfter) expires; read at each token request.",
        &["tenant"],
    )
        .from("the tenant's client certificate file")
        .present(Presence::CertificateCredential),
    gauge(
        CLIENT_CERTIFICATE_NOT_BEFORE,
        "Unix time from which the tenant's client certificate (notBefore) is valid; read at each token request. Entra refuses it before then.",
        &["tenant"],
    )
        .from("the tenant's client certificate file")
        .present(Presence::CertificateCredential),
    gauge(
        LABEL_VALUES_FOLDED,
        "Distinct values of a label from Graph that the tenant's latest polls folded into other, because more than graph.max_method_values values beyond the documented ones were seen (method: every family with a method label but the default-method one; default_method: entra_authmethods_users_by_default_method; feature: the activity and event families; status: entra_authmethods_credential_registrations). At most 10000 per report and label are remembered, so 10000 means at least 10000. Not kept in the state file: 0 after a restart until the reports poll again.",
        &["tenant", "label"],
    )
        .from("the method names Graph returned in every report's latest successful poll")
        .values(&[("label", Closed(&["method", "default_method", "feature", "status"]))])
        .since(V0_2_0),
    gauge(
        LAST_ERROR_INFO,
        "Always 1; the newest failed poll of the report: its failure reason and Graph's error code (none when Graph gave none).",
        &["tenant", "report", "reason", "graph_code"],
    )
        .values(&[
            ("reason", FAILURE_REASONS),
            ("graph_code", Open("Graph's or Entra's error code (`Authentication_RequestFromNonPremiumTenantOrB2CTenant`, `invalid_client`, …); `none` when there was none, `other` for anything but a short identifier of letters, digits, `_` and `.`")),
        ])
        .present(Presence::AfterFailure),
    gauge(
        REPORT_AVAILABLE,
        "1 if Graph serves the report for this tenant, 0 if it is retired, not offered in this cloud or needs an optional permission the app lacks.",
        TR,
    )
        .from("every report's Graph operation (see the families below)")
        .present(Presence::Availability),
    gauge(
        USERS,
        "Users in scope by user type and role (userRegistrationDetails: enabled users; or Microsoft's totalUserCount with the summary source). Cached from the last successful background poll of Microsoft Graph.",
        BREAKDOWN,
    )
        .from(DETAILS_OR_SUMMARY)
        .present(Presence::WithData),
    gauge(
        BY_FEATURE,
        "Users registered for or capable of a feature (mfaCapable, ssprRegistered, passwordlessCapable, phishingResistantCapable, ...). Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "feature"],
    )
        .from(DETAILS_OR_SUMMARY)
        .values(&[("feature", FEATURE_BY_SOURCE)])
        .present(Presence::WithData),
    gauge(
        BY_METHOD,
        "Users who registered an authentication method, by Graph's method name. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "method"],
    )
        .from(DETAILS_OR_SUMMARY)
        .values(&[("method", METHOD_BY_SOURCE)])
        .present(Presence::WithData),
    gauge(
        BY_DEFAULT_METHOD,
        "Users by their preferred method for secondary authentication (unset when Graph has none). Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "method"],
    )
        .from(DETAILS)
        .values(&[
            ("method", Open("Graph's `userPreferredMethodForSecondaryAuthentication` as it spells it (`push`, `oath`, `voiceMobile`, `voiceAlternateMobile`, `voiceOffice`, `sms`, `none`, `unknownFutureValue`, …); `unset` when Graph gave null or an empty string. Beyond these, a tenant exports at most `graph.max_method_values` values (first seen first, kept while the exporter runs); `other` counts the users whose default is one of the rest")),
        ])
        .present(Presence::WithData),
    gauge(
        BY_METHODS_REGISTERED,
        "Users by number of distinct registered methods (0, 1, 2, 3, 4+). Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "methods"],
    )
        .from(DETAILS)
        .values(&[("methods", Closed(&["0", "1", "2", "3", "4+"]))])
        .present(Presence::WithData),
    gauge(
        BY_STRONGEST_METHOD,
        "Users by the strongest tier among their registered methods (phishingResistant > passwordless > mfa > phone > none); the five values sum to entra_authmethods_users of the breakdown, and phishingResistant equals the phishingResistantCapable feature. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "user_type", "user_role", "strength"],
    )
        .from(DETAILS)
        .values(&[("strength", Closed(&crate::aggregation::registration::STRENGTHS))])
        .present(Presence::WithData)
        .since(V0_2_0),
    gauge(
        EXCLUDED_USERS,
        "Users of userRegistrationDetails left out of every count made from it (users, features, methods, default method, methods registered, strength, groups) because an exclude_groups group holds them. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant"],
    )
        .from(DETAILS_AND_GROUPS)
        .present(Presence::WithData)
        .since(V0_2_0),
    gauge(
        GROUP_AVAILABLE,
        "1 if the group's members were read before the registration sweep whose numbers are exported, 0 if they could not be read (its group families are then absent; see entra_authmethods_last_error_info{report=\"group_members\"}).",
        &["tenant", "group"],
    )
        .from(DETAILS_AND_GROUPS)
        .present(Presence::WithData)
        .since(V0_2_0),
    gauge(
        GROUP_USERS,
        "Users of userRegistrationDetails who are transitive members of the group, after exclusions. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "group"],
    )
        .from(DETAILS_AND_GROUPS)
        .present(Presence::WithData)
        .since(V0_2_0),
    gauge(
        GROUP_BY_FEATURE,
        "Users of the group registered for or capable of a feature, counted as entra_authmethods_users_registered_by_feature counts the tenant's. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "group", "feature"],
    )
        .from(DETAILS_AND_GROUPS)
        .values(&[("feature", FEATURE_VALUES)])
        .present(Presence::WithData)
        .since(V0_2_0),
    gauge(
        GROUP_BY_STRONGEST_METHOD,
        "Users of the group by the strongest tier among their registered methods; the five values sum to entra_authmethods_group_users. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant", "group", "strength"],
    )
        .from(DETAILS_AND_GROUPS)
        .values(&[("strength", Closed(&crate::aggregation::registration::STRENGTHS))])
        .present(Presence::WithData)
        .since(V0_2_0),
    gauge(
        REFRESH,
        "Newest lastUpdatedDateTime in userRegistrationDetails: when Microsoft last refreshed the report data. Cached from the last successful background poll of Microsoft Graph.",
        &["tenant"],
    )
        .from(DETAILS)
        .present(Presence::WithData),
    gauge(
        CREDENTIAL_REGISTRATIONS,
        "Users by registration status from the legacy getCredentialUserRegistrationCount report. Cached from a background poll.",
        &["tenant", "status"],
    )
        .from(CREDENTIAL_COUNT)
        .values(&[
            ("status", Open("Graph's `registrationStatus` as it spells it: `registered`, `enabled`, `capable`, `mfaRegistered` (and `unknownFutureValue`); beyond these at most `graph.max_method_values` values per tenant (first seen first), `other` summing the rest's counts")),
        ])
        .present(Presence::WithData),
    gauge(
        CREDENTIAL_USERS,
        "Enabled users counted by getCredentialUserRegistrationCount. Cached from a background poll.",
        &["tenant"],
    )
        .from(CREDENTIAL_COUNT)
        .present(Presence::WithData),
    gauge(
        CREDENTIAL_USAGE,
        "Registration and reset activities over the period from the legacy getCredentialUsageSummary report. Cached from a background poll.",
        &["tenant", "period", "feature", "method", "outcome"],
    )
        .from(CREDENTIAL_USAGE_SUMMARY)
        .values(&[
            ("period", Closed(&["d1", "d7", "d30"])),
            ("feature", ACTIVITY_FEATURE),
            ("method", METHOD_SUMMED),
            ("outcome", OUTCOMES),
        ])
        .present(Presence::WithData),
    gauge(
        CREDENTIAL_DETAILS_USERS,
        "Users listed by the legacy credentialUserRegistrationDetails report. Cached from a background poll.",
        &["tenant"],
    )
        .from(CREDENTIAL_DETAILS)
        .present(Presence::WithData),
    gauge(
        CREDENTIAL_DETAILS_BY_STATUS,
        "Users by registration status in the legacy credentialUserRegistrationDetails report. Cached from a background poll.",
        &["tenant", "status"],
    )
        .from(CREDENTIAL_DETAILS)
        .values(&[("status", Closed(&["registered", "enabled", "capable", "mfaRegistered"]))])
        .present(Presence::WithData),
    gauge(
        CREDENTIAL_DETAILS_BY_METHOD,
        "Users by registered method in the legacy credentialUserRegistrationDetails report. Cached from a background poll.",
        &["tenant", "method"],
    )
        .from(CREDENTIAL_DETAILS)
        .values(&[("method", METHOD_PER_USER)])
        .present(Presence::WithData),
    gauge(
        CREDENTIAL_USAGE_EVENTS,
        "Registration and reset events returned by the legacy userCredentialUsageDetails report. Cached from a background poll.",
        &["tenant", "feature", "method", "outcome"],
    )
        .from(CREDENTIAL_USAGE_DETAILS)
        .values(&[("feature", ACTIVITY_FEATURE), ("method", METHOD_SUMMED), ("outcome", OUTCOMES)])
        .present(Presence::WithData),
    gauge(
        CREDENTIAL_USAGE_FAILURES,
        "Failed events of the legacy userCredentialUsageDetails report by reason (top N, the rest as other). Cached from a background poll.",
        &["tenant", "feature", "reason"],
    )
        .from(CREDENTIAL_USAGE_DETAILS)
        .values(&[("feature", ACTIVITY_FEATURE), ("reason", EVENT_REASON)])
        .present(Presence::WithData),
    gauge(
        REGISTRATION_ACTIVITIES,
        "Registration and reset activities over the period (userRegistrationActivity). Cached from a background poll.",
        &["tenant", "period", "feature", "method", "outcome"],
    )
        .from(REGISTRATION_ACTIVITY)
        .values(&[
            ("period", Closed(&["d1", "d7", "d30"])),
            ("feature", ACTIVITY_FEATURE),
            ("method", METHOD_SUMMED),
            ("outcome", OUTCOMES),
        ])
        .present(Presence::WithData),
    gauge(
        SIGN_INS_BY_METHOD,
        "Successful sign-ins over the period by authentication method (userSignInsByAuthMethodSummary). Cached from a background poll.",
        &["tenant", "period", "method"],
    )
        .from(SIGN_INS)
        .values(&[("period", Closed(&["d1", "d7", "d30"])), ("method", METHOD_SUMMED)])
        .present(Presence::WithData),
    gauge(
        USER_EVENTS,
        "Registration and reset events within the lookback window (userEventsSummary). Cached from a background poll.",
        &["tenant", "feature", "method", "outcome"],
    )
        .from(USER_EVENTS_SUMMARY)
        .values(&[("feature", ACTIVITY_FEATURE), ("method", METHOD_SUMMED), ("outcome", OUTCOMES)])
        .present(Presence::WithData),
    gauge(
        USER_EVENT_FAILURES,
        "Failed registration and reset events within the lookback window by reason (top N, the rest as other). Cached from a background poll.",
        &["tenant", "feature", "reason"],
    )
        .from(USER_EVENTS_SUMMARY)
        .values(&[("feature", ACTIVITY_FEATURE), ("reason", EVENT_REASON)])
        .present(Presence::WithData),
    gauge(
        MFA_SIGN_INS,
        "Sign-ins of the newest day in userMfaSignInSummary by kind (total, multi_factor, single_factor). Cached from a background poll.",
        &["tenant", "kind"],
    )
        .from(MFA_SUMMARY)
        .values(&[("kind", Closed(&["total", "multi_factor", "single_factor"]))])
        .present(Presence::WithData),
    gauge(MFA_SIGN_INS_DAY, "Unix time of the day entra_authmethods_mfa_sign_ins counts.", &["tenant"])
        .from(MFA_SUMMARY)
        .present(Presence::WithData),
    gauge(
        PASSWORD_RESETS,
        "Password resets and changes of the newest day in userPasswordResetsAndChangesSummary by kind (admin_reset, self_service_reset, self_service_change). Cached from a background poll.",
        &["tenant", "kind"],
    )
        .from(PASSWORD_SUMMARY)
        .values(&[("kind", Closed(&["admin_reset", "self_service_reset", "self_service_change"]))])
        .present(Presence::WithData),
    gauge(
        PASSWORD_RESETS_DAY,
        "Unix time of the day entra_authmethods_password_resets_and_changes counts.",
        &["tenant"],
    )
        .from(PASSWORD_SUMMARY)
        .present(Presence::WithData),
];
