//! userRegistrationDetails → users, features, methods, default methods and method-count buckets,
//! for every configured user_type × user_role breakdown.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{Breakdown, UserRole, UserType};
use crate::reports::registration_details::UserRegistrationDetails;

/// The `feature` label values, in export order. The first five are Graph's own
/// `authenticationMethodFeature` names; the last three are derived from the same rows.
pub(crate) const FEATURES: [&str; 8] = [
    "mfaCapable",
    "mfaRegistered",
    "ssprRegistered",
    "ssprEnabled",
    "ssprCapable",
    "passwordlessCapable",
    "systemPreferredMethodEnabled",
    "phishingResistantCapable",
];

use super::fold::{Admission, Folder, OTHER};
use super::interned::{Name, NameCounts};
pub(crate) use super::strength::{NO_TIER, STRENGTHS, StrengthTable};

/// The report these counts come from, for the folded-values bookkeeping.
const REPORT: &str = "registration_details";

/// Methods always exported (as 0 when nobody has them) so that a method that drops to zero users
/// shows as 0 rather than vanishing; any other method Graph returns is exported too, as spelled.
pub(crate) const KNOWN_METHODS: &[&str] = &[
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

/// `userDefaultAuthenticationMethod` members (Microsoft Graph, "userRegistrationDetails resource type"
/// (<https://learn.microsoft.com/graph/api/resources/userregistrationdetails>)), always exported. A null or empty default
/// (seen in Microsoft's examples) is exported as `unset`, since an empty label value is the same as no label in
/// Prometheus.
pub(crate) const KNOWN_DEFAULT_METHODS: &[&str] =
    &["push", "oath", "voiceMobile", "voiceAlternateMobile", "voiceOffice", "sms", "none", UNSET_DEFAULT];
pub(crate) const UNSET_DEFAULT: &str = "unset";

/// `methods` label values of the method-count distribution.
pub(crate) const METHOD_COUNT_BUCKETS: [&str; 5] = ["0", "1", "2", "3", "4+"];

/// Per-breakdown counters. Methods are counted by their index in the aggregator's name tables, so a
/// row costs a few additions per breakdown, not a string hash per breakdown and method.
#[derive(Debug, Default)]
struct Counts {
    users: u64,
    features: [u64; FEATURES.len()],
    methods: Vec<u64>,
    default_methods: Vec<u64>,
    method_counts: [u64; METHOD_COUNT_BUCKETS.len()],
    strength: [u64; STRENGTHS.len()],
}

/// Method names seen so far, each with a small index. A tenant has a few dozen at most, so a linear
/// scan (mostly decided by the length) costs less than hashing the name.
#[derive(Debug, Default)]
struct Names {
    names: Vec<String>,
}

impl Names {
    fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.len() == name.len() && n == name)
    }

    fn id(&mut self, name: &str) -> usize {
        if let Some(i) = self.find(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.names.len() - 1
    }
}

/// Streams rows in, one page at a time.
#[derive(Debug)]
pub struct RegistrationAggregator {
    breakdowns: Vec<Breakdown>,
    /// Object ids of members of the privileged directory roles; `None` when they could not be read,
    /// in which case privilegedAdmin breakdowns are left out rather than reported as zero.
    privileged: Option<HashSet<String>>,
    counts: Vec<Counts>,
    methods: Names,
    /// Parallel to `methods`: each method's tier in `strength`, looked up once per name rather than
    /// once per row (tier 0 is the phishing-resistant feature).
    tiers: Vec<Option<u8>>,
    /// The default tiers with `[method_strength]` applied.
    strength: Arc<StrengthTable>,
    default_methods: Names,
    /// The current row's distinct method indices; kept to reuse its allocation.
    row_methods: Vec<usize>,
    /// Bounds on the method and default-method label values (`None`: unbounded), and the hashes of
    /// the current row's distinct folded methods (fold.rs).
    folders: Option<(Folder, Folder)>,
    row_folded: Vec<u64>,
    newest_refresh: Option<OffsetDateTime>,
    rows: u64,
    unparsable_timestamps: u64,
}

/// The aggregate of one complete sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationSummary {
    pub(crate) breakdowns: Vec<BreakdownSummary>,
    /// Newest `lastUpdatedDateTime` seen, as Unix seconds: Microsoft's own data freshness.
    pub(crate) refresh_timestamp: Option<f64>,
    /// Rows read, for logs.
    pub rows: u64,
    pub(crate) unparsable_timestamps: u64,
    /// Groups and exclusions (`None` when the tenant configures neither, and in older state files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) groups: Option<super::groups::GroupSummary>,
}

