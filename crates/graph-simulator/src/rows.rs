//! `userRegistrationDetails` rows as JSON, written by hand straight from `SimUser` into the page
//! buffer: property order follows the documentation examples (the v1.0 and beta examples of Microsoft Graph, "List
//! userRegistrationDetails"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>)), nothing is copied,
//! and a million-row walk stays cheap.

use super::population::SimUser;

/// The two Graph versions the simulator serves; beta rows add `defaultMfaMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ApiVersion {
    V1,
    Beta,
}

impl ApiVersion {
    pub(crate) fn parse(segment: &str) -> Option<Self> {
        match segment {
            "v1.0" => Some(ApiVersion::V1),
            "beta" => Some(ApiVersion::Beta),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

/// The properties of `microsoft.graph.userRegistrationDetails`, in documentation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Prop {
    Id,
    UserPrincipalName,
    UserDisplayName,
    IsAdmin,
    IsSsprRegistered,
    IsSsprEnabled,
    IsSsprCapable,
    IsMfaRegistered,
    IsMfaCapable,
    IsPasswordlessCapable,
    LastUpdatedDateTime,
    MethodsRegistered,
    DefaultMfaMethod,
    IsSystemPreferredAuthenticationMethodEnabled,
    SystemPreferredAuthenticationMethods,
    UserPreferredMethodForSecondaryAuthentication,
    UserType,
}

const ALL: [Prop; 17] = [
    Prop::Id,
    Prop::UserPrincipalName,
    Prop::UserDisplayName,
    Prop::IsAdmin,
    Prop::IsSsprRegistered,
    Prop::IsSsprEnabled,
    Prop::IsSsprCapable,
    Prop::IsMfaRegistered,
    Prop::IsMfaCapable,
    Prop::IsPasswordlessCapable,
    Prop::LastUpdatedDateTime,
    Prop::MethodsRegistered,
    Prop::DefaultMfaMethod,
    Prop::IsSystemPreferredAuthenticationMethodEnabled,
    Prop::SystemPreferredAuthenticationMethods,
    Prop::UserPreferredMethodForSecondaryAuthentication,
    Prop::UserType,
];

impl Prop {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Prop::Id => "id",
            Prop::UserPrincipalName => "userPrincipalName",
            Prop::UserDisplayName => "userDisplayName",
            Prop::IsAdmin => "isAdmin",
            Prop::IsSsprRegistered => "isSsprRegistered",
            Prop::IsSsprEnabled => "isSsprEnabled",
            Prop::IsSsprCapable => "isSsprCapable",
            Prop::IsMfaRegistered => "isMfaRegistered",
            Prop::IsMfaCapable => "isMfaCapable",
            Prop::IsPasswordlessCapable => "isPasswordlessCapable",
            Prop::LastUpdatedDateTime => "lastUpdatedDateTime",
            Prop::MethodsRegistered => "methodsRegistered",
            Prop::DefaultMfaMethod => "defaultMfaMethod",
            Prop::IsSystemPreferredAuthenticationMethodEnabled => "isSystemPreferredAuthenticationMethodEnabled",
            Prop::SystemPreferredAuthenticationMethods => "systemPreferredAuthenticationMethods",
            Prop::UserPreferredMethodForSecondaryAuthentication => "userPreferredMethodForSecondaryAuthentication",
            Prop::UserType => "userType",
        }
    }

    /// All properties of the entity in `version` (beta has `defaultMfaMethod`).
    pub(crate) fn all(version: ApiVersion) -> Vec<Prop> {
        ALL.iter().copied().filter(|p| version == ApiVersion::Beta || *p != Prop::DefaultMfaMethod).collect()
    }

