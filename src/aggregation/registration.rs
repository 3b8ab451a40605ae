//! userRegistrationDetails → users, features, methods, default methods and method-count buckets,
//! for every configured user_type × user_role breakdown.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{Breakdown, UserRole, UserType};
use crate::reports::registration_details::UserRegistrationDetails;

/// The `feature` label values, in export order. The first five are Graph's own
/// `authenticationMethodFeature` names; the last three are derived from the same rows.
pub const FEATURES: [&str; 8] = [
    "mfaCapable",
    "mfaRegistered",
    "ssprRegistered",
    "ssprEnabled",
    "ssprCapable",
    "passwordlessCapable",
    "systemPreferredMethodEnabled",
    "phishingResistantCapable",
];

/// Methods that count as phishing-resistant: FIDO2 security keys and passkeys (device-bound and
/// synced), Windows Hello for Business, the macOS platform credential (Secure Enclave key) and
/// certificate-based authentication. `fido2` is the legacy spelling in the v1.0 resource text; the
/// certificate value is not documented, so both plausible spellings are listed (graph-api.md 4.2).
pub const PHISHING_RESISTANT_METHODS: &[&str] = &[
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

/// Methods always exported (as 0 when nobody has them) so that a method that drops to zero users
/// shows as 0 rather than vanishing; any other method Graph returns is exported too, as spelled.
pub const KNOWN_METHODS: &[&str] = &[
    "password",
    "email",
    "mobilePhone",
    "alternateMobilePhone",
    "officePhone",
    "securityQuestion",
    "microsoftAuthenticatorPush",
    "microsoftAuthenticatorPasswordless",
    "softwareOneTimePasscode",
    "hardwareOneTimePasscode",
    "fido2SecurityKey",
    "windowsHelloForBusiness",
    "temporaryAccessPass",
    "macOsSecureEnclaveKey",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "passKeySynced",
    "externalAuthMethod",
];

/// `userDefaultAuthenticationMethod` members (graph-api.md 8), always exported. A null or empty
/// default (seen in Microsoft's examples) is exported as `unset`, since an empty label value is the
/// same as no label in Prometheus.
pub const KNOWN_DEFAULT_METHODS: &[&str] =
    &["push", "oath", "voiceMobile", "voiceAlternateMobile", "voiceOffice", "sms", "none", UNSET_DEFAULT];
pub const UNSET_DEFAULT: &str = "unset";

/// `methods` label values of the method-count distribution.
pub const METHOD_COUNT_BUCKETS: [&str; 5] = ["0", "1", "2", "3", "4+"];

#[derive(Debug, Default)]
struct Counts {
    users: u64,
    features: [u64; FEATURES.len()],
    methods: HashMap<String, u64>,
    default_methods: HashMap<String, u64>,
    method_counts: [u64; METHOD_COUNT_BUCKETS.len()],
}

/// Streams rows in, one page at a time.
#[derive(Debug)]
pub struct RegistrationAggregator {
    breakdowns: Vec<Breakdown>,
    /// Object ids of members of the privileged directory roles; `None` when they could not be read,
    /// in which case privilegedAdmin breakdowns are left out rather than reported as zero.
    privileged: Option<HashSet<String>>,
    counts: Vec<Counts>,
    newest_refresh: Option<OffsetDateTime>,
    rows: u64,
    unparsable_timestamps: u64,
}

/// The aggregate of one complete sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationSummary {
    pub breakdowns: Vec<BreakdownSummary>,
    /// Newest `lastUpdatedDateTime` seen, as Unix seconds: Microsoft's own data freshness.
    pub refresh_timestamp: Option<f64>,
    /// Rows read, for logs.
    pub rows: u64,
    pub unparsable_timestamps: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownSummary {
    pub breakdown: Breakdown,
    pub users: u64,
    /// Parallel to [`FEATURES`].
    pub features: [u64; FEATURES.len()],
    pub methods: BTreeMap<String, u64>,
    pub default_methods: BTreeMap<String, u64>,
    /// Parallel to [`METHOD_COUNT_BUCKETS`].
    pub method_counts: [u64; METHOD_COUNT_BUCKETS.len()],
}

impl RegistrationAggregator {
    pub fn new(breakdowns: &[Breakdown]) -> Self {
        Self::with_privileged(breakdowns, None)
    }

    pub fn with_privileged(breakdowns: &[Breakdown], privileged: Option<HashSet<String>>) -> Self {
        let breakdowns: Vec<Breakdown> = breakdowns
            .iter()
            .copied()
            .filter(|b| b.user_role != UserRole::PrivilegedAdmin || privileged.is_some())
            .collect();
        RegistrationAggregator {
            counts: breakdowns.iter().map(|_| Counts::default()).collect(),
            breakdowns,
            privileged,
            newest_refresh: None,
            rows: 0,
            unparsable_timestamps: 0,
        }
    }

    pub fn add_page(&mut self, rows: &[UserRegistrationDetails]) {
        for row in rows {
            self.add(row);
        }
    }

    pub fn add(&mut self, row: &UserRegistrationDetails) {
        self.rows += 1;
        if let Some(ts) = row.last_updated_date_time.as_deref() {
            match OffsetDateTime::parse(ts, &Rfc3339) {
                Ok(t) => {
                    if self.newest_refresh.is_none_or(|n| t > n) {
                        self.newest_refresh = Some(t);
                    }
                }
                Err(_) => self.unparsable_timestamps += 1,
            }
        }

        let distinct = distinct_methods(&row.methods_registered);
        let phishing_resistant = distinct.iter().any(|m| PHISHING_RESISTANT_METHODS.contains(m));
        let feature_flags = [
            row.is_mfa_capable,
            row.is_mfa_registered,
            row.is_sspr_registered,
            row.is_sspr_enabled,
            row.is_sspr_capable,
            row.is_passwordless_capable,
            row.is_system_preferred_authentication_method_enabled,
            phishing_resistant,
        ];
        let default_method = match row.user_preferred_method_for_secondary_authentication.as_deref() {
            None | Some("") => UNSET_DEFAULT,
            Some(m) => m,
        };
        let bucket = distinct.len().min(METHOD_COUNT_BUCKETS.len() - 1);
        let is_admin = row.is_admin == Some(true);
        let is_privileged = match (&self.privileged, row.id.as_deref()) {
            (Some(set), Some(id)) => set.contains(id),
            _ => false,
        };

        for (breakdown, counts) in self.breakdowns.iter().zip(self.counts.iter_mut()) {
            if !matches(*breakdown, row.user_type.as_deref(), is_admin, is_privileged) {
                continue;
            }
            counts.users += 1;
            for (total, flag) in counts.features.iter_mut().zip(feature_flags) {
                *total += u64::from(flag);
            }
            for method in &distinct {
                increment(&mut counts.methods, method);
            }
            increment(&mut counts.default_methods, default_method);
            counts.method_counts[bucket] += 1;
        }
    }

    pub fn finish(self) -> RegistrationSummary {
        let breakdowns = self
            .breakdowns
            .into_iter()
            .zip(self.counts)
            .map(|(breakdown, c)| BreakdownSummary {
                breakdown,
                users: c.users,
                features: c.features,
                methods: with_known(c.methods, KNOWN_METHODS),
                default_methods: with_known(c.default_methods, KNOWN_DEFAULT_METHODS),
                method_counts: c.method_counts,
            })
            .collect();
        RegistrationSummary {
            breakdowns,
            refresh_timestamp: self
                .newest_refresh
                .map(|t| t.unix_timestamp() as f64 + f64::from(t.nanosecond()) * 1e-9),
            rows: self.rows,
            unparsable_timestamps: self.unparsable_timestamps,
        }
    }
}

fn matches(b: Breakdown, user_type: Option<&str>, is_admin: bool, is_privileged: bool) -> bool {
    let type_ok = match b.user_type {
        UserType::All => true,
        UserType::Member => user_type == Some("member"),
        UserType::Guest => user_type == Some("guest"),
    };
    let role_ok = match b.user_role {
        UserRole::All => true,
        UserRole::Admin => is_admin,
        UserRole::User => !is_admin,
        UserRole::PrivilegedAdmin => is_privileged,
    };
    type_ok && role_ok
}

/// A user is counted once per method even if Graph repeats a method in the list.
fn distinct_methods(methods: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(methods.len());
    for m in methods {
        if !m.is_empty() && !out.contains(&m.as_str()) {
            out.push(m);
        }
    }
    out
}

fn increment(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(v) => *v += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

fn with_known(map: HashMap<String, u64>, known: &[&str]) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = map.into_iter().collect();
    for k in known {
        out.entry((*k).to_string()).or_insert(0);
    }
    out
}

#[cfg(test)]
mod tests;
