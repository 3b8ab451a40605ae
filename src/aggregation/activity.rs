//! Result types of the summary-style reports, whose rows Graph already aggregates: the exporter only
//! reshapes them into label sets and, for daily series, picks the newest day.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::interned::Name;
use crate::config::Breakdown;

/// A label value from a fixed set, read back from the state file by [`super::labels`]. (The alias
/// also keeps serde from treating the field as borrowed from the input.)
pub(crate) type StaticLabel = &'static str;

/// One (period, feature, method) row of getCredentialUsageSummary or userRegistrationActivity. The
/// names from Graph are interned (interned.rs): a tenant keeps a few hundred of these rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRow {
    #[serde(deserialize_with = "super::labels::deserialize")]
    pub(crate) period: StaticLabel,
    pub(crate) feature: Name,
    pub(crate) method: Name,
    pub(crate) success: i64,
    pub(crate) failure: i64,
}

/// Successful sign-ins of one method over one period (userSignInsByAuthMethodSummary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignInRow {
    #[serde(deserialize_with = "super::labels::deserialize")]
    pub(crate) period: StaticLabel,
    pub(crate) method: Name,
    pub(crate) success: i64,
}

/// The newest day of a daily report, with its counts by `kind` label value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyCounts {
    /// Start of the day Graph aggregated, Unix seconds.
    pub(crate) day: f64,
    #[serde(deserialize_with = "super::labels::deserialize_pairs")]
    pub(crate) counts: Vec<(StaticLabel, i64)>,
}

/// Microsoft's summary for one breakdown (usersRegisteredByFeature + usersRegisteredByMethod).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeBreakdown {
    pub(crate) breakdown: Breakdown,
    pub(crate) total_users: Option<i64>,
    pub(crate) features: Vec<(Name, i64)>,
    pub(crate) methods: Vec<(Name, i64)>,
}

/// Parses an RFC 3339 time into Unix seconds.
pub(crate) fn unix_seconds(text: &str) -> Option<f64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some(t.unix_timestamp() as f64 + f64::from(t.nanosecond()) * 1e-9)
}

/// Picks the row with the newest date; rows whose date cannot be read are ignored.
pub(crate) fn newest<T>(rows: Vec<T>, date: impl Fn(&T) -> &str) -> Option<(f64, T)> {
    rows.into_iter().filter_map(|r| unix_seconds(date(&r)).map(|d| (d, r))).max_by(|a, b| a.0.total_cmp(&b.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_ignores_unreadable_dates() {
        let rows = vec![("2025-07-05T16:19:18Z", 1), ("nonsense", 2), ("2025-07-16T16:19:18Z", 3)];
        let (day, row) = newest(rows, |r| r.0).unwrap();
        assert_eq!(row.1, 3);
        assert_eq!(day, 1752682758.0);
        assert!(newest(Vec::<(&str, i32)>::new(), |r| r.0).is_none());
    }
}