    /// Property lookup as Graph does it: case-insensitive, and only properties of `version`.
    pub(crate) fn from_name(name: &str, version: ApiVersion) -> Option<Prop> {
        Self::all(version).into_iter().find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

/// Beta's `defaultMfaMethod` (enum `defaultMfaMethodType`), derived from the v1.0 default.
pub(crate) fn default_mfa_method(u: &SimUser) -> Option<&'static str> {
    u.default_method.as_deref().map(|d| match d {
        "push" => "microsoftAuthenticatorPush",
        "oath" => "softwareOneTimePasscode",
        "sms" | "voiceMobile" => "mobilePhone",
        "voiceAlternateMobile" => "alternateMobilePhone",
        "voiceOffice" => "officePhone",
        "none" => "none",
        "" => "",
        _ => "unknownFutureValue",
    })
}

/// Some rows carry a property that no schema knows, `futureProperty`, so clients prove they ignore
/// unknown properties (Graph adds properties without a version change). About 1 row in 16, chosen
/// by id; never when `$select` is used, since Graph returns only selected properties then.
pub(crate) fn has_future_property(u: &SimUser) -> bool {
    u.id.ends_with('7')
}

/// Write `"name":value,…` for the given properties (no braces), so callers can prepend
/// `@odata.context` for the single-entity form.
pub(crate) fn write_fields(out: &mut Vec<u8>, u: &SimUser, props: &[Prop], extra: bool) {
    let mut first = true;
    for p in props {
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        out.extend_from_slice(p.name().as_bytes());
        out.extend_from_slice(b"\":");
        match p {
            Prop::Id => write_str(out, &u.id),
            Prop::UserPrincipalName => write_str(out, &u.user_principal_name),
            Prop::UserDisplayName => write_str(out, &u.user_display_name),
            Prop::IsAdmin => write_opt_bool(out, u.is_admin),
            Prop::IsSsprRegistered => write_bool(out, u.is_sspr_registered),
            Prop::IsSsprEnabled => write_bool(out, u.is_sspr_enabled),
            Prop::IsSsprCapable => write_bool(out, u.is_sspr_capable),
            Prop::IsMfaRegistered => write_bool(out, u.is_mfa_registered),
            Prop::IsMfaCapable => write_bool(out, u.is_mfa_capable),
            Prop::IsPasswordlessCapable => write_bool(out, u.is_passwordless_capable),
            Prop::LastUpdatedDateTime => write_str(out, &u.last_updated),
            Prop::MethodsRegistered => write_list(out, &u.methods_registered),
            Prop::DefaultMfaMethod => write_opt_str(out, default_mfa_method(u)),
            Prop::IsSystemPreferredAuthenticationMethodEnabled => write_opt_bool(out, u.system_preferred_enabled),
            Prop::SystemPreferredAuthenticationMethods => write_list(out, &u.system_preferred_methods),
            Prop::UserPreferredMethodForSecondaryAuthentication => write_opt_str(out, u.default_method.as_deref()),
            Prop::UserType => write_opt_str(out, u.user_type.as_deref()),
        }
    }
    if extra {
        out.extend_from_slice(br#","futureProperty":{"kind":"simulatorExtension","note":"ignore unknown properties"}"#);
    }
}

/// One row object.
pub(crate) fn write_row(out: &mut Vec<u8>, u: &SimUser, props: &[Prop], extra: bool) {
    out.push(b'{');
    write_fields(out, u, props, extra);
    out.push(b'}');
}

fn write_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

fn write_opt_bool(out: &mut Vec<u8>, b: Option<bool>) {
    match b {
        Some(b) => write_bool(out, b),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_list(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, s);
    }
    out.push(b']');
}

/// A JSON string literal. Non-ASCII stays UTF-8; quotes, backslashes and control characters are
/// escaped.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(format!("\\u{:04x}", b).as_bytes());
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// A JSON string literal as a `String`.
pub(crate) fn json_str(s: &str) -> String {
    let mut v = Vec::with_capacity(s.len() + 2);
    write_str(&mut v, s);
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Population;

    #[test]
    fn rows_parse_and_follow_the_schema() {
        let p = Population::generate(200, 5);
        for version in [ApiVersion::V1, ApiVersion::Beta] {
            let props = Prop::all(version);
            for u in &p.users {
                let mut out = Vec::new();
                write_row(&mut out, u, &props, has_future_property(u));
                let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
                let o = v.as_object().unwrap();
                assert_eq!(o["id"], u.id.as_str());
                assert_eq!(o["userPrincipalName"], u.user_principal_name.as_str());
                assert_eq!(o["userDisplayName"], u.user_display_name.as_str());
                assert_eq!(o["isAdmin"], serde_json::json!(u.is_admin));
                assert_eq!(o["userType"], serde_json::json!(u.user_type));
                assert_eq!(o["methodsRegistered"], serde_json::json!(u.methods_registered));
                assert_eq!(o["userPreferredMethodForSecondaryAuthentication"], serde_json::json!(u.default_method));
                assert_eq!(o.contains_key("defaultMfaMethod"), version == ApiVersion::Beta);
                assert_eq!(o.contains_key("futureProperty"), has_future_property(u));
                assert_eq!(o["lastUpdatedDateTime"], u.last_updated.as_str());
            }
        }
        assert!(p.users.iter().any(has_future_property));
    }

    #[test]
    fn string_escaping() {
        let s = "a\"b\\c\n\u{1}é'";
        let j = json_str(s);
        assert_eq!(serde_json::from_str::<String>(&j).unwrap(), s);
    }

    #[test]
    fn property_lookup_is_case_insensitive_and_versioned() {
        assert_eq!(Prop::from_name("ISADMIN", ApiVersion::V1), Some(Prop::IsAdmin));
        assert_eq!(Prop::from_name("defaultMfaMethod", ApiVersion::V1), None);
        assert_eq!(Prop::from_name("defaultMfaMethod", ApiVersion::Beta), Some(Prop::DefaultMfaMethod));
    }
}