/// What [`RegistrationAggregator::add`] found of one row, for the group counts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowClass {
    /// Parallel to [`FEATURES`].
    pub(crate) features: [bool; FEATURES.len()],
    /// An index into [`STRENGTHS`].
    pub(crate) strength: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BreakdownSummary {
    pub(crate) breakdown: Breakdown,
    pub(crate) users: u64,
    /// Parallel to [`FEATURES`].
    pub(crate) features: [u64; FEATURES.len()],
    /// Interned names (interned.rs): the same JSON map of name → count in state files.
    pub(crate) methods: NameCounts,
    pub(crate) default_methods: NameCounts,
    /// Parallel to [`METHOD_COUNT_BUCKETS`].
    pub(crate) method_counts: [u64; METHOD_COUNT_BUCKETS.len()],
    /// Parallel to [`STRENGTHS`]. `None` in state files written before it existed: the family is then
    /// left out until the next poll rather than shown as zeros.
    #[serde(default)]
    pub(crate) strength: Option<[u64; STRENGTHS.len()]>,
}

impl RegistrationAggregator {
    pub fn new(breakdowns: &[Breakdown]) -> Self {
        Self::with_privileged(breakdowns, None)
    }

    pub(crate) fn with_privileged(breakdowns: &[Breakdown], privileged: Option<HashSet<String>>) -> Self {
        let breakdowns: Vec<Breakdown> = breakdowns
            .iter()
            .copied()
            .filter(|b| b.user_role != UserRole::PrivilegedAdmin || privileged.is_some())
            .collect();
        RegistrationAggregator {
            counts: breakdowns.iter().map(|_| Counts::default()).collect(),
            breakdowns,
            privileged,
            methods: Names::default(),
            tiers: Vec::new(),
            strength: Arc::default(),
            default_methods: Names::default(),
            row_methods: Vec::new(),
            folders: None,
            row_folded: Vec::new(),
            newest_refresh: None,
            rows: 0,
            unparsable_timestamps: 0,
        }
    }

    /// Tiers from `table` (the defaults with `[method_strength]` applied) instead of the defaults.
    pub(crate) fn with_strength(mut self, table: Arc<StrengthTable>) -> Self {
        self.strength = table;
        self
    }

    /// Bounds the `method` label values with `methods` and the default methods with `defaults`.
    pub(crate) fn with_folders(mut self, methods: Folder, defaults: Folder) -> Self {
        self.folders = Some((methods, defaults));
        self
    }

    /// Whether this sweep folded a method or default-method value into `other` so far.
    pub(crate) fn folded_any(&self) -> bool {
        self.folders.as_ref().is_some_and(|(m, d)| m.folded_any() || d.folded_any())
    }

