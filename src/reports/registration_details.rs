//! `userRegistrationDetails` rows (graph-api.md 5.2): only the properties the aggregation needs are
//! decoded; names and UPNs are skipped, and the object id is only compared with the privileged-role
//! members, so per-user data never outlives the page being read.

use serde::{Deserialize, Deserializer};

/// Path of the report below the version segment.
pub const PATH: &str = "reports/authenticationMethods/userRegistrationDetails";

/// The `$select` list the exporter requests: the flags and lists it aggregates, nothing personal.
pub const SELECT: &str = "id,userType,isAdmin,isMfaCapable,isMfaRegistered,isPasswordlessCapable,isSsprCapable,\
isSsprEnabled,isSsprRegistered,isSystemPreferredAuthenticationMethodEnabled,methodsRegistered,\
userPreferredMethodForSecondaryAuthentication,lastUpdatedDateTime";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistrationDetails {
    /// The user's object id, matched against privileged directory-role members.
    #[serde(default)]
    pub id: Option<String>,
    /// `member`, `guest`, `unknownFutureValue`, or null.
    #[serde(default)]
    pub user_type: Option<String>,
    /// Nullable in the schema; null counts as not an admin.
    #[serde(default)]
    pub is_admin: Option<bool>,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_mfa_capable: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_mfa_registered: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_passwordless_capable: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_sspr_capable: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_sspr_enabled: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_sspr_registered: bool,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_system_preferred_authentication_method_enabled: bool,
    /// Free strings (no enum in the schema); new methods appear without notice.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub methods_registered: Vec<String>,
    /// `push`, `oath`, … or the empty string seen in Microsoft's own examples, or null.
    #[serde(default)]
    pub user_preferred_method_for_secondary_authentication: Option<String>,
    #[serde(default)]
    pub last_updated_date_time: Option<String>,
}

fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::Page;

    /// The v1.0 list example of graph-api.md 5.5, verbatim (two rows), plus an unknown property.
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
        assert!(page.next_link.is_none());
    }

    #[test]
    fn wrong_types_are_decode_errors() {
        let bad = r#"{"value":[{"isMfaCapable":"yes"}]}"#;
        assert!(serde_json::from_str::<Page<UserRegistrationDetails>>(bad).is_err());
    }
}
