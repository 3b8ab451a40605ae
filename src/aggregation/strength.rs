//! Method strength: which tier each registered method puts a user in. The default table, and the
//! table resolved with the operator's `[method_strength]` overrides, which the registration
//! aggregator consults once per distinct method name (not once per row).

use std::collections::HashMap;

use crate::config::{MethodStrength, NO_TIER as NONE_INDEX, STRENGTH_TIERS};

/// Methods that count as phishing-resistant by default: FIDO2 security keys and passkeys
/// (device-bound and synced), Windows Hello for Business, the macOS platform credential (Secure
/// Enclave key) and certificate-based authentication. `fido2` is the legacy spelling in the v1.0
/// resource text; the certificate value is not documented, so both plausible spellings are listed
/// (Microsoft Graph, "userRegistrationDetails resource type"
/// (<https://learn.microsoft.com/graph/api/resources/userregistrationdetails>)).
pub(crate) const PHISHING_RESISTANT_METHODS: &[&str] = &[
    "fido2",
    "fido2SecurityKey",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "passKeySynced",
    "windowsHelloForBusiness",
    "macOsSecureEnclaveKey",
    "x509Certificate",
    "certificateBasedAuthentication",
];

/// The default tiers below phishing-resistant: (method, index into [`STRENGTHS`]). Phone is what the
/// SMS and voice retirement of 2027 blocks (Microsoft Entra, "SMS and voice retirement").
const DEFAULT_LOWER_TIERS: &[(&str, u8)] = &[
    ("microsoftAuthenticatorPasswordless", 1),
    ("microsoftAuthenticatorPush", 2),
    ("softwareOneTimePasscode", 2),
    ("hardwareOneTimePasscode", 2),
    ("externalAuthMethod", 2),
    ("mobilePhone", 3),
    ("alternateMobilePhone", 3),
    ("officePhone", 3),
];

/// The `strength` label values, strongest first: a user's tier is the strongest among the tiers of
/// their registered methods, so the five values partition the users of a breakdown.
pub(crate) const STRENGTHS: [&str; 5] = STRENGTH_TIERS;
/// Index of `none` in [`STRENGTHS`]: no registered method has a tier.
pub(crate) const NO_TIER: u8 = NONE_INDEX;
/// Index of `phishingResistant`: the tier the `phishingResistantCapable` feature is.
pub(crate) const PHISHING_RESISTANT: u8 = 0;

/// The default table with `[method_strength]` applied: an override replaces a method's default tier
/// (`none` removes it from every tier, the phishing-resistant one included, so the
/// `phishingResistantCapable` feature follows it too) or gives a tier to a method the defaults lack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StrengthTable {
    /// Every method with a tier.
    tiers: HashMap<String, u8>,
    /// Every method the defaults or the overrides name, in any tier or `none`.
    named: Vec<String>,
}

impl Default for StrengthTable {
    fn default() -> Self {
        StrengthTable::new(&MethodStrength::default())
    }
}

impl StrengthTable {
    pub(crate) fn new(config: &MethodStrength) -> Self {
        let defaults = PHISHING_RESISTANT_METHODS
            .iter()
            .map(|m| (*m, PHISHING_RESISTANT))
            .chain(DEFAULT_LOWER_TIERS.iter().copied());
        let mut tiers: HashMap<String, u8> = defaults.map(|(m, t)| (m.to_string(), t)).collect();
        let mut named: Vec<String> = tiers.keys().cloned().collect();
        for (method, &tier) in &config.overrides {
            if tier == NO_TIER {
                tiers.remove(method);
            } else {
                tiers.insert(method.clone(), tier);
            }
            if !named.contains(method) {
                named.push(method.clone());
            }
        }
        named.sort();
        StrengthTable { tiers, named }
    }

    /// The method's tier (an index into [`STRENGTHS`]), or `None` when it has none.
    pub(crate) fn tier(&self, method: &str) -> Option<u8> {
        self.tiers.get(method).copied()
    }

    /// Every method name the table mentions (defaults and overrides, `none` included): documented
    /// values whose `method` label values are always kept, never folded into `other`.
    pub(crate) fn named(&self) -> impl Iterator<Item = &str> {
        self.named.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_extend_and_remove_tiers() {
        let config = MethodStrength {
            overrides: [("email", 2), ("mobilePhone", NO_TIER), ("fido2SecurityKey", NO_TIER), ("newKey", 0)]
                .into_iter()
                .map(|(m, t)| (m.to_string(), t))
                .collect(),
        };
        let table = StrengthTable::new(&config);
        assert_eq!(table.tier("email"), Some(2), "an override gives a tier");
        assert_eq!(table.tier("mobilePhone"), None, "none removes the default");
        assert_eq!(table.tier("fido2SecurityKey"), None, "even from the phishing-resistant tier");
        assert_eq!(table.tier("newKey"), Some(0), "a method the defaults lack");
        assert_eq!(table.tier("officePhone"), Some(3), "the other defaults stay");
        assert_eq!(table.tier("securityQuestion"), None);
        assert!(table.named().any(|m| m == "mobilePhone") && table.named().any(|m| m == "newKey"));
    }

    #[test]
    fn the_default_table_is_the_documented_one() {
        let table = StrengthTable::default();
        for m in PHISHING_RESISTANT_METHODS {
            assert_eq!(table.tier(m), Some(PHISHING_RESISTANT), "{m}");
        }
        assert_eq!(table.tier("microsoftAuthenticatorPasswordless"), Some(1));
        assert_eq!(table.tier("softwareOneTimePasscode"), Some(2));
        assert_eq!(table.tier("alternateMobilePhone"), Some(3));
        for m in ["email", "password", "temporaryAccessPass", "securityQuestion", "futureMethodExample"] {
            assert_eq!(table.tier(m), None, "{m}");
        }
        assert_eq!(STRENGTHS[usize::from(NO_TIER)], "none");
    }

    /// The aggregator counts with the resolved table: the tier partition and the
    /// phishingResistantCapable feature both follow an override.
    #[test]
    fn the_aggregator_follows_the_overrides() {
        use crate::aggregation::RegistrationAggregator;
        use crate::config::{Breakdown, UserRole, UserType};
        use crate::reports::registration_details::UserRegistrationDetails;
        let config = MethodStrength {
            overrides: [("email", 2), ("fido2SecurityKey", NO_TIER), ("mobilePhone", NO_TIER), ("newKey", 0)]
                .into_iter()
                .map(|(m, t)| (m.to_string(), t))
                .collect(),
        };
        let all = Breakdown { user_type: UserType::All, user_role: UserRole::All };
        let mut agg =
            RegistrationAggregator::new(&[all]).with_strength(std::sync::Arc::new(StrengthTable::new(&config)));
        let row = |methods: &[&'static str]| UserRegistrationDetails {
            user_type: Some("member".into()),
            methods_registered: methods.iter().map(|m| (*m).into()).collect(),
            ..Default::default()
        };
        agg.add_page(&[
            row(&["email", "mobilePhone"]),     // mfa (email), not phone
            row(&["mobilePhone"]),              // none
            row(&["fido2SecurityKey"]),         // none: taken out of the phishing-resistant tier
            row(&["newKey", "officePhone"]),    // phishingResistant
            row(&["officePhone", "inventedX"]), // phone
        ]);
        let s = agg.finish();
        let b = &s.breakdowns[0];
        assert_eq!(b.strength, Some([1, 0, 1, 1, 2]));
        assert_eq!(b.features[7], 1, "phishingResistantCapable is the phishingResistant tier");
    }
}
