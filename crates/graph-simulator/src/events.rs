//! The tenant's activity log: method registrations, self-service password resets, sign-ins and
//! password changes, generated deterministically from the seed and consistent with the users (a
//! user registers and signs in only with methods they hold). Every activity report (the legacy `reportRoot` ones and
//! those of Microsoft Graph, "Authentication methods usage insights overview"
//! (<https://learn.microsoft.com/graph/api/resources/authenticationmethods-usage-insights-overview>)) is an aggregate or
//! a listing of this one log, so the reports agree with each other and tests can compute the truth from
//! `Population::events` alone.
//!
//! Volumes over [`EVENT_SPAN`] (35 days, so the `d30` windows are always full and there is older
//! data for boundary checks): members sign in about 5 times, admins 10, guests once or twice;
//! 3–15% of users register a method, a few percent reset their password. Failure ratios are a few
//! percent for sign-ins and 10–20% for registrations, with the reasons of [`FAILURE_REASONS`].
//! Above about 200 000 users the sign-in volume per user is scaled down so that the log stays near
//! one million sign-ins: a million-user tenant then costs about 10% more memory, not 5 times more.

use std::time::Duration;

use time::OffsetDateTime;

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A user registered, or tried to register, an authentication method (feature `registration`).
    Registration,
    /// A self-service password reset (feature `reset`): the method is the one used to verify.
    Reset,
    /// An interactive sign-in; `multi_factor` says whether it satisfied MFA.
    SignIn,
    /// An administrator reset the user's password (`passwordResetsByAdminCount`; method `password`).
    AdminPasswordReset,
    /// The user changed their own password (`changePasswordSelfServiceCount`; method `password`).
    PasswordChange,
}

/// One entry of the activity log. Strings are `&'static str` from the tables below, which keeps an
/// event at 56 bytes (a `String` would triple that for a million-user tenant); tests that inject
/// their own events can use literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimEvent {
    /// When it happened: whole seconds, never after `Population::refreshed_at`.
    pub at: OffsetDateTime,
    /// Index into `Population::users`. Events whose index is out of range (a test truncated the
    /// users) are ignored by every report.
    pub user: u32,
    pub kind: EventKind,
    /// The method in the vocabulary of the newer reports: for `Registration` one of
    /// [`REGISTRATION_ACTIVITY_METHODS`] (or `passKeySynced`), for `Reset` one of
    /// [`RESET_ACTIVITY_METHODS`], for `SignIn` one of [`SIGN_IN_METHODS`], `password` for the two
    /// password kinds. The legacy reports translate it with `legacy_usage_auth_method`.
    pub method: &'static str,
    pub success: bool,
    /// One of [`FAILURE_REASONS`] when `success` is false, `None` otherwise.
    pub failure_reason: Option<&'static str>,
    /// Sign-ins only: whether the sign-in satisfied multifactor authentication (passwordless methods
    /// and password + second factor do; password alone and SMS sign-in do not).
    pub multi_factor: bool,
}

/// How far back the generated log reaches before `refreshed_at`.
pub const EVENT_SPAN: Duration = Duration::from_secs(35 * 86_400);

/// `userRegistrationActivity` rows for feature `registration`, in the order of the documentation
/// example (Microsoft Graph, "authenticationMethodsRoot: userRegistrationActivity"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-userregistrationactivity?view=graph-rest-beta>)).
/// All are `usageAuthMethod` members and `methodsRegistered` values.
pub const REGISTRATION_ACTIVITY_METHODS: [&str; 17] = [
    "windowsHelloForBusiness",
    "microsoftAuthenticatorPush",
    "email",
    "mobilePhone",
    "officePhone",
    "alternateMobilePhone",
    "securityQuestion",
    "softwareOneTimePasscode",
    "hardwareOneTimePasscode",
    "fido2SecurityKey",
    "temporaryAccessPass",
    "microsoftAuthenticatorPasswordless",
    "macOsSecureEnclaveKey",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "externalAuthMethod",
];

/// `userRegistrationActivity` rows for feature `reset`, in documentation order (Microsoft Graph,
/// "authenticationMethodsRoot: userRegistrationActivity"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-userregistrationactivity?view=graph-rest-beta>)).
/// `sms` is a code sent by text to the mobile phone, `mobilePhone` a voice call to it.
pub const RESET_ACTIVITY_METHODS: [&str; 8] = [
    "email",
    "mobilePhone",
    "officePhone",
    "alternateMobilePhone",
    "securityQuestion",
    "microsoftAuthenticatorPush",
    "sms",
    "oneTimePasscode",
];

