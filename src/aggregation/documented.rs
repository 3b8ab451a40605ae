//! The documented values of the labels whose values come from Graph and are bounded
//! (`[graph] max_method_values`, fold.rs): every member of every report's enum for that label,
//! whichever report it comes from. These are never folded into `other` and never take one of the
//! tenant's admitted slots.
//!
//! One kept set per label, the union over the reports, rather than one per call site: a label value
//! is spelled one way across families, and the admitted slots are shared by every report of the
//! tenant, so a per-report set would let a value documented for one report (`sms` in the sign-ins)
//! take a slot, or fold into `other`, when another report sent it first, and the same documented
//! name could then be `other` in one family and itself in another. The union is fixed and small (a
//! few dozen names), so keeping all of it costs nothing against what the bound is for: names Graph
//! invents.

use super::fold::BoundedLabel;
use super::legacy::STATUSES;
use super::registration::{KNOWN_DEFAULT_METHODS, KNOWN_METHODS};

/// Graph's sentinel of evolvable enums, itself a documented member of each enum below.
const UNKNOWN_FUTURE_VALUE: &str = "unknownFutureValue";

/// `usageAuthMethod`, the `authMethod` of getCredentialUsageSummary, userCredentialUsageDetails,
/// userRegistrationActivity and userEventsSummary (Microsoft Graph beta, "userEventsSummary resource
/// type" (<https://learn.microsoft.com/graph/api/resources/usereventssummary?view=graph-rest-beta>),
/// "userRegistrationActivitySummary resource type"
/// (<https://learn.microsoft.com/graph/api/resources/userregistrationactivitysummary?view=graph-rest-beta>),
/// "credentialUsageSummary resource type"
/// (<https://learn.microsoft.com/graph/api/resources/credentialusagesummary?view=graph-rest-beta>)).
pub(crate) const USAGE_AUTH_METHODS: [&str; 29] = [
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
    UNKNOWN_FUTURE_VALUE,
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

/// `registrationAuthMethod`, the `authMethods` of credentialUserRegistrationDetails (Microsoft Graph
/// beta, "credentialUserRegistrationDetails resource type"
/// (<https://learn.microsoft.com/graph/api/resources/credentialuserregistrationdetails?view=graph-rest-beta>)).
pub(crate) const REGISTRATION_AUTH_METHODS: [&str; 11] = [
    "email",
    "mobilePhone",
    "officePhone",
    "securityQuestion",
    "appNotification",
    "appCode",
    "alternateMobilePhone",
    "fido",
    "appPassword",
    UNKNOWN_FUTURE_VALUE,
    "externalAuthMethod",
];

/// The `authenticationMethod` of userSignInsByAuthMethodSummary is a free string: the
/// `usageAuthMethod` names plus these two of the documented example (Microsoft Graph beta,
/// "authenticationMethodsRoot: userSignInsByAuthMethodSummary"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersigninsbyauthmethodsummary?view=graph-rest-beta>)).
/// `password` is also a usersRegisteredByMethod value (Microsoft Graph, "authenticationMethodsRoot:
/// usersRegisteredByMethod" (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbymethod>)).
pub(crate) const SIGN_IN_METHODS: [&str; 2] = ["password", "smsSignIn"];

/// `featureType`, the `feature` of the activity and event reports (the usage pages above).
pub(crate) const FEATURE_TYPES: [&str; 3] = ["registration", "reset", UNKNOWN_FUTURE_VALUE];

/// `authenticationMethodFeature`, the features of usersRegisteredByFeature (Microsoft Graph,
/// "userRegistrationFeatureCount resource type",
/// <https://learn.microsoft.com/graph/api/resources/userregistrationfeaturecount>).
pub(crate) const AUTHENTICATION_METHOD_FEATURES: [&str; 6] =
    ["ssprRegistered", "ssprEnabled", "ssprCapable", "passwordlessCapable", "mfaCapable", UNKNOWN_FUTURE_VALUE];

/// The documented values of `label` in every report (for `method`, the `[method_strength]` names
/// are added by the caller; the default tiers' names, `fido2` and the certificate spellings among
/// them, come with them).
pub(crate) fn documented(label: BoundedLabel) -> Vec<&'static str> {
    let mut values: Vec<&'static str> = match label {
        // userRegistrationDetails' and usersRegisteredByMethod's free strings (KNOWN_METHODS), and
        // the enums of the activity, event and legacy reports.
        BoundedLabel::Method => KNOWN_METHODS
            .iter()
            .chain(&USAGE_AUTH_METHODS)
            .chain(&REGISTRATION_AUTH_METHODS)
            .chain(&SIGN_IN_METHODS)
            .copied()
            .collect(),
        // `userDefaultAuthenticationMethod` (KNOWN_DEFAULT_METHODS lists its members but the
        // sentinel, which is not exported as 0 when nobody has it).
        BoundedLabel::DefaultMethod => KNOWN_DEFAULT_METHODS.iter().copied().chain([UNKNOWN_FUTURE_VALUE]).collect(),
        // `featureType` of the activity and event reports, `authenticationMethodFeature` of the
        // registration summary (usersRegisteredByFeature), and the features the exporter derives.
        BoundedLabel::Feature => FEATURE_TYPES
            .iter()
            .chain(&AUTHENTICATION_METHOD_FEATURES)
            .chain(&crate::aggregation::registration::FEATURES)
            .copied()
            .collect(),
        // `registrationStatusType` (legacy.rs cites it), with its sentinel.
        BoundedLabel::Status => STATUSES.iter().copied().chain([UNKNOWN_FUTURE_VALUE]).collect(),
    };
    values.sort_unstable();
    values.dedup();
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_vocabulary_is_documented_for_its_label() {
        let methods = documented(BoundedLabel::Method);
        for m in ["sms", "appCode", "appNotification", "fido", "mobileSMS", "password", "smsSignIn"] {
            assert!(methods.contains(&m), "{m}");
        }
        assert!(!methods.contains(&"voiceMobile"), "a default method, not a method");
        assert!(methods.contains(&"passKeySynced") && methods.contains(&UNKNOWN_FUTURE_VALUE));
        assert!(methods.len() < 64, "a few dozen: {}", methods.len());
        assert!(documented(BoundedLabel::DefaultMethod).contains(&"voiceMobile"));
        let features = documented(BoundedLabel::Feature);
        for f in ["registration", "reset", "mfaCapable", "ssprRegistered", "passwordlessCapable", UNKNOWN_FUTURE_VALUE]
        {
            assert!(features.contains(&f), "{f}");
        }
        assert!(features.contains(&"phishingResistantCapable"), "the exporter's own features too");
        assert!(!features.contains(&"sms"), "a method, not a feature");
        assert!(documented(BoundedLabel::Status).contains(&"mfaRegistered"));
    }
}
