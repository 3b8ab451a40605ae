//! The evolvable enums the activity reports serve (Microsoft Graph, "Best practices for working with Microsoft Graph"
//! (<https://learn.microsoft.com/graph/best-practices-concept>), "Evolvable enums"; members as the Graph metadata lists
//! them), and the translation of the log's method names into the vocabulary of each report.
//!
//! Graph hides enum members declared after `unknownFutureValue` from callers that did not send
//! `Prefer: include-unknown-enum-members`, substituting `unknownFutureValue`. For `usageAuthMethod`
//! that hides nearly every modern method, so a client that forgets the header sees most rows as
//! `unknownFutureValue`. The same rule is applied to `registrationAuthMethod` (its
//! `externalAuthMethod` comes after the sentinel).

use axum::http::HeaderMap;

use super::events::EventKind;

/// `usageAuthMethod` members in CSDL order (index = numeric value; Microsoft Graph, "usageAuthMethod values"
/// (<https://learn.microsoft.com/graph/api/resources/usageauthmethod?view=graph-rest-beta>)).
pub const USAGE_AUTH_METHODS: [&str; 29] = [
    "email",
    "mobileSMS",
    "mobileCall",
    "officePhone",
    "securityQuestion",
    "appNotification",
    "appCode",
    "alternateMobileCall",
    "fido",
    "appPassword",
    "unknownFutureValue",
    "externalAuthMethod",
    "hardwareOneTimePasscode",
    "windowsHelloForBusiness",
    "microsoftAuthenticatorPasswordless",
    "temporaryAccessPass",
    "macOsSecureEnclaveKey",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "softwareOneTimePasscode",
    "microsoftAuthenticatorPush",
    "mobilePhone",
    "sms",
    "alternateMobilePhone",
    "fido2SecurityKey",
    "oneTimePasscode",
    "passKeySynced",
    "qrCode",
];

/// `registrationAuthMethod` members in CSDL order (Microsoft Graph, "credentialUserRegistrationDetails resource type"
/// (<https://learn.microsoft.com/graph/api/resources/credentialuserregistrationdetails?view=graph-rest-beta>)).
pub const REGISTRATION_AUTH_METHODS: [&str; 11] = [
    "email",
    "mobilePhone",
    "officePhone",
    "securityQuestion",
    "appNotification",
    "appCode",
    "alternateMobilePhone",
    "fido",
    "appPassword",
    "unknownFutureValue",
    "externalAuthMethod",
];

/// `featureType` (Microsoft Graph, "userRegistrationActivitySummary resource type"
/// (<https://learn.microsoft.com/graph/api/resources/userregistrationactivitysummary?view=graph-rest-beta>)).
pub(crate) const FEATURE_TYPES: [&str; 3] = ["registration", "reset", "unknownFutureValue"];

const SENTINEL: &str = "unknownFutureValue";

/// `value` as Graph serves a member of the enum `members`: itself when declared before
/// `unknownFutureValue` or when the caller opted in, `unknownFutureValue` otherwise. Values that
/// are not members at all (a test injected one) also become `unknownFutureValue` without opt-in.
pub(crate) fn render<'a>(members: &[&str], value: &'a str, include_unknown: bool) -> &'a str {
    if include_unknown {
        return value;
    }
    let sentinel = members.iter().position(|m| *m == SENTINEL).unwrap_or(members.len());
    match members.iter().position(|m| *m == value) {
        Some(i) if i <= sentinel => value,
        _ => SENTINEL,
    }
}

/// How a `usageAuthMethod` value reaches a client that did (`true`) or did not send
/// `Prefer: include-unknown-enum-members`. Public so tests can compute what a report shows.
pub fn usage_auth_method_as_served(method: &str, include_unknown_enum_members: bool) -> &str {
    render(&USAGE_AUTH_METHODS, method, include_unknown_enum_members)
}

/// Whether the request opted in to evolvable-enum members: any `Prefer` header listing
/// `include-unknown-enum-members` (several preferences may share one header, comma-separated).
pub(crate) fn include_unknown(headers: &HeaderMap) -> bool {
    headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',')
            .any(|p| p.split(';').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("include-unknown-enum-members")))
    })
}