/// `userSignInsByAuthMethodSummary` rows, in the order of the documentation example (Microsoft Graph,
/// "authenticationMethodsRoot: userSignInsByAuthMethodSummary"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersigninsbyauthmethodsummary?view=graph-rest-beta>);
/// a free string, so `password` and `smsSignIn` appear although they are no enum members).
pub const SIGN_IN_METHODS: [&str; 16] = [
    "password",
    "sms",
    "smsSignIn",
    "mobilePhone",
    "alternateMobilePhone",
    "officePhone",
    "microsoftAuthenticatorPush",
    "oneTimePasscode",
    "microsoftAuthenticatorPasswordless",
    "windowsHelloForBusiness",
    "fido2SecurityKey",
    "temporaryAccessPass",
    "macOsSecureEnclaveKey",
    "passKeyDeviceBound",
    "passKeySynced",
    "externalAuthMethod",
];

/// Every failure reason the log uses. Entra's audit and sign-in logs use short PascalCase result
/// reasons like these; the last one is the free-text example of Microsoft Graph, "List userCredentialUsageDetails"
/// (<https://learn.microsoft.com/graph/api/reportroot-list-usercredentialusagedetails?view=graph-rest-beta>), kept so
/// clients see that a reason can be a sentence. Registrations and resets (what userEventsSummary lists) use ten of
/// them: all but `BadPasswordAttempt` and `AccountLocked`, enough to overflow a "top 5 + other" cap; sign-ins use the
/// password ones and the verification ones; password changes use `PasswordPolicyViolation` and `BadPasswordAttempt`.
pub const FAILURE_REASONS: [&str; 12] = [
    "UserCancelled",
    "InvalidVerificationCode",
    "VerificationCodeExpired",
    "PhoneUnreachable",
    "SmsDeliveryFailed",
    "SecurityQuestionsIncorrect",
    "PasswordPolicyViolation",
    "KeyRegistrationFailed",
    "MfaDenied",
    "BadPasswordAttempt",
    "AccountLocked",
    "User contacted an admin after trying the email verification option",
];
/// The events in `(end - span, end]` of a time-sorted log (binary search; an unsorted log gives
/// some sub-slice, never a panic).
pub(crate) fn window(events: &[SimEvent], end: OffsetDateTime, span: Duration) -> &[SimEvent] {
    // A hand-made population may sit at the edge of the representable dates: clamp, never panic.
    let lower = time::Duration::try_from(span).ok().and_then(|s| end.checked_sub(s)).unwrap_or(end);
    let start = events.partition_point(|e| e.at <= lower);
    let stop = events.partition_point(|e| e.at <= end).max(start);
    &events[start..stop]
}

/// `featureType` of an event kind, for the registration and reset kinds.
pub(crate) fn feature(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::Registration => Some("registration"),
        EventKind::Reset => Some("reset"),
        _ => None,
    }
}

/// Sort a log by time, keeping the generation order of equal times (deterministic).
pub(crate) fn sort(events: &mut [SimEvent]) {
    events.sort_by_key(|e| e.at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_half_open_and_tolerate_unsorted_logs() {
        let ev = |secs: i64| SimEvent {
            at: OffsetDateTime::from_unix_timestamp(secs).unwrap(),
            user: 0,
            kind: EventKind::SignIn,
            method: "password",
            success: true,
            failure_reason: None,
            multi_factor: false,
        };
        let log: Vec<SimEvent> = [10, 20, 30, 40].into_iter().map(ev).collect();
        let end = OffsetDateTime::from_unix_timestamp(40).unwrap();
        let w = window(&log, end, Duration::from_secs(20));
        assert_eq!(w.iter().map(|e| e.at.unix_timestamp()).collect::<Vec<_>>(), [30, 40]);
        let unsorted: Vec<SimEvent> = [40, 10, 30, 20].into_iter().map(ev).collect();
        let _ = window(&unsorted, end, Duration::from_secs(20));
        assert_eq!(feature(EventKind::Reset), Some("reset"));
        assert_eq!(feature(EventKind::SignIn), None);
    }
}
