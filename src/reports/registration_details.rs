//! `userRegistrationDetails` rows (Microsoft Graph, "userRegistrationDetails resource type"
//! (<https://learn.microsoft.com/graph/api/resources/userregistrationdetails>)): only the properties the aggregation
//! needs are decoded; names and UPNs are skipped, and the object id is only compared with the privileged-role members,
//! so per-user data never outlives the page being read.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

use crate::reports::Page;

mod scan;

/// Path of the report below the version segment.
pub const PATH: &str = "reports/authenticationMethods/userRegistrationDetails";

/// The `$select` list the exporter requests: the flags and lists it aggregates, nothing personal.
pub const SELECT: &str = "id,userType,isAdmin,isMfaCapable,isMfaRegistered,isPasswordlessCapable,isSsprCapable,\
isSsprEnabled,isSsprRegistered,isSystemPreferredAuthenticationMethodEnabled,methodsRegistered,\
userPreferredMethodForSecondaryAuthentication,lastUpdatedDateTime";

/// One row, decoded in place: the strings borrow from the page body (no allocation per user) unless
/// they contain JSON escapes. Pages are decoded whole before any row is counted, so a page that fails
/// to decode and is fetched again is never counted twice.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistrationDetails<'a> {
    /// The user's object id, matched against privileged directory-role members.
    #[serde(default, borrow)]
    pub(crate) id: Option<Text<'a>>,
    /// `member`, `guest`, `unknownFutureValue`, or null.
    #[serde(default, borrow)]
    pub(crate) user_type: Option<Text<'a>>,
    /// Nullable in the schema; null counts as not an admin.
    #[serde(default)]
    pub(crate) is_admin: Option<bool>,
    #[serde(default, deserialize_with = "null_as_false")]
    pub(crate) is_mfa_capable: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub(crate) is_mfa_registered: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub(crate) is_passwordless_capable: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub(crate) is_sspr_capable: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub(crate) is_sspr_enabled: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub(crate) is_sspr_registered: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub(crate) is_system_preferred_authentication_method_enabled: bool,
    /// Free strings (no enum in the schema); new methods appear without notice.
    #[serde(default, borrow, deserialize_with = "null_as_empty")]
    pub(crate) methods_registered: Vec<Text<'a>>,
    /// `push`, `oath`, … or the empty string seen in Microsoft's own examples, or null.
    #[serde(default, borrow)]
    pub(crate) user_preferred_method_for_secondary_authentication: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub(crate) last_updated_date_time: Option<Text<'a>>,
}

/// A JSON string borrowed from the page body, or owned when it had escapes (or was built in code).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text(Cow::Borrowed(s))
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// One page of rows, its strings borrowed from `text`: read by `scan::decode` when the page has the
/// shape Graph sends (about half of serde_json's instructions per row), otherwise by serde_json, whose
/// error message then says what is wrong with the page. Both read every page they accept the same way.
pub(crate) fn read_page(text: &str) -> Result<Page<UserRegistrationDetails<'_>>, serde_json::Error> {
    match scan::decode(text) {
        Some(page) => Ok(page),
        None => serde_json::from_str(text),
    }
}

fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn null_as_empty<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Vec<Text<'a>>, D::Error> {
    Ok(Option::<Vec<Text<'a>>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The v1.0 list example of Microsoft Graph, "List userRegistrationDetails"
    /// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>), verbatim (two
    /// rows), plus an unknown property.
    const DOC_PAGE: &str = r#"{
      "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails",
      "value": [
        {"id": "86462606-fde0-4fc4-9e0c-a20eb73e54c6","userPrincipalName": "AlexW@Contoso.com","userDisplayName": "Alex Wilber",
         "isAdmin": false,"isSsprRegistered": false,"isSsprEnabled": false,"isSsprCapable": false,"isMfaRegistered": true,
         "isMfaCapable": true,"isPasswordlessCapable": false,"lastUpdatedDateTime": "2023-03-13T19:15:41.6195833Z",
         "methodsRegistered": ["microsoftAuthenticatorPush","softwareOneTimePasscode"],
         "isSystemPreferredAuthenticationMethodEnabled": true,"systemPreferredAuthenticationMethods": ["push"],
         "userPreferredMethodForSecondaryAuthentication": "push","userType": "member","brandNewProperty": {"x": 1}},
        {"id": "c6ad1942-4afa-47f8-8d48-afb5d8d69d2f","userPrincipalName": "AllanD@Contoso.com","userDisplayName": "Allan Deyoung",
         "isAdmin": null,"isSsprRegistered": false,"isSsprEnabled": false,"isSsprCapable": false,"isMfaRegistered": false,
         "isMfaCapable": false,"isPasswordlessCapable": false,"lastUpdatedDateTime": "2023-03-13T19:15:41Z",
         "methodsRegistered": null,"isSystemPreferredAuthenticationMethodEnabled": null,"systemPreferredAuthenticationMethods": [],
         "userPreferredMethodForSecondaryAuthentication": "","userType": "guest"}
      ]
    }"#;

    #[test]
    fn documented_rows_decode_tolerantly() {
        let page: Page<UserRegistrationDetails> = serde_json::from_str(DOC_PAGE).unwrap();
        assert_eq!(page.value.len(), 2);
        let alex = &page.value[0];
        assert!(alex.is_mfa_capable && alex.is_system_preferred_authentication_method_enabled);
        assert_eq!(alex.methods_registered, ["microsoftAuthenticatorPush", "softwareOneTimePasscode"]);
        let allan = &page.value[1];
        assert_eq!(allan.is_admin, None);
        assert!(allan.methods_registered.is_empty());
        assert!(!allan.is_system_preferred_authentication_method_enabled);
        assert_eq!(allan.user_preferred_method_for_secondary_authentication.as_deref(), Some(""));
        assert!(matches!(alex.id.as_ref().map(|t| &t.0), Some(Cow::Borrowed(_))), "strings borrow from the page");
        assert!(page.next_link.is_none());
    }

    #[test]
    fn escaped_strings_decode_owned() {
        let page: Page<UserRegistrationDetails> =
            serde_json::from_str(r#"{"value":[{"methodsRegistered":["a\u0062c"],"userType":"guest"}]}"#).unwrap();
        assert_eq!(page.value[0].methods_registered, ["abc"]);
        assert_eq!(page.value[0].user_type.as_deref(), Some("guest"));
    }

    #[test]
    fn wrong_types_are_decode_errors() {
        let bad = r#"{"value":[{"isMfaCapable":"yes"}]}"#;
        assert!(serde_json::from_str::<Page<UserRegistrationDetails>>(bad).is_err());
    }
}
