//! Event lists (userEventsSummary, userCredentialUsageDetails) → counts by feature, method and outcome,
//! and failures by reason capped to the top N plus `other`, so label cardinality stays bounded
//! whatever Graph puts in free-text failure reasons.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::reports::legacy::UsageEvent;

/// Label value for failures whose reason is empty.
pub(crate) const UNSPECIFIED_REASON: &str = "unspecified";
/// Label value summing the reasons beyond the top N.
pub(crate) const OTHER_REASON: &str = "other";

#[derive(Debug)]
pub(crate) struct EventAggregator {
    /// Events before this instant are outside the lookback window; `None` counts everything.
    since: Option<OffsetDateTime>,
    max_reasons: usize,
    events: BTreeMap<(String, String, &'static str), u64>,
    failures: HashMap<(String, String), u64>,
    pub(crate) skipped_outside_window: u64,
}

/// Counts of one sweep.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventSummary {
    /// (feature, method, outcome) → events; outcome is `success` or `failure`.
    /// Stored as a list of entries: JSON maps cannot have tuple keys.
    #[serde(with = "super::labels::event_entries")]
    pub(crate) events: BTreeMap<(String, String, super::activity::StaticLabel), u64>,
    /// (feature, reason) → failed events, top `max_reasons` per feature plus `other`.
    #[serde(with = "super::labels::entries")]
    pub(crate) failures: BTreeMap<(String, String), u64>,
}

impl EventAggregator {
    pub(crate) fn new(since: Option<OffsetDateTime>, max_reasons: usize) -> Self {
        EventAggregator {
            since,
            max_reasons,
            events: BTreeMap::new(),
            failures: HashMap::new(),
            skipped_outside_window: 0,
        }
    }

    pub(crate) fn add(&mut self, e: &UsageEvent) {
        if let Some(since) = self.since {
            // An event without a readable time cannot be placed in the window; Graph documents the
            // property as non-nullable, so this only guards against surprises.
            let at = e.event_date_time.as_deref().and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
            if at.is_none_or(|at| at < since) {
                self.skipped_outside_window += 1;
                return;
            }
        }
        let outcome = if e.is_success { "success" } else { "failure" };
        *self.events.entry((e.feature.clone(), e.auth_method.clone(), outcome)).or_insert(0) += 1;
        if !e.is_success {
            let reason =
                e.failure_reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).unwrap_or(UNSPECIFIED_REASON);
            *self.failures.entry((e.feature.clone(), reason.to_string())).or_insert(0) += 1;
        }
    }

    pub(crate) fn finish(self) -> EventSummary {
        let mut by_feature: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
        for ((feature, reason), n) in self.failures {
            by_feature.entry(feature).or_default().push((reason, n));
        }
        let mut failures = BTreeMap::new();
        for (feature, mut reasons) in by_feature {
            // Most frequent first; ties by name so the cut is deterministic.
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut other = 0;
            for (i, (reason, n)) in reasons.into_iter().enumerate() {
                if i < self.max_reasons && reason != OTHER_REASON {
                    failures.insert((feature.clone(), reason), n);
                } else {
                    other += n;
                }
            }
            if other > 0 {
                failures.insert((feature, OTHER_REASON.to_string()), other);
            }
        }
        EventSummary { events: self.events, failures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(feature: &str, method: &str, ok: bool, reason: &str, at: &str) -> UsageEvent {
        UsageEvent {
            feature: feature.into(),
            auth_method: method.into(),
            is_success: ok,
            failure_reason: Some(reason.into()),
            event_date_time: Some(at.into()),
        }
    }

    #[test]
    fn counts_outcomes_windows_and_caps_reasons() {
        let since = OffsetDateTime::parse("2026-11-26T00:00:00Z", &Rfc3339).unwrap();
        let mut agg = EventAggregator::new(Some(since), 2);
        let now = "2026-11-26T12:00:00Z";
        agg.add(&ev("registration", "email", true, "", now));
        agg.add(&ev("registration", "email", false, "A", now));
        agg.add(&ev("registration", "email", false, "A", now));
        agg.add(&ev("registration", "sms", false, "B", now));
        agg.add(&ev("registration", "sms", false, "C", now));
        agg.add(&ev("registration", "sms", false, "", now));
        agg.add(&ev("reset", "email", false, "A", now));
        agg.add(&ev("reset", "email", false, "A", "2026-11-20T00:00:00Z"));
        let s = agg.finish();
        assert_eq!(s.events[&("registration".into(), "email".into(), "success")], 1);
        assert_eq!(s.events[&("registration".into(), "sms".into(), "failure")], 3);
        assert_eq!(s.events[&("reset".into(), "email".into(), "failure")], 1, "old event outside the window");
        // registration reasons: A=2, B=1, C=1, unspecified=1 → top 2 are A and B (ties by name), other = 2.
        assert_eq!(s.failures[&("registration".into(), "A".into())], 2);
        assert_eq!(s.failures[&("registration".into(), "B".into())], 1);
        assert_eq!(s.failures[&("registration".into(), "other".into())], 2);
        assert_eq!(s.failures.len(), 4);
    }
}