    pub fn add_page(&mut self, rows: &[UserRegistrationDetails<'_>]) {
        for row in rows {
            self.add(row);
        }
    }

    pub(crate) fn add(&mut self, row: &UserRegistrationDetails<'_>) -> RowClass {
        self.rows += 1;
        if let Some(ts) = row.last_updated_date_time.as_deref() {
            match parse_utc_timestamp(ts).map(Ok).unwrap_or_else(|| OffsetDateTime::parse(ts, &Rfc3339)) {
                Ok(t) => {
                    if self.newest_refresh.is_none_or(|n| t > n) {
                        self.newest_refresh = Some(t);
                    }
                }
                Err(_) => self.unparsable_timestamps += 1,
            }
        }

        // A user is counted once per method even if Graph repeats a method in the list.
        let mut distinct = std::mem::take(&mut self.row_methods);
        distinct.clear();
        let mut strongest = NO_TIER;
        let mut folded = std::mem::take(&mut self.row_folded);
        folded.clear();
        for m in row.methods_registered.iter().map(|m| &**m).filter(|m| !m.is_empty()) {
            let id = match self.methods.find(m) {
                Some(id) => id,
                // A name not seen in this sweep: the tier is the method's own, decided before folding.
                None => match self.folders.as_mut().map_or(Admission::Kept, |(f, _)| f.admit(m)) {
                    Admission::Kept => self.methods.id(m),
                    Admission::Folded(hash) => {
                        strongest = strongest.min(self.strength.tier(m).unwrap_or(NO_TIER));
                        if !folded.contains(&hash) {
                            folded.push(hash);
                        }
                        continue;
                    }
                },
            };
            if id == self.tiers.len() {
                // A new name: room for it in every breakdown, so that counting is a plain addition.
                self.tiers.push(self.strength.tier(m));
                for counts in &mut self.counts {
                    counts.methods.resize(id + 1, 0);
                }
            }
            if !distinct.contains(&id) {
                distinct.push(id);
                strongest = strongest.min(self.tiers[id].unwrap_or(NO_TIER));
            }
        }
        // A user with folded methods counts once under `other`, and each of them still counts toward
        // the number of methods registered.
        let bucket = (distinct.len() + folded.len()).min(METHOD_COUNT_BUCKETS.len() - 1);
        if !folded.is_empty() {
            let id = self.methods.id(OTHER);
            if id == self.tiers.len() {
                self.tiers.push(None);
                for counts in &mut self.counts {
                    counts.methods.resize(id + 1, 0);
                }
            }
            if !distinct.contains(&id) {
                distinct.push(id);
            }
        }
        self.row_folded = folded;
        let feature_flags = [
            row.is_mfa_capable,
            row.is_mfa_registered,
            row.is_sspr_registered,
            row.is_sspr_enabled,
            row.is_sspr_capable,
            row.is_passwordless_capable,
            row.is_system_preferred_authentication_method_enabled,
            strongest == 0,
        ];
        let default_method = match row.user_preferred_method_for_secondary_authentication.as_deref() {
            None | Some("") => UNSET_DEFAULT,
            Some(m) => m,
        };
        let default_id = match self.default_methods.find(default_method) {
            Some(id) => id,
            None => {
                let label = self.folders.as_mut().map_or(default_method, |(_, f)| f.label(default_method));
                self.default_methods.id(label)
            }
        };
        if self.counts.first().is_some_and(|c| c.default_methods.len() <= default_id) {
            for counts in &mut self.counts {
                counts.default_methods.resize(default_id + 1, 0);
            }
        }
        let is_admin = row.is_admin == Some(true);
        let is_privileged = match (&self.privileged, row.id.as_deref()) {
            (Some(set), Some(id)) => set.contains(id),
            _ => false,
        };
        let user_type = match row.user_type.as_deref() {
            Some("member") => Some(UserType::Member),
            Some("guest") => Some(UserType::Guest),
            _ => None,
        };

        for (breakdown, counts) in self.breakdowns.iter().zip(self.counts.iter_mut()) {
            if !matches(*breakdown, user_type, is_admin, is_privileged) {
                continue;
            }
            counts.users += 1;
            for (total, flag) in counts.features.iter_mut().zip(feature_flags) {
                *total += u64::from(flag);
            }
            for &id in &distinct {
                counts.methods[id] += 1;
            }
            counts.default_methods[default_id] += 1;
            counts.method_counts[bucket] += 1;
            counts.strength[usize::from(strongest)] += 1;
        }
        self.row_methods = distinct;
        RowClass { features: feature_flags, strength: strongest }
    }

    pub fn finish(self) -> RegistrationSummary {
        if let Some((methods, defaults)) = self.folders {
            methods.finish(REPORT);
            defaults.finish(REPORT);
        }
        let methods: Vec<Name> = self.methods.names.iter().map(|n| Name::intern(n)).collect();
        let default_methods: Vec<Name> = self.default_methods.names.iter().map(|n| Name::intern(n)).collect();
        let breakdowns = self
            .breakdowns
            .into_iter()
            .zip(self.counts)
            .map(|(breakdown, c)| BreakdownSummary {
                breakdown,
                users: c.users,
                features: c.features,
                methods: with_known(&methods, &c.methods, KNOWN_METHODS),
                default_methods: with_known(&default_methods, &c.default_methods, KNOWN_DEFAULT_METHODS),
                method_counts: c.method_counts,
                strength: Some(c.strength),
            })
            .collect();
        RegistrationSummary {
            breakdowns,
            refresh_timestamp: self
                .newest_refresh
                .map(|t| t.unix_timestamp() as f64 + f64::from(t.nanosecond()) * 1e-9),
            rows: self.rows,
            unparsable_timestamps: self.unparsable_timestamps,
            groups: None,
        }
    }
}

/// `user_type` is the row's `member` or `guest` (anything else: `None`), compared once per row.
fn matches(b: Breakdown, user_type: Option<UserType>, is_admin: bool, is_privileged: bool) -> bool {
    let type_ok = b.user_type == UserType::All || Some(b.user_type) == user_type;
    let role_ok = match b.user_role {
        UserRole::All => true,
        UserRole::Admin => is_admin,
        UserRole::User => !is_admin,
        UserRole::PrivilegedAdmin => is_privileged,
    };
    type_ok && role_ok
}

/// The form Graph writes (`2023-03-13T19:15:41.6195833Z`: UTC, 0 to 9 fraction digits), parsed
/// without the general RFC 3339 parser, which costs more than the rest of a row's aggregation. Anything
/// else (offsets, out-of-range fields, leap seconds) returns `None` and goes to the general parser.
fn parse_utc_timestamp(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &b[19..];
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            let n = num(20..20 + digits.len())?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time = time::Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Some(date.with_time(time).assume_utc())
}

/// The methods this breakdown counted (as the Graph spelled them), plus the known ones as zero.
/// `interned` is parallel to `names` (each name interned once per sweep, not once per breakdown).
fn with_known(interned: &[Name], counts: &[u64], known: &[&str]) -> NameCounts {
    let mut out: Vec<(Name, u64)> =
        counts.iter().enumerate().filter(|(_, n)| **n > 0).map(|(i, n)| (interned[i], *n)).collect();
    for k in known {
        let k = Name::intern(k);
        if !out.iter().any(|(n, _)| *n == k) {
            out.push((k, 0));
        }
    }
    NameCounts::from_entries(out)
}

#[cfg(test)]
mod tests;