/// The legacy reports' (`getCredentialUsageSummary`, `userCredentialUsageDetails`) name for an
/// event method. They predate the modern members and use the first ten `usageAuthMethod` names
/// where one fits (`appNotification` for Authenticator push, `mobileSMS` for a texted code,
/// `mobileCall` for a voice call); methods those names cannot express keep their modern member
/// name (which is after the sentinel, so it reads `unknownFutureValue` without the Prefer header).
pub fn legacy_usage_auth_method(kind: EventKind, method: &'static str) -> &'static str {
    match (kind, method) {
        (_, "email") => "email",
        (EventKind::Registration, "mobilePhone") => "mobileSMS",
        (_, "mobilePhone") => "mobileCall",
        (_, "sms") => "mobileSMS",
        (_, "officePhone") => "officePhone",
        (_, "alternateMobilePhone") => "alternateMobileCall",
        (_, "securityQuestion") => "securityQuestion",
        (_, "microsoftAuthenticatorPush") => "appNotification",
        (_, "softwareOneTimePasscode" | "oneTimePasscode") => "appCode",
        (_, "fido2SecurityKey") => "fido",
        (_, m) => m,
    }
}

/// The legacy `credentialUserRegistrationDetails.authMethods` (`registrationAuthMethod`) of a user's
/// `methodsRegistered`, deduplicated in order. FIDO2, Windows Hello and passkeys are not reported:
/// the legacy report never returned them (Microsoft Graph, "List credentialUserRegistrationDetails"
/// (<https://learn.microsoft.com/graph/api/reportroot-list-credentialuserregistrationdetails?view=graph-rest-beta>)).
pub fn legacy_registration_auth_methods(methods_registered: &[String]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for m in methods_registered {
        let legacy = match m.as_str() {
            "email" => "email",
            "mobilePhone" => "mobilePhone",
            "officePhone" => "officePhone",
            "securityQuestion" => "securityQuestion",
            "microsoftAuthenticatorPush" => "appNotification",
            "softwareOneTimePasscode" => "appCode",
            "alternateMobilePhone" => "alternateMobilePhone",
            "externalAuthMethod" => "externalAuthMethod",
            _ => continue,
        };
        if !out.contains(&legacy) {
            out.push(legacy);
        }
    }
    out
}

/// `registrationAuthMethod` as served, like [`usage_auth_method_as_served`].
pub(crate) fn registration_auth_method_as_served(method: &str, include_unknown: bool) -> &str {
    render(&REGISTRATION_AUTH_METHODS, method, include_unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn sentinel_rule() {
        assert_eq!(usage_auth_method_as_served("email", false), "email");
        assert_eq!(usage_auth_method_as_served("appPassword", false), "appPassword");
        assert_eq!(usage_auth_method_as_served("unknownFutureValue", false), "unknownFutureValue");
        assert_eq!(usage_auth_method_as_served("microsoftAuthenticatorPush", false), "unknownFutureValue");
        assert_eq!(usage_auth_method_as_served("microsoftAuthenticatorPush", true), "microsoftAuthenticatorPush");
        assert_eq!(usage_auth_method_as_served("notAMember", false), "unknownFutureValue");
        assert_eq!(registration_auth_method_as_served("externalAuthMethod", false), "unknownFutureValue");
        assert_eq!(registration_auth_method_as_served("appCode", false), "appCode");
        assert_eq!(USAGE_AUTH_METHODS[10], "unknownFutureValue");
        assert_eq!(USAGE_AUTH_METHODS[28], "qrCode");
    }

    #[test]
    fn prefer_header_forms() {
        let mut h = HeaderMap::new();
        assert!(!include_unknown(&h));
        h.insert("prefer", HeaderValue::from_static("odata.maxpagesize=10, Include-Unknown-Enum-Members"));
        assert!(include_unknown(&h));
        h.insert("prefer", HeaderValue::from_static("return=minimal"));
        h.append("prefer", HeaderValue::from_static("include-unknown-enum-members"));
        assert!(include_unknown(&h));
        h.insert("prefer", HeaderValue::from_static("include-unknown-enum-members-not"));
        assert!(!include_unknown(&h));
    }

    #[test]
    fn legacy_names() {
        assert_eq!(legacy_usage_auth_method(EventKind::Registration, "mobilePhone"), "mobileSMS");
        assert_eq!(legacy_usage_auth_method(EventKind::Reset, "mobilePhone"), "mobileCall");
        assert_eq!(legacy_usage_auth_method(EventKind::Reset, "oneTimePasscode"), "appCode");
        assert_eq!(
            legacy_usage_auth_method(EventKind::Registration, "windowsHelloForBusiness"),
            "windowsHelloForBusiness"
        );
        for m in crate::events::REGISTRATION_ACTIVITY_METHODS.iter().chain(&crate::events::RESET_ACTIVITY_METHODS) {
            for k in [EventKind::Registration, EventKind::Reset] {
                assert!(USAGE_AUTH_METHODS.contains(&legacy_usage_auth_method(k, m)), "{m}");
            }
        }
        let methods: Vec<String> =
            ["email", "fido2SecurityKey", "microsoftAuthenticatorPush", "email", "externalAuthMethod"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(legacy_registration_auth_methods(&methods), ["email", "appNotification", "externalAuthMethod"]);
    }
}
